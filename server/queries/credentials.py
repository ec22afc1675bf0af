"""API credentials: create, look up by token, revoke."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from pydantic import BaseModel

from server.auth import Role, check_scope, new_token, token_hash


class Principal(BaseModel):
    """Who is calling: one credential and its role (and store/register for scoped roles)."""

    id: int
    name: str
    role: Role
    store_id: str | None = None
    register_id: str | None = None
    chain: bool = False


async def create_credential(
    conn: AsyncConnection[Any],
    *,
    name: str,
    role: str,
    store_id: str | None = None,
    register_id: str | None = None,
    chain: bool = False,
) -> str:
    """Create a credential and return its token (shown once; only the hash is stored).

    Raises ``ValueError`` for an unknown role or a scope the role does not allow
    (:func:`server.auth.check_scope`)."""
    _, token = await create_credential_with_id(
        conn, name=name, role=role, store_id=store_id, register_id=register_id, chain=chain
    )
    return token


async def create_credential_with_id(
    conn: AsyncConnection[Any],
    *,
    name: str,
    role: str,
    store_id: str | None = None,
    register_id: str | None = None,
    chain: bool = False,
) -> tuple[int, str]:
    """Like :func:`create_credential`, also returning the credential's id (to revoke it)."""
    check_scope(Role(role), store_id=store_id, register_id=register_id, chain=chain)
    token = new_token()
    cur = await conn.execute(
        "INSERT INTO api_credential (name, role, store_id, register_id, chain, token_sha256) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (name, role, store_id, register_id, chain, token_hash(token)),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), token


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
            "SELECT id, name, role, store_id, register_id, chain FROM api_credential "
            "WHERE token_sha256 = %s AND revoked_at IS NULL",
            (token_hash(token),),
        )
        return await cur.fetchone()


async def revoke_credential(
    conn: AsyncConnection[Any],
    *,
    credential_id: int | None = None,
    name: str | None = None,
    token: str | None = None,
) -> list[tuple[int, bool]]:
    """Revoke the credentials with this id, name or token: ``(id, newly revoked)`` for each
    one found (an empty list: none is). Their tokens get 401 from the next request on."""
    if (credential_id, name, token).count(None) != 2:
        raise ValueError("name exactly one of: an id, a name, a token")
    cur = await conn.execute(
        "UPDATE api_credential c SET revoked_at = coalesce(c.revoked_at, now()) "
        "FROM api_credential old WHERE old.id = c.id AND (c.id = %s OR c.name = %s "
        "OR c.token_sha256 = %s) RETURNING c.id, old.revoked_at IS NULL",
        (credential_id, name, token_hash(token) if token is not None else None),
    )
    return [(int(r[0]), bool(r[1])) for r in await cur.fetchall()]
