"""Reading what happened: a product's audit trail and price history, and the commit-ordered change feed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from db import changes as db_changes
from tests.helpers.api import assert_error
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def create(client: Client, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/products", json=product_payload(**overrides), headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def warehouse(client: Client, headers: Headers, unique: str) -> int:
    response = await client.post(
        "/warehouses", json={"code": f"W{unique.upper()}", "name": "Main"}, headers=headers("admin")
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def latest(client: Client, headers: Headers) -> str:
    response = await client.get("/changes", params={"after": "latest"}, headers=headers("analyst"))
    assert response.status_code == 200, response.text
    assert response.json()["changes"] == []
    return str(response.json()["next_cursor"])


# --- history ------------------------------------------------------------------------------------------------------


async def test_history_is_newest_first_with_who_what_and_the_stock_reason(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    product = await create(client, auth_headers, price=10)
    pid = product["id"]
    writer = auth_headers("merchandiser")
    assert (await client.patch(f"/products/{pid}", json={"name": "Renamed kettle"}, headers=writer)).status_code == 200
    wid = await warehouse(client, auth_headers, unique)
    assert (
        await client.put(
            f"/products/{pid}/stock", json={"warehouse_id": wid, "on_hand": 5, "reserved": 0}, headers=writer
        )
    ).status_code == 200
    adjusted = await client.post(
        f"/products/{pid}/stock/adjustments",
        json={"warehouse_id": wid, "on_hand_delta": -2, "reason": "damaged in transit"},
        headers=writer,
    )
    assert adjusted.status_code == 200, adjusted.text

    response = await client.get(f"/products/{pid}/history", headers=auth_headers("analyst"))
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["entity"], e["action"]) for e in entries] == [
        ("stock", "update"),
        ("stock", "create"),
        ("product", "update"),
        ("product", "create"),
    ]
    adjustment, _, rename, created = entries
    assert adjustment["reason"] == "damaged in transit"
    assert adjustment["warehouse_id"] == wid
    assert {"field": "on_hand", "old": 5, "new": 3} in adjustment["changes"]
    assert {"field": "name", "old": "Acme Kettle 1.7 L", "new": "Renamed kettle"} in rename["changes"]
    assert rename["actor"]["email"].startswith("merchandiser-")
    assert any(c["field"] == "sku" and c["new"] == product["sku"] for c in created["changes"])
    assert entries[0]["at"] >= entries[-1]["at"]


async def test_history_pages_with_a_cursor_and_survives_the_delete(client: Client, auth_headers: Headers) -> None:
    pid = (await create(client, auth_headers))["id"]
    writer = auth_headers("merchandiser")
    for n in range(3):
        assert (await client.patch(f"/products/{pid}", json={"name": f"Name {n}"}, headers=writer)).status_code == 200
    assert (await client.delete(f"/products/{pid}", headers=writer)).status_code == 204
    seen: list[int] = []
    before: int | None = None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        page = (await client.get(f"/products/{pid}/history", params=params, headers=writer)).json()
        seen += [e["id"] for e in page["entries"]]
        before = page["next_cursor"]
        if before is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)  # delete, 3 updates, create


async def test_history_errors(client: Client, auth_headers: Headers) -> None:
    assert_error(
        await client.get("/products/999999999/history", headers=auth_headers("admin")), 404, "PRODUCT_NOT_FOUND"
    )
    assert_error(await client.get("/products/1/history", headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await client.get("/products/1/history"), 401, "NOT_AUTHENTICATED")
    assert_error(
        await client.get("/products/1/history", params={"limit": 0}, headers=auth_headers("admin")),
        400,
        "VALIDATION_ERROR",
    )


async def test_price_history_has_validity_intervals_and_answers_at(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers, price=10)
    pid = product["id"]
    writer = auth_headers("merchandiser")
    for price in (12, 15):
        await asyncio.sleep(0.01)
        assert (await client.patch(f"/products/{pid}", json={"price": price}, headers=writer)).status_code == 200
    assert (await client.patch(f"/products/{pid}", json={"name": "not a price change"}, headers=writer)).is_success

    body = (await client.get(f"/products/{pid}/prices", headers=auth_headers("analyst"))).json()
    intervals = body["intervals"]
    assert [i["price"] for i in intervals] == [15, 12, 10]
    assert intervals[0]["valid_to"] is None
    assert intervals[1]["valid_to"] == intervals[0]["valid_from"]
    assert intervals[2]["valid_to"] == intervals[1]["valid_from"]
    assert intervals[0]["changed_by"]["email"].startswith("merchandiser-")

    middle = intervals[1]["valid_from"]
    at = (await client.get(f"/products/{pid}/prices", params={"at": middle}, headers=writer)).json()
    assert [i["price"] for i in at["intervals"]] == [12]
    before = await client.get(f"/products/{pid}/prices", params={"at": "2000-01-01T00:00:00"}, headers=writer)
    assert_error(before, 404, "PRICE_NOT_FOUND")
    assert_error(await client.get("/products/999999999/prices", headers=writer), 404, "PRODUCT_NOT_FOUND")
    assert_error(
        await client.get(f"/products/{pid}/prices", params={"at": "yesterday"}, headers=writer), 400, "VALIDATION_ERROR"
    )


# --- the change feed -----------------------------------------------------------------------------------------------


async def test_changes_come_in_commit_order_with_entity_version_and_fields(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    cursor = await latest(client, auth_headers)
    product = await create(client, auth_headers, price=10)
    pid = product["id"]
    writer = auth_headers("merchandiser")
    assert (await client.patch(f"/products/{pid}", json={"price": 11, "brand": "Other"}, headers=writer)).is_success
    wid = await warehouse(client, auth_headers, unique)
    stock = {"warehouse_id": wid, "on_hand": 4, "reserved": 1}
    assert (await client.put(f"/products/{pid}/stock", json=stock, headers=writer)).is_success
    assert (await client.delete(f"/products/{pid}", headers=writer)).status_code == 204

    page = (await client.get("/changes", params={"after": cursor}, headers=auth_headers("analyst"))).json()
    mine = [c for c in page["changes"] if c["product_id"] == pid]
    assert [(c["entity"], c["action"]) for c in mine] == [
        ("product", "create"),
        ("product", "update"),
        ("price", "update"),
        ("stock", "update"),
        ("product", "delete"),
    ]
    created, updated, price, stocked, deleted = mine
    assert created["version"] == 1 and created["data"]["sku"] == product["sku"]
    assert updated["version"] == price["version"] == 2
    assert {"brand", "price"} <= set(updated["fields"]) and "name" not in updated["fields"]
    assert price["data"]["old_price"] == 10 and price["data"]["price"] == 11
    assert stocked["version"] == 3 and stocked["fields"] == ["on_hand", "reserved"]
    assert stocked["data"]["available"] == 3 and stocked["data"]["available_before"] == 0
    assert deleted["version"] == 4
    cursors = [db_changes.Cursor.parse(c["cursor"]) for c in page["changes"]]
    assert cursors == sorted(cursors) and page["next_cursor"] == page["changes"][-1]["cursor"]


async def test_changes_page_with_next_cursor(client: Client, auth_headers: Headers) -> None:
    cursor = await latest(client, auth_headers)
    ids = [(await create(client, auth_headers))["id"] for _ in range(3)]
    seen: list[int] = []
    for _ in range(3):
        page = (
            await client.get("/changes", params={"after": cursor, "limit": 1}, headers=auth_headers("admin"))
        ).json()
        assert len(page["changes"]) == 1
        seen.append(page["changes"][0]["product_id"])
        cursor = page["next_cursor"]
    assert seen == ids
    last = (await client.get("/changes", params={"after": cursor}, headers=auth_headers("admin"))).json()
    assert last == {"changes": [], "next_cursor": cursor, "has_more": False}


async def test_a_transaction_that_commits_later_is_not_skipped(
    client: Client, settings: Settings, catalog_rows: Any, auth_headers: Headers
) -> None:
    """The first transaction takes the lower change id but commits second: the feed still serves both, in the
    order they committed."""
    cursor = await latest(client, auth_headers)
    with psycopg.connect(settings.postgres_dsn) as slow:
        found = slow.execute(
            "INSERT INTO products (sku, name, price, currency) VALUES (%s, 'slow', 1, 'USD') RETURNING id",
            (f"SLOW-{time.monotonic_ns()}",),
        ).fetchone()
        assert found is not None
        fast_id = catalog_rows.product()  # commits at once (autocommit)
        first = (await client.get("/changes", params={"after": cursor}, headers=auth_headers("admin"))).json()
        assert [c["product_id"] for c in first["changes"]] == [fast_id]
        slow.commit()
    second = (
        await client.get("/changes", params={"after": first["next_cursor"]}, headers=auth_headers("admin"))
    ).json()
    assert [c["product_id"] for c in second["changes"]] == [found[0]]
    assert int(second["changes"][0]["cursor"].split(".")[1]) < int(first["changes"][0]["cursor"].split(".")[1])


async def test_long_poll_returns_when_a_change_commits(
    client: Client, auth_headers: Headers, catalog_rows: Any
) -> None:
    cursor = await latest(client, auth_headers)
    written: list[int] = []
    writer = threading.Timer(0.5, lambda: written.append(catalog_rows.product()))
    started = time.monotonic()
    writer.start()
    response = await client.get("/changes", params={"after": cursor, "wait": 10}, headers=auth_headers("admin"))
    writer.join()
    assert 0.4 < time.monotonic() - started < 5
    assert [c["product_id"] for c in response.json()["changes"]] == written


async def test_wait_with_nothing_new_returns_empty_after_the_wait(client: Client, auth_headers: Headers) -> None:
    cursor = await latest(client, auth_headers)
    started = time.monotonic()
    response = await client.get("/changes", params={"after": cursor, "wait": 0.6}, headers=auth_headers("admin"))
    assert 0.5 <= time.monotonic() - started < 5
    assert response.json() == {"changes": [], "next_cursor": cursor, "has_more": False}


async def test_a_cursor_older_than_the_retention_is_410_with_the_oldest_cursor(
    client: Client, auth_headers: Headers, settings: Settings
) -> None:
    old = await latest(client, auth_headers)
    await create(client, auth_headers)
    kept_from = await latest(client, auth_headers)
    await create(client, auth_headers)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        # Everything committed up to `kept_from` falls out of the window, as if it were older than the retention.
        conn.execute("UPDATE change_transactions SET committed_at = committed_at - %s", (timedelta(days=365),))
        keep_after = db_changes.Cursor.parse(kept_from).commit_seq
        params = db_changes.prune_params(settings.changes_retention_hours, keep_after)
        while True:  # chunk by chunk, as the webhook worker's housekeeping prunes (a session holds thousands)
            row = conn.execute(db_changes.PRUNE_SQL, params).fetchone()
            if row is None or int(row[0]) < db_changes.PRUNE_CHUNK:
                break
    body = assert_error(
        await client.get("/changes", params={"after": old}, headers=auth_headers("admin")), 410, "CURSOR_EXPIRED"
    )
    oldest = body["details"]["oldest_cursor"]
    assert db_changes.Cursor.parse(oldest) >= db_changes.Cursor.parse(old)
    after_oldest = await client.get("/changes", params={"after": oldest}, headers=auth_headers("admin"))
    assert after_oldest.status_code == 200 and len(after_oldest.json()["changes"]) >= 1


async def test_bad_cursors_and_roles(client: Client, auth_headers: Headers) -> None:
    for bad in ("nope", "1", "-1.2", "1.2.3"):
        assert_error(
            await client.get("/changes", params={"after": bad}, headers=auth_headers("admin")), 400, "INVALID_CURSOR"
        )
    assert_error(
        await client.get("/changes", params={"wait": 31}, headers=auth_headers("admin")), 400, "VALIDATION_ERROR"
    )
    assert_error(await client.get("/changes", headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await client.get("/changes"), 401, "NOT_AUTHENTICATED")
