"""Bulk upsert by SKU: per-item results; a bad item never aborts the good ones nor half-writes itself.

Items are validated in Python first; valid ones are written in chunks, each chunk inside a savepoint.
If a chunk fails in the database, it is retried item by item, each in its own savepoint, so only the
offending item is rejected.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Text, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.groups import service as groups
from api.products import service, validation
from api.products.schemas import BulkItem, BulkItemResult, BulkResult, BulkSummary, ProductCreate
from catalog.errors import CatalogError, InvalidInput
from db import quality
from db.models import Product, ProductStatus
from db.product_staging import merge_products
from db.session import transaction
from db.variants import GroupFacts

MAX_ITEMS = 10_000
CHUNK = 1000


@dataclass
class ParsedItem:
    index: int
    item: BulkItem | None
    error: dict[str, Any] | None = None
    planned_new: dict[str, Any] | Exception | None = None
    """Its row (or refusal) as a new SKU of no group, planned ahead while the previous chunk was being written."""


def _item_error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def _convert(index: int, raw: Any) -> ParsedItem:
    try:
        return ParsedItem(index, msgspec.convert(raw, BulkItem, strict=False))
    except msgspec.ValidationError as exc:
        return ParsedItem(index, None, _item_error("VALIDATION_ERROR", str(exc)))


def parse_items(body: bytes, content_type: str) -> list[ParsedItem]:
    """A JSON array, or NDJSON (one object per line) when the content type says so."""
    if "ndjson" in content_type or "jsonlines" in content_type:
        raw_items: list[Any] = []
        parsed: list[ParsedItem] = []
        for index, line in enumerate(line for line in body.splitlines() if line.strip()):
            try:
                raw_items.append((index, msgspec.json.decode(line)))
            except msgspec.DecodeError as exc:
                parsed.append(ParsedItem(index, None, _item_error("MALFORMED_JSON", f"line {index + 1}: {exc}")))
        parsed.extend(_convert(index, raw) for index, raw in raw_items)
        parsed.sort(key=lambda p: p.index)
    else:
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise InvalidInput(
                f"The body is not valid JSON: {exc}", {"fields": {"body": str(exc)}}, code="MALFORMED_JSON"
            ) from None
        if not isinstance(decoded, list):
            raise InvalidInput(
                "Send a JSON array of products (or NDJSON with Content-Type: application/x-ndjson).",
                {"fields": {"body": "expected an array"}},
            )
        parsed = [_convert(index, raw) for index, raw in enumerate(decoded)]
    if not parsed:
        raise InvalidInput("The bulk request has no items.", {"fields": {"body": "empty"}})
    if len(parsed) > MAX_ITEMS:
        raise InvalidInput(
            f"At most {MAX_ITEMS} items per request; split the import.",
            {"fields": {"body": f"{len(parsed)} items"}},
            code="TOO_MANY_ITEMS",
        )
    return parsed


def _duplicate_skus(items: list[ParsedItem]) -> None:
    seen: dict[str, int] = {}
    for parsed in items:
        if parsed.item is None:
            continue
        key = parsed.item.sku.lower()
        if key in seen:
            parsed.error = _item_error(
                "DUPLICATE_SKU_IN_REQUEST",
                f"SKU also at index {seen[key]} of this request.",
                {"fields": {"sku": parsed.item.sku}},
            )
            parsed.item = None
        else:
            seen[key] = parsed.index


async def _write_one(
    session: AsyncSession, parsed: ParsedItem, existing: Product | None, currency: str
) -> BulkItemResult:
    item = parsed.item
    assert item is not None
    changes = service.changes_of(item)
    if existing is None:
        _require_new(changes)
        create = msgspec.convert({k: v for k, v in changes.items()}, ProductCreate, strict=False)
        product = await service.create_product(session, create, currency)
        return BulkItemResult(parsed.index, "created", product.sku, product.id, product.version)
    changed = await service.apply_changes(session, existing, changes)
    return BulkItemResult(
        parsed.index, "updated" if changed else "unchanged", existing.sku, existing.id, existing.version
    )


def _error_result(parsed: ParsedItem, exc: Exception) -> BulkItemResult:
    sku = parsed.item.sku if parsed.item else None
    if isinstance(exc, CatalogError):
        error = _item_error(exc.code, exc.message, exc.details)
    elif isinstance(exc, IntegrityError | DBAPIError):
        error = _item_error("CONSTRAINT_VIOLATION", str(exc.orig).splitlines()[0])
    else:
        error = _item_error("INVALID_ITEM", str(exc))
    return BulkItemResult(parsed.index, "error", sku, error=error)


def _require_new(changes: dict[str, Any]) -> None:
    """A new SKU needs a price, and a name unless it is a variant."""
    missing = [name for name in ("name", "price") if name not in changes and not (name == "name" and
                                                                                   changes.get("group_id"))]
    if missing:
        raise InvalidInput("A new SKU needs a price, and a name unless it is a variant (group_id or group_code).",
                           {"fields": {m: "required" for m in missing}})


async def write_chunk(
    session: AsyncSession, chunk: list[ParsedItem], currency: str, ahead: list[ParsedItem] | None = None
) -> list[BulkItemResult]:
    """The chunk (valid items, distinct SKUs, at most CHUNK) in a few set-based statements, in the caller's
    transaction; item by item only if the database refuses the batch. One result per item (an item whose
    `group_code` names no group creates it; see `api.groups.service.groups_by_code`). `ahead`: the next chunk,
    whose rows as new SKUs are planned while PostgreSQL writes this one (`_plan_ahead`)."""
    refused = await _place_in_groups(session, chunk)
    chunk = [parsed for parsed in chunk if parsed.item is not None]
    return refused + await _write_valid(session, chunk, currency, ahead or [])


async def _place_in_groups(session: AsyncSession, chunk: list[ParsedItem]) -> list[BulkItemResult]:
    """Turn each item's `group_code` into its `group_id`; the items it cannot place get their error result."""
    coded = [p for p in chunk if p.item is not None and isinstance(p.item.group_code, str)]
    if not coded:
        return []
    found = await groups.groups_by_code(session, [p.item for p in coded if p.item is not None])
    refused = []
    for parsed in coded:
        assert parsed.item is not None and isinstance(parsed.item.group_code, str)
        placed = found[parsed.item.group_code.lower()]
        given = parsed.item.group_id
        if isinstance(placed, CatalogError) or (isinstance(given, int) and given != placed):
            error = placed if isinstance(placed, CatalogError) else InvalidInput(
                f"group_id {given} is not the group with code {parsed.item.group_code!r} ({placed}); send one.",
                {"fields": {"group_id": str(given), "group_code": parsed.item.group_code}})
            refused.append(_error_result(parsed, error))
            parsed.item = None
        else:
            parsed.item.group_id = placed
    return refused


