"""Complaints in the database: record, assign, respond, resolve (each step logged in
``complaint_event``), lists, targets per severity, figures and the retention figure.

Deadlines and lateness come from :mod:`server.crm.sla`; resolving a member's complaint makes its
follow-up tasks in the same transaction (:mod:`server.queries.followups`)."""

from __future__ import annotations

import logging
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.crm import sla
from server.crm.rules import ComplaintResolved
from server.errors import Conflict, InvalidRequest, NotFound
from server.queries import followups
from storeflow.api.complaints import (
    ComplaintEvent,
    ComplaintFigures,
    ComplaintIn,
    ComplaintOut,
    ComplaintReport,
    FollowupMade,
    Retention,
    Target,
)

logger = logging.getLogger(__name__)

RETENTION_DAYS = 90
LIST_LIMIT = 500

_COLUMNS = (
    "c.id, c.member_id, m.name, c.store_id, c.channel, c.category, c.counter, c.severity, "
    "c.text, c.created_at, c.created_by, c.assignee, c.first_response_at, c.resolved_at, "
    "c.resolution, c.on_the_spot"
)
_FROM = "FROM complaint c LEFT JOIN member m ON m.id = c.member_id"


def _now(at: datetime | None) -> datetime:
    return at if at is not None else datetime.now(UTC)


async def targets(conn: AsyncConnection[Any]) -> dict[str, sla.Target]:
    rows = await (
        await conn.execute(
            "SELECT severity, first_response_minutes, resolution_minutes FROM complaint_target"
        )
    ).fetchall()
    return {r[0]: sla.Target(r[1], r[2]) for r in rows}


async def list_targets(conn: AsyncConnection[Any]) -> list[Target]:
    order = ["low", "medium", "high", "critical"]
    found = await targets(conn)
    return [
        Target(
            severity=s,
            first_response_minutes=found[s].first_response_minutes,
            resolution_minutes=found[s].resolution_minutes,
        )
        for s in order
        if s in found
    ]


async def set_target(conn: AsyncConnection[Any], t: Target) -> None:
    await conn.execute(
        "INSERT INTO complaint_target (severity, first_response_minutes, resolution_minutes) "
        "VALUES (%s, %s, %s) ON CONFLICT (severity) DO UPDATE SET "
        "first_response_minutes = EXCLUDED.first_response_minutes, "
        "resolution_minutes = EXCLUDED.resolution_minutes",
        (t.severity, t.first_response_minutes, t.resolution_minutes),
    )


def _out(
    r: tuple[Any, ...],
    goals: dict[str, sla.Target],
    now: datetime,
    events: list[ComplaintEvent] | None = None,
    made: list[FollowupMade] | None = None,
) -> ComplaintOut:
    created_at, first_response_at, resolved_at = r[9], r[12], r[13]
    d = sla.due(created_at, goals[r[7]])
    return ComplaintOut(
        complaint_id=r[0],
        member_id=r[1],
        member_name=r[2],
        store_id=r[3],
        channel=r[4],
        category=r[5],
        counter=r[6],
        severity=r[7],
        text=r[8],
        status=sla.status(
            assignee=r[11], first_response_at=first_response_at, resolved_at=resolved_at
        ),
        created_at=created_at,
        created_by=r[10],
        assignee=r[11],
        first_response_at=first_response_at,
        resolved_at=resolved_at,
        resolution=r[14],
        on_the_spot=r[15],
        first_response_due=d.first_response,
        resolution_due=d.resolution,
        response_overdue=sla.late(d.first_response, first_response_at, now),
        resolution_overdue=sla.late(d.resolution, resolved_at, now),
        events=events or [],
        followups=made or [],
    )


async def _event(
    conn: AsyncConnection[Any],
    complaint_id: int,
    at: datetime,
    kind: str,
    actor: str,
    text: str | None,
) -> None:
    await conn.execute(
        "INSERT INTO complaint_event (complaint_id, at, kind, actor, text) "
        "VALUES (%s, %s, %s, %s, %s)",
        (complaint_id, at, kind, actor, text),
    )


async def record(conn: AsyncConnection[Any], c: ComplaintIn, *, actor: str) -> ComplaintOut:
    at = _now(c.at)
    if c.member_id is not None:
        found = await (
            await conn.execute(
                "SELECT merged_into FROM member WHERE id = %s AND erased_at IS NULL",
                (c.member_id,),
            )
        ).fetchone()
        if found is None:
            raise NotFound("member not found")
        if found[0] is not None:
            raise InvalidRequest(f"member {c.member_id} was merged into member {found[0]}")
    row = await (
        await conn.execute(
            "INSERT INTO complaint (member_id, store_id, channel, category, counter, severity, "
            "text, created_at, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (
                c.member_id,
                c.store_id,
                c.channel,
                c.category.strip(),
                c.counter,
                c.severity,
                c.text,
                at,
                actor,
            ),
        )
    ).fetchone()
    assert row is not None
    await _event(conn, int(row[0]), at, "recorded", actor, None)
    return await get(conn, int(row[0]), now=at)


