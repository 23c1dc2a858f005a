"""SQLModel table models. The schema itself (constraints, triggers) lives in the Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, Identity, Numeric, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Role(StrEnum):
    ADMIN = "admin"
    MERCHANDISER = "merchandiser"
    ANALYST = "analyst"
    CUSTOMER = "customer"  # the default role of a self-registered user: reads nothing, writes nothing


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class AttributeType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    LIST = "list"


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now(), **kwargs))


def _bigint_pk() -> Any:
    return Field(default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_column=Column(UUID(as_uuid=True), primary_key=True))
    email: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    first_name: str = ""
    last_name: str = ""
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    status: str = UserStatus.ACTIVE.value
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = _bigint_pk()
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    slug: str
    name: str
    path: str
    depth: int = 0
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class CategoryAttribute(SQLModel, table=True):
    __tablename__ = "category_attributes"

    id: int | None = _bigint_pk()
    category_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str
    type: str = AttributeType.STRING.value
    allowed_values: list[Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    required: bool = False
    facetable: bool = True


class QualityRule(SQLModel, table=True):
    """A required field for products in a category and its descendants (category_id NULL: everywhere).

    `field` is one of brand, description, images, uploaded_images, price, category, or `attributes.<name>`.
    """

    __tablename__ = "quality_rules"

    id: int | None = _bigint_pk()
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    field: str
    min_length: int | None = None
    weight: Decimal = Field(default=Decimal(1), sa_column=Column(Numeric(6, 2), nullable=False))
    min_width: int | None = None
    created_at: datetime = _timestamp()


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = _bigint_pk()
    sku: str
    name: str
    description: str = ""
    brand: str | None = None
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    status: str = ProductStatus.DRAFT.value
    price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    images: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    completeness: int = 0
    missing_fields: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))
    # Kept by the triggers of migration 0006 from product_images (never written by the application).
    uploaded_images: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    # A variant's group, the fields it takes from the group, and its axis values (migration 0008).
    group_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    inherited: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    variant_key: str | None = None


class ProductGroup(SQLModel, table=True):
    """A model sold in variants (products with its `group_id`), told apart by the attributes named in `axes`."""

    __tablename__ = "product_groups"

    id: int | None = _bigint_pk()
    code: str
    name: str
    description: str = ""
    brand: str | None = None
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    images: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    axes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))


class Warehouse(SQLModel, table=True):
    __tablename__ = "warehouses"

    id: int | None = _bigint_pk()
    code: str
    name: str
    created_at: datetime = _timestamp()


class Inventory(SQLModel, table=True):
    __tablename__ = "inventory"

    product_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    warehouse_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    on_hand: int = 0
    reserved: int = 0
    updated_at: datetime = _timestamp()


class PriceHistory(SQLModel, table=True):
    """Append-only; written by a trigger on every price change, never by callers."""

    __tablename__ = "price_history"

    id: int | None = _bigint_pk()
    product_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    sku: str
    old_price: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    new_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    old_currency: str | None = None
    currency: str
    changed_at: datetime = _timestamp()
    changed_by: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = _bigint_pk()
    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    actor: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
    at: datetime = _timestamp()


class Outbox(SQLModel, table=True):
    """One row per committed change to a product's search document; the indexer consumes it."""

    __tablename__ = "outbox"

    id: int | None = _bigint_pk()
    product_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str
    product_version: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _timestamp()
    processed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    attempts: int = 0
    last_error: str | None = None


class DeadLetter(SQLModel, table=True):
    __tablename__ = "dead_letters"

    id: int | None = _bigint_pk()
    outbox_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    product_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    error: str
    document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_at: datetime = _timestamp()
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Synonym(SQLModel, table=True):
    """`terms` are equivalent when `replacements` is empty (tv, television); else terms => replacements."""

    __tablename__ = "synonyms"

    id: int | None = _bigint_pk()
    terms: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    replacements: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime = _timestamp()
    created_by: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))


class SearchQuery(SQLModel, table=True):
    __tablename__ = "search_queries"

    id: int | None = _bigint_pk()
    query: str
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    sort: str = "relevance"
    result_count: int
    latency_ms: Decimal = Field(sa_column=Column(Numeric(10, 2), nullable=False))
    cached: bool = False
    created_at: datetime = _timestamp()


class QualitySnapshot(SQLModel, table=True):
    __tablename__ = "quality_snapshots"

    taken_on: date = Field(sa_column=Column(Date, primary_key=True))
    category_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    category_path: str
    products: int
    avg_completeness: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    complete_pct: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    ready_to_sell_pct: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
