"""Quality reads and rule writes; the SQL lives in db.quality, this module validates and shapes it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.products.schemas import CategoryRef
from api.products.service import product_not_found
from api.quality.schemas import (
    CategoryQualityRead,
    DuplicateGroupRead,
    DuplicateProductRead,
    EffectiveRuleRead,
    EffectiveRules,
    GroupQualityRead,
    IncompleteVariantRead,
    MissingFieldCount,
    ProductQualityRead,
    QualitySummary,
    QualityTrend,
    RuleCreate,
    SimilarProductRead,
    TrendPoint,
)
from catalog.errors import Conflict, InvalidInput, NotFound
from db import quality, quality_groups
from db.media_quality import IMAGE_TOO_SMALL, UPLOADED_IMAGES
from db.models import Category, Product, ProductStatus
from db.quality.duplicates import DuplicateReason
from db.quality.rule_store import RuleSource
from db.session import sync_engine

MAX_WEIGHT = Decimal("9999.99")
LENGTH_FIELDS = ("brand", "description", "images", UPLOADED_IMAGES)
"""The fields `min_length` means something for (characters, or a number of images)."""


def category_not_found(category_id: int, param: str = "category_id") -> InvalidInput:
    return InvalidInput(f"Category {category_id} does not exist.", {"fields": {param: f"no category {category_id}"}},
                        code="CATEGORY_NOT_FOUND")


async def category_ref(session: AsyncSession, category_id: int) -> CategoryRef:
    """The category as shown in responses; a 400 naming `category_id` when it does not exist."""
    category = await session.get(Category, category_id)
    if category is None:
        raise category_not_found(category_id)
    return CategoryRef(id=category_id, name=category.name, path=category.path)


def check_fields(names: Iterable[str], param: str) -> None:
    """400 UNKNOWN_QUALITY_FIELD naming `param` unless every name is a field the engine can check."""
    for name in names:
        try:
            quality.validate_rule_field(name)
        except ValueError as exc:
            raise InvalidInput(str(exc), {"fields": {param: str(exc)}}, code="UNKNOWN_QUALITY_FIELD") from None


# --- products worst first -------------------------------------------------------------------------------------


def _product_read(row: quality.ProductQuality) -> ProductQualityRead:
    category = (CategoryRef(id=row.category_id, name=row.category_name or "", path=row.category_path or "")
                if row.category_id is not None else None)
    return ProductQualityRead(id=row.id, sku=row.sku, name=row.name, brand=row.brand, category=category,
                              status=ProductStatus(row.status), completeness=row.completeness,
                              missing_fields=row.missing_fields, ready_to_sell=row.ready_to_sell)


async def list_products(session: AsyncSession, *, max_completeness: int | None, category_id: int | None,
                        missing: Sequence[str], brand: str | None, status: ProductStatus | None,
                        skip: int, limit: int) -> tuple[list[ProductQualityRead], int]:
    check_fields([name for name in missing if name != IMAGE_TOO_SMALL], "missing")  # a report label, not a rule
    path = (await category_ref(session, category_id)).path if category_id is not None else None
    filters = quality.ProductQualityFilter(max_completeness=max_completeness, category_path=path,
                                           missing=tuple(dict.fromkeys(missing)), brand=brand,
                                           status=status.value if status is not None else None)
    rows, total = await session.run_sync(lambda s: quality.list_product_quality(s, filters, skip, limit))
    return [_product_read(row) for row in rows], total


# --- product models (groups) least complete first -------------------------------------------------------------


def _group_read(row: quality_groups.GroupQuality) -> GroupQualityRead:
    category = (CategoryRef(id=row.category_id, name=row.category_name or "", path=row.category_path or "")
                if row.category_id is not None else None)
    pct = row.complete_pct
    return GroupQualityRead(
        id=row.id, code=row.code, name=row.name, brand=row.brand, category=category, variant_count=row.variant_count,
        complete_variants=row.complete_variants, complete_pct=float(pct) if pct is not None else None,
        incomplete_variants=[IncompleteVariantRead(id=v.id, sku=v.sku, completeness=v.completeness,
                                                   missing_fields=v.missing_fields, axis_values=v.axis_values)
                             for v in row.incomplete_variants])


async def list_groups(session: AsyncSession, *, category_id: int | None, brand: str | None, incomplete_only: bool,
                      skip: int, limit: int) -> tuple[list[GroupQualityRead], int]:
    path = (await category_ref(session, category_id)).path if category_id is not None else None
    filters = quality_groups.GroupQualityFilter(category_path=path, brand=brand, incomplete_only=incomplete_only)
    rows, total = await session.run_sync(lambda s: quality_groups.list_group_quality(s, filters, skip, limit))
    return [_group_read(row) for row in rows], total


# --- summary --------------------------------------------------------------------------------------------------


def _summary_row(category: CategoryRef | None, stats: quality.QualityStats, top: int) -> CategoryQualityRead:
    return CategoryQualityRead(
        category=category, products=stats.products, avg_completeness=float(stats.avg_completeness),
        complete_pct=float(stats.complete_pct), ready_to_sell_pct=float(stats.ready_to_sell_pct),
        top_missing=[MissingFieldCount(field=name, count=count) for name, count in stats.top_missing(top)],
    )


async def summary(session: AsyncSession, category_id: int | None, top_missing: int) -> QualitySummary:
    path = (await category_ref(session, category_id)).path if category_id is not None else None
    catalog, categories = await session.run_sync(lambda s: quality.quality_by_category(s, path))
    return QualitySummary(
        catalog=_summary_row(None, catalog, top_missing),
        categories=[_summary_row(CategoryRef(id=c.category.id, name=c.name, path=c.category.path), c.stats,
                                 top_missing) for c in categories],
    )


# --- duplicates and similar products --------------------------------------------------------------------------


def _duplicate_product(product: quality.DuplicateProduct) -> DuplicateProductRead:
    return DuplicateProductRead(id=product.id, sku=product.sku, name=product.name, brand=product.brand,
                                category_id=product.category_id)


async def duplicates(session: AsyncSession, database_url: str, *, category_id: int | None, brand: str | None,
                     similarity: float, reasons: Sequence[DuplicateReason], skip: int, limit: int
                     ) -> tuple[list[DuplicateGroupRead], int]:
    """Runs the engine's sync duplicate search in a worker thread (it takes a few seconds on a large catalog)."""
    if category_id is not None:
        await category_ref(session, category_id)
    wanted = list(reasons or DuplicateReason)
    page = await asyncio.to_thread(
        quality.find_duplicates, sync_engine(database_url), offset=skip, limit=limit, category_id=category_id,
        brand=brand, similarity=similarity, reasons=wanted)
    groups = [DuplicateGroupRead(reason=DuplicateReason(group.reason), key=group.key,
                                 products=[_duplicate_product(p) for p in group.products]) for group in page.groups]
    return groups, page.total