async def _write_valid(
    session: AsyncSession, chunk: list[ParsedItem], currency: str, ahead: list[ParsedItem]
) -> list[BulkItemResult]:
    try:
        async with session.begin_nested():
            return await _write_chunk_batched(session, chunk, currency, ahead)
    except (DBAPIError, psycopg.Error, ConcurrentInsert):
        pass  # e.g. a SKU inserted concurrently: redo the chunk item by item so only that item is rejected
    session.expunge_all()
    return [await _write_item_alone(session, parsed, currency) for parsed in chunk]


async def _write_item_alone(session: AsyncSession, parsed: ParsedItem, currency: str) -> BulkItemResult:
    assert parsed.item is not None
    try:
        async with session.begin_nested():
            query = select(Product).where(func.lower(Product.sku) == parsed.item.sku.lower()).with_for_update()
            existing = (await session.execute(query)).scalar_one_or_none()
            return await _write_one(session, parsed, existing, currency)
    except (CatalogError, DBAPIError, msgspec.ValidationError) as exc:
        return _error_result(parsed, exc)


PRODUCTS = Product.__table__  # type: ignore[attr-defined]
# `lower(sku) = ANY(:skus)`: one array parameter, where `IN` compiled 1,000 bound parameters per chunk (0.15 s per
# 20k items in the profile).


async def _write_chunk_batched(
    session: AsyncSession, chunk: list[ParsedItem], currency: str, ahead: list[ParsedItem]
) -> list[BulkItemResult]:
    ref = await validation.reference(session)
    skus = [p.item.sku.lower() for p in chunk if p.item]
    locked = (
        await session.execute(
            select(PRODUCTS).where(func.lower(PRODUCTS.c.sku) == any_(bindparam("skus", skus, ARRAY(Text))))
            .order_by(PRODUCTS.c.id).with_for_update()
        )
    ).mappings()
    current_by_sku = {row["sku"].lower(): dict(row) for row in locked}
    group_ids = [gid for p in chunk if p.item is not None and isinstance(gid := p.item.group_id, int)]
    group_ids += [row["group_id"] for row in current_by_sku.values() if row["group_id"] is not None]
    known_groups = await service.load_groups(session, group_ids)
    results: list[BulkItemResult] = []
    inserts: list[tuple[ParsedItem, dict[str, Any]]] = []
    updates: list[tuple[ParsedItem, dict[str, Any]]] = []
    for parsed in chunk:
        assert parsed.item is not None
        current = current_by_sku.get(parsed.item.sku.lower())
        row: dict[str, Any] | None
        try:
            if current is None and parsed.planned_new is not None:
                if isinstance(parsed.planned_new, Exception):
                    raise parsed.planned_new
                row = parsed.planned_new
            else:
                row = _planned_row(ref, parsed.item, current, currency, known_groups)
        except (CatalogError, msgspec.ValidationError) as exc:
            results.append(_error_result(parsed, exc))
            continue
        if row is None:
            assert current is not None
            results.append(BulkItemResult(parsed.index, "unchanged", current["sku"], current["id"], current["version"]))
        elif current is None:
            inserts.append((parsed, row))
        else:
            updates.append((parsed, {"_id": current["id"], **row}))
    results += await _merge_rows(session, inserts, updates, lambda: _plan_ahead(ref, ahead, currency))
    return results


