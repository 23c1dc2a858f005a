"""Signed webhooks against real receivers on 127.0.0.1: a receiver that is down for a while, a slow one, one that
always fails; the admin routes; stock.low thresholds."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.webhooks import signing
from api.webhooks.worker import WebhookWorker
from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
SECRET = "test-secret-0123456789abcdef"
ALL_EVENTS = [
    "product.created",
    "product.updated",
    "product.deleted",
    "stock.low",
    "stock.out",
    "stock.back_in",
    "price.changed",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1. Until `start()` nothing listens on its port (connections are refused)."""

    status: int = 200
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/catalog"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.end_headers()
                if 200 <= receiver.status < 300:
                    receiver.acknowledged.append(json.loads(body))

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


@pytest.fixture
async def worker(settings: Settings, database: str) -> AsyncIterator[WebhookWorker]:
    """A delivery worker in this event loop, with backoff in tens of milliseconds and a 6 s retry window."""
    fast = settings.model_copy(
        update={
            "webhook_backoff_base_seconds": 0.05,
            "webhook_backoff_max_seconds": 0.4,
            "webhook_poll_interval": 0.05,
            "webhook_timeout_seconds": 1.0,
            "webhook_retry_hours": 6 / 3600,
            "webhook_concurrency_per_endpoint": 2,
        }
    )
    running = WebhookWorker(fast)
    task = asyncio.create_task(running.run())
    yield running
    running.stop.set()
    await asyncio.wait_for(task, 30)


@pytest.fixture
async def endpoints(client: Client, auth_headers: Headers) -> AsyncIterator[Callable[..., Any]]:
    """`await register(url, events=...)` -> the webhook's id; every one is deleted after the test."""
    made: list[int] = []

    async def register(url: str, events: list[str] | None = None) -> int:
        response = await client.post(
            "/webhooks",
            json={"url": url, "events": events or ALL_EVENTS, "secret": SECRET},
            headers=auth_headers("admin"),
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["webhook"]["id"])
        return int(made[-1])

    yield register
    for webhook_id in made:
        await client.delete(f"/webhooks/{webhook_id}", headers=auth_headers("admin"))


