"""Request and response schemas for products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import UNSET, Struct, UnsetType

from catalog.field_types import Attributes, Brand, Currency, Description, Images, Price, ProductName, Sku
from db.models import ProductStatus


class ProductCreate(Struct, forbid_unknown_fields=True):
    """`name` is required unless the product is a variant (`group_id`): a variant takes its group's name, brand,
    category, description and images wherever it has none of its own."""

    sku: Sku
    price: Price
    name: ProductName | None = None
    currency: Currency | None = None
    description: Description = ""
    brand: Brand | None = None
    category_id: int | None = None
    status: ProductStatus = ProductStatus.DRAFT
    attributes: Attributes = {}
    images: Images = []
    group_id: int | None = None


class ProductUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Every field optional: fields left out keep their value. For a variant, null (or an empty description or
    image list) means "take the group's"; `group_id: null` takes a variant out of its group."""

    sku: Sku | UnsetType = UNSET
    name: ProductName | UnsetType | None = UNSET
    price: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    brand: Brand | UnsetType | None = UNSET
    category_id: int | UnsetType | None = UNSET
    status: ProductStatus | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET
    images: Images | UnsetType = UNSET
    group_id: int | UnsetType | None = UNSET


class BulkItem(ProductUpdate, forbid_unknown_fields=True, omit_defaults=True):
    """One upsert by SKU: an unknown SKU is created (price, and name unless it is a variant, then required).
    `group_code` puts it in that group, created from this item when no group has the code yet."""

    sku: Sku
    group_code: Sku | UnsetType = UNSET


class CategoryRef(Struct):
    id: int
    name: str
    path: str


class StockSummary(Struct):
    on_hand: int
    reserved: int
    available: int
    in_stock: bool


class ProductRead(Struct):
    id: int
    sku: str
    name: str
    description: str
    brand: str | None
    category: CategoryRef | None
    status: ProductStatus
    price: float
    currency: str
    attributes: dict[str, Any]
    images: list[str]
    stock: StockSummary
    completeness: int
    missing_fields: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    group_id: int | None = None
    """The product's group when it is a variant."""
    inherited: list[str] = []
    """The fields a variant takes from its group."""


class BulkItemResult(Struct, omit_defaults=True):
    index: int
    status: str  # created | updated | unchanged | error
    sku: str | None = None
    id: int | None = None
    version: int | None = None
    error: dict[str, Any] | None = None


class BulkSummary(Struct):
    created: int
    updated: int
    unchanged: int
    error: int


class BulkResult(Struct):
    summary: BulkSummary
    items: list[BulkItemResult]
    change: int | None