def _plan_ahead(ref: validation.Reference, ahead: list[ParsedItem], currency: str) -> None:
    """Plan the next chunk's items as new SKUs (what most of an import is) while PostgreSQL is busy merging this
    chunk: on two cores the Python planning and the database work overlap. Only items that need nothing from the
    database but the reference data qualify (no group: the group's fields are read with the chunk); an item that
    turns out to exist is planned again against its row, as without this."""
    for parsed in ahead:
        item = parsed.item
        if item is None or isinstance(item.group_code, str) or isinstance(item.group_id, int):
            continue
        try:
            parsed.planned_new = _planned_row(ref, item, None, currency, {})
        except (CatalogError, msgspec.ValidationError) as exc:
            parsed.planned_new = exc


def _planned_row(
    ref: validation.Reference, item: BulkItem, current: dict[str, Any] | None, currency: str,
    known_groups: dict[int, GroupFacts],
) -> dict[str, Any] | None:
    """The full row to write for this item, validated and scored; None when nothing would change."""
    changes = service.changes_of(item)
    if "status" in changes:
        changes["status"] = ProductStatus(changes["status"]).value
    before: dict[str, Any]
    if current is None:
        _require_new(changes)
        before = {
            "description": "",
            "brand": None,
            "category_id": None,
            "status": ProductStatus.DRAFT.value,
            "currency": currency,
            "attributes": {},
            "images": [],
            "group_id": None,
            "inherited": [],
            "variant_key": None,
        }
    else:
        before = {name: current[name] for name in service.WRITTEN_FIELDS}
        before["currency"] = str(current["currency"]).strip()
    group_id = changes.get("group_id", before["group_id"])
    group = known_groups.get(group_id) if group_id is not None else None
    if group_id is not None and group is None:
        raise service.group_not_found(group_id)
    after = service.with_group({**before, **changes}, group, before["inherited"], list(changes))
    if current is not None and after == before:
        return None
    different = {name: value for name, value in after.items() if current is None or before.get(name) != value}
    validation.check_changes(ref, different, after["category_id"], after["attributes"])
    uploaded = current["uploaded_images"] if current is not None else []  # kept by triggers, never written here
    scored = quality.evaluate({**after, "uploaded_images": uploaded}, ref.rules)
    return {**after, "completeness": scored.completeness, "missing_fields": scored.missing_fields}


class ConcurrentInsert(Exception):
    """A SKU planned as new was inserted by someone else meanwhile: the chunk is redone item by item."""


async def _merge_rows(
    session: AsyncSession,
    inserts: list[tuple[ParsedItem, dict[str, Any]]],
    updates: list[tuple[ParsedItem, dict[str, Any]]],
    meanwhile: Callable[[], None],
) -> list[BulkItemResult]:
    """COPY the planned rows into a staging table and merge them in one statement (db/product_staging.py), calling
    `meanwhile` while the database runs the merge."""
    planned = inserts + updates
    if not planned:
        meanwhile()
        return []
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    merged = await merge_products(driver, [row for _, row in planned], all_new=not updates, meanwhile=meanwhile)
    results = []
    for parsed, row in planned:
        written = merged.get(row["sku"].lower())
        if written is None or written.inserted != ("_id" not in row):
            raise ConcurrentInsert(row["sku"])
        status = "created" if written.inserted else "updated"
        results.append(BulkItemResult(parsed.index, status, written.sku, written.id, written.version))
    return results


async def upsert(
    sessions: async_sessionmaker[AsyncSession], items: list[ParsedItem], currency: str, actor: uuid.UUID
) -> BulkResult:
    _duplicate_skus(items)
    results = [BulkItemResult(p.index, "error", error=p.error) for p in items if p.item is None]
    valid = [p for p in items if p.item is not None]
    async with transaction(sessions, actor) as session:
        for start in range(0, len(valid), CHUNK):
            ahead = valid[start + CHUNK : start + 2 * CHUNK]
            results.extend(await write_chunk(session, valid[start : start + CHUNK], currency, ahead))
        written = [r.id for r in results if r.status in ("created", "updated") and r.id is not None]
        change = await service.latest_change(session, *written)
    results.sort(key=lambda r: r.index)
    counts = {
        status: sum(1 for r in results if r.status == status) for status in ("created", "updated", "unchanged", "error")
    }
    return BulkResult(summary=BulkSummary(**counts), items=results, change=int(change) if change else None)
