"""Request and response schemas for the quality routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from msgspec import Meta, Struct

from api.products.schemas import CategoryRef
from db.models import ProductStatus
from db.quality.duplicates import DuplicateReason
from db.quality.rule_store import RuleSource

RuleField = Annotated[str, Meta(min_length=1, max_length=80, description=(
    "brand, description, images, uploaded_images, price, category, or attributes.<name>"))]
MinLength = Annotated[int, Meta(ge=1, le=20_000, description=(
    "Minimum characters (brand, description) or minimum number of images (images, uploaded_images)."))]
MinWidth = Annotated[int, Meta(ge=1, le=100_000, description=(
    "uploaded_images only: the long side in px an uploaded image needs to count; fewer large enough images "
    "than min_length is reported as the missing field `image too small`."))]


class ProductQualityRead(Struct):
    id: int
    sku: str
    name: str
    brand: str | None
    category: CategoryRef | None
    status: ProductStatus
    completeness: int
    missing_fields: list[str]
    ready_to_sell: bool


class MissingFieldCount(Struct):
    field: str
    count: int


class CategoryQualityRead(Struct):
    """Figures over the category and all its descendants (the catalog row: every product)."""

    category: CategoryRef | None
    products: int
    avg_completeness: float
    complete_pct: float
    ready_to_sell_pct: float
    top_missing: list[MissingFieldCount]


class QualitySummary(Struct):
    catalog: CategoryQualityRead
    categories: list[CategoryQualityRead]


class DuplicateProductRead(Struct):
    id: int
    sku: str
    name: str
    brand: str | None
    category_id: int | None


class DuplicateGroupRead(Struct):
    reason: DuplicateReason
    key: str
    """The shared GTIN, the shared `brand / normalized name`, or for similar names the weakest similarity."""
    products: list[DuplicateProductRead]


class SimilarProductRead(Struct):
    id: int
    sku: str
    name: str
    brand: str | None
    category_id: int | None
    similarity: float


class TrendPoint(Struct):
    taken_on: date
    products: int
    avg_completeness: float
    complete_pct: float
    ready_to_sell_pct: float


class QualityTrend(Struct):
    category: CategoryRef | None
    points: list[TrendPoint]


class EffectiveRuleRead(Struct):
    """`defined_in` is the category whose rule or required attribute applies (null: global or built in);
    `inherited` is true when that is not the category asked about."""

    id: int | None
    field: str
    min_length: int | None
    weight: float
    source: RuleSource
    defined_in: CategoryRef | None
    inherited: bool
    min_width: int | None = None


class EffectiveRules(Struct):
    category: CategoryRef | None
    rules: list[EffectiveRuleRead]


class RuleCreate(Struct, forbid_unknown_fields=True):
    """`category_id` null: the rule applies to every product."""

    field: RuleField
    category_id: int | None = None
    min_length: MinLength | None = None
    weight: Decimal = Decimal(1)
    min_width: MinWidth | None = None


class RuleRead(Struct):
    id: int
    category_id: int | None
    field: str
    min_length: int | None
    weight: float
    created_at: datetime
    recompute: str
    """`scheduled`: the affected products are being re-scored in the background."""
    min_width: int | None = None


class IncompleteVariantRead(Struct):
    id: int
    sku: str
    completeness: int
    missing_fields: list[str]
    axis_values: dict[str, Any]
    """The variant's value of each of its group's axes."""


class GroupQualityRead(Struct):
    """One product model (group): `complete_pct` is the share of its variants with nothing missing (null when it
    has none); archived variants do not count."""

    id: int
    code: str
    name: str
    brand: str | None
    category: CategoryRef | None
    variant_count: int
    complete_variants: int
    complete_pct: float | None
    incomplete_variants: list[IncompleteVariantRead]
    """Least complete first, each with exactly the fields it misses."""
