"""`/v1/users` as a client written from the design document would use it ("User Service API" in
`../shared/seed/design-document.txt`): its request bodies, its 201/200/409/404 bodies word for word, camelCase
names, and tokens whose `user:read` / `user:write` scopes are checked along with ownership or the admin role."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.auth.security import issue_token
from catalog.settings import Settings
from tests.helpers.api import assert_error, assert_validation_error_names

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]

# The document's examples, copied as they are written there.
DOCUMENT_CREATE = {
    "email": "user@example.com",
    "password": "StrongPassword123!",
    "firstName": "John",
    "lastName": "Doe",
}
DOCUMENT_CREATED = {
    "id": "uuid-of-new-user",
    "email": "user@example.com",
    "firstName": "John",
    "lastName": "Doe",
    "createdAt": "2023-10-26T10:00:00Z",
}
DOCUMENT_EMAIL_TAKEN = {
    "code": "EMAIL_ALREADY_REGISTERED",
    "message": "The provided email is already registered.",
    "details": {"field": "email"},
}
DOCUMENT_PROFILE = {
    "id": "uuid-of-user",
    "email": "user@example.com",
    "firstName": "John",
    "lastName": "Doe",
    "status": "active",
    "roles": ["customer"],
    "createdAt": "2023-10-26T10:00:00Z",
    "updatedAt": "2023-10-26T11:30:00Z",
}
DOCUMENT_NOT_FOUND = {"code": "USER_NOT_FOUND", "message": "User with ID 'uuid-of-user' not found."}
DOCUMENT_UPDATE = {"lastName": "Smith", "status": "inactive"}
DOCUMENT_UPDATED = {
    "id": "uuid-of-user",
    "email": "user@example.com",
    "firstName": "John",
    "lastName": "Smith",
    "status": "inactive",
    "roles": ["customer"],
    "createdAt": "2023-10-26T10:00:00Z",
    "updatedAt": "2023-10-26T12:00:00Z",
}

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # the document's format: UTC, to the second
PLACEHOLDERS = ("id", "createdAt", "updatedAt")  # values the document can only stand in for


def assert_document_body(body: dict[str, Any], example: dict[str, Any]) -> None:
    """The same keys as the document's example, the same values except ids and times, which have its format."""
    assert set(body) == set(example), body
    assert {k: v for k, v in body.items() if k not in PLACEHOLDERS} == {
        k: v for k, v in example.items() if k not in PLACEHOLDERS
    }
    uuid.UUID(body["id"])
    for name in set(PLACEHOLDERS) & set(body) - {"id"}:
        assert TIMESTAMP.match(body[name]), (name, body[name])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: Client, unique: str, **fields: Any) -> dict[str, Any]:
    body = {
        "email": f"v1-{unique}@example.com",
        "password": "StrongPassword123!",
        "firstName": "Ann",
        "lastName": "Lee",
        **fields,
    }
    response = await client.post("/v1/users", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": body["password"]}  # type: ignore[no-any-return]


async def login(client: Client, user: dict[str, Any], scope: str | None = None) -> dict[str, str]:
    form = {"username": user["email"], "password": user["password"], **({"scope": scope} if scope is not None else {})}
    response = await client.post("/auth/token", data=form)
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


# --- the document's examples, word for word ---------------------------------------------------------------------


async def test_the_documents_examples_register_conflict_read_update_and_not_found(
    client: Client, auth_headers: Headers
) -> None:
    created = await client.post("/v1/users", json=DOCUMENT_CREATE)
    assert created.status_code == 201, created.text
    assert_document_body(created.json(), DOCUMENT_CREATED)
    user_id = created.json()["id"]
    assert created.headers["location"] == f"/v1/users/{user_id}"

    again = await client.post("/v1/users", json=DOCUMENT_CREATE)
    assert again.status_code == 409
    assert again.json() == DOCUMENT_EMAIL_TAKEN
    shouting = await client.post("/v1/users", json={**DOCUMENT_CREATE, "email": "USER@example.com"})
    assert shouting.status_code == 409 and shouting.json() == DOCUMENT_EMAIL_TAKEN

    own = await login(client, {"email": DOCUMENT_CREATE["email"], "password": DOCUMENT_CREATE["password"]})
    profile = await client.get(f"/v1/users/{user_id}", headers=own)
    assert profile.status_code == 200, profile.text
    assert_document_body(profile.json(), DOCUMENT_PROFILE)
    assert profile.json()["createdAt"] == created.json()["createdAt"]

    updated = await client.patch(f"/v1/users/{user_id}", json=DOCUMENT_UPDATE, headers=auth_headers("admin"))
    assert updated.status_code == 200, updated.text
    assert_document_body(updated.json(), DOCUMENT_UPDATED)
    assert updated.json()["id"] == user_id and updated.json()["updatedAt"] >= profile.json()["updatedAt"]

    missing = await client.get("/v1/users/uuid-of-user", headers=auth_headers("admin"))
    assert missing.status_code == 404
    assert missing.json() == DOCUMENT_NOT_FOUND


async def test_an_unknown_id_is_the_documents_404_naming_the_id(client: Client, auth_headers: Headers) -> None:
    nobody = str(uuid.uuid4())
    for method, body in (("GET", None), ("PATCH", {"lastName": "Smith"})):
        response = await client.request(method, f"/v1/users/{nobody}", json=body, headers=auth_headers("admin"))
        assert response.status_code == 404, (method, response.text)
        assert response.json() == {"code": "USER_NOT_FOUND", "message": f"User with ID '{nobody}' not found."}


async def test_changing_the_email_to_a_registered_one_is_the_documents_409(client: Client, unique: str) -> None:
    first, second = await register(client, unique), await register(client, unique + "b")
    response = await client.patch(
        f"/v1/users/{second['id']}", json={"email": first["email"]}, headers=await login(client, second)
    )
    assert response.status_code == 409 and response.json() == DOCUMENT_EMAIL_TAKEN


# --- names: camelCase on the wire, snake_case refused ------------------------------------------------------------


async def test_snake_case_and_unknown_fields_are_400_naming_them(client: Client, unique: str) -> None:
    as_users_api = {"email": f"snake-{unique}@example.com", "password": "StrongPassword123!", "first_name": "John"}
    assert_validation_error_names(await client.post("/v1/users", json=as_users_api), "first_name")
    assert_validation_error_names(await client.post("/v1/users", json={**DOCUMENT_CREATE, "nickname": "J"}), "nickname")
    user = await register(client, unique)
    own = await login(client, user)
    assert_validation_error_names(
        await client.patch(f"/v1/users/{user['id']}", json={"last_name": "Smith"}, headers=own), "last_name"
    )
    assert_validation_error_names(
        await client.patch(f"/v1/users/{user['id']}", json={"createdAt": "2020"}, headers=own), "createdAt"
    )


async def test_bad_values_are_400_naming_the_field(client: Client, unique: str, auth_headers: Headers) -> None:
    weak = {"email": f"weak-{unique}@example.com", "password": "short", "firstName": "J", "lastName": "D"}
    assert_validation_error_names(await client.post("/v1/users", json=weak), "password")
    assert_validation_error_names(await client.post("/v1/users", json={**DOCUMENT_CREATE, "email": "nope"}), "email")
    user = await register(client, unique)
    admin = auth_headers("admin")
    # the document's vocabulary is active/inactive; `disabled` is the /users word for the same state
    assert_validation_error_names(
        await client.patch(f"/v1/users/{user['id']}", json={"status": "disabled"}, headers=admin), "status"
    )
    assert_validation_error_names(
        await client.patch(f"/v1/users/{user['id']}", json={"roles": ["root"]}, headers=admin), "roles"
    )


async def test_v1_and_users_are_the_same_accounts_and_inactive_cannot_log_in(
    client: Client, unique: str, auth_headers: Headers
) -> None:
    user = await register(client, unique, firstName="Jo", lastName="Ray")
    admin = auth_headers("admin")
    old_view = (await client.get(f"/users/{user['id']}", headers=admin)).json()
    assert (old_view["first_name"], old_view["last_name"], old_view["status"]) == ("Jo", "Ray", "active")
    assert (
        await client.patch(f"/v1/users/{user['id']}", json={"status": "inactive"}, headers=admin)
    ).status_code == 200
    assert (await client.get(f"/users/{user['id']}", headers=admin)).json()["status"] == "disabled"
    refused = await client.post("/auth/token", data={"username": user["email"], "password": user["password"]})
    assert refused.status_code == 401
    back = await client.patch(f"/users/{user['id']}", json={"status": "active"}, headers=admin)
    assert back.status_code == 200
    assert (await client.get(f"/v1/users/{user['id']}", headers=admin)).json()["status"] == "active"


# --- ownership and the admin role --------------------------------------------------------------------------------


async def test_a_user_reads_and_changes_only_their_own_profile(client: Client, unique: str) -> None:
    user, other = await register(client, unique), await register(client, unique + "b")
    own = await login(client, user)
    renamed = await client.patch(f"/v1/users/{user['id']}", json={"firstName": "Anna"}, headers=own)
    assert renamed.status_code == 200 and renamed.json()["firstName"] == "Anna"
    for method, body in (("GET", None), ("PATCH", {"lastName": "Smith"})):
        for target in (other["id"], str(uuid.uuid4()), "uuid-of-user"):  # existing or not: 403, nothing to probe
            response = await client.request(method, f"/v1/users/{target}", json=body, headers=own)
            assert_error(response, 403, "FORBIDDEN")
    assert (await client.get(f"/v1/users/{other['id']}", headers=own)).status_code == 403


async def test_only_an_admin_changes_status_or_roles(client: Client, unique: str, auth_headers: Headers) -> None:
    user = await register(client, unique)
    own = await login(client, user)
    for change in ({"status": "inactive"}, {"roles": ["admin"]}):
        body = assert_error(await client.patch(f"/v1/users/{user['id']}", json=change, headers=own), 403, "FORBIDDEN")
        assert body["details"]["fields"] == {"roles": "admin only", "status": "admin only"}
    promoted = await client.patch(
        f"/v1/users/{user['id']}", json={"roles": ["merchandiser"]}, headers=auth_headers("admin")
    )
    assert promoted.status_code == 200 and promoted.json()["roles"] == ["merchandiser"]
    assert (await client.get(f"/v1/users/{user['id']}", headers=auth_headers("admin"))).status_code == 200


async def test_anonymous_reads_and_changes_are_401(client: Client, unique: str) -> None:
    user = await register(client, unique)
    assert_error(await client.get(f"/v1/users/{user['id']}"), 401, "NOT_AUTHENTICATED")
    assert_error(await client.patch(f"/v1/users/{user['id']}", json={"lastName": "X"}), 401, "NOT_AUTHENTICATED")


# --- scopes ------------------------------------------------------------------------------------------------------


async def test_tokens_carry_the_scopes_their_roles_allow(client: Client, unique: str, settings: Settings) -> None:
    user = await register(client, unique)
    response = await client.post("/auth/token", data={"username": user["email"], "password": user["password"]})
    token = response.json()
    assert set(token) == {"access_token", "token_type", "expires_in"}  # the contract's body: no scope asked, none named
    claims = jwt.decode(
        token["access_token"],
        settings.jwt_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["scope"] == "user:read user:write"
    narrowed = await client.post("/auth/token", data={"username": user["email"], "password": user["password"],
                                                      "scope": "user:read"})
    assert narrowed.json()["scope"] == "user:read"  # asked for less: the answer says what was granted
    for role in ("admin", "merchandiser", "analyst", "customer"):
        issued = jwt.decode(issue_token(settings, uuid.uuid4(), [role]), options={"verify_signature": False})
        assert issued["scope"] == "user:read user:write", role


async def test_a_read_scoped_token_reads_but_cannot_change(client: Client, unique: str) -> None:
    user = await register(client, unique)
    reader = await login(client, user, scope="user:read")
    assert (await client.get(f"/v1/users/{user['id']}", headers=reader)).status_code == 200
    for path in (f"/v1/users/{user['id']}", f"/users/{user['id']}"):  # the scope holds on /users too
        denied = await client.patch(path, json={}, headers=reader)
        body = assert_error(denied, 403, "INSUFFICIENT_SCOPE")
        assert body["details"] == {"required_scope": "user:write", "token_scopes": ["user:read"]}
        assert denied.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="user:write"'


async def test_a_write_scoped_token_changes_but_cannot_read(client: Client, unique: str) -> None:
    user = await register(client, unique)
    writer = await login(client, user, scope="user:write")
    changed = await client.patch(f"/v1/users/{user['id']}", json={"lastName": "Smith"}, headers=writer)
    assert changed.status_code == 200 and changed.json()["lastName"] == "Smith"
    assert_error(await client.get(f"/v1/users/{user['id']}", headers=writer), 403, "INSUFFICIENT_SCOPE")


async def test_without_the_scope_even_an_admin_is_refused(
    client: Client, settings: Settings, users_by_role: dict[str, uuid.UUID]
) -> None:
    admin = users_by_role["admin"]
    scopeless = bearer(issue_token(settings, admin, ["admin"], scopes=[]))
    assert_error(await client.get(f"/v1/users/{admin}", headers=scopeless), 403, "INSUFFICIENT_SCOPE")
    assert_error(await client.patch(f"/v1/users/{admin}", json={}, headers=scopeless), 403, "INSUFFICIENT_SCOPE")
    assert_error(await client.get("/users", headers=scopeless), 403, "INSUFFICIENT_SCOPE")
    # scopes govern user profiles only: the catalog routes go by role, as before
    assert (await client.get("/products", headers=scopeless)).status_code == 200


def _legacy_token(settings: Settings, user_id: uuid.UUID, roles: list[str], **claims: Any) -> str:
    """A token as issued before scopes existed: no `scope` claim (plus any claims given)."""
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


async def test_tokens_from_before_scopes_hold_what_their_roles_allow(
    client: Client, unique: str, settings: Settings
) -> None:
    user = await register(client, unique)
    legacy = bearer(_legacy_token(settings, uuid.UUID(user["id"]), ["customer"]))
    assert (await client.get(f"/v1/users/{user['id']}", headers=legacy)).status_code == 200
    assert (await client.patch(f"/v1/users/{user['id']}", json={"lastName": "Old"}, headers=legacy)).status_code == 200
    malformed = bearer(_legacy_token(settings, uuid.UUID(user["id"]), ["customer"], scope=["user:read"]))
    assert_error(await client.get(f"/v1/users/{user['id']}", headers=malformed), 401, "INVALID_TOKEN")


async def test_asking_for_an_unknown_scope_is_400_naming_it(client: Client, unique: str) -> None:
    user = await register(client, unique)
    form = {"username": user["email"], "password": user["password"], "scope": "user:read catalog:everything"}
    body = assert_error(await client.post("/auth/token", data=form), 400, "INVALID_SCOPE")
    assert body["details"]["fields"] == {"scope": "unknown: catalog:everything"}


# --- documented ---------------------------------------------------------------------------------------------------


def test_the_v1_routes_are_documented_in_camel_case_with_their_errors() -> None:
    schema = create_app().openapi_schema.to_schema()
    paths, components = schema["paths"], schema["components"]["schemas"]
    assert set(paths["/v1/users"]["post"]["responses"]) >= {"201", "400", "409"}
    assert set(paths["/v1/users/{user_id}"]["get"]["responses"]) >= {"200", "401", "403", "404"}
    assert set(paths["/v1/users/{user_id}"]["patch"]["responses"]) >= {"200", "400", "401", "403", "404", "409"}
    assert set(components["V1UserCreate"]["properties"]) == set(DOCUMENT_CREATE)
    assert set(components["V1UserCreated"]["properties"]) == set(DOCUMENT_CREATED)
    assert set(components["V1User"]["properties"]) == set(DOCUMENT_PROFILE)
    assert set(components["V1UserUpdate"]["properties"]) >= set(DOCUMENT_UPDATE)
    assert set(components["V1UserNotFound"]["properties"]) == set(DOCUMENT_NOT_FOUND)
