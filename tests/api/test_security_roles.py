"""Security: the role x write-route matrix (every documented write route, every role), and a guard that a new
write route joins it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.helpers.api import assert_error, documented_paths
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
Call = tuple[str, str, Any]  # method, path, JSON body
ROLES = ("anonymous", "customer", "analyst", "merchandiser", "admin")
WRITERS = frozenset({"merchandiser", "admin"})
ADMINS = frozenset({"admin"})


PATHS = documented_paths()


# --- the role x route matrix ------------------------------------------------------------------------------------


class Setup:
    """Creates, as admin, whatever a write route needs to succeed (each call gets fresh targets)."""

    def __init__(self, client: Client, admin: dict[str, str]) -> None:
        self.client, self.admin = client, admin

    async def _post(self, path: str, body: Any) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def product(self) -> int:
        return int((await self._post("/products", product_payload()))["id"])

    async def category(self) -> int:
        return int((await self._post("/categories", {"slug": f"sec-{uuid.uuid4().hex[:10]}", "name": "Sec"}))["id"])

    async def warehouse(self) -> int:
        return int((await self._post("/warehouses", {"code": f"SEC-{uuid.uuid4().hex[:8].upper()}",
                                                     "name": "Security"}))["id"])

    async def rule(self) -> int:
        return int((await self._post("/quality/rules", {"field": "brand", "category_id": await self.category()}))["id"])

    async def synonym(self) -> int:
        return int((await self._post("/synonyms", {"terms": [f"a{uuid.uuid4().hex[:6]}", "b"]}))["id"])

    async def other_user(self) -> str:
        response = await self.client.post("/users", json={"email": f"sec-{uuid.uuid4().hex[:10]}@example.com",
                                                          "password": "s3cret-pass"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body (the call sends `files=` instead of JSON)."""

    files: dict[str, tuple[str, bytes, str]]


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 99, 199)).save(out, "JPEG")
    return out.getvalue()


async def _image_upload(s: Setup) -> Call:
    return "POST", f"/products/{await s.product()}/images", Upload({"file": ("a.jpg", _jpeg(), "image/jpeg")})


async def _with_image(s: Setup, method: str, body: Any) -> Call:
    product = await s.product()
    response = await s.client.post(f"/products/{product}/images", files={"file": ("a.jpg", _jpeg(), "image/jpeg")},
                                   headers=s.admin)
    assert response.status_code == 201, response.text
    return method, f"/products/{product}/images/{response.json()['id']}", body


async def _presign(s: Setup) -> Call:
    return "POST", f"/products/{await s.product()}/images/uploads", None


async def _upload_to_complete(s: Setup) -> Call:
    product = await s.product()
    started = await s._post(f"/products/{product}/images/uploads", None)
    assert httpx.put(started["url"], content=_jpeg()).status_code == 200
    return "POST", started["complete_url"], None


@dataclass(frozen=True)
class WriteRoute:
    name: str
    success: int
    prepare: Callable[[Setup], Awaitable[Call]]
    allowed: frozenset[str] = WRITERS


async def _stock_set(s: Setup) -> Call:
    return "PUT", f"/products/{await s.product()}/stock", {"warehouse_id": await s.warehouse(), "on_hand": 5,
                                                           "reserved": 0}


async def _stock_adjust(s: Setup) -> Call:
    product, warehouse = await s.product(), await s.warehouse()
    await s.client.put(f"/products/{product}/stock", json={"warehouse_id": warehouse, "on_hand": 5, "reserved": 0},
                       headers=s.admin)
    return "POST", f"/products/{product}/stock/adjustments", {"warehouse_id": warehouse, "on_hand_delta": -1}


async def _no_target(call: Call) -> Call:
    return call


HOOK = {"url": "https://erp.example.com/hook", "events": ["price.changed"], "active": False}  # never delivered


async def _webhook(s: Setup, method: str, body: Any) -> Call:
    return method, f"/webhooks/{(await s._post('/webhooks', HOOK))['webhook']['id']}", body


async def _threshold_set(s: Setup) -> Call:
    return "PUT", "/stock-thresholds", {"product_id": await s.product(), "threshold": 2}


async def _threshold_delete(s: Setup) -> Call:
    response = await s.client.put("/stock-thresholds", json={"product_id": await s.product(), "threshold": 2},
                                  headers=s.admin)
    assert response.status_code == 200, response.text
    return "DELETE", f"/stock-thresholds/{response.json()['id']}", None


