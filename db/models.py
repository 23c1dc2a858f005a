"""SQLModel models of the tables the API reads and writes through the ORM; the schema lives in the migrations.

Each model states its columns' types and nullability as the migrations make them
(tests/db/test_schema_models.py checks).
The other tables (outbox, audit_log, change_log, search_queries, quality_rules, synonyms, ...) have no model on
purpose: they are written by triggers or read and written in SQL by db/, indexer/ and api/search, so a model would be
one more copy of the schema to keep true and nothing would use it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CHAR, BigInteger, Column, DateTime, Identity, Numeric, SmallInteger, Text, func
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
    first_name: str = Field(default="", sa_type=Text)
    last_name: str = Field(default="", sa_type=Text)
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    status: str = Field(default=UserStatus.ACTIVE.value, sa_type=Text)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = _bigint_pk()
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    slug: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    path: str = Field(sa_type=Text)
    depth: int = 0
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class CategoryAttribute(SQLModel, table=True):
    __tablename__ = "category_attributes"

    id: int | None = _bigint_pk()
    category_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    name: str = Field(sa_type=Text)
    type: str = Field(default=AttributeType.STRING.value, sa_type=Text)
    allowed_values: list[Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    required: bool = False
    facetable: bool = True


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = _bigint_pk()
    sku: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    description: str = Field(default="", sa_type=Text)
    brand: str | None = Field(default=None, sa_type=Text)
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    status: str = Field(default=ProductStatus.DRAFT.value, sa_type=Text)
    price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(sa_type=CHAR(3))
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    images: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    completeness: int = Field(default=0, sa_type=SmallInteger)
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
    variant_key: str | None = Field(default=None, sa_type=Text)


class ProductGroup(SQLModel, table=True):
    """A model sold in variants (products with its `group_id`), told apart by the attributes named in `axes`."""

    __tablename__ = "product_groups"

    id: int | None = _bigint_pk()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    description: str = Field(default="", sa_type=Text)
    brand: str | None = Field(default=None, sa_type=Text)
    category_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    images: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    axes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))


class Warehouse(SQLModel, table=True):
    __tablename__ = "warehouses"

    id: int | None = _bigint_pk()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
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
    sku: str = Field(sa_type=Text)
    old_price: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    new_price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    old_currency: str | None = Field(default=None, sa_type=CHAR(3))
    currency: str = Field(sa_type=CHAR(3))
    changed_at: datetime = _timestamp()
    changed_by: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
