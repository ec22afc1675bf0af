"""Triggered contacts in the database: the rules (rows of ``campaign_rule``), the frequency cap,
runs and their contact lists, the outbox the store's messaging service is fed from, and the
uplift of each run and each rule (migration 0120).

A run (:func:`run`) evaluates a rule on a day (server/queries/campaign_triggers.py), keeps the
members who may be contacted (:func:`server.privacy.contacts.marketing_contacts`, the one gate),
drops those this rule picked within its cooldown and those at the frequency cap, and splits the
rest at random into contacted and held out (:mod:`server.crm.contact_plan`). One run per rule
and day: asking again answers the stored run. Runs are made one at a time (a lock), so the cap
holds across rules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from server.crm.contact_plan import cap_window, default_seed, plan_contacts
from server.crm.triggers import Candidate
from server.crm.uplift import Comparison, Interval, compare
from server.errors import Conflict, InvalidRequest, NotFound
from server.loyalty.rules import TierRules
from server.privacy.consent import Purpose, allowed_members
from server.privacy.contacts import marketing_contacts
from server.queries.campaign_triggers import candidates
from server.rollup import day_bounds, store_timezone
from storeflow.api.campaigns import (
    BrowsedNotBoughtRule,
    CampaignFile,
    ContactOut,
    DeliveryOut,
    Difference,
    FrequencyCap,
    GroupFigures,
    ImportOut,
    OutboxEntry,
    PurchaseAnniversaryRule,
    RuleOut,
    RuleUplift,
    RunCounts,
    RunIn,
    RunOut,
    RunUplift,
    TriggerRule,
)

logger = logging.getLogger(__name__)

RULE = TypeAdapter[TriggerRule](TriggerRule)
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
LIST_LIMIT = 1000
Post = Callable[[dict[str, Any]], Awaitable[None]]


# --------------------------------------------------------------------------- rules and the cap


async def _check_places(conn: AsyncConnection[Any], rule: TriggerRule) -> None:
    if rule.store_id is None:
        return
    found = await (
        await conn.execute("SELECT 1 FROM store WHERE id = %s", (rule.store_id,))
    ).fetchone()
    if found is None:
        raise InvalidRequest(f"rule {rule.name!r}: store {rule.store_id!r} does not exist")
    counter = (
        rule.counter if isinstance(rule, PurchaseAnniversaryRule | BrowsedNotBoughtRule) else None
    )
    if counter is not None:
        found = await (
            await conn.execute(
                "SELECT 1 FROM counter WHERE store_id = %s AND code = %s",
                (rule.store_id, counter),
            )
        ).fetchone()
        if found is None:
            raise InvalidRequest(
                f"rule {rule.name!r}: store {rule.store_id!r} has no counter {counter!r}"
            )


def _rule_out(row: tuple[Any, ...]) -> RuleOut:
    rule_id, definition, updated_at = row
    return RuleOut(rule_id=rule_id, rule=RULE.validate_python(definition), updated_at=updated_at)


async def put_rule(conn: AsyncConnection[Any], rule: TriggerRule) -> RuleOut:
    """Add a rule, or change the one of that name (its past runs keep the rule as it was)."""
    await _check_places(conn, rule)
    row = await (
        await conn.execute(
            "INSERT INTO campaign_rule (name, kind, store_id, definition, active) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, "
            "store_id = EXCLUDED.store_id, definition = EXCLUDED.definition, "
            "active = EXCLUDED.active, updated_at = now() RETURNING id, definition, updated_at",
            (rule.name, rule.kind, rule.store_id, Jsonb(rule.model_dump(mode="json")), rule.active),
        )
    ).fetchone()
    assert row is not None
    return _rule_out(tuple(row))


async def list_rules(conn: AsyncConnection[Any]) -> list[RuleOut]:
    rows = await (
        await conn.execute("SELECT id, definition, updated_at FROM campaign_rule ORDER BY id")
    ).fetchall()
    return [_rule_out(tuple(r)) for r in rows]


async def get_rule(conn: AsyncConnection[Any], rule_id: int) -> RuleOut:
    row = await (
        await conn.execute(
            "SELECT id, definition, updated_at FROM campaign_rule WHERE id = %s", (rule_id,)
        )
    ).fetchone()
    if row is None:
        raise NotFound(f"campaign rule {rule_id} not found")
    return _rule_out(tuple(row))


async def get_cap(conn: AsyncConnection[Any]) -> FrequencyCap:
    row = await (await conn.execute("SELECT contacts, days FROM campaign_cap")).fetchone()
    assert row is not None
    return FrequencyCap(contacts=row[0], days=row[1])


async def put_cap(conn: AsyncConnection[Any], cap: FrequencyCap) -> FrequencyCap:
    await conn.execute("UPDATE campaign_cap SET contacts = %s, days = %s", (cap.contacts, cap.days))
    return cap


async def import_file(conn: AsyncConnection[Any], f: CampaignFile) -> ImportOut:
    """Store every rule of the file (by name) and its frequency cap, if it sets one."""
    rules = [await put_rule(conn, r) for r in f.rules]
    cap = await put_cap(conn, f.frequency_cap) if f.frequency_cap else await get_cap(conn)
    return ImportOut(rules=rules, frequency_cap=cap)


# --------------------------------------------------------------------------- runs

_RUN_SELECT = (
    "SELECT r.id, r.rule_id, ru.name, r.as_of, r.starts_at, r.seed, r.holdout_share, "
    "r.cap_contacts, r.cap_days, r.selected, r.not_tracked, r.not_contactable, r.cooled_down, "
    "r.capped, r.contacted, r.held_out, r.definition, r.created_at, r.created_by "
    "FROM campaign_run r JOIN campaign_rule ru ON ru.id = r.rule_id"
)


def _run_out(row: tuple[Any, ...], *, created: bool = False) -> RunOut:
    (run_id, rule_id, name, as_of, starts_at, seed, share, cap_n, cap_d, *counts) = row
    selected, not_tracked, not_contactable, cooled, capped, contacted, held = counts[:7]
    definition, created_at, created_by = counts[7:]
    rule = RULE.validate_python(definition)
    return RunOut(
        run_id=run_id,
        rule_id=rule_id,
        rule_name=name,
        kind=rule.kind,
        store_id=rule.store_id,
        as_of=as_of,
        starts_at=starts_at,
        seed=seed,
        holdout_share=share,
        frequency_cap=FrequencyCap(contacts=cap_n, days=cap_d),
        counts=RunCounts(
            selected=selected,
            not_tracked=not_tracked,
            not_contactable=not_contactable,
            cooled_down=cooled,
            capped=capped,
            contacted=contacted,
            held_out=held,
        ),
        rule=rule,
        created_at=created_at,
        created_by=created_by,
        created=created,
    )


async def get_run(conn: AsyncConnection[Any], run_id: int, *, created: bool = False) -> RunOut:
    row = await (await conn.execute(f"{_RUN_SELECT} WHERE r.id = %s", (run_id,))).fetchone()
    if row is None:
        raise NotFound(f"campaign run {run_id} not found")
    return _run_out(tuple(row), created=created)


async def list_runs(
    conn: AsyncConnection[Any], *, rule_id: int | None, store_id: str | None
) -> list[RunOut]:
    """Runs, newest day first (``store_id``: that store's rules and the chain's)."""
    rows = await (
        await conn.execute(
            f"{_RUN_SELECT} WHERE (%(rule)s::bigint IS NULL OR r.rule_id = %(rule)s) "
            "AND (%(store)s::text IS NULL OR r.definition->>'store_id' IS NULL "
            "OR r.definition->>'store_id' = %(store)s) "
            f"ORDER BY r.as_of DESC, r.id DESC LIMIT {LIST_LIMIT}",
            {"rule": rule_id, "store": store_id},
        )
    ).fetchall()
    return [_run_out(tuple(r)) for r in rows]


async def _recently_picked(
    conn: AsyncConnection[Any], rule_id: int, as_of: date, days: int, ids: list[int]
) -> set[int]:
    if days <= 0 or not ids:
        return set()
    rows = await (
        await conn.execute(
            "SELECT DISTINCT c.member_id FROM campaign_contact c JOIN campaign_run r "
            "ON r.id = c.run_id WHERE r.rule_id = %s AND r.as_of > %s AND r.as_of < %s "
            "AND c.member_id = ANY(%s)",
            (rule_id, as_of - timedelta(days=days), as_of + timedelta(days=days), ids),
        )
    ).fetchall()
    return {int(r[0]) for r in rows}


async def _contacts_near(
    conn: AsyncConnection[Any], as_of: date, days: int, ids: list[int]
) -> dict[int, int]:
    if not ids:
        return {}
    lo, hi = cap_window(as_of, days)
    rows = await (
        await conn.execute(
            "SELECT c.member_id, count(*)::int FROM campaign_contact c JOIN campaign_run r "
            "ON r.id = c.run_id WHERE NOT c.held_out AND r.as_of BETWEEN %s AND %s "
            "AND c.member_id = ANY(%s) GROUP BY 1",
            (lo, hi, ids),
        )
    ).fetchall()
    return {int(m): int(n) for m, n in rows}


async def run(
    conn: AsyncConnection[Any],
    body: RunIn,
    *,
    tiers: TierRules,
    staleness_s: float,
    actor: str,
) -> RunOut:
    """The run of ``body.rule_id`` on ``body.as_of``: made now, or the one made before."""
    if not EARLIEST <= body.as_of <= LATEST:
        raise InvalidRequest(f"as_of must lie between {EARLIEST} and {LATEST}")
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('campaign runs'))")
    found = await (
        await conn.execute(
            "SELECT id FROM campaign_run WHERE rule_id = %s AND as_of = %s",
            (body.rule_id, body.as_of),
        )
    ).fetchone()
    if found is not None:
        return await get_run(conn, int(found[0]))
    rule = (await get_rule(conn, body.rule_id)).rule
    if not rule.active:
        raise Conflict(f"campaign rule {rule.name!r} is not active")
    tz = await store_timezone(conn, rule.store_id) if rule.store_id else "UTC"
    picked = await candidates(
        conn, rule, day=body.as_of, tz=tz, tiers=tiers, staleness_s=staleness_s
    )
    ids = [c.member_id for c in picked]
    tracked = (
        await allowed_members(conn, Purpose.IN_STORE_TRACKING, ids)
        if isinstance(rule, BrowsedNotBoughtRule)
        else None
    )
    cap = await get_cap(conn)
    seed = default_seed(body.rule_id, body.as_of) if body.seed is None else body.seed
    plan = plan_contacts(
        picked,
        tracked=tracked,
        reachable={c.member_id for c in await marketing_contacts(conn, ids)} if ids else set(),
        recently_picked=await _recently_picked(
            conn, body.rule_id, body.as_of, rule.cooldown_days, ids
        ),
        contacts_near=await _contacts_near(conn, body.as_of, cap.days, ids),
        cap=cap.contacts,
        holdout_share=rule.holdout_share,
        seed=seed,
    )
    row = await (
        await conn.execute(
            "INSERT INTO campaign_run (rule_id, as_of, starts_at, definition, seed, "
            "holdout_share, cap_contacts, cap_days, selected, not_tracked, not_contactable, "
            "cooled_down, capped, contacted, held_out, created_by) VALUES (%s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                body.rule_id,
                body.as_of,
                day_bounds(body.as_of, tz).lo,
                Jsonb(rule.model_dump(mode="json")),
                seed,
                rule.holdout_share,
                cap.contacts,
                cap.days,
                len(picked),
                plan.dropped["not_tracked"],
                plan.dropped["not_contactable"],
                plan.dropped["cooled_down"],
                plan.dropped["capped"],
                len(plan.contacted),
                len(plan.held_out),
                actor,
            ),
        )
    ).fetchone()
    assert row is not None
    run_id = int(row[0])
    listed: list[tuple[Candidate, bool]] = [
        *((c, False) for c in plan.contacted),
        *((c, True) for c in plan.held_out),
    ]
    await conn.execute(
        "INSERT INTO campaign_contact (run_id, member_id, held_out, reason) "
        "SELECT %s, m, h, r FROM unnest(%s::bigint[], %s::boolean[], %s::text[]) AS x(m, h, r)",
        (
            run_id,
            [c.member_id for c, _ in listed],
            [h for _, h in listed],
            [c.reason for c, _ in listed],
        ),
    )
    await conn.execute(
        "INSERT INTO campaign_outbox (run_id, member_id) SELECT %s, unnest(%s::bigint[])",
        (run_id, [c.member_id for c in plan.contacted]),
    )
    logger.info(
        "campaign run %s of %r on %s: %d picked, %d contacted, %d held out, dropped %s",
        run_id,
        rule.name,
        body.as_of,
        len(picked),
        len(plan.contacted),
        len(plan.held_out),
        plan.dropped,
    )
    return await get_run(conn, run_id, created=True)


# --------------------------------------------------------------------------- contact lists


async def contacts(
    conn: AsyncConnection[Any], run_id: int, *, group: Literal["contacted", "held_out"] | None
) -> list[ContactOut]:
    """The run's list (contacted first), with the contact details as they are now."""
    found = await get_run(conn, run_id)
    rows = await (
        await conn.execute(
            "SELECT c.member_id, m.member_no, m.name, m.phone, m.email, c.held_out, c.reason "
            "FROM campaign_contact c JOIN member m ON m.id = c.member_id "
            "WHERE c.run_id = %(run)s AND (%(held)s::boolean IS NULL OR c.held_out = %(held)s) "
            "ORDER BY c.held_out, c.member_id",
            {"run": run_id, "held": None if group is None else group == "held_out"},
        )
    ).fetchall()
    return [
        ContactOut(
            run_id=run_id,
            member_id=m,
            member_no=no,
            name=name,
            phone=phone,
            email=email,
            group="held_out" if held else "contacted",
            reason=reason,
            message=found.rule.message,
        )
        for m, no, name, phone, email, held, reason in rows
    ]