async def _group(s: Setup, method: str, body: Any) -> Call:
    created = await s._post("/product-groups", {"code": f"SEC-{uuid.uuid4().hex[:10]}", "name": "G", "axes": ["color"]})
    return method, f"/product-groups/{created['id']}", body


async def _new_search_rule(s: Setup) -> Call:
    sku = (await s.client.get(f"/products/{await s.product()}", headers=s.admin)).json()["sku"]
    return "POST", "/search/rules", {"name": "sec", "when": {"query": "sec"}, "hide": [sku]}


async def _search_rule(s: Setup, method: str, body: Any) -> Call:
    _, path, rule = await _new_search_rule(s)
    return method, f"{path}/{(await s._post(path, rule))['id']}", body


async def _search_key_delete(s: Setup) -> Call:
    return "DELETE", f"/search/keys/{(await s._post('/search/keys', {'description': 'sec'}))['id']}", None


async def _import(s: Setup) -> Call:
    sheet = f"sku,name,price\nSEC-{uuid.uuid4().hex[:10]},Kettle,3\n".encode()
    return "POST", "/products/import", Upload({"file": ("products.csv", sheet, "text/csv")})


ROUTES = [
    WriteRoute("create product", 201, lambda s: _no_target(("POST", "/products", product_payload()))),
    WriteRoute("replace product", 200, lambda s: _with_product(s, "PUT", {"name": "Renamed"})),
    WriteRoute("patch product", 200, lambda s: _with_product(s, "PATCH", {"brand": "Other"})),
    WriteRoute("delete product", 204, lambda s: _with_product(s, "DELETE", None)),
    WriteRoute("bulk upsert", 200, lambda s: _no_target(("POST", "/products/bulk", [product_payload()]))),
    WriteRoute("set stock", 200, _stock_set),
    WriteRoute("adjust stock", 200, _stock_adjust),
    WriteRoute("create warehouse", 201, lambda s: _no_target(
        ("POST", "/warehouses", {"code": f"W-{uuid.uuid4().hex[:8].upper()}", "name": "W"}))),
    WriteRoute("create category", 201, lambda s: _no_target(
        ("POST", "/categories", {"slug": f"c-{uuid.uuid4().hex[:10]}", "name": "C"}))),
    WriteRoute("move/rename category", 200, lambda s: _with_category(s, "PATCH", "", {"name": "Renamed"})),
    WriteRoute("delete category", 204, lambda s: _with_category(s, "DELETE", "", None)),
    WriteRoute("set category attributes", 200, lambda s: _with_category(
        s, "PUT", "/attributes", [{"name": "color", "type": "string"}])),
    WriteRoute("create quality rule", 201, lambda s: _with_new_category(s)),
    WriteRoute("delete quality rule", 204, lambda s: _with_rule(s)),
    WriteRoute("list users", 200, lambda s: _no_target(("GET", "/users", None)), ADMINS),
    WriteRoute("change another user's roles", 200, lambda s: _with_user(s), ADMINS),
    WriteRoute("change another user's profile (v1)", 200, lambda s: _with_v1_user(s), ADMINS),
    WriteRoute("upload image", 201, _image_upload),
    WriteRoute("move image", 200, lambda s: _with_image(s, "PATCH", {"position": 0, "alt": "Front"})),
    WriteRoute("delete image", 204, lambda s: _with_image(s, "DELETE", None)),
    WriteRoute("start presigned upload", 201, lambda s: _presign(s)),
    WriteRoute("complete presigned upload", 201, _upload_to_complete),
    WriteRoute("register webhook", 201, lambda s: _no_target(("POST", "/webhooks", HOOK)), ADMINS),
    WriteRoute("change webhook", 200, lambda s: _webhook(s, "PATCH", {"description": "ERP"}), ADMINS),
    WriteRoute("delete webhook", 204, lambda s: _webhook(s, "DELETE", None), ADMINS),
    WriteRoute("set stock threshold", 200, _threshold_set),
    WriteRoute("delete stock threshold", 204, _threshold_delete),
    WriteRoute("import products", 202, _import),
    WriteRoute("create product group", 201, lambda s: _no_target(
        ("POST", "/product-groups", {"code": f"G-{uuid.uuid4().hex[:10]}", "name": "G", "axes": ["size"]}))),
    WriteRoute("change product group", 200, lambda s: _group(s, "PATCH", {"name": "Renamed"})),
    WriteRoute("delete product group", 204, lambda s: _group(s, "DELETE", None)),
    WriteRoute("create search rule", 201, _new_search_rule),
    WriteRoute("change search rule", 200, lambda s: _search_rule(s, "PATCH", {"enabled": False})),
    WriteRoute("delete search rule", 204, lambda s: _search_rule(s, "DELETE", None)),
    WriteRoute("create search key", 201, lambda s: _no_target(("POST", "/search/keys", {"description": "k"})),
               ADMINS),
    WriteRoute("revoke search key", 204, _search_key_delete, ADMINS),
]
if "/synonyms" in PATHS:
    ROUTES += [
        WriteRoute("create synonyms", 201, lambda s: _no_target(
            ("POST", "/synonyms", {"terms": [f"x{uuid.uuid4().hex[:6]}", "y"]}))),
        WriteRoute("delete synonyms", 204, lambda s: _with_synonym(s)),
    ]