async def get(
    conn: AsyncConnection[Any], complaint_id: int, *, now: datetime | None = None
) -> ComplaintOut:
    row = await (
        await conn.execute(f"SELECT {_COLUMNS} {_FROM} WHERE c.id = %s", (complaint_id,))
    ).fetchone()
    if row is None:
        raise NotFound("complaint not found")
    events = await (
        await conn.execute(
            "SELECT at, kind, actor, text FROM complaint_event WHERE complaint_id = %s "
            "ORDER BY at, id",
            (complaint_id,),
        )
    ).fetchall()
    made = await (
        await conn.execute(
            "SELECT id, title, due_on FROM followup WHERE source = %s ORDER BY id",
            (f"complaint:{complaint_id}",),
        )
    ).fetchall()
    return _out(
        row,
        await targets(conn),
        _now(now),
        [ComplaintEvent(at=e[0], kind=e[1], actor=e[2], text=e[3]) for e in events],
        [FollowupMade(followup_id=f[0], title=f[1], due_on=f[2].isoformat()) for f in made],
    )


async def _locked(conn: AsyncConnection[Any], complaint_id: int) -> tuple[Any, ...]:
    row = await (
        await conn.execute(
            "SELECT created_at, resolved_at, first_response_at, member_id FROM complaint "
            "WHERE id = %s FOR UPDATE",
            (complaint_id,),
        )
    ).fetchone()
    if row is None:
        raise NotFound("complaint not found")
    return tuple(row)


def _check_time(at: datetime, created_at: datetime) -> None:
    if at < created_at:
        raise InvalidRequest("that time is before the complaint was made")


async def assign(
    conn: AsyncConnection[Any], complaint_id: int, assignee: str, at: datetime | None, *, actor: str
) -> ComplaintOut:
    when = _now(at)
    created_at, resolved_at, _, _ = await _locked(conn, complaint_id)
    if resolved_at is not None:
        raise Conflict("the complaint is already resolved")
    _check_time(when, created_at)
    await conn.execute(
        "UPDATE complaint SET assignee = %s, assigned_at = %s WHERE id = %s",
        (assignee.strip(), when, complaint_id),
    )
    await _event(conn, complaint_id, when, "assigned", actor, assignee.strip())
    return await get(conn, complaint_id, now=when)


async def respond(
    conn: AsyncConnection[Any], complaint_id: int, text: str, at: datetime | None, *, actor: str
) -> ComplaintOut:
    """A response to the customer; the first one stops the first-response clock."""
    when = _now(at)
    created_at, resolved_at, _, _ = await _locked(conn, complaint_id)
    if resolved_at is not None:
        raise Conflict("the complaint is already resolved")
    _check_time(when, created_at)
    await conn.execute(
        "UPDATE complaint SET first_response_at = coalesce(first_response_at, %s) WHERE id = %s",
        (when, complaint_id),
    )
    await _event(conn, complaint_id, when, "responded", actor, text)
    return await get(conn, complaint_id, now=when)


async def resolve(
    conn: AsyncConnection[Any],
    complaint_id: int,
    resolution: str,
    on_the_spot: bool,
    at: datetime | None,
    *,
    actor: str,
) -> ComplaintOut:
    """Resolve (a resolution is also a response); make the rules' follow-up tasks."""
    when = _now(at)
    created_at, resolved_at, _, member_id = await _locked(conn, complaint_id)
    if resolved_at is not None:
        raise Conflict("the complaint is already resolved")
    _check_time(when, created_at)
    await conn.execute(
        "UPDATE complaint SET resolved_at = %s, resolution = %s, on_the_spot = %s, "
        "first_response_at = coalesce(first_response_at, %s) WHERE id = %s",
        (when, resolution, on_the_spot, when, complaint_id),
    )
    await _event(conn, complaint_id, when, "resolved", actor, resolution)
    await followups.create_for(
        conn,
        ComplaintResolved(complaint_id=complaint_id, member_id=member_id, at=when),
        actor=actor,
    )
    return await get(conn, complaint_id, now=when)