# --------------------------------------------------------------------------- outbox


async def outbox(
    conn: AsyncConnection[Any], *, run_id: int | None, status: str | None
) -> list[OutboxEntry]:
    rows = await (
        await conn.execute(
            "SELECT id, run_id, member_id, status, created_at, delivered_at, attempts, "
            "last_error FROM campaign_outbox WHERE (%(run)s::bigint IS NULL OR run_id = %(run)s) "
            "AND (%(st)s::text IS NULL OR status = %(st)s) "
            f"ORDER BY run_id DESC, member_id LIMIT {LIST_LIMIT * 10}",
            {"run": run_id, "st": status},
        )
    ).fetchall()
    return [
        OutboxEntry(
            outbox_id=r[0],
            run_id=r[1],
            member_id=r[2],
            status=r[3],
            created_at=r[4],
            delivered_at=r[5],
            attempts=r[6],
            last_error=r[7],
        )
        for r in rows
    ]


async def deliver(conn: AsyncConnection[Any], run_id: int, post: Post) -> DeliveryOut:
    """Hand the run's pending contacts to the messaging service in one batch (``post``).

    Consent is checked again first: a member who withdrew marketing consent (or was erased)
    since the run is marked ``withdrawn`` and not sent. On success the rest are ``delivered``;
    if ``post`` fails they stay pending (attempts and the error recorded) for the next try.
    Each contact carries an idempotency key, as a retry after a lost answer sends it again."""
    found = await get_run(conn, run_id)
    rows = await (
        await conn.execute(
            "SELECT member_id FROM campaign_outbox WHERE run_id = %s AND status = 'pending' "
            "ORDER BY member_id FOR UPDATE",
            (run_id,),
        )
    ).fetchall()
    ids = [int(r[0]) for r in rows]
    reachable = {c.member_id: c for c in await marketing_contacts(conn, ids)} if ids else {}
    gone = [m for m in ids if m not in reachable]
    send = [reachable[m] for m in ids if m in reachable]
    if gone:
        await conn.execute(
            "UPDATE campaign_outbox SET status = 'withdrawn' WHERE run_id = %s "
            "AND member_id = ANY(%s)",
            (run_id, gone),
        )
    if not send:
        return DeliveryOut(run_id=run_id, delivered=0, withdrawn=len(gone), pending=0)
    payload = {
        "run_id": run_id,
        "rule": found.rule_name,
        "kind": found.kind,
        "store_id": found.store_id,
        "as_of": found.as_of.isoformat(),
        "message": found.rule.message,
        "contacts": [
            {
                "idempotency_key": f"campaign-{run_id}-{c.member_no}",
                "member_no": c.member_no,
                "name": c.name,
                "phone": c.phone,
                "email": c.email,
            }
            for c in send
        ],
    }
    sent = [c.member_id for c in send]
    try:
        await post(payload)
    except Exception as exc:  # the service is down or refused: keep them pending
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning("campaign run %s: delivery failed: %s", run_id, error)
        await conn.execute(
            "UPDATE campaign_outbox SET attempts = attempts + 1, last_error = %s "
            "WHERE run_id = %s AND member_id = ANY(%s)",
            (error, run_id, sent),
        )
        return DeliveryOut(
            run_id=run_id, delivered=0, withdrawn=len(gone), pending=len(sent), error=error
        )
    await conn.execute(
        "UPDATE campaign_outbox SET status = 'delivered', delivered_at = now(), "
        "attempts = attempts + 1, last_error = NULL WHERE run_id = %s AND member_id = ANY(%s)",
        (run_id, sent),
    )
    return DeliveryOut(run_id=run_id, delivered=len(sent), withdrawn=len(gone), pending=0)


