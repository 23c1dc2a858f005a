"""`catalog users create-admin`: the first admin account (or promote an existing one)."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import text

from api.auth.security import hash_password
from catalog.settings import get_settings
from db.models import Role
from db.session import sync_engine

app = typer.Typer(help="User accounts.", no_args_is_help=True)
console = Console()

MIN_PASSWORD = 8


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="the admin's email (login name)")],
    password: Annotated[
        str,
        typer.Option(
            help=f"at least {MIN_PASSWORD} characters", prompt=True, hide_input=True, confirmation_prompt=True
        ),
    ],
    first_name: Annotated[str, typer.Option(help="first name")] = "",
    last_name: Annotated[str, typer.Option(help="last name")] = "",
) -> None:
    """Create an admin, or make an existing user with this email an active admin with this password."""
    if "@" not in email:
        console.print("[red]error:[/] --email must be an email address")
        raise typer.Exit(2)
    if len(password) < MIN_PASSWORD:
        console.print(f"[red]error:[/] --password must have at least {MIN_PASSWORD} characters")
        raise typer.Exit(2)
    engine = sync_engine(get_settings().database_url)
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, first_name, last_name, roles) "
                "VALUES (:id, :email, :hash, :first, :last, :roles) "
                "ON CONFLICT (lower(email)) DO UPDATE SET password_hash = EXCLUDED.password_hash, status = 'active', "
                "roles = (SELECT array_agg(DISTINCT r) FROM unnest(users.roles || EXCLUDED.roles) r), "
                "updated_at = now() "
                "RETURNING id, (xmax = 0) AS created"
            ),
            {
                "id": uuid.uuid4(),
                "email": email.strip(),
                "hash": hash_password(password),
                "first": first_name,
                "last": last_name,
                "roles": [Role.ADMIN.value],
            },
        ).one()
    console.print(f"{'created' if row.created else 'updated'} admin {email} ({row.id})")
