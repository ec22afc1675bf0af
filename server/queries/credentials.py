"""API credentials: create, look up by token."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import BaseModel

from server.auth import Role, new_token, token_hash


class Principal(BaseModel):
    """Who is calling: one credential and its role (and store/register for scoped roles)."""

    id: int
    name: str
    role: Role
    store_id: str | None = None
    register_id: str | None = None


async def create_credential(
    conn: AsyncConnection[Any],
    *,
    name: str,
    role: str,
    store_id: str | None = None,
    register_id: str | None = None,
) -> str:
    """Create a credential and return its token (shown once; only the hash is stored)."""
    Role(role)  # raises ValueError for an unknown role
    token = new_token()
    await conn.execute(
        "INSERT INTO api_credential (name, role, store_id, register_id, token_sha256) "
        "VALUES (%s, %s, %s, %s, %s)",
        (name, role, store_id, register_id, token_hash(token)),
    )
    return token


async def ensure_bootstrap_admin(conn: AsyncConnection[Any], token: str) -> None:
    """Register ``STOREFLOW_ADMIN_TOKEN`` as an admin credential (idempotent)."""
    await conn.execute(
        "INSERT INTO api_credential (name, role, token_sha256) VALUES ('bootstrap-admin', "
        "'admin', %s) ON CONFLICT (token_sha256) DO NOTHING",
        (token_hash(token),),
    )


async def principal_for_token(conn: AsyncConnection[Any], token: str) -> Principal | None:
    async with conn.cursor(row_factory=class_row(Principal)) as cur:
        await cur.execute(
            "SELECT id, name, role, store_id, register_id FROM api_credential "
            "WHERE token_sha256 = %s AND revoked_at IS NULL",
            (token_hash(token),),
        )
        return await cur.fetchone()
