"""Data out: exports with the filters of GET /products (CSV that imports back, XLSX, NDJSON) and the Google
Merchant Center feeds (only active products in stock)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.imports.worker import ImportWorker
from catalog.settings import Settings
from tests.helpers import assert_error

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
G = "{http://base.google.com/ns/1.0}"


@pytest.fixture
def catalog(catalog_rows: Any, unique: str) -> dict[str, Any]:
    brand = f"Brand{unique}"
    category = catalog_rows.category(f"export-{unique}/kettles")
    warehouse = f"EX{unique.upper()}"[:20]
    ids = {
        "sellable": catalog_rows.product(
            sku=f"SELL-{unique}",
            brand=brand,
            category_id=category,
            price="19.90",
            attributes={"color": "red", "gtin": "4006381333931", "tags": ["a", "b"]},
            images=["https://img.example.com/sell.jpg"],
            description="A fine kettle",
        ),
        "draft": catalog_rows.product(sku=f"DRAFT-{unique}", brand=brand, status="draft", attributes={"size": 3}),
        "no_stock": catalog_rows.product(sku=f"NOSTOCK-{unique}", brand=brand),
        "reserved": catalog_rows.product(sku=f"RES-{unique}", brand=brand),
        "other": catalog_rows.product(sku=f"OTHER-{unique}", brand=f"Other{unique}"),
    }
    catalog_rows.stock(ids["sellable"], 5, warehouse=warehouse)
    catalog_rows.stock(ids["draft"], 5, warehouse=warehouse)
    catalog_rows.stock(ids["reserved"], 2, reserved=2, warehouse=warehouse)
    return {"brand": brand, "ids": ids, "warehouse": warehouse, "unique": unique, "category": category}


async def test_csv_export_filters_and_imports_back(
    client: Client, auth_headers: Headers, catalog: dict[str, Any], settings: Settings, catalog_rows: Any
) -> None:
    response = await client.get(
        "/products/export", params={"format": "csv", "brand": catalog["brand"]}, headers=auth_headers("analyst")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="products.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["sku"] for r in rows) == sorted(
        f"{k}-{catalog['unique']}" for k in ("SELL", "DRAFT", "NOSTOCK", "RES")
    )
    sell = next(r for r in rows if r["sku"].startswith("SELL-"))
    assert sell["price"] == "19.90" and sell["attr.color"] == "red" and sell["attr.tags"] == "a|b"
    assert sell[f"stock.{catalog['warehouse']}"] == "5" and sell["category"].endswith("/kettles")
    assert sell["images"] == "https://img.example.com/sell.jpg"

    sell["name"] = "Edited in a spreadsheet"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    worker = ImportWorker(settings.model_copy(update={"webhook_poll_interval": 0.05}))
    task = asyncio.create_task(worker.run())
    try:
        queued = await client.post(
            "/products/import",
            content=out.getvalue().encode(),
            headers={**auth_headers("merchandiser"), "content-type": "text/csv"},
        )
        assert queued.status_code == 202
        deadline = time.monotonic() + 30
        while True:
            job = (await client.get(f"/imports/{queued.json()['id']}", headers=auth_headers("admin"))).json()
            if job["status"] in ("done", "failed"):
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 30)
    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 3, "rejected": 0}, job
    assert (
        catalog_rows.scalar("SELECT name FROM products WHERE id = %s", (catalog["ids"]["sellable"],))
        == "Edited in a spreadsheet"
    )
    assert catalog_rows.scalar("SELECT attributes FROM products WHERE id = %s", (catalog["ids"]["sellable"],)) == {
        "color": "red",
        "gtin": "4006381333931",
        "tags": ["a", "b"],
    }


async def test_ndjson_and_xlsx_exports(client: Client, auth_headers: Headers, catalog: dict[str, Any]) -> None:
    params = {"brand": catalog["brand"], "status": "active"}
    ndjson = await client.get("/products/export", params={**params, "format": "ndjson"}, headers=auth_headers("admin"))
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [line["sku"] for line in lines] == [f"{k}-{catalog['unique']}" for k in ("SELL", "NOSTOCK", "RES")]
    assert lines[0]["stock"] == {"on_hand": 5, "reserved": 0, "available": 5, "by_warehouse": {catalog["warehouse"]: 5}}
    assert lines[0]["category"]["id"] == catalog["category"] and lines[0]["price"] == 19.9

    from openpyxl import load_workbook

    xlsx = await client.get("/products/export", params={**params, "format": "xlsx"}, headers=auth_headers("admin"))
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = table[0]
    assert header[:3] == ["id", "sku", "name"] and "attr.color" in header
    assert [r[1] for r in table[1:]] == [line["sku"] for line in lines]


async def test_export_errors(client: Client, auth_headers: Headers) -> None:
    assert_error(
        await client.get("/products/export", params={"format": "pdf"}, headers=auth_headers("admin")),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        await client.get("/products/export", params={"category_id": 999999999}, headers=auth_headers("admin")),
        400,
        "CATEGORY_NOT_FOUND",
    )
    assert_error(await client.get("/products/export", headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await client.get("/products/export"), 401, "NOT_AUTHENTICATED")


async def test_google_merchant_feeds_list_active_products_in_stock(
    client: Client, catalog: dict[str, Any], settings: Settings
) -> None:
    unique = catalog["unique"]
    xml = await client.get("/feeds/google-merchant.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    items = {item.findtext(f"{G}id"): item for item in ET.fromstring(xml.content).iter("item")}
    assert f"SELL-{unique}" in items
    for absent in ("DRAFT", "NOSTOCK", "RES"):  # a draft, no stock, all of it reserved
        assert f"{absent}-{unique}" not in items
    sell = items[f"SELL-{unique}"]
    assert sell.findtext(f"{G}price") == "19.90 USD" and sell.findtext(f"{G}availability") == "in_stock"
    assert sell.findtext(f"{G}gtin") == "4006381333931" and sell.findtext(f"{G}brand") == catalog["brand"]
    assert sell.findtext(f"{G}link") == settings.storefront_product_url.format(sku=f"SELL-{unique}")
    assert sell.findtext(f"{G}image_link") == "https://img.example.com/sell.jpg"

    tsv = await client.get("/feeds/google-merchant.tsv")
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    lines = [line.split("\t") for line in tsv.text.splitlines()]
    assert lines[0] == ["id", "title", "description", "link", "image_link", "price", "availability", "brand", "gtin"]
    mine = [line for line in lines[1:] if line[0].endswith(unique)]
    assert [line[0] for line in mine] == [f"SELL-{unique}"]
    assert mine[0][2] == "A fine kettle" and all(len(line) == 9 for line in lines)