# --------------------------------------------------------------------------- uplift

# Each listed member of the runs with whether they bought (net of returns) within the window
# after the run and how much, at the rule's store (any store for a chain rule).
_OUTCOMES = """
SELECT c.run_id, c.held_out, coalesce(bool_or(x.net > 0), false), coalesce(sum(x.net), 0)::float8
FROM campaign_contact c
JOIN campaign_run r ON r.id = c.run_id
LEFT JOIN LATERAL (
    SELECT p.total - coalesce((SELECT sum(rt.amount) FROM purchase_return rt
                               WHERE rt.purchase_id = p.id), 0) AS net
    FROM purchase p
    WHERE p.member_id = c.member_id AND p.at >= r.starts_at
      AND p.at < r.starts_at + make_interval(days => coalesce(%(days)s,
                                             (r.definition->>'uplift_days')::int))
      AND (r.definition->>'store_id' IS NULL OR p.store_id = r.definition->>'store_id')
) x ON true
WHERE c.run_id = ANY(%(runs)s)
GROUP BY c.run_id, c.member_id, c.held_out
"""


def _difference(found: Interval | None, method: str) -> Difference:
    if found is None:
        return Difference(
            estimate=None, ci_low=None, ci_high=None, method=method, distinguishable=False
        )
    return Difference(
        estimate=found.estimate,
        ci_low=found.low,
        ci_high=found.high,
        method=method,
        distinguishable=found.distinguishable,
    )


