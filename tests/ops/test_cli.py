"""The `catalog` command line: every command answers `--help`, README's commands exist, `users create-admin` works."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from litestar import Litestar
from litestar.testing import AsyncTestClient
from typer.testing import CliRunner

from catalog.cli import app
from catalog.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
Client = AsyncTestClient[Litestar]


def command_paths(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every group and command of the app, as the words typed after `catalog` (the app itself is `()`)."""
    command = command or typer.main.get_command(app)
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


ALL_COMMANDS = sorted(command_paths())


def readme_commands() -> set[tuple[str, ...]]:
    """The commands README's "The `catalog` command" section names: `stack up|down` is two, options dropped."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## The `catalog` command", 1)[1].strip().split("\n\n", 1)[0]
    named: set[tuple[str, ...]] = set()
    for span in re.findall(r"`([^`]+)`", section, flags=re.DOTALL):
        words = span.split()
        if words and words[0].endswith("catalog"):
            words = words[1:]  # `catalog run`, `.venv/bin/catalog --help`
        path: list[str] = []
        for word in words:
            if word.startswith(("-", "[")) or word.isupper():
                break  # options and placeholders (N, FILE)
            path.append(word)
        if path:
            *group, last = path
            named.update((*group, choice) for choice in last.split("|"))
    return named


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda path: " ".join(path) or "catalog")
def test_every_command_answers_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="catalog")
    assert result.exit_code == 0, result.output
    assert f"Usage: catalog {' '.join(path)}".rstrip() in result.output


def test_every_command_readme_names_exists() -> None:
    named = readme_commands()
    assert {("users", "create-admin"), ("stack", "clean"), ("media", "gc"), ("import",)} <= named  # parsed whole
    assert sorted(named - set(ALL_COMMANDS)) == []


@pytest.mark.parametrize("launcher", [[str(BIN / "catalog")], [sys.executable, "-m", "catalog.cli"]])
def test_the_console_script_and_python_m_run_the_app(launcher: list[str]) -> None:
    result = subprocess.run([*launcher, "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Usage: catalog" in result.stdout and "create-admin" not in result.stdout
    for group in ("stack", "users", "indexer", "media", "webhooks", "import", "reindex", "run"):
        assert re.search(rf"│ {group}\b", result.stdout), group


def one_line(output: str) -> str:
    """The output with rich's wrapping at the terminal width undone."""
    return " ".join(output.split())


def create_admin(email: str, password: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "catalog"), "users", "create-admin", "--email", email, "--password", password]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False, timeout=120)


async def bearer(client: Client, email: str, password: str) -> dict[str, str]:
    response = await client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_create_admin_creates_an_admin_who_can_log_in(client: Client, unique: str) -> None:
    email = f"root-{unique}@example.com"
    result = create_admin(email, "first-secret")
    assert result.returncode == 0, result.stdout + result.stderr
    created = re.fullmatch(rf"created admin {re.escape(email)} \(([0-9a-f-]{{36}})\)", one_line(result.stdout))
    assert created, result.stdout
    me = await client.get(f"/users/{created[1]}", headers=await bearer(client, email, "first-secret"))
    assert me.status_code == 200 and me.json()["roles"] == ["admin"], me.text


async def test_create_admin_promotes_and_reenables_an_existing_user(
    client: Client, unique: str, auth_headers: Any
) -> None:
    email = f"shopper-{unique}@example.com"
    registered = await client.post("/users", json={"email": email, "password": "shopper-pass", "first_name": "Ann"})
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["id"]
    disabled = await client.patch(f"/users/{user_id}", json={"status": "disabled"}, headers=auth_headers("admin"))
    assert disabled.status_code == 200, disabled.text

    result = create_admin(email.upper(), "the-new-secret")  # the email matches case-insensitively
    assert result.returncode == 0, result.stdout + result.stderr
    assert one_line(result.stdout) == f"updated admin {email.upper()} ({user_id})"
    old_password = await client.post("/auth/token", data={"username": email, "password": "shopper-pass"})
    assert old_password.status_code == 401
    me = (await client.get(f"/users/{user_id}", headers=await bearer(client, email, "the-new-secret"))).json()
    assert (me["roles"], me["status"], me["first_name"]) == (["admin", "customer"], "active", "Ann")


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [("not-an-email", "long-enough", "--email must be an email address"),
     ("ok@example.com", "short", "--password must have at least 8 characters")],
)
def test_create_admin_rejects_bad_input_with_exit_2(email: str, password: str, message: str) -> None:
    result = create_admin(email, password)
    assert result.returncode == 2
    assert f"error: {message}" in one_line(result.stdout)
