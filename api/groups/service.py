"""Product group reads and writes. A change to a group flows down to its variants in the same transaction: the
fields they inherit are rewritten (and re-scored), and every variant's version moves on, so the indexer
re-indexes each one (their documents carry the group's code and name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.groups.schemas import GroupCreate, GroupRead, GroupUpdate, VariantSummary
from api.products import service as products
from api.products import validation
from api.products.schemas import BulkItem
from catalog.errors import CatalogError, Conflict, InvalidInput, NotFound
from db.models import Inventory, Product, ProductGroup
from db.variants import INHERITABLE, GroupFacts

GROUP_FIELDS = ("code", "name", "brand", "category_id", "description", "images", "axes")


def group_not_found(group_id: int) -> NotFound:
    return NotFound(f"Product group {group_id} does not exist.", {"group_id": group_id},
                    code="PRODUCT_GROUP_NOT_FOUND")


def _code_conflict(exc: IntegrityError, code: str) -> Exception:
    if "product_groups_code_lower_key" in str(exc.orig):
        return Conflict(f"Group code {code!r} is already used by another group.", {"fields": {"code": code}},
                        code="GROUP_CODE_ALREADY_EXISTS")
    return InvalidInput("The group violates a catalog constraint.", {"constraint": str(exc.orig).splitlines()[0]})


def _variant_count() -> Any:
    return (select(func.count()).where(col(Product.group_id) == col(ProductGroup.id))
            .correlate(ProductGroup).scalar_subquery().label("variant_count"))


def to_read(group: ProductGroup, variant_count: int, variants: list[VariantSummary] | None = None) -> GroupRead:
    assert group.id is not None
    return GroupRead(
        id=group.id, code=group.code, name=group.name, brand=group.brand, category_id=group.category_id,
        description=group.description, images=list(group.images), axes=list(group.axes),
        variant_count=int(variant_count), created_at=group.created_at, updated_at=group.updated_at,
        version=group.version, variants=variants,
    )


async def _variants(session: AsyncSession, group: ProductGroup) -> list[VariantSummary]:
    available = (select(func.coalesce(func.sum(Inventory.on_hand - Inventory.reserved), 0))
                 .where(col(Inventory.product_id) == col(Product.id)).correlate(Product).scalar_subquery())
    rows = (await session.execute(
        select(Product, available).where(col(Product.group_id) == group.id).order_by(col(Product.id))
    )).all()
    return [
        VariantSummary(
            id=int(p.id), sku=p.sku, name=p.name, status=p.status, price=float(p.price), currency=p.currency.strip(),
            attributes=p.attributes, axis_values={axis: p.attributes.get(axis) for axis in group.axes},
            inherited=list(p.inherited), available=int(units), in_stock=int(units) > 0,
            completeness=p.completeness, missing_fields=list(p.missing_fields),
        )
        for p, units in rows
    ]


async def get_group(session: AsyncSession, group_id: int) -> GroupRead:
    """The group with its variants."""
    group = await session.get(ProductGroup, group_id)
    if group is None:
        raise group_not_found(group_id)
    variants = await _variants(session, group)
    return to_read(group, len(variants), variants)


async def list_groups(session: AsyncSession, skip: int, limit: int, category_id: int | None = None,
                      code: str | None = None) -> tuple[list[GroupRead], int]:
    conditions: list[Any] = []
    if category_id is not None:
        conditions.append(col(ProductGroup.category_id) == category_id)
    if code is not None:
        conditions.append(func.lower(ProductGroup.code) == code.lower())
    total = (await session.execute(select(func.count()).select_from(ProductGroup).where(*conditions))).scalar_one()
    rows = (await session.execute(
        select(ProductGroup, _variant_count()).where(*conditions).order_by(col(ProductGroup.id))
        .offset(skip).limit(limit)
    )).all()
    return [to_read(group, count) for group, count in rows], int(total)


async def create_group(session: AsyncSession, data: GroupCreate) -> ProductGroup:
    (await validation.reference(session)).check_category(data.category_id)
    group = ProductGroup(**{name: getattr(data, name) for name in GROUP_FIELDS})
    group.axes = list(dict.fromkeys(group.axes))
    try:
        async with session.begin_nested():
            session.add(group)
            await session.flush()
    except IntegrityError as exc:
        raise _code_conflict(exc, data.code) from None
    await session.refresh(group)
    return group


async def _lock(session: AsyncSession, group_id: int) -> ProductGroup:
    group = (await session.execute(
        select(ProductGroup).where(col(ProductGroup.id) == group_id).with_for_update()
    )).scalar_one_or_none()
    if group is None:
        raise group_not_found(group_id)
    return group


async def update_group(session: AsyncSession, group_id: int, data: GroupUpdate) -> ProductGroup:
    """Write the changes, then bring every variant in line (inherited fields, axis values), all or nothing."""
    group = await _lock(session, group_id)
    changes = {name: getattr(data, name) for name in GROUP_FIELDS if getattr(data, name) is not msgspec.UNSET}
    if "axes" in changes:
        changes["axes"] = list(dict.fromkeys(changes["axes"]))
    if "category_id" in changes:
        (await validation.reference(session)).check_category(changes["category_id"])
    different = {name: value for name, value in changes.items() if getattr(group, name) != value}
    if not different:
        return group
    code = str(changes.get("code", group.code))
    try:
        async with session.begin_nested():
            for name, value in different.items():
                setattr(group, name, value)
            await session.flush()
    except IntegrityError as exc:
        raise _code_conflict(exc, code) from None
    await session.refresh(group)
    await _follow_group(session, group)
    return group


async def _follow_group(session: AsyncSession, group: ProductGroup) -> None:
    """Rewrite what each variant takes from the group; touch the others so their documents are re-indexed."""
    facts = GroupFacts.of(group)
    variants = (await session.execute(
        select(Product).where(col(Product.group_id) == group.id).order_by(col(Product.id)).with_for_update()
    )).scalars().all()
    untouched = []
    for variant in variants:
        try:
            changed = await products.apply_changes(session, variant, {}, group=facts)
        except CatalogError as exc:  # e.g. new axes a variant has no value for: the whole change is refused
            exc.message = f"Variant {variant.sku!r}: {exc.message}"
            exc.details = {**exc.details, "sku": variant.sku}
            raise
        if not changed:
            untouched.append(variant.id)
    if untouched:  # a new version queues each one for the indexer (the audit log ignores updated_at)
        await session.execute(update(Product).where(col(Product.id).in_(untouched)).values(updated_at=func.now()))


async def delete_group(session: AsyncSession, group_id: int) -> None:
    """The variants stay, as products of their own: the values they inherited become theirs."""
    group = await _lock(session, group_id)
    await session.execute(
        update(Product).where(col(Product.group_id) == group_id)
        .values(group_id=None, inherited=[], variant_key=None)
    )
    await session.delete(group)
    await session.flush()


async def latest_change(session: AsyncSession, group_id: int) -> int | None:
    """The outbox position of this transaction's last change to the group's variants (read-your-writes)."""
    value = (await session.execute(
        text("SELECT max(o.id) FROM outbox o JOIN products p ON p.id = o.product_id WHERE p.group_id = :g"),
        {"g": group_id},
    )).scalar_one_or_none()
    return int(value) if value is not None else None


IDENTIFIERS = frozenset({"gtin", "ean", "upc", "isbn", "mpn", "asin"})
"""Attributes that differ between variants because every product has its own, not because they tell variants
apart the way a shopper picks one. (Whether a category lets shoppers filter on an attribute says nothing here: a
size can be a variant axis without being a facet.)"""


def _inferred_axes(items: Sequence[BulkItem]) -> list[str]:
    """The attributes whose values differ between these variants of one model: what tells them apart (but not
    identifiers)."""
    keys = sorted({key for item in items if isinstance(item.attributes, dict) for key in item.attributes})
    return [key for key in keys if key not in IDENTIFIERS
            and len({msgspec.json.encode((item.attributes or {}).get(key)) for item in items
                     if isinstance(item.attributes, dict)}) > 1]


async def groups_by_code(session: AsyncSession, items: Sequence[BulkItem]) -> dict[str, int | CatalogError]:
    """The group id for each `group_code` of these bulk items (lower-cased code -> id), creating the groups no
    code names yet from their first item (name, brand, category, description and images; axes: the
    attributes whose values differ between the items, identifiers aside) so an ERP feed can send variants
    only. A group created from a single item has no axes (nothing tells its variants apart yet): set them with
    `PATCH /product-groups/{id}`. A group that cannot be created maps to its error."""
    by_code: dict[str, list[BulkItem]] = {}
    for item in items:
        assert isinstance(item.group_code, str)
        by_code.setdefault(item.group_code.lower(), []).append(item)
    rows = (await session.execute(
        select(col(ProductGroup.id), func.lower(ProductGroup.code)).where(
            func.lower(ProductGroup.code).in_(list(by_code)))
    )).all()
    found: dict[str, int | CatalogError] = {code: int(gid) for gid, code in rows}
    for code, members in by_code.items():
        if code in found:
            continue
        first = members[0]
        given = {name: getattr(first, name) for name in INHERITABLE if getattr(first, name) is not msgspec.UNSET}
        # Built, not converted: every value comes from an item that already passed the bulk schema.
        create = GroupCreate(code=str(first.group_code), name=given.get("name") or str(first.group_code),
                             axes=_inferred_axes(members), brand=given.get("brand"),
                             category_id=given.get("category_id"), description=given.get("description") or "",
                             images=given.get("images") or [])
        try:
            group = await create_group(session, create)
        except CatalogError as exc:
            found[code] = exc
            continue
        assert group.id is not None
        found[code] = group.id
    return found