async def eventually(condition: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def deliveries(client: Client, headers: Headers, webhook_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/webhooks/{webhook_id}/deliveries", params={"limit": 500}, headers=headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def warehouse(client: Client, headers: Headers) -> int:
    code = f"WH{time.monotonic_ns()}"[-20:]
    response = await client.post("/warehouses", json={"code": code, "name": "Hooks"}, headers=headers("admin"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def write_history(client: Client, headers: Headers) -> dict[int, list[str]]:
    """Writes through the API; returns the events each product must produce, in order."""
    writer = headers("merchandiser")
    wid = await warehouse(client, headers)
    a = (await client.post("/products", json=product_payload(price=10), headers=writer)).json()["id"]
    b = (await client.post("/products", json=product_payload(price=20), headers=writer)).json()["id"]
    assert (await client.put("/stock-thresholds", json={"product_id": a, "threshold": 3}, headers=writer)).is_success
    assert (await client.patch(f"/products/{a}", json={"price": 11}, headers=writer)).is_success
    stock = {"warehouse_id": wid, "on_hand": 10, "reserved": 0}
    assert (await client.put(f"/products/{a}/stock", json=stock, headers=writer)).is_success
    for delta in (-7, -3):  # 10 -> 3 (low, threshold 3) -> 0 (out)
        adjust = {"warehouse_id": wid, "on_hand_delta": delta}
        assert (await client.post(f"/products/{a}/stock/adjustments", json=adjust, headers=writer)).is_success
    assert (await client.patch(f"/products/{b}", json={"name": "Renamed"}, headers=writer)).is_success
    assert (await client.delete(f"/products/{b}", headers=writer)).status_code == 204
    return {
        a: ["product.created", "product.updated", "price.changed", "stock.back_in", "stock.low", "stock.out"],
        b: ["product.created", "product.updated", "product.deleted"],
    }


async def test_a_receiver_down_for_a_while_gets_every_event_once_in_order_signed(
    client: Client,
    auth_headers: Headers,
    worker: WebhookWorker,
    receivers: list[Receiver],
    endpoints: Callable[..., Any],
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    webhook_id = await endpoints(receiver.url)
    expected = await write_history(client, auth_headers)

    async def retried_while_down() -> bool:
        found = await deliveries(client, auth_headers, webhook_id)
        return len(found) >= 9 and any(d["attempts"] >= 2 for d in found)

    await eventually(retried_while_down, 15, "deliveries retried against the refusing port")
    pending = await deliveries(client, auth_headers, webhook_id)
    assert all(d["status"] == "pending" for d in pending)
    assert any("ConnectError" in (d["last_error"] or "") for d in pending)
    assert receiver.received == []

    receiver.start()

    async def all_delivered() -> bool:
        found = await deliveries(client, auth_headers, webhook_id)
        return len(found) == 9 and all(d["status"] == "delivered" for d in found)

    await eventually(all_delivered, 20, "every delivery acknowledged")
    ids = [event["id"] for event in receiver.acknowledged]
    assert len(ids) == len(set(ids)) == 9  # each acknowledged once: never sent again after its 2xx
    for product_id, events in expected.items():
        mine = [e for e in receiver.acknowledged if e["data"]["product_id"] == product_id]
        assert [e["type"] for e in mine] == events
        versions = [e["data"]["version"] for e in mine]
        assert versions == sorted(versions)
    low = next(e for e in receiver.acknowledged if e["type"] == "stock.low")
    assert low["data"]["available"] == 3 and low["data"]["threshold"] == 3
    for headers, body in receiver.received:
        assert signing.verify(SECRET, headers["x-catalog-signature"], body)
        assert headers["x-catalog-event"] == json.loads(body)["type"]
        assert not signing.verify("some-other-secret-value", headers["x-catalog-signature"], body)


async def test_a_slow_receiver_never_delays_the_others(
    client: Client,
    auth_headers: Headers,
    worker: WebhookWorker,
    receivers: list[Receiver],
    endpoints: Callable[..., Any],
) -> None:
    slow, fast = Receiver(delay=3.0), Receiver()
    receivers.extend([slow, fast])
    slow.start()
    fast.start()
    await endpoints(slow.url, ["product.created"])
    await endpoints(fast.url, ["product.created"])
    started = time.monotonic()
    for _ in range(6):
        response = await client.post("/products", json=product_payload(), headers=auth_headers("merchandiser"))
        assert response.status_code == 201

    async def fast_has_all() -> bool:
        return len(fast.acknowledged) == 6

    await eventually(fast_has_all, 10, "the fast receiver's six events")
    assert time.monotonic() - started < 2.5  # while the slow one holds each request for 3 s (and times out at 1)
    assert len(slow.received) <= 2  # its own two slots, no more


async def test_a_receiver_that_keeps_failing_ends_failed_with_its_last_error(
    client: Client,
    auth_headers: Headers,
    worker: WebhookWorker,
    receivers: list[Receiver],
    endpoints: Callable[..., Any],
) -> None:
    broken = Receiver(status=500)
    receivers.append(broken)
    broken.start()
    webhook_id = await endpoints(broken.url, ["product.created"])
    assert (await client.post("/products", json=product_payload(), headers=auth_headers("merchandiser"))).is_success

    async def failed() -> bool:
        found = await deliveries(client, auth_headers, webhook_id)
        return len(found) == 1 and found[0]["status"] == "failed"

    await eventually(failed, 20, "the delivery to give up")
    (delivery,) = await deliveries(client, auth_headers, webhook_id)
    assert delivery["attempts"] >= 4 and delivery["last_status"] == 500 and "HTTP 500" in delivery["last_error"]
    assert len(broken.received) == delivery["attempts"]
    only_failed = await client.get(
        f"/webhooks/{webhook_id}/deliveries", params={"status": "failed"}, headers=auth_headers("admin")
    )
    assert [d["id"] for d in only_failed.json()] == [delivery["id"]]


async def test_category_threshold_applies_to_products_below_it(
    client: Client,
    auth_headers: Headers,
    worker: WebhookWorker,
    receivers: list[Receiver],
    endpoints: Callable[..., Any],
    catalog_rows: Any,
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    receiver.start()
    await endpoints(receiver.url, ["stock.low"])
    parent = catalog_rows.category(f"hooks-{time.monotonic_ns()}")
    child_path = catalog_rows.scalar("SELECT path FROM categories WHERE id = %s", (parent,)) + "/kettles"
    child = catalog_rows.category(child_path)
    writer = auth_headers("merchandiser")
    assert (
        await client.put("/stock-thresholds", json={"category_id": parent, "threshold": 8}, headers=writer)
    ).is_success
    product = catalog_rows.product(category_id=child)
    catalog_rows.stock(product, 20)
    catalog_rows.stock(product, 9)  # above 8: nothing
    catalog_rows.stock(product, 8)  # low

    async def got_low() -> bool:
        return len(receiver.acknowledged) >= 1

    await eventually(got_low, 10, "stock.low")
    await asyncio.sleep(0.3)
    assert [
        (e["data"]["product_id"], e["data"]["available"], e["data"]["threshold"]) for e in receiver.acknowledged
    ] == [(product, 8, 8)]


async def test_webhook_routes_for_admins_only_and_never_show_the_secret(client: Client, auth_headers: Headers) -> None:
    admin = auth_headers("admin")
    body = {"url": "https://erp.example.com/hooks", "events": ["price.changed", "price.changed"]}
    assert_error(await client.post("/webhooks", json=body, headers=auth_headers("merchandiser")), 403, "FORBIDDEN")
    created = await client.post("/webhooks", json=body, headers=admin)
    assert created.status_code == 201, created.text
    webhook, secret = created.json()["webhook"], created.json()["secret"]
    assert secret.startswith("whsec_") and webhook["events"] == ["price.changed"]
    listed = (await client.get("/webhooks", headers=admin)).text
    assert secret not in listed and "secret" not in (await client.get(f"/webhooks/{webhook['id']}", headers=admin)).text
    patched = await client.patch(
        f"/webhooks/{webhook['id']}", json={"active": False, "events": ["stock.out"]}, headers=admin
    )
    assert patched.json()["active"] is False and patched.json()["events"] == ["stock.out"]
    assert (await client.get(f"/webhooks/{webhook['id']}/deliveries", headers=admin)).json() == []
    assert (await client.delete(f"/webhooks/{webhook['id']}", headers=admin)).status_code == 204
    assert_error(await client.get(f"/webhooks/{webhook['id']}", headers=admin), 404, "WEBHOOK_NOT_FOUND")
    assert_error(await client.delete(f"/webhooks/{webhook['id']}", headers=admin), 404, "WEBHOOK_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://erp.example.com", "events": ["price.changed"]},
        {"url": "https://erp.example.com", "events": ["price.exploded"]},
        {"url": "https://erp.example.com", "events": []},
        {"url": "https://erp.example.com", "events": ["stock.out"], "secret": "short"},
        {"url": "https://erp.example.com", "events": ["stock.out"], "extra": 1},
    ],
)
async def test_bad_webhook_bodies_are_400(client: Client, auth_headers: Headers, body: dict[str, Any]) -> None:
    assert_error(await client.post("/webhooks", json=body, headers=auth_headers("admin")), 400, "VALIDATION_ERROR")


async def test_threshold_routes_validate_their_target(client: Client, auth_headers: Headers) -> None:
    writer = auth_headers("merchandiser")
    assert_error(await client.put("/stock-thresholds", json={"threshold": 1}, headers=writer), 400, "VALIDATION_ERROR")
    assert_error(
        await client.put("/stock-thresholds", json={"threshold": 1, "product_id": 999999999}, headers=writer),
        400,
        "PRODUCT_NOT_FOUND",
    )
    assert_error(
        await client.put("/stock-thresholds", json={"threshold": -1, "category_id": 1}, headers=writer),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        await client.put("/stock-thresholds", json={"threshold": 1, "product_id": 1}, headers=auth_headers("analyst")),
        403,
        "FORBIDDEN",
    )
    assert_error(await client.delete("/stock-thresholds/999999999", headers=writer), 404, "THRESHOLD_NOT_FOUND")
