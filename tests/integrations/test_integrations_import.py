"""Spreadsheet import: a CSV and an XLSX with broken rows get a per-row report and import the good rows (or, atomic,
nothing); `group_code` imports variants into their product group; dry runs write nothing; jobs are processed off
the request by the worker, restart-safe; `catalog import`."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.imports.worker import ImportWorker, create_job
from catalog.settings import PROJECT_ROOT, Settings
from tests.helpers.api import assert_error
from tests.helpers.imports import finished, upload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["sku", "name", "price", "currency", "status", "category", "attr.color", "stock.{wh}", "group_code"]


@pytest.fixture
def sheet(catalog_rows: Any, unique: str) -> dict[str, Any]:
    """A warehouse, a category, an existing product, and the rows of a spreadsheet with broken ones among them."""
    code = f"IMP{unique.upper()}"[:20]
    catalog_rows.conn.execute("INSERT INTO warehouses (code, name) VALUES (%s, 'Import')", (code,))
    category = f"imports-{unique}/kettles"
    catalog_rows.category(category)
    existing = catalog_rows.product(sku=f"OLD-{unique}", name="Old name", price="5.00", status="draft")
    same = catalog_rows.product(sku=f"SAME-{unique}", name="Same", price="7.00", status="draft")
    rows = [
        [f"NEW-{unique}", "New kettle", "19.99", "USD", "active", category, "red", "12", ""],  # 2 created
        [f"OLD-{unique}", "New name", "", "", "", "", "", "", ""],  # 3 updated (name only)
        [f"SAME-{unique}", "", "", "", "", "", "", "", ""],  # 4 unchanged
        [f"BADPRICE-{unique}", "Kettle", "abc", "", "", "", "", "", ""],  # 5 price
        [f"NONAME-{unique}", "", "3", "", "", "", "", "", ""],  # 6 a new SKU needs a name
        [f"BADCAT-{unique}", "Kettle", "3", "", "", "no/such/path", "", "", ""],  # 7 category
        [f"NEW-{unique}", "Twice", "1", "", "", "", "", "", ""],  # 8 duplicate of row 2
        [f"NEGSTOCK-{unique}", "Kettle", "3", "", "", "", "", "-4", ""],  # 9 stock
        [f"BADSTATUS-{unique}", "Kettle", "3", "", "sold", "", "", "", ""],  # 10 status
        ["bad sku!", "Kettle", "3", "", "", "", "", "", ""],  # 11 sku
        [f"BADGROUP-{unique}", "Kettle", "3", "", "", "", "", "", "no spaces!"],  # 12 group code
    ]
    header = [h.format(wh=code) for h in HEADER]
    return {"header": header, "rows": rows, "existing": existing, "same": same, "code": code, "unique": unique}


EXPECTED_ERRORS = [
    (5, "price", "INVALID_VALUE"),
    (6, "name", "VALIDATION_ERROR"),
    (7, "category", "CATEGORY_NOT_FOUND"),
    (8, "sku", "DUPLICATE_SKU_IN_FILE"),
    (9, "stock.{code}", "INVALID_STOCK"),
    (10, "status", "INVALID_VALUE"),
    (11, "sku", "INVALID_VALUE"),
    (12, "group_code", "INVALID_VALUE"),
]


def as_csv(sheet: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sheet["header"])
    writer.writerows(sheet["rows"])
    return out.getvalue().encode()


def as_xlsx(sheet: dict[str, Any]) -> bytes:
    """As a spreadsheet program saves it: prices as numbers, empty cells empty."""
    from openpyxl import Workbook

    workbook = Workbook()
    ws = workbook.active
    assert ws is not None
    ws.append(sheet["header"])
    price = sheet["header"].index("price")
    for row in sheet["rows"]:
        ws.append([float(v) if v.replace(".", "").isdigit() and i == price else (v or None) for i, v in enumerate(row)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def check_report(job: dict[str, Any], sheet: dict[str, Any]) -> None:
    assert job["status"] == "done", job
    rejected = [(e["row"], e["column"], e["code"]) for e in job["errors"]]
    expected = [(row, column.format(code=sheet["code"]), code) for row, column, code in EXPECTED_ERRORS]
    assert rejected == expected, job["errors"]
    assert all(e["message"] for e in job["errors"])
    assert job["total_rows"] == job["processed_rows"] == 11


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_spreadsheet_with_broken_rows_imports_the_good_ones_with_a_report(
    client: Client,
    auth_headers: Headers,
    import_worker: ImportWorker,
    sheet: dict[str, Any],
    catalog_rows: Any,
    kind: str,
) -> None:
    body, content_type = (as_csv(sheet), "text/csv") if kind == "csv" else (as_xlsx(sheet), XLSX)
    queued = await upload(client, auth_headers, body, content_type)
    assert queued["status"] == "queued" and queued["format"] == kind
    job = await finished(client, auth_headers, queued["id"])
    check_report(job, sheet)
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "rejected": 8}
    unique = sheet["unique"]
    created = (await client.get(f"/products/by-sku/NEW-{unique}", headers=auth_headers("analyst"))).json()
    assert created["price"] == 19.99 and created["attributes"] == {"color": "red"}
    assert created["stock"]["on_hand"] == 12 and created["category"]["path"].endswith("/kettles")
    old = (await client.get(f"/products/{sheet['existing']}", headers=auth_headers("analyst"))).json()
    assert old["name"] == "New name" and old["price"] == 5.0
    history = (await client.get(f"/products/{sheet['existing']}/history", headers=auth_headers("analyst"))).json()
    assert history["entries"][0]["actor"]["email"].startswith("merchandiser-")  # triggers ran, with the importer
    assert catalog_rows.scalar("SELECT count(*) FROM products WHERE sku LIKE %s", (f"BAD%-{unique}",)) == 0


def tee_sheet(unique: str, code: str) -> dict[str, Any]:
    """Four variants of a t-shirt in two colors and two sizes, and one row without a size."""
    rows = [[f"TEE-{unique}-{color}-{size}", f"Tee {unique}", "Loom", "12.50", color, size, code]
            for color in ("red", "blue") for size in ("S", "M")]
    rows.append([f"TEE-{unique}-red", f"Tee {unique}", "Loom", "12.50", "red", "", code])  # row 6: no size
    return {"header": ["sku", "name", "brand", "price", "attr.color", "attr.size", "group_code"], "rows": rows}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_rows_with_a_group_code_import_as_variants_of_one_group(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, unique: str, kind: str
) -> None:
    code = f"TEE-{unique}"
    sheet = tee_sheet(unique, code)
    body, content_type = (as_csv(sheet), "text/csv") if kind == "csv" else (as_xlsx(sheet), XLSX)
    job = await finished(client, auth_headers, (await upload(client, auth_headers, body, content_type))["id"])
    assert job["status"] == "done", job
    assert job["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == [(6, "attr.size", "MISSING_VARIANT_AXIS")]
    assert "size" in job["errors"][0]["message"]

    listed = await client.get("/product-groups", params={"code": code.lower()}, headers=auth_headers("analyst"))
    (group,) = listed.json()
    assert group["axes"] == ["color", "size"] and group["variant_count"] == 4
    assert group["name"] == f"Tee {unique}" and group["brand"] == "Loom"
    variants = (await client.get(f"/product-groups/{group['id']}", headers=auth_headers("analyst"))).json()["variants"]
    assert sorted(v["sku"] for v in variants) == sorted(row[0] for row in sheet["rows"][:4])
    assert all(v["price"] == 12.5 and {"name", "brand"} <= set(v["inherited"]) for v in variants)

    # A later file sends a new color without a name: it joins the group and takes the group's name. A product of
    # its own joins too, and its name cell, the group's, is inherited from now on.
    alone = {"sku": f"TEE-{unique}-green-M", "name": f"Tee {unique}", "price": 13,
             "attributes": {"color": "green", "size": "M"}}
    made = await client.post("/products/bulk", json=[alone], headers=auth_headers("merchandiser"))
    assert made.json()["summary"]["created"] == 1, made.text
    later = {"header": ["sku", "name", "price", "attr.color", "attr.size", "group_code"],
             "rows": [[f"TEE-{unique}-green-S", "", "13", "green", "S", code],
                      [f"TEE-{unique}-green-M", f"Tee {unique}", "13", "green", "M", code]]}
    body, content_type = (as_csv(later), "text/csv") if kind == "csv" else (as_xlsx(later), XLSX)
    job = await finished(client, auth_headers, (await upload(client, auth_headers, body, content_type))["id"])
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}, job
    for sku in (f"TEE-{unique}-green-S", f"TEE-{unique}-green-M"):
        green = (await client.get(f"/products/by-sku/{sku}", headers=auth_headers("analyst"))).json()
        assert green["group_id"] == group["id"] and green["name"] == f"Tee {unique}" and green["brand"] == "Loom"
        assert "name" in green["inherited"], green


async def test_atomic_imports_nothing_when_a_row_is_rejected(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, sheet: dict[str, Any], catalog_rows: Any
) -> None:
    job = await finished(
        client, auth_headers, (await upload(client, auth_headers, as_csv(sheet), "text/csv", atomic="true"))["id"]
    )
    check_report(job, sheet)
    assert job["counts"] == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 8}
    assert "Nothing imported" in job["message"]
    assert catalog_rows.scalar("SELECT name FROM products WHERE id = %s", (sheet["existing"],)) == "Old name"
    assert catalog_rows.scalar("SELECT count(*) FROM products WHERE sku = %s", (f"NEW-{sheet['unique']}",)) == 0


async def test_atomic_with_only_good_rows_imports_them_all(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, sheet: dict[str, Any], catalog_rows: Any
) -> None:
    sheet["rows"] = sheet["rows"][:3]
    job = await finished(
        client, auth_headers, (await upload(client, auth_headers, as_csv(sheet), "text/csv", atomic="true"))["id"]
    )
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "rejected": 0}
    assert catalog_rows.scalar("SELECT name FROM products WHERE id = %s", (sheet["existing"],)) == "New name"


async def test_a_dry_run_reports_everything_and_writes_nothing(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, sheet: dict[str, Any], catalog_rows: Any
) -> None:
    job = await finished(
        client, auth_headers, (await upload(client, auth_headers, as_xlsx(sheet), XLSX, dry_run="true"))["id"]
    )
    check_report(job, sheet)
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 1, "rejected": 8}
    assert job["message"].startswith("Dry run")
    assert catalog_rows.scalar("SELECT name FROM products WHERE id = %s", (sheet["existing"],)) == "Old name"
    assert catalog_rows.scalar("SELECT count(*) FROM products WHERE sku = %s", (f"NEW-{sheet['unique']}",)) == 0


async def test_a_bad_header_fails_the_job_and_imports_nothing(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, catalog_rows: Any, unique: str
) -> None:
    body = f"sku,prcie,stock.NOWHERE\nHDR-{unique},3,1\n".encode()
    job = await finished(client, auth_headers, (await upload(client, auth_headers, body, "text/csv"))["id"])
    assert job["status"] == "failed"
    assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == [
        (1, "prcie", "UNKNOWN_COLUMN"),
        (1, "stock.NOWHERE", "UNKNOWN_WAREHOUSE"),
    ]
    assert catalog_rows.scalar("SELECT count(*) FROM products WHERE sku = %s", (f"HDR-{unique}",)) == 0


async def test_multipart_upload_and_a_file_that_is_not_a_spreadsheet(
    client: Client, auth_headers: Headers, import_worker: ImportWorker, unique: str
) -> None:
    files = {"file": ("products.csv", f"sku,name,price\nMP-{unique},Kettle,3.50\n".encode(), "text/csv")}
    response = await client.post("/products/import", files=files, headers=auth_headers("merchandiser"))
    assert response.status_code == 202, response.text
    job = await finished(client, auth_headers, response.json()["id"])
    assert job["counts"]["created"] == 1 and job["filename"] == "products.csv"
    writer = {**auth_headers("merchandiser"), "content-type": "application/pdf"}
    assert_error(await client.post("/products/import", content=b"%PDF-1.7", headers=writer), 400, "UNSUPPORTED_FORMAT")
    assert_error(await client.post("/products/import", content=b"", headers=writer), 400, "EMPTY_FILE")
    broken = await upload(client, auth_headers, b"PK\x03\x04 not really a workbook", XLSX)
    assert (await finished(client, auth_headers, broken["id"]))["status"] == "failed"
    assert_error(
        await client.post("/products/import", content=b"sku\nX\n", headers=auth_headers("analyst")), 403, "FORBIDDEN"
    )
    assert_error(
        await client.get("/imports/00000000-0000-0000-0000-000000000000", headers=auth_headers("admin")),
        404,
        "IMPORT_NOT_FOUND",
    )
    assert_error(await client.get("/imports/not-a-uuid", headers=auth_headers("admin")), 404, "ROUTE_NOT_FOUND")


async def test_a_job_whose_worker_died_is_picked_up_again(
    client: Client, auth_headers: Headers, settings: Settings, catalog_rows: Any, unique: str
) -> None:
    from db.session import async_session_factory, make_async_engine

    engine = make_async_engine(settings)
    try:
        row = await create_job(
            async_session_factory(engine),
            f"sku,name,price\nDIED-{unique},Kettle,3\n".encode(),
            "csv",
            "died.csv",
            False,
            False,
            None,
        )
    finally:
        await engine.dispose()
    catalog_rows.conn.execute(  # as if a worker had claimed it and crashed: running, lease run out
        "UPDATE import_jobs SET status = 'running', lease_until = now() - interval '1 second' WHERE id = %s", (row[0],)
    )
    worker = ImportWorker(settings.model_copy(update={"webhook_poll_interval": 0.05}))
    task = asyncio.create_task(worker.run())
    try:
        job = await finished(client, auth_headers, str(row[0]))
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 30)
    assert job["status"] == "done" and job["counts"]["created"] == 1


def test_catalog_import_command_has_help_and_a_report(tmp_path: Path, database: str, unique: str) -> None:
    catalog = str(Path(sys.executable).parent / "catalog")
    helped = subprocess.run(
        [catalog, "import", "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False
    )
    assert helped.returncode == 0 and "--dry-run" in helped.stdout and "--atomic" in helped.stdout
    path = tmp_path / "products.csv"
    path.write_text(f"sku,name,price\nCLI-{unique},Kettle,3\nCLI2-{unique},,\n")
    ran = subprocess.run(
        [catalog, "import", str(path)], capture_output=True, text=True, cwd=PROJECT_ROOT, check=False, timeout=120
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr  # one row rejected
    assert "1 created" in ran.stdout and "VALIDATION_ERROR" in ran.stdout
