"""The privacy logs: requests about a member's data, reads of personal data, purge runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from server.queries.credentials import Principal


class AccessEntry(BaseModel):
    at: datetime
    credential_id: int | None
    credential_name: str
    role: str
    member_id: int
    endpoint: str


class PurgeRun(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    trigger: str
    cutoffs: dict[str, Any]
    deleted: dict[str, Any] | None
    error: str | None


async def log_access(
    conn: AsyncConnection[Any], who: Principal, member_id: int, endpoint: str
) -> None:
    """Record that ``who`` read ``member_id``'s personal data through ``endpoint``."""
    await conn.execute(
        "INSERT INTO privacy_access_log (credential_id, credential_name, role, member_id, "
        "endpoint) VALUES (%s, %s, %s, %s, %s)",
        (who.id, who.name, who.role.value, member_id, endpoint),
    )


async def log_access_many(
    conn: AsyncConnection[Any], who: Principal, member_ids: list[int], endpoint: str
) -> None:
    """Record that ``who`` read the personal data of every member of ``member_ids`` at once."""
    if not member_ids:
        return
    await conn.execute(
        "INSERT INTO privacy_access_log (credential_id, credential_name, role, member_id, "
        "endpoint) SELECT %s, %s, %s, unnest(%s::bigint[]), %s",
        (who.id, who.name, who.role.value, member_ids, endpoint),
    )


async def access_log(
    conn: AsyncConnection[Any],
    *,
    member_id: int | None,
    since: datetime | None,
    limit: int,
) -> list[AccessEntry]:
    async with conn.cursor(row_factory=class_row(AccessEntry)) as cur:
        await cur.execute(
            "SELECT at, credential_id, credential_name, role, member_id, endpoint "
            "FROM privacy_access_log WHERE (%(m)s::bigint IS NULL OR member_id = %(m)s) "
            "AND (%(t)s::timestamptz IS NULL OR at >= %(t)s) ORDER BY at DESC, id DESC "
            "LIMIT %(n)s",
            {"m": member_id, "t": since, "n": limit},
        )
        return list(await cur.fetchall())


async def open_request(conn: AsyncConnection[Any], member_id: int, kind: str, actor: str) -> int:
    cur = await conn.execute(
        "INSERT INTO privacy_request (member_id, kind, requested_by) VALUES (%s, %s, %s) "
        "RETURNING id",
        (member_id, kind, actor),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def complete_request(
    conn: AsyncConnection[Any], request_id: int, detail: dict[str, Any]
) -> datetime:
    cur = await conn.execute(
        "UPDATE privacy_request SET completed_at = clock_timestamp(), detail = %s "
        "WHERE id = %s RETURNING completed_at",
        (Jsonb(detail), request_id),
    )
    row = await cur.fetchone()
    assert row is not None
    done: datetime = row[0]
    return done


async def start_purge_run(conn: AsyncConnection[Any], trigger: str, cutoffs: dict[str, Any]) -> int:
    cur = await conn.execute(
        "INSERT INTO privacy_purge_run (trigger, cutoffs) VALUES (%s, %s) RETURNING id",
        (trigger, Jsonb(cutoffs)),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def finish_purge_run(
    conn: AsyncConnection[Any], run_id: int, *, deleted: dict[str, Any], error: str | None
) -> None:
    await conn.execute(
        "UPDATE privacy_purge_run SET finished_at = clock_timestamp(), deleted = %s, error = %s "
        "WHERE id = %s",
        (Jsonb(deleted), error, run_id),
    )


async def purge_runs(conn: AsyncConnection[Any], *, limit: int) -> list[PurgeRun]:
    async with conn.cursor(row_factory=class_row(PurgeRun)) as cur:
        await cur.execute(
            "SELECT id, started_at, finished_at, trigger, cutoffs, deleted, error "
            "FROM privacy_purge_run ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return list(await cur.fetchall())