async def listing(
    conn: AsyncConnection[Any],
    *,
    status: str | None,
    overdue: bool,
    member_id: int | None,
    store_id: str | None,
    now: datetime | None = None,
) -> list[ComplaintOut]:
    """Complaints newest first: ``status='open'`` means not resolved; ``overdue`` keeps those
    past a target that is still running (no first response, or not resolved, in time)."""
    where: list[str] = ["true"]
    args: list[Any] = []
    if status == "open":
        where.append("c.resolved_at IS NULL")
    elif status == "resolved":
        where.append("c.resolved_at IS NOT NULL")
    elif status is not None:
        raise InvalidRequest("status is 'open' or 'resolved'")
    if member_id is not None:
        where.append("c.member_id = %s")
        args.append(member_id)
    if store_id is not None:
        where.append("c.store_id = %s")
        args.append(store_id)
    rows = await (
        await conn.execute(
            f"SELECT {_COLUMNS} {_FROM} WHERE {' AND '.join(where)} "
            f"ORDER BY c.created_at DESC, c.id DESC LIMIT {LIST_LIMIT}",
            args,
        )
    ).fetchall()
    goals, when = await targets(conn), _now(now)
    out = [_out(r, goals, when) for r in rows]
    if overdue:
        out = [
            c
            for c in out
            if c.resolved_at is None
            and (c.resolution_overdue or (c.first_response_at is None and c.response_overdue))
        ]
    return out


def _figures(key: str | None, group: list[ComplaintOut]) -> ComplaintFigures:
    response = [
        m
        for c in group
        if (m := sla.minutes_between(c.created_at, c.first_response_at)) is not None
    ]
    resolution = [
        m for c in group if (m := sla.minutes_between(c.created_at, c.resolved_at)) is not None
    ]
    return ComplaintFigures(
        key=key,
        complaints=len(group),
        resolved=sum(c.resolved_at is not None for c in group),
        response_on_time=sum(
            c.first_response_at is not None and c.first_response_at <= c.first_response_due
            for c in group
        ),
        resolved_on_time=sum(
            c.resolved_at is not None and c.resolved_at <= c.resolution_due for c in group
        ),
        median_response_minutes=statistics.median(response) if response else None,
        median_resolution_minutes=statistics.median(resolution) if resolution else None,
    )


def _grouped(items: list[ComplaintOut], key: str) -> list[ComplaintFigures]:
    groups: dict[str | None, list[ComplaintOut]] = {}
    for c in items:
        groups.setdefault(getattr(c, key), []).append(c)
    return [_figures(k, groups[k]) for k in sorted(groups, key=lambda k: (k is None, k or ""))]


async def retention(
    conn: AsyncConnection[Any], *, start: datetime, end: datetime, store_id: str | None
) -> list[Retention]:
    """Members' complaints made in [start, end) whose 90-day window has ended by ``end``; each
    member counted once, by their first such complaint; its outcome is as seen at ``end``."""
    rows = await (
        await conn.execute(
            """
            SELECT DISTINCT ON (c.member_id) c.member_id, c.created_at, c.resolved_at,
                   c.on_the_spot,
                   EXISTS (SELECT 1 FROM purchase p WHERE p.member_id = c.member_id
                            AND p.at > c.created_at AND p.at <= c.created_at + %(window)s)
              FROM complaint c
             WHERE c.member_id IS NOT NULL AND c.created_at >= %(start)s
               AND c.created_at + %(window)s <= %(end)s
               AND (%(store)s::text IS NULL OR c.store_id = %(store)s)
             ORDER BY c.member_id, c.created_at, c.id
            """,
            {
                "window": timedelta(days=RETENTION_DAYS),
                "start": start,
                "end": end,
                "store": store_id,
            },
        )
    ).fetchall()
    counts = {o: [0, 0] for o in ("on_the_spot", "later", "unresolved")}
    for _, _, resolved_at, on_the_spot, bought in rows:
        o = sla.outcome(resolved_at=resolved_at, on_the_spot=on_the_spot, as_of=end)
        counts[o][0] += 1
        counts[o][1] += int(bool(bought))
    return [
        Retention(
            outcome=o,
            complainants=n,
            bought_again=b,
            share=b / n if n else None,
        )
        for o, (n, b) in counts.items()
    ]


async def report(
    conn: AsyncConnection[Any], *, start: datetime, end: datetime, store_id: str | None
) -> ComplaintReport:
    if end <= start:
        raise InvalidRequest("the period ends before it starts")
    rows = await (
        await conn.execute(
            f"SELECT {_COLUMNS} {_FROM} WHERE c.created_at >= %s AND c.created_at < %s "
            "AND (%s::text IS NULL OR c.store_id = %s)",
            (start, end, store_id, store_id),
        )
    ).fetchall()
    goals = await targets(conn)
    items = [_out(r, goals, end) for r in rows]
    return ComplaintReport(
        start=start,
        end=end,
        by_counter=_grouped(items, "counter"),
        by_category=_grouped(items, "category"),
        retention=await retention(conn, start=start, end=end, store_id=store_id),
        window_days=RETENTION_DAYS,
    )
