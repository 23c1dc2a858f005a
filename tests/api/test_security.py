"""Security: the role x write-route matrix, token claims, login without user enumeration, body limits, security
headers, CORS, secrets kept out of logs, and a storefront that never shows drafts or archived products."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.factories import product_payload
from tests.helpers.run import RUN_ID, TEST_PASSWORD

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
Call = tuple[str, str, Any]  # method, path, JSON body
ROLES = ("anonymous", "customer", "analyst", "merchandiser", "admin")
WRITERS = frozenset({"merchandiser", "admin"})
ADMINS = frozenset({"admin"})


def _documented_paths() -> set[str]:
    return set(create_app().openapi_schema.to_schema()["paths"])


PATHS = _documented_paths()


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


# --- tokens -----------------------------------------------------------------------------------------------------


def _token(settings: Settings, user_id: uuid.UUID, **claims: Any) -> str:
    now = int(time.time())
    base = {"sub": str(user_id), "roles": ["admin"], "iat": now, "nbf": now, "exp": now + 600,
            "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    payload = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


async def test_tokens_with_a_foreign_issuer_no_expiry_a_future_nbf_or_alg_none_are_refused(
    client: Client, settings: Settings, users_by_role: dict[str, uuid.UUID]
) -> None:
    """Expiry, audience and a wrong key are in test_users_auth.py; these are the remaining claim checks."""
    admin = users_by_role["admin"]
    unsigned = jwt.encode({"sub": str(admin), "roles": ["admin"], "exp": int(time.time()) + 600,
                           "iss": settings.jwt_issuer, "aud": settings.jwt_audience}, key=None, algorithm="none")
    refused = {
        "foreign issuer": _token(settings, admin, iss="someone-else"),
        "no expiry": _token(settings, admin, exp=None),
        "not yet valid": _token(settings, admin, nbf=int(time.time()) + 3600),
        "alg none": unsigned,
        "no subject": _token(settings, admin, sub=None),
    }
    for what, token in refused.items():
        response = await client.get("/products", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, what
        assert response.json()["code"] == "INVALID_TOKEN", what
    accepted = await client.get("/products", headers={"Authorization": f"Bearer {_token(settings, admin)}"})
    assert accepted.status_code == 200


# --- login does not reveal which emails exist -------------------------------------------------------------------


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made during the test (the hash each one checked against)."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(hash if isinstance(hash, str) else hash.decode())
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return seen


async def test_login_answers_unknown_email_and_wrong_password_alike_doing_the_same_work(
    client: Client, argon2_verifications: list[str]
) -> None:
    known = f"admin-{RUN_ID}@example.com"
    wrong_password = await client.post("/auth/token", data={"username": known, "password": "not-it"})
    unknown_email = await client.post("/auth/token", data={"username": f"ghost-{RUN_ID}@example.com",
                                                           "password": "not-it"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get("www-authenticate")
    # Same code path: one argon2 verification each (a dummy hash stands in for the unknown email).
    assert len(argon2_verifications) == 2
    assert all(h.startswith("$argon2") for h in argon2_verifications)


# --- request body limit -----------------------------------------------------------------------------------------


async def test_bodies_over_the_limit_get_413_with_the_error_body(database: str, settings: Settings,
                                                                 auth_headers: Headers) -> None:
    admin = auth_headers("admin")
    app = create_app(settings.model_copy(update={"max_request_body_bytes": 2048}))

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold for streamed bodies too
        yield b'[{"sku": "STREAMED", "name": "n", "price": 1, "description": "'
        for _ in range(40):
            yield b"y" * 100
        yield b'"}]'

    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://testserver", headers=admin) as client:
        big = await client.post("/products", json=product_payload(description="x" * 4000))
        streamed = await client.post("/products/bulk", content=chunks(), headers={"content-type": "application/json"})
        small = await client.post("/products", json=product_payload(description="short"))
    assert_error(big, 413, "REQUEST_TOO_LARGE")
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "REQUEST_TOO_LARGE")
    assert small.status_code == 201


# --- security headers and request ids ---------------------------------------------------------------------------

EXPECTED_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


async def test_every_response_carries_the_security_headers_and_a_request_id(client: Client,
                                                                            auth_headers: Headers) -> None:
    responses = {
        "200": await client.get("/health"),
        "201": await client.post("/products", json=product_payload(), headers=auth_headers("admin")),
        "400": await client.post("/products", content=b"{", headers={**auth_headers("admin"),
                                                                     "content-type": "application/json"}),
        "401": await client.get("/products"),
        "403": await client.get("/products", headers=auth_headers("customer")),
        "404": await client.get("/no-such-route"),
        "405": await client.put("/health"),
        "docs": await client.get("/schema/openapi.json"),
    }
    for status, response in responses.items():
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, (status, name)
        assert response.headers.get("x-request-id"), status



async def test_the_request_id_is_echoed_and_names_the_access_log_line(client: Client,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="catalog.access")
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-me-123"})
    minted = await client.get("/no-such-route")
    assert echoed.headers["x-request-id"] == "trace-me-123"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "catalog.access"]
    assert {"request_id": "trace-me-123", "method": "GET", "path": "/health", "status": 200}.items() <= lines[0].items()
    assert len(minted.headers["x-request-id"]) == 32
    # an unknown route never reaches route middleware, and is still logged under the id it was answered with
    assert {"request_id": minted.headers["x-request-id"], "path": "/no-such-route", "status": 404}.items() \
        <= lines[1].items()


# --- CORS -------------------------------------------------------------------------------------------------------


def _preflight(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}


async def test_cors_is_closed_by_default(client: Client) -> None:
    simple = await client.get("/health", headers={"Origin": "https://evil.example"})
    preflight = await client.options("/products", headers=_preflight("https://evil.example"))
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_opens_only_to_the_configured_origins(database: str) -> None:
    app = create_app(Settings(cors_allow_origins=["https://shop.example"]))
    async with AsyncTestClient(app=app) as client:
        allowed = await client.options("/products", headers=_preflight("https://shop.example"))
        simple = await client.get("/health", headers={"Origin": "https://shop.example"})
        foreign = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert simple.headers["access-control-allow-origin"] == "https://shop.example"
    assert foreign.headers.get("access-control-allow-origin") in (None, "https://shop.example")
    assert "evil.example" not in str(foreign.headers)


# --- secrets never logged ---------------------------------------------------------------------------------------


async def test_passwords_and_tokens_never_reach_the_logs(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    email = f"admin-{RUN_ID}@example.com"
    login = await client.post("/auth/token", data={"username": email, "password": TEST_PASSWORD})
    token = login.json()["access_token"]
    await client.get("/products", headers={"Authorization": f"Bearer {token}"})
    await client.get("/products/0", headers={"Authorization": f"Bearer {token}"})  # an error path too
    await client.post("/auth/token", data={"username": email, "password": TEST_PASSWORD + "-wrong"})
    await client.get("/products", headers={"Authorization": f"Bearer {token}x"})  # a refused token
    logged = "\n".join(record.getMessage() + repr(record.args) + str(record.exc_info) for record in caplog.records)
    assert "/auth/token" in logged  # the access log did record these requests
    for secret in (TEST_PASSWORD, token, token.rsplit(".", 1)[-1]):
        assert secret not in logged


# --- the storefront never sees drafts, archived products or internal data ---------------------------------------


INTERNAL_KEYS = {"audit", "audit_log", "price_history", "cost", "cost_price", "actor", "changed_by", "password_hash",
                 "missing_fields", "completeness"}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.skipif("/search" not in PATHS, reason="the storefront search API (/search) is not mounted yet")
async def test_storefront_shows_only_active_products_and_no_internal_fields(
    client: Client, auth_headers: Headers, consumer: Any, unique: str
) -> None:
    word = "".join(chr(ord("k") + int(c, 16)) for c in unique)  # letters only, unknown to every other test
    admin = auth_headers("admin")
    for status in ("draft", "active", "archived"):
        created = await client.post("/products", json=product_payload(name=f"{word} kettle {status}", status=status),
                                    headers=admin)
        assert created.status_code == 201, created.text
    consumer.drain()
    found = await client.get("/search", params={"q": word}, headers={"Cache-Control": "no-cache"})
    suggested = await client.get("/search/suggest", params={"q": word[:6]}, headers={"Cache-Control": "no-cache"})
    assert found.status_code == suggested.status_code == 200, found.text
    assert [item["name"] for item in found.json()["items"]] == [f"{word} kettle active"]
    assert "draft" not in suggested.text and "archived" not in suggested.text
    assert _keys(found.json()) & INTERNAL_KEYS == set()
