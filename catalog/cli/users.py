"""`catalog users create-admin`: the first admin account (or promote an existing one), through the users service."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from catalog.cli.console import console, fail
from catalog.settings import get_settings

if TYPE_CHECKING:
    from db.models import User

app = typer.Typer(help="User accounts.", no_args_is_help=True)

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
        fail("--email must be an email address", 2)
    if len(password) < MIN_PASSWORD:
        fail(f"--password must have at least {MIN_PASSWORD} characters", 2)
    user, created = asyncio.run(_create_or_promote_admin(email, password, first_name, last_name))
    console.print(f"{'created' if created else 'updated'} admin {email} ({user.id})")


async def _create_or_promote_admin(email: str, password: str, first_name: str, last_name: str) -> tuple[User, bool]:
    """`create_user` with the admin role; when the email is taken, `update_user` to active, this password, + admin."""
    from sqlalchemy import func, select

    from api.users.schemas import UserCreate, UserUpdate
    from api.users.service import create_user, update_user
    from catalog.errors import Conflict
    from db.models import Role, User, UserStatus
    from db.session import async_session_factory, make_async_engine, transaction

    engine = make_async_engine(get_settings())
    sessions = async_session_factory(engine)
    account = UserCreate(email=email, password=password, first_name=first_name, last_name=last_name)
    try:
        try:
            async with transaction(sessions) as session:
                return await create_user(session, account, roles=[Role.ADMIN.value]), True
        except Conflict:
            pass  # that transaction is rolled back; the promotion is the next one
        async with transaction(sessions) as session:
            query = select(User).where(func.lower(User.email) == email.strip().lower()).with_for_update()
            existing = (await session.execute(query)).scalar_one()
            roles = [*(Role(role) for role in existing.roles), Role.ADMIN]
            promotion = UserUpdate(password=password, status=UserStatus.ACTIVE, roles=roles)
            return await update_user(session, existing.id, promotion), False
    finally:
        await engine.dispose()