def _figures(cmp: Comparison) -> dict[str, Any]:
    groups = [
        GroupFigures(
            group=name,
            members=g.members,
            buyers=g.buyers,
            purchase_rate=g.purchase_rate,
            spend=g.spend,
            spend_per_member=g.spend_per_member,
        )
        for name, g in (("contacted", cmp.contacted), ("held_out", cmp.held_out))
    ]
    return {
        "groups": groups,
        "purchase_rate": _difference(cmp.purchase_rate, "Newcombe hybrid score (Wilson)"),
        "spend_per_member": _difference(cmp.spend_per_member, "percentile bootstrap"),
    }


async def _compare(
    conn: AsyncConnection[Any], run_ids: list[int], days: int | None, seed: int
) -> Comparison:
    rows = await (await conn.execute(_OUTCOMES, {"runs": run_ids, "days": days})).fetchall()
    contacted = [(bool(b), float(s)) for _, held, b, s in rows if not held]
    held_out = [(bool(b), float(s)) for _, held, b, s in rows if held]
    return compare(contacted, held_out, seed=seed)


async def run_uplift(
    conn: AsyncConnection[Any], run_id: int, *, days: int | None, now: datetime | None = None
) -> RunUplift:
    """Contacted against held out within ``days`` (default: the rule's ``uplift_days``) after
    the start of the run's day."""
    found = await get_run(conn, run_id)
    window = days or found.rule.uplift_days
    end = found.starts_at + timedelta(days=window)
    cmp = await _compare(conn, [run_id], window, found.seed)
    return RunUplift(
        run_id=run_id,
        rule_id=found.rule_id,
        rule_name=found.rule_name,
        as_of=found.as_of,
        window_start=found.starts_at,
        window_end=end,
        window_complete=end <= (now or datetime.now(UTC)),
        window_days=window,
        **_figures(cmp),
    )