async def _with_product(s: Setup, method: str, body: Any) -> Call:
    return method, f"/products/{await s.product()}", body


async def _with_category(s: Setup, method: str, suffix: str, body: Any) -> Call:
    return method, f"/categories/{await s.category()}{suffix}", body


async def _with_new_category(s: Setup) -> Call:
    return "POST", "/quality/rules", {"field": "images", "category_id": await s.category()}


async def _with_rule(s: Setup) -> Call:
    return "DELETE", f"/quality/rules/{await s.rule()}", None


async def _with_synonym(s: Setup) -> Call:
    return "DELETE", f"/synonyms/{await s.synonym()}", None


async def _with_user(s: Setup) -> Call:
    return "PATCH", f"/users/{await s.other_user()}", {"roles": ["merchandiser"]}


async def _with_v1_user(s: Setup) -> Call:
    return "PATCH", f"/v1/users/{await s.other_user()}", {"lastName": "Smith", "status": "inactive"}


def expected_status(route: WriteRoute, role: str) -> int:
    if role == "anonymous":
        return 401
    return route.success if role in route.allowed else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
async def test_role_route_matrix(client: Client, auth_headers: Headers, route: WriteRoute, role: str) -> None:
    method, path, body = await route.prepare(Setup(client, auth_headers("admin")))
    headers = {} if role == "anonymous" else auth_headers(role)
    sent = {"files": body.files} if isinstance(body, Upload) else {"json": body}
    response = await client.request(method, path, headers=headers, **sent)
    expected = expected_status(route, role)
    assert response.status_code == expected, f"{role} {method} {path}: {response.text}"
    if expected in (401, 403):
        assert_error(response, expected, {401: "NOT_AUTHENTICATED", 403: "FORBIDDEN"}[expected])


def test_the_matrix_covers_every_documented_write_route() -> None:
    """A new write route must join the matrix: compare with the schema's non-GET operations."""
    app_paths = create_app().openapi_schema.to_schema()["paths"]
    documented = {(method.upper(), _template(path)) for path, item in app_paths.items()
                  for method in ("post", "put", "patch", "delete") if method in item}
    public = {("POST", "/users"), ("POST", "/auth/token"), ("POST", "/v1/users"), ("POST", "/search/events")}
    covered = {("POST", "/products"), ("PUT", "/products/{}"), ("PATCH", "/products/{}"), ("DELETE", "/products/{}"),
               ("POST", "/products/bulk"), ("PUT", "/products/{}/stock"), ("POST", "/products/{}/stock/adjustments"),
               ("POST", "/warehouses"), ("POST", "/categories"), ("PATCH", "/categories/{}"),
               ("DELETE", "/categories/{}"), ("PUT", "/categories/{}/attributes"), ("POST", "/quality/rules"),
               ("DELETE", "/quality/rules/{}"), ("PATCH", "/users/{}"), ("POST", "/synonyms"),
               ("DELETE", "/synonyms/{}"), ("POST", "/products/{}/images"), ("PATCH", "/products/{}/images/{}"),
               ("DELETE", "/products/{}/images/{}"), ("POST", "/products/{}/images/uploads"),
               ("POST", "/products/{}/images/uploads/{}/complete"), ("POST", "/webhooks"), ("PATCH", "/webhooks/{}"),
               ("DELETE", "/webhooks/{}"), ("PUT", "/stock-thresholds"), ("DELETE", "/stock-thresholds/{}"),
               ("POST", "/products/import"), ("PATCH", "/v1/users/{}"), ("POST", "/product-groups"),
               ("PATCH", "/product-groups/{}"), ("DELETE", "/product-groups/{}"), ("POST", "/search/rules"),
               ("PATCH", "/search/rules/{}"), ("DELETE", "/search/rules/{}"), ("POST", "/search/keys"),
               ("DELETE", "/search/keys/{}")}
    assert documented - public - covered == set()


def _template(path: str) -> str:
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))
