"""Exports and feeds, streamed a page of products at a time from one consistent snapshot (REPEATABLE READ).

CSV and NDJSON go out as they are read; an XLSX is a zip whose directory comes last, so it is assembled (in a
thread, openpyxl's write-only mode) and then sent. The CSV/XLSX columns are the import's, so an export can be
edited and imported back (`id` is ignored on import, `images` holds the external URLs; uploads stay;
`group_code` puts each variant back in its group, and the values it inherits from the group stay inherited).
The feeds give a variant its group's code as `item_group_id`, which is how Merchant Center tells variants apart.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.errors import InvalidInput
from catalog.settings import Settings
from db import exports as db
from db.media import product_images

EXPORT_COLUMNS = [
    "id",
    "sku",
    "name",
    "description",
    "brand",
    "price",
    "currency",
    "status",
    "category_id",
    "category",
    "images",
    "group_code",
]
FEED_COLUMNS = [
    "id", "item_group_id", "title", "description", "link", "image_link", "price", "availability", "brand", "gtin",
]
GTIN_ATTRIBUTES = ("gtin", "gtin13", "gtin14", "gtin12", "gtin8", "ean", "upc", "isbn")


async def _execute(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    return list((await (await session.connection()).exec_driver_sql(sql, params)).all())


async def category_path(sessions: async_sessionmaker[AsyncSession], category_id: int | None) -> str | None:
    if category_id is None:
        return None
    async with sessions() as session:
        rows = await _execute(session, db.CATEGORY_PATH_SQL, {"id": category_id})
    if not rows:
        raise InvalidInput(
            "The category does not exist.",
            {"fields": {"category_id": f"no category {category_id}"}},
            code="CATEGORY_NOT_FOUND",
        )
    return str(rows[0][0])


async def _pages(
    sessions: async_sessionmaker[AsyncSession], sql: str, params: dict[str, Any], head: list[str] | None = None
) -> AsyncIterator[list[Any]]:
    """Pages of rows in id order, all from one snapshot; with `head`, first yields [attribute names, codes]."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if head is not None:
            names = [r[0] for r in await _execute(session, db.ATTRIBUTE_NAMES_SQL, params)]
            codes = [r[0] for r in await _execute(session, db.WAREHOUSE_CODES_SQL, {})]
            yield [names, codes]
        after = 0
        while True:
            rows = await _execute(session, sql, {**params, "after": after, "limit": db.PAGE_SIZE})
            if rows:
                yield rows
            if len(rows) < db.PAGE_SIZE:
                return
            after = rows[-1][0]


def _record(row: Any) -> dict[str, Any]:
    (
        pid,
        sku,
        name,
        description,
        brand,
        category_id,
        path,
        status,
        price,
        currency,
        attributes,
        images,
        uploaded,
        completeness,
        updated_at,
        version,
        on_hand,
        reserved,
        by_warehouse,
        group_id,
        group_code,
        inherited,
    ) = row
    return {
        "id": pid,
        "sku": sku,
        "name": name,
        "description": description,
        "brand": brand,
        "category": {"id": category_id, "path": path} if category_id is not None else None,
        "status": status,
        "price": price,
        "currency": currency.strip(),
        "attributes": attributes,
        "images": product_images(uploaded, images),
        "external_images": images,
        "stock": {
            "on_hand": int(on_hand),
            "reserved": int(reserved),
            "available": int(on_hand) - int(reserved),
            "by_warehouse": by_warehouse,
        },
        "completeness": completeness,
        "group_id": group_id,
        "group_code": group_code,
        "inherited": list(inherited),
        "updated_at": updated_at,
        "version": version,
    }


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(_cell(v)) for v in value)
    return value


def _sheet_row(record: dict[str, Any], names: list[str], codes: list[str]) -> list[Any]:
    category = record["category"] or {}
    stock = record["stock"]["by_warehouse"]
    return [
        record["id"],
        record["sku"],
        record["name"],
        record["description"],
        record["brand"] or "",
        record["price"],
        record["currency"],
        record["status"],
        category.get("id", ""),
        category.get("path", ""),
        "|".join(record["external_images"]),
        record["group_code"] or "",
        *[_cell(record["attributes"].get(n, "")) for n in names],
        *[stock.get(c, "") for c in codes],
    ]