async def rule_uplift(
    conn: AsyncConnection[Any],
    *,
    store_id: str | None,
    days: int | None,
    now: datetime | None = None,
) -> list[RuleUplift]:
    """Per rule, every run that has started pooled (``store_id``: that store's rules and the
    chain's). Runs whose window is still open count the purchases so far: both groups of a run
    share the window, so the difference stays fair, only diluted."""
    at = now or datetime.now(UTC)
    rows = await (
        await conn.execute(
            "SELECT ru.id, ru.name, ru.kind, ru.store_id, array_agg(r.id ORDER BY r.id), "
            "count(*) FILTER (WHERE r.starts_at + make_interval(days => coalesce(%(days)s, "
            "(r.definition->>'uplift_days')::int)) <= %(now)s)::int, "
            "max((r.definition->>'uplift_days')::int) "
            "FROM campaign_rule ru JOIN campaign_run r ON r.rule_id = ru.id "
            "WHERE r.starts_at <= %(now)s AND (%(store)s::text IS NULL OR ru.store_id IS NULL "
            "OR ru.store_id = %(store)s) GROUP BY ru.id ORDER BY ru.id",
            {"days": days, "now": at, "store": store_id},
        )
    ).fetchall()
    out = []
    for rule_id, name, kind, store, run_ids, complete, window in rows:
        cmp = await _compare(conn, list(run_ids), days, rule_id)
        out.append(
            RuleUplift(
                rule_id=rule_id,
                rule_name=name,
                kind=kind,
                store_id=store,
                runs=len(run_ids),
                runs_complete=complete,
                window_days=days or window,
                **_figures(cmp),
            )
        )
    return out
