"""Request and response schemas for products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import UNSET, Struct, UnsetType

from api.schemas import Attributes, Brand, Currency, Description, Images, Price, ProductName, Sku
from db.models import ProductStatus


class ProductCreate(Struct, forbid_unknown_fields=True):
    sku: Sku
    name: ProductName
    price: Price
    currency: Currency | None = None
    description: Description = ""
    brand: Brand | None = None
    category_id: int | None = None
    status: ProductStatus = ProductStatus.DRAFT
    attributes: Attributes = {}
    images: Images = []


class ProductUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Every field optional: fields left out keep their value."""

    sku: Sku | UnsetType = UNSET
    name: ProductName | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    brand: Brand | UnsetType | None = UNSET
    category_id: int | UnsetType | None = UNSET
    status: ProductStatus | UnsetType = UNSET
    attributes: Attributes | UnsetType = UNSET
    images: Images | UnsetType = UNSET


class BulkItem(ProductUpdate, forbid_unknown_fields=True, omit_defaults=True):
    """One upsert by SKU: an unknown SKU is created (name and price then required)."""

    sku: Sku


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
