"""Data out: exports with the filters of GET /products (CSV and XLSX that import back, variants into their groups
and still inheriting from them; NDJSON) and the Google Merchant Center feeds (only active products in stock)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.imports.worker import ImportWorker
from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.imports import finished, upload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
G = "{http://base.google.com/ns/1.0}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def imported(client: Client, headers: Headers, body: bytes, content_type: str) -> dict[str, Any]:
    """The finished import job of this file."""
    return await finished(client, headers, (await upload(client, headers, body, content_type))["id"])


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def catalog(catalog_rows: Any, unique: str) -> dict[str, Any]:
    """Five products of one brand of this test's own. The draft's numeric attribute has a name of its own too: an
    import types each attribute by the category definitions of that name anywhere in the catalog (another test's
    `size` defined as a string made "3" import back as "3", an update); a name no other test defines comes back as
    it went out, whatever ran before."""
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
        "draft": catalog_rows.product(sku=f"DRAFT-{unique}", brand=brand, status="draft",
                                      attributes={f"size_{unique}": 3}),
        "no_stock": catalog_rows.product(sku=f"NOSTOCK-{unique}", brand=brand),
        "reserved": catalog_rows.product(sku=f"RES-{unique}", brand=brand),
        "other": catalog_rows.product(sku=f"OTHER-{unique}", brand=f"Other{unique}"),
    }
    catalog_rows.stock(ids["sellable"], 5, warehouse=warehouse)
    catalog_rows.stock(ids["draft"], 5, warehouse=warehouse)
    catalog_rows.stock(ids["reserved"], 2, reserved=2, warehouse=warehouse)
    return {"brand": brand, "ids": ids, "warehouse": warehouse, "unique": unique, "category": category}


async def test_csv_export_filters_and_imports_back(
    client: Client, auth_headers: Headers, catalog: dict[str, Any], import_worker: ImportWorker, catalog_rows: Any
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
    assert sell["images"] == "https://img.example.com/sell.jpg" and sell["group_code"] == ""

    sell["name"] = "Edited in a spreadsheet"
    job = await imported(client, auth_headers, as_csv(rows), "text/csv")
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
    assert lines[0] == [
        "id", "item_group_id", "title", "description", "link", "image_link", "price", "availability", "brand", "gtin"
    ]
    mine = [line for line in lines[1:] if line[0].endswith(unique)]
    assert [line[0] for line in mine] == [f"SELL-{unique}"]
    assert mine[0][1] == "" and mine[0][3] == "A fine kettle" and all(len(line) == 10 for line in lines)


@pytest.fixture
async def tees(client: Client, auth_headers: Headers, unique: str) -> dict[str, Any]:
    """A t-shirt group with four variants (one with a name of its own) and a product of its own, one brand."""
    brand, code = f"Loom{unique}", f"TEE-{unique}"
    headers = auth_headers("merchandiser")
    body = {"code": code, "name": f"Tee {unique}", "brand": brand, "axes": ["color", "size"],
            "description": "A heavyweight organic cotton tee that keeps its shape.",
            "images": ["https://img.example.com/tee.jpg"]}
    group = await client.post("/product-groups", json=body, headers=headers)
    assert group.status_code == 201, group.text
    items: list[dict[str, Any]] = [
        {"sku": f"TEE-{unique}-{color}-{size}", "group_code": code, "price": 12 if size == "S" else 14,
         "attributes": {"color": color, "size": size, "material": "organic cotton"}}
        for color in ("red", "blue") for size in ("S", "XL")
    ]
    items[-1]["name"] = f"Tee {unique} Night Edition"
    items.append({"sku": f"MUG-{unique}", "name": "Mug", "brand": brand, "price": 5})
    written = await client.post("/products/bulk", json=items, headers=headers)
    assert written.json()["summary"]["created"] == 5, written.text
    return {"brand": brand, "code": code, "group": group.json()["id"], "unique": unique}


async def variants_of(client: Client, headers: Headers, group_id: int) -> dict[str, dict[str, Any]]:
    read = await client.get(f"/product-groups/{group_id}", headers=headers("analyst"))
    return {v["sku"]: v for v in read.json()["variants"]}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_variants_export_with_their_group_code_and_import_back_unchanged(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, tees: dict[str, Any], kind: str
) -> None:
    before = await variants_of(client, auth_headers, tees["group"])
    assert set(before[f"TEE-{tees['unique']}-red-S"]["inherited"]) == {"name", "brand", "description", "images",
                                                                     "category_id"}
    exported = await client.get("/products/export", params={"format": kind, "brand": tees["brand"]},
                                headers=auth_headers("analyst"))
    assert exported.status_code == 200, exported.text
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["sku"]: r["group_code"] for r in rows} == {**{sku: tees["code"] for sku in before},
                                                             f"MUG-{tees['unique']}": ""}
        assert all(r["name"] == f"Tee {tees['unique']}" for r in rows if r["sku"].endswith("-red-S"))
    job = await imported(client, auth_headers, exported.content, "text/csv" if kind == "csv" else XLSX)

    assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 5, "rejected": 0}, job
    after = await variants_of(client, auth_headers, tees["group"])
    assert {sku: (v["inherited"], v["name"]) for sku, v in after.items()} == {
        sku: (v["inherited"], v["name"]) for sku, v in before.items()}


async def test_an_edited_cell_becomes_the_variants_own_value_the_rest_stays_inherited(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, tees: dict[str, Any]
) -> None:
    exported = await client.get("/products/export", params={"format": "csv", "brand": tees["brand"]},
                                headers=auth_headers("analyst"))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    red_s = f"TEE-{tees['unique']}-red-S"
    next(r for r in rows if r["sku"] == red_s)["name"] = "Tee, the red one"
    job = await imported(client, auth_headers, as_csv(rows), "text/csv")
    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 4, "rejected": 0}, job

    renamed = await client.patch(f"/product-groups/{tees['group']}", json={"name": f"Heavy Tee {tees['unique']}"},
                                 headers=auth_headers("merchandiser"))
    assert renamed.status_code == 200, renamed.text
    names = {sku: v["name"] for sku, v in (await variants_of(client, auth_headers, tees["group"])).items()}
    assert names == {red_s: "Tee, the red one", f"TEE-{tees['unique']}-red-XL": f"Heavy Tee {tees['unique']}",
                     f"TEE-{tees['unique']}-blue-S": f"Heavy Tee {tees['unique']}",
                     f"TEE-{tees['unique']}-blue-XL": f"Tee {tees['unique']} Night Edition"}


async def test_ndjson_and_the_feeds_name_each_variants_group(
    client: Client, auth_headers: Headers, tees: dict[str, Any], catalog_rows: Any
) -> None:
    ndjson = await client.get("/products/export", params={"format": "ndjson", "brand": tees["brand"]},
                              headers=auth_headers("analyst"))
    lines = {line["sku"]: line for line in map(json.loads, ndjson.text.splitlines())}
    red_s = lines[f"TEE-{tees['unique']}-red-S"]
    assert red_s["group_id"] == tees["group"] and red_s["group_code"] == tees["code"]
    assert "name" in red_s["inherited"]
    mug = lines[f"MUG-{tees['unique']}"]
    assert mug["group_id"] is None and mug["group_code"] is None and mug["inherited"] == []

    catalog_rows.conn.execute("UPDATE products SET status = 'active' WHERE sku LIKE %s", (f"TEE-{tees['unique']}-%",))
    for sku in lines:
        catalog_rows.stock(lines[sku]["id"], 3, warehouse=f"T{tees['unique'].upper()}"[:20])
    tsv = (await client.get("/feeds/google-merchant.tsv")).text.splitlines()
    header = tsv[0].split("\t")
    items = {line.split("\t")[0]: dict(zip(header, line.split("\t"), strict=True)) for line in tsv[1:]}
    assert items[red_s["sku"]]["item_group_id"] == tees["code"]
