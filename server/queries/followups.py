"""Follow-up tasks in the database: the rules (rows of ``followup_rule``), tasks made from
events by :func:`server.crm.rules.tasks_for`, tasks made by hand, outcomes and the task list.

Sales and tier upgrades are read by :func:`sweep` (from where it last stopped; re-running makes
nothing twice: one task per rule and source event); a resolved complaint makes its tasks when it
is resolved. Whether a member may be contacted comes from :mod:`server.crm.consent`."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.crm.consent import contactable
from server.crm.rules import Event, PurchaseMade, Rule, TierUpgraded, is_upgrade, tasks_for
from server.errors import Conflict, InvalidRequest, NotFound
from storeflow.api.followups import (
    FollowupIn,
    FollowupOut,
    HoldoutGroup,
    HoldoutReport,
    OutcomeIn,
    RuleIn,
    RuleOut,
    SweepOut,
)

logger = logging.getLogger(__name__)

LIST_LIMIT = 500
MAX_AGE = timedelta(days=14)


async def rules(conn: AsyncConnection[Any], *, active_only: bool = True) -> list[Rule]:
    rows = await (
        await conn.execute(
            "SELECT id, name, trigger, title, due_days, min_amount, tier, active, holdout_share "
            "FROM followup_rule WHERE active OR NOT %s ORDER BY id",
            (active_only,),
        )
    ).fetchall()
    return [Rule(*r) for r in rows]


def _rule_out(r: Rule) -> RuleOut:
    return RuleOut(
        rule_id=r.rule_id,
        name=r.name,
        trigger=r.trigger,
        min_amount=r.min_amount,
        tier=r.tier,
        due_days=r.due_days,
        title=r.title,
        active=r.active,
        holdout_share=r.holdout_share,
    )


async def list_rules(conn: AsyncConnection[Any]) -> list[RuleOut]:
    return [_rule_out(r) for r in await rules(conn, active_only=False)]


async def put_rule(conn: AsyncConnection[Any], r: RuleIn) -> RuleOut:
    """Add a rule, or change the one of that name."""
    row = await (
        await conn.execute(
            "INSERT INTO followup_rule (name, trigger, min_amount, tier, due_days, title, active, "
            "holdout_share) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE "
            "SET trigger = EXCLUDED.trigger, min_amount = EXCLUDED.min_amount, "
            "tier = EXCLUDED.tier, due_days = EXCLUDED.due_days, title = EXCLUDED.title, "
            "active = EXCLUDED.active, holdout_share = EXCLUDED.holdout_share RETURNING id",
            (
                r.name,
                r.trigger,
                r.min_amount,
                r.tier,
                r.due_days,
                r.title,
                r.active,
                r.holdout_share,
            ),
        )
    ).fetchone()
    assert row is not None
    return RuleOut(rule_id=row[0], **r.model_dump())


async def create_for(conn: AsyncConnection[Any], event: Event, *, actor: str) -> list[int]:
    """Make the tasks the active rules give for ``event``; ids of the new ones (none twice)."""
    made = []
    for task in tasks_for(event, await rules(conn)):
        row = await (
            await conn.execute(
                "INSERT INTO followup (member_id, rule_id, source, title, due_on, created_at, "
                "created_by, done_at, outcome) VALUES (%(member)s, %(rule)s, %(source)s, "
                "%(title)s, %(due)s, %(at)s, %(actor)s, "
                "CASE WHEN %(held)s THEN %(at)s END, CASE WHEN %(held)s THEN 'held_out' END) "
                "ON CONFLICT (rule_id, source) WHERE rule_id IS NOT NULL DO NOTHING RETURNING id",
                {
                    "member": task.member_id,
                    "rule": task.rule_id,
                    "source": task.source,
                    "title": task.title,
                    "due": task.due_on,
                    "at": event.at,
                    "actor": actor,
                    "held": task.held_out,
                },
            )
        ).fetchone()
        if row is not None:
            made.append(int(row[0]))
    return made


async def sweep(
    conn: AsyncConnection[Any],
    tier_rank: dict[str, int],
    *,
    actor: str,
    now: datetime | None = None,
    max_age: timedelta = MAX_AGE,
) -> SweepOut:
    """Read the sales and tier changes recorded since the last sweep and make their tasks.
    Events older than ``max_age`` (before ``now``) are read but make no task: a thank-you for a
    sale of last year is no use (the first sweep on an old database reads all its history).
    A time without a zone is taken as UTC."""
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    oldest = (now or datetime.now(UTC)) - max_age
    cursor = await (
        await conn.execute("SELECT purchase_id, tier_seq FROM followup_sweep WHERE id FOR UPDATE")
    ).fetchone()
    assert cursor is not None
    last_purchase, last_tier = cursor
    purchases = await (
        await conn.execute(
            "SELECT id, member_id, total, at FROM purchase WHERE id > %s AND member_id IS NOT NULL "
            "ORDER BY id",
            (last_purchase,),
        )
    ).fetchall()
    changes = await (
        await conn.execute(
            "SELECT h.member_id, h.tier, h.since, (SELECT p.tier FROM tier_history p "
            "WHERE p.member_id = h.member_id AND p.seq < h.seq ORDER BY p.seq DESC LIMIT 1), "
            "h.seq FROM tier_history h WHERE h.seq > %s ORDER BY h.seq",
            (last_tier,),
        )
    ).fetchall()
    created = 0
    for pid, member_id, total, at in purchases:
        if at < oldest:
            continue
        created += len(await create_for(conn, PurchaseMade(pid, member_id, total, at), actor=actor))
    for member_id, tier, since, previous, _ in changes:
        if since >= oldest and is_upgrade(previous, tier, tier_rank):
            event = TierUpgraded(member_id=member_id, tier=tier, previous=previous, at=since)
            created += len(await create_for(conn, event, actor=actor))
    await conn.execute(
        "UPDATE followup_sweep SET purchase_id = greatest(purchase_id, %s), "
        "tier_seq = greatest(tier_seq, %s) WHERE id",
        (
            max([last_purchase, *(p[0] for p in purchases)]),
            max([last_tier, *(c[4] for c in changes)]),
        ),
    )
    logger.info(
        "follow-up sweep: %d sales, %d tier changes, %d tasks",
        len(purchases),
        len(changes),
        created,
    )
    return SweepOut(purchases_read=len(purchases), tier_changes_read=len(changes), created=created)


async def create_manual(conn: AsyncConnection[Any], f: FollowupIn, *, actor: str) -> FollowupOut:
    found = await (
        await conn.execute(
            "SELECT 1 FROM member WHERE id = %s AND erased_at IS NULL AND merged_into IS NULL",
            (f.member_id,),
        )
    ).fetchone()
    if found is None:
        raise NotFound("member not found")
    row = await (
        await conn.execute(
            "INSERT INTO followup (member_id, source, title, note, due_on, assignee, created_at, "
            "created_by) VALUES (%s, 'manual', %s, %s, %s, %s, now(), %s) RETURNING id",
            (f.member_id, f.title, f.note, f.due_on, f.assignee, actor),
        )
    ).fetchone()
    assert row is not None
    return await get(conn, int(row[0]))


_SELECT = (
    "SELECT f.id, f.member_id, m.name, m.member_no, m.phone, r.name, f.source, f.title, f.note, "
    "f.due_on, f.assignee, f.created_at, f.created_by, f.done_at, f.outcome, f.outcome_note "
    "FROM followup f JOIN member m ON m.id = f.member_id "
    "LEFT JOIN followup_rule r ON r.id = f.rule_id"
)


async def _outs(
    conn: AsyncConnection[Any], rows: list[tuple[Any, ...]], today: date
) -> list[FollowupOut]:
    ok = await contactable(conn, [r[1] for r in rows])
    return [
        FollowupOut(
            followup_id=r[0],
            member_id=r[1],
            member_name=r[2],
            member_no=r[3],
            phone=r[4],
            may_contact=r[1] in ok,
            rule=r[5],
            source=r[6],
            title=r[7],
            note=r[8],
            due_on=r[9],
            assignee=r[10],
            created_at=r[11],
            created_by=r[12],
            done_at=r[13],
            outcome=r[14],
            outcome_note=r[15],
            overdue=r[13] is None and r[9] < today,
        )
        for r in rows
    ]


async def get(conn: AsyncConnection[Any], followup_id: int) -> FollowupOut:
    row = await (await conn.execute(f"{_SELECT} WHERE f.id = %s", (followup_id,))).fetchone()
    if row is None:
        raise NotFound("follow-up not found")
    return (await _outs(conn, [tuple(row)], datetime.now(UTC).date()))[0]


async def listing(
    conn: AsyncConnection[Any],
    *,
    status: str | None,
    member_id: int | None,
    assignee: str | None,
    due_by: date | None,
    today: date | None = None,
) -> list[FollowupOut]:
    """Tasks by due date: ``status='open'`` (not done) or ``'done'``; ``assignee`` one person's
    list (``'-'``: nobody's yet); ``due_by`` due on or before that day."""
    where: list[str] = ["true"]
    args: list[Any] = []
    if status == "open":
        where.append("f.done_at IS NULL")
    elif status == "done":
        where.append("f.done_at IS NOT NULL")
    elif status is not None:
        raise InvalidRequest("status is 'open' or 'done'")
    if member_id is not None:
        where.append("f.member_id = %s")
        args.append(member_id)
    if assignee == "-":
        where.append("f.assignee IS NULL")
    elif assignee is not None:
        where.append("f.assignee = %s")
        args.append(assignee)
    if due_by is not None:
        where.append("f.due_on <= %s")
        args.append(due_by)
    rows = await (
        await conn.execute(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY f.due_on, f.id LIMIT {LIST_LIMIT}",
            args,
        )
    ).fetchall()
    return await _outs(conn, [tuple(r) for r in rows], today or datetime.now(UTC).date())


async def assign(conn: AsyncConnection[Any], followup_id: int, assignee: str) -> FollowupOut:
    row = await (
        await conn.execute(
            "UPDATE followup SET assignee = %s WHERE id = %s RETURNING id",
            (assignee.strip(), followup_id),
        )
    ).fetchone()
    if row is None:
        raise NotFound("follow-up not found")
    return await get(conn, followup_id)


async def close(conn: AsyncConnection[Any], followup_id: int, o: OutcomeIn) -> FollowupOut:
    """Record the outcome; a task is closed once."""
    row = await (
        await conn.execute("SELECT done_at FROM followup WHERE id = %s FOR UPDATE", (followup_id,))
    ).fetchone()
    if row is None:
        raise NotFound("follow-up not found")
    if row[0] is not None:
        raise Conflict("the follow-up is already done")
    await conn.execute(
        "UPDATE followup SET done_at = %s, outcome = %s, outcome_note = %s WHERE id = %s",
        (o.at or datetime.now(UTC), o.outcome, o.note, followup_id),
    )
    return await get(conn, followup_id)


async def holdout(
    conn: AsyncConnection[Any], rule_id: int, *, start: datetime, end: datetime, window_days: int
) -> HoldoutReport:
    if end <= start:
        raise InvalidRequest("the period ends before it starts")
    window = timedelta(days=window_days)
    rows = await (
        await conn.execute(
            """
            SELECT DISTINCT ON (f.member_id) f.outcome IS NOT DISTINCT FROM 'held_out',
                   EXISTS (SELECT 1 FROM purchase p WHERE p.member_id = f.member_id
                            AND p.at > f.created_at AND p.at <= f.created_at + %(window)s)
              FROM followup f
             WHERE f.rule_id = %(rule)s AND f.created_at >= %(start)s
               AND f.created_at + %(window)s <= %(end)s
             ORDER BY f.member_id, f.created_at, f.id
            """,
            {"rule": rule_id, "start": start, "end": end, "window": window},
        )
    ).fetchall()
    groups = []
    for name, held in (("contacted", False), ("held_out", True)):
        bought = [bool(r[1]) for r in rows if bool(r[0]) is held]
        groups.append(
            HoldoutGroup(
                group=name,
                members=len(bought),
                bought_again=sum(bought),
                share=sum(bought) / len(bought) if bought else None,
            )
        )
    return HoldoutReport(
        rule_id=rule_id, start=start, end=end, window_days=window_days, groups=groups
    )