async def similar(session: AsyncSession, database_url: str, product_id: int, similarity: float, limit: int
                  ) -> list[SimilarProductRead]:
    if await session.get(Product, product_id) is None:
        raise product_not_found(product_id)
    found = await asyncio.to_thread(quality.similar_to, sync_engine(database_url), product_id, similarity, limit)
    return [SimilarProductRead(id=p.id, sku=p.sku, name=p.name, brand=p.brand, category_id=p.category_id,
                               similarity=round(score, 4)) for p, score in found]


# --- trend ----------------------------------------------------------------------------------------------------


async def trend(session: AsyncSession, category_id: int | None, since: date | None, until: date | None
                ) -> QualityTrend:
    if since is not None and until is not None and since > until:
        raise InvalidInput("`since` is after `until`.", {"fields": {"since": f"{since} is after until {until}"}})
    category = await category_ref(session, category_id) if category_id is not None else None
    scope = category_id if category_id is not None else quality.CATALOG_WIDE
    points = await session.run_sync(lambda s: quality.snapshot_series(s, scope, since, until))
    return QualityTrend(category=category, points=[
        TrendPoint(taken_on=p.taken_on, products=p.products, avg_completeness=float(p.avg_completeness),
                   complete_pct=float(p.complete_pct), ready_to_sell_pct=float(p.ready_to_sell_pct))
        for p in points])


