"""Set-based product writes for bulk upsert and import: COPY the chunk into a temporary staging table, then one
INSERT ... ON CONFLICT merge into products. Row triggers (audit, price history, outbox) and statement triggers
(catalog facts, change log) fire exactly as for any other write."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

COLUMNS = (
    "sku",
    "name",
    "price",
    "currency",
    "description",
    "brand",
    "category_id",
    "status",
    "attributes",
    "images",
    "completeness",
    "missing_fields",
    "group_id",
    "inherited",
    "variant_key",
)
TYPES = ("text", "text", "numeric", "text", "text", "text", "int8", "text", "jsonb", "jsonb", "int2", "text[]",
         "int8", "text[]", "text")
_LIST = ", ".join(COLUMNS)

# ON COMMIT DELETE ROWS: the table lives as long as the connection (pooled), its rows only for the transaction.
STAGING_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS products_staging (
    ord int NOT NULL, {", ".join(f"{c} {t}" for c, t in zip(COLUMNS, TYPES, strict=True))}
) ON COMMIT DELETE ROWS
"""
TRUNCATE_SQL = "TRUNCATE products_staging"
COPY_SQL = f"COPY products_staging (ord, {_LIST}) FROM STDIN"
MERGE_SQL = f"""
INSERT INTO products AS p ({_LIST})
SELECT {_LIST} FROM products_staging ORDER BY ord
ON CONFLICT ((lower(sku))) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in COLUMNS)}
RETURNING p.id, p.sku, p.version, (p.xmax = 0) AS inserted
"""
# Only new SKUs: an INSERT ... ON CONFLICT DO UPDATE fires the UPDATE statement triggers (catalog facts, change
# log) even when nothing is updated, 5 ms per 1,000-row chunk for nothing. A SKU inserted by someone else
# meanwhile is left out of RETURNING, so the caller sees it is missing, as it sees `inserted` false above.
INSERT_SQL = f"""
INSERT INTO products AS p ({_LIST})
SELECT {_LIST} FROM products_staging ORDER BY ord
ON CONFLICT ((lower(sku))) DO NOTHING
RETURNING p.id, p.sku, p.version, true AS inserted
"""


@dataclass(frozen=True)
class Merged:
    id: int
    sku: str
    version: int
    inserted: bool


_JSON_COLUMNS = frozenset(("attributes", "images"))


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _json(value: Any) -> bytes | str:
    """msgspec's encoding (a fifth of json.dumps' time here); json.dumps for a NaN or infinity, which msgspec would
    write as null, so PostgreSQL refuses that row as it always did."""
    return msgspec.json.encode(value) if _finite(value) else json.dumps(value)


def _copy_row(ord_: int, row: dict[str, Any]) -> tuple[Any, ...]:
    return (ord_, *(Jsonb(row[c], _json) if c in _JSON_COLUMNS else row[c] for c in COLUMNS))


async def merge_products(
    conn: AsyncConnection[Any],
    rows: list[dict[str, Any]],
    *,
    all_new: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, Merged]:
    """Write complete product rows (every column in COLUMNS); returns each one written by lower-cased SKU.
    `all_new`: every row is planned as a new SKU, so one that exists meanwhile is left out of the result instead
    of being updated. `meanwhile`: run once the merge statement is sent, while the server executes it."""
    if not rows:
        return {}
    await conn.execute(STAGING_DDL)
    await conn.execute(TRUNCATE_SQL)
    async with conn.cursor() as cur:
        async with cur.copy(COPY_SQL) as copy:
            copy.set_types(["int4", *TYPES])
            for n, row in enumerate(rows):
                await copy.write_row(_copy_row(n, row))
        sent = asyncio.ensure_future(cur.execute(INSERT_SQL if all_new else MERGE_SQL))
        try:
            await asyncio.sleep(0)  # one step of the task sends the statement; it then waits for the server
            if meanwhile is not None:
                meanwhile()
        finally:
            await sent
        merged = [Merged(int(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in await cur.fetchall()]
    return {m.sku.lower(): m for m in merged}
