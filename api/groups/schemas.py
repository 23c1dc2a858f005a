"""Request and response schemas for product groups (models sold in variants)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from catalog.field_types import AttributeName, Brand, Description, Images, ProductName, Sku

GroupCode = Annotated[Sku, Meta(description="The model's code; unique, case-insensitive (e.g. an ERP's parent SKU).")]
Axes = Annotated[list[AttributeName], Meta(min_length=1, max_length=5, description=(
    "The attributes that tell the variants apart, e.g. [\"color\", \"size\"]: every variant has a value for each, "
    "and no two variants of the group have the same values."))]


class GroupCreate(Struct, forbid_unknown_fields=True):
    code: GroupCode
    name: ProductName
    axes: Axes
    brand: Brand | None = None
    category_id: int | None = None
    description: Description = ""
    images: Images = []


class GroupUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Every field optional: fields left out keep their value. Variants that inherit a changed field follow it."""

    code: GroupCode | UnsetType = UNSET
    name: ProductName | UnsetType = UNSET
    axes: Axes | UnsetType = UNSET
    brand: Brand | UnsetType | None = UNSET
    category_id: int | UnsetType | None = UNSET
    description: Description | UnsetType = UNSET
    images: Images | UnsetType = UNSET


class VariantSummary(Struct):
    id: int
    sku: str
    name: str
    status: str
    price: float
    currency: str
    attributes: dict[str, Any]
    axis_values: dict[str, Any]
    """The variant's value of each of the group's axes."""
    inherited: list[str]
    """The fields it takes from the group."""
    available: int
    in_stock: bool
    completeness: int
    missing_fields: list[str]


class GroupRead(Struct):
    id: int
    code: str
    name: str
    brand: str | None
    category_id: int | None
    description: str
    images: list[str]
    axes: list[str]
    variant_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    variants: list[VariantSummary] | None = None
    """Listed by `GET /product-groups/{id}` (ordered by id); not in the list of groups."""