# --- rules ----------------------------------------------------------------------------------------------------


async def _category_refs(session: AsyncSession, ids: set[int]) -> dict[int, CategoryRef]:
    rows = (await session.execute(select(Category.id, Category.name, Category.path)  # type: ignore[call-overload]
                                  .where(Category.id.in_(sorted(ids))))).all()  # type: ignore[union-attr]
    return {row[0]: CategoryRef(id=row[0], name=row[1], path=row[2]) for row in rows}


async def effective_rules(session: AsyncSession, category_id: int | None) -> EffectiveRules:
    category = await category_ref(session, category_id) if category_id is not None else None
    rules = await session.run_sync(lambda s: quality.effective_rules(s, category_id))
    refs = await _category_refs(session, {r.category_id for r in rules if r.category_id is not None})
    return EffectiveRules(category=category, rules=[
        EffectiveRuleRead(id=r.rule_id, field=r.rule.field, min_length=r.rule.min_length, weight=float(r.rule.weight),
                          source=RuleSource(r.source), defined_in=refs.get(r.category_id) if r.category_id else None,
                          inherited=r.category_id != category_id, min_width=r.rule.min_width)
        for r in rules])


def _check_weight(weight: Decimal) -> None:
    try:
        valid = weight.is_finite() and Decimal(0) < weight <= MAX_WEIGHT and weight == weight.quantize(Decimal("0.01"))
    except InvalidOperation:
        valid = False
    if not valid:
        raise InvalidInput("weight must be above 0 and at most 9999.99, with up to 2 decimals.",
                           {"fields": {"weight": str(weight)}})


def _check_rule(data: RuleCreate) -> None:
    check_fields([data.field], "field")
    _check_weight(data.weight)
    if data.min_length is not None and data.field not in LENGTH_FIELDS:
        raise InvalidInput(f"min_length only applies to {', '.join(LENGTH_FIELDS)}.",
                           {"fields": {"min_length": f"has no effect on {data.field}"}})
    if data.min_width is not None and data.field != UPLOADED_IMAGES:
        raise InvalidInput(f"min_width only applies to {UPLOADED_IMAGES}.",
                           {"fields": {"min_width": f"has no effect on {data.field}"}})


def rule_exists(data: RuleCreate) -> Conflict:
    scope = f"category {data.category_id}" if data.category_id is not None else "the whole catalog"
    return Conflict(f"{scope.capitalize()} already has a rule for {data.field!r}; delete it first.",
                    {"fields": {"field": data.field, "category_id": data.category_id}}, code="QUALITY_RULE_EXISTS")


async def create_rule(session: AsyncSession, data: RuleCreate) -> quality.StoredRule:
    _check_rule(data)
    if data.category_id is not None:
        await category_ref(session, data.category_id)
    try:
        stored = await session.run_sync(lambda s: quality.insert_rule(
            s, data.category_id, data.field, data.min_length, data.weight, data.min_width))
    except IntegrityError:  # the category was deleted meanwhile
        raise category_not_found(data.category_id or 0) from None
    if stored is None:
        raise rule_exists(data)
    return stored


async def delete_rule(session: AsyncSession, rule_id: int) -> quality.StoredRule:
    stored = await session.run_sync(lambda s: quality.delete_rule(s, rule_id))
    if stored is None:
        raise NotFound(f"Quality rule {rule_id} does not exist.", {"rule_id": rule_id}, code="QUALITY_RULE_NOT_FOUND")
    return stored