def _header(names: list[str], codes: list[str]) -> list[str]:
    return [*EXPORT_COLUMNS, *(f"attr.{n}" for n in names), *(f"stock.{c}" for c in codes)]


async def export_csv(sessions: async_sessionmaker[AsyncSession], params: dict[str, Any]) -> AsyncIterator[bytes]:
    pages = _pages(sessions, db.PAGE_SQL, params, head=[])
    names, codes = await anext(pages)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header(names, codes))
    yield out.getvalue().encode()
    async for rows in pages:
        out.seek(0)
        out.truncate()
        writer.writerows(_sheet_row(_record(r), names, codes) for r in rows)
        yield out.getvalue().encode()


async def export_ndjson(sessions: async_sessionmaker[AsyncSession], params: dict[str, Any]) -> AsyncIterator[bytes]:
    encoder = msgspec.json.Encoder(decimal_format="number")
    async for rows in _pages(sessions, db.PAGE_SQL, params):
        records = [_record(r) for r in rows]
        for record in records:
            del record["external_images"]
        yield b"".join(encoder.encode(record) + b"\n" for record in records)


async def export_xlsx(sessions: async_sessionmaker[AsyncSession], params: dict[str, Any]) -> AsyncIterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("products")
    pages = _pages(sessions, db.PAGE_SQL, params, head=[])
    names, codes = await anext(pages)
    sheet.append(_header(names, codes))
    async for rows in pages:
        for r in rows:
            row = _sheet_row(_record(r), names, codes)
            sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    buffer = io.BytesIO()
    await asyncio.to_thread(workbook.save, buffer)
    data = buffer.getvalue()
    for start in range(0, len(data), 1 << 20):
        yield data[start : start + (1 << 20)]


# --- Google Merchant Center --------------------------------------------------------------------------------------


def _feed_item(row: Any, settings: Settings) -> dict[str, str]:
    _, sku, name, description, brand, price, currency, attributes, images, uploaded, group_code = row
    absolute = [url for url in product_images(uploaded, images) if url.startswith(("http://", "https://"))]
    gtin = next((str(attributes[k]) for k in GTIN_ATTRIBUTES if attributes.get(k) not in (None, "")), "")
    return {
        "id": sku,
        "item_group_id": group_code or "",
        "title": name,
        "description": description or name,
        "link": settings.storefront_product_url.format(sku=sku),
        "image_link": absolute[0] if absolute else "",
        "price": f"{price:.2f} {currency.strip()}",
        "availability": "in_stock",
        "brand": brand or "",
        "gtin": gtin,
    }


def _tsv_value(value: str) -> str:
    return " ".join(value.split())  # tabs and line breaks would break the row


async def feed_tsv(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> AsyncIterator[bytes]:
    yield ("\t".join(FEED_COLUMNS) + "\n").encode()
    async for rows in _pages(sessions, db.FEED_SQL, {}):
        lines = (
            "\t".join(_tsv_value(item[c]) for c in FEED_COLUMNS) for item in (_feed_item(r, settings) for r in rows)
        )
        yield ("\n".join(lines) + "\n").encode()


async def feed_xml(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> AsyncIterator[bytes]:
    home = settings.storefront_product_url.split("/products/")[0]
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n'
        f"<channel>\n<title>Product catalog</title>\n<link>{escape(home)}</link>\n"
        "<description>Active products in stock</description>\n"
    ).encode()
    async for rows in _pages(sessions, db.FEED_SQL, {}):
        parts = []
        for row in rows:
            item = _feed_item(row, settings)
            fields = "".join(f"<g:{c}>{escape(item[c])}</g:{c}>" for c in FEED_COLUMNS if item[c])
            parts.append(f"<item>{fields}</item>\n")
        yield "".join(parts).encode()
    yield b"</channel>\n</rss>\n"
