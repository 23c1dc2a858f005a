"""Scoped search keys (`search_keys`): created, listed and revoked by admins, resolved by digest per search.

Only the SHA-256 of a key's secret is stored (migration 0009 says why a plain digest is enough); `key_prefix`
is the secret's first characters, shown so people can tell their keys apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = "id, description, key_prefix, filter, expires_at, rate_limit_per_minute, revoked_at, created_by, created_at"


async def insert_key(session: AsyncSession, *, key_hash: bytes, key_prefix: str, description: str,
                     filter: dict[str, list[str]], expires_at: datetime | None, rate_limit_per_minute: int | None,
                     created_by: uuid.UUID | None) -> Row[Any]:
    return (await session.execute(text(
        "INSERT INTO search_keys (description, key_hash, key_prefix, filter, expires_at, rate_limit_per_minute, "
        "created_by) VALUES (:description, :key_hash, :key_prefix, :filter, :expires_at, :rate_limit, :created_by) "
        f"RETURNING {COLUMNS}"),
        {"description": description, "key_hash": key_hash, "key_prefix": key_prefix, "filter": Jsonb(filter),
         "expires_at": expires_at, "rate_limit": rate_limit_per_minute, "created_by": created_by})).one()


async def list_keys(session: AsyncSession) -> Sequence[Row[Any]]:
    """Every key, revoked ones too (their `revoked_at` says since when), newest first."""
    return (await session.execute(text(f"SELECT {COLUMNS} FROM search_keys ORDER BY id DESC"))).all()


async def revoke_key(session: AsyncSession, key_id: int) -> bool:
    """Revoke the key (a revoked key stays revoked at its first revocation time); False when there is none."""
    found = (await session.execute(text(
        "UPDATE search_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id RETURNING id"),
        {"id": key_id})).first()
    return found is not None


async def find_key(session: AsyncSession, key_hash: bytes) -> Row[Any] | None:
    """The key whose secret has this digest, revoked or expired ones too (the caller tells them apart)."""
    return (await session.execute(text(f"SELECT {COLUMNS} FROM search_keys WHERE key_hash = :h"),
                                  {"h": key_hash})).first()


async def missing_categories(session: AsyncSession, paths: Sequence[str]) -> list[str]:
    """Those of `paths` that name no category."""
    found = (await session.execute(text("SELECT path FROM categories WHERE path = ANY(:paths)"),
                                   {"paths": list(paths)})).scalars().all()
    return [path for path in paths if path not in set(found)]
