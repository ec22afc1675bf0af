"""The rows each trigger rule judges, read for a run starting at ``start`` (the start of the run's
store-local day), and the members picked (:mod:`server.crm.triggers` decides; the lapse rule
is the lapse alert's own query). Only members in use (not merged away, not erased) are picked;
purchases of records merged into a member count as the member's."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from server.crm import triggers as t
from server.crm.triggers import Candidate
from server.loyalty.rules import TierRules, add_months
from server.member_status import ensure_status
from server.queries import ledger
from server.queries.members_view import LAPSE_FACTOR, LAPSE_MIN_PURCHASES, lapsed_members
from server.rollup import day_bounds
from storeflow.api.campaigns import (
    BirthdayRule,
    BrowsedNotBoughtRule,
    LapseRule,
    NearTierRule,
    PointsExpiringRule,
    PurchaseAnniversaryRule,
    TriggerRule,
)

logger = logging.getLogger(__name__)

_IN_USE = "m.merged_into IS NULL AND m.erased_at IS NULL"


async def _birthday(
    conn: AsyncConnection[Any], rule: BirthdayRule, *, day: date
) -> list[Candidate]:
    cur = await conn.execute(
        f"SELECT m.id, m.birth_date FROM member m WHERE {_IN_USE} AND m.birth_date IS NOT NULL"
    )
    first = day + timedelta(days=rule.days_before)
    return t.birthdays(await cur.fetchall(), first, rule.span_days)


async def _anniversary(
    conn: AsyncConnection[Any], rule: PurchaseAnniversaryRule, *, day: date, tz: str
) -> list[Candidate]:
    target = day + timedelta(days=rule.days_before)
    first, last = t.anniversary_window(
        target, years_back=rule.years_back, tolerance_days=rule.tolerance_days
    )
    cur = await conn.execute(
        "SELECT DISTINCT s.id, (p.at AT TIME ZONE %(tz)s)::date FROM purchase p "
        "JOIN purchase_line pl ON pl.purchase_id = p.id "
        "JOIN member g ON g.id = p.member_id "
        "JOIN member s ON s.id = coalesce(g.merged_into, g.id) "
        "WHERE p.at >= %(lo)s AND p.at < %(hi)s AND s.erased_at IS NULL "
        "AND (%(store)s::text IS NULL OR p.store_id = %(store)s) "
        "AND (%(cat)s::text IS NULL OR lower(pl.category) = lower(%(cat)s)) "
        "AND (%(counter)s::text IS NULL OR pl.counter = %(counter)s)",
        {
            "tz": tz,
            "lo": day_bounds(first, tz).lo,
            "hi": day_bounds(last, tz).hi,
            "store": rule.store_id,
            "cat": rule.category,
            "counter": rule.counter,
        },
    )
    what = " at ".join(x for x in (rule.category, rule.counter) if x)
    return t.anniversaries(
        await cur.fetchall(),
        target,
        years_back=rule.years_back,
        tolerance_days=rule.tolerance_days,
        what=what,
    )


async def _lapse(
    conn: AsyncConnection[Any], rule: LapseRule, *, start: datetime, staleness_s: float
) -> list[Candidate]:
    assert rule.store_id is not None  # the model requires it
    await ensure_status(conn, rule.store_id, start, staleness_s=staleness_s)
    rows = await lapsed_members(
        conn,
        rule.store_id,
        start,
        factor=LAPSE_FACTOR if rule.factor is None else rule.factor,
        min_purchases=LAPSE_MIN_PURCHASES if rule.min_purchases is None else rule.min_purchases,
        max_p_alive=rule.max_p_alive,
    )
    return t.lapsed(rows)


async def _points(
    conn: AsyncConnection[Any], rule: PointsExpiringRule, *, start: datetime
) -> list[Candidate]:
    rows = await ledger.expiring(conn, start=start, end=start + timedelta(days=rule.within_days))
    return t.points_expiring(rows, min_points=rule.min_points)


async def _near_tier(
    conn: AsyncConnection[Any], rule: NearTierRule, *, start: datetime, tiers: TierRules
) -> list[Candidate]:
    cur = await conn.execute(
        "SELECT m.id, coalesce((SELECT h.tier FROM tier_history h WHERE h.member_id = m.id "
        "AND h.since <= %(at)s ORDER BY h.since DESC, h.seq DESC LIMIT 1), "
        "CASE WHEN m.tier_since <= %(at)s THEN m.tier END, %(lowest)s) FROM member m "
        f"WHERE {_IN_USE} ORDER BY m.id",
        {"at": start, "lowest": tiers.tiers[0].name},
    )
    members = [(int(m), str(tier)) for m, tier in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT coalesce(g.merged_into, g.id), p.at, p.total FROM purchase p "
        "JOIN member g ON g.id = p.member_id WHERE p.at > %(lo)s AND p.at <= %(at)s "
        "UNION ALL "
        "SELECT coalesce(g.merged_into, g.id), r.at, -r.amount FROM purchase_return r "
        "JOIN purchase p ON p.id = r.purchase_id JOIN member g ON g.id = p.member_id "
        "WHERE r.at > %(lo)s AND r.at <= %(at)s",
        {"lo": add_months(start, -12), "at": start},
    )
    return t.near_tier(
        members, await cur.fetchall(), as_of=start, rules=tiers, within=rule.within_amount
    )


async def _browsed(
    conn: AsyncConnection[Any], rule: BrowsedNotBoughtRule, *, start: datetime
) -> list[Candidate]:
    cur = await conn.execute(
        "SELECT tg.member_id, co.code, count(*)::int FROM zone_visit v "
        "JOIN (SELECT DISTINCT s.id AS member_id, c.epc FROM card c "
        "      JOIN member g ON g.id = c.member_id "
        "      JOIN member s ON s.id = coalesce(g.merged_into, g.id) "
        "      WHERE c.epc IS NOT NULL AND s.erased_at IS NULL) tg "
        "  ON tg.epc = v.epc "
        "JOIN counter co ON co.store_id = v.store_id AND co.zone_code = v.zone "
        "WHERE v.store_id = %(s)s AND v.enter_at >= %(lo)s AND v.enter_at < %(hi)s "
        "AND v.dwell_s >= %(dwell)s AND (%(counter)s::text IS NULL OR co.code = %(counter)s) "
        "GROUP BY 1, 2",
        {
            "s": rule.store_id,
            "lo": start - timedelta(days=rule.days),
            "hi": start,
            "dwell": rule.min_dwell_s,
            "counter": rule.counter,
        },
    )
    visits = [(int(m), str(c), int(n)) for m, c, n in await cur.fetchall()]
    often = [v for v in visits if v[2] >= rule.min_visits]
    cur = await conn.execute(
        "SELECT DISTINCT coalesce(g.merged_into, g.id), pl.counter FROM purchase p "
        "JOIN purchase_line pl ON pl.purchase_id = p.id JOIN member g ON g.id = p.member_id "
        "WHERE p.store_id = %(s)s AND p.at < %(hi)s AND pl.counter = ANY(%(counters)s) "
        "AND coalesce(g.merged_into, g.id) = ANY(%(members)s)",
        {
            "s": rule.store_id,
            "hi": start,
            "counters": sorted({c for _, c, _ in often}),
            "members": sorted({m for m, _, _ in often}),
        },
    )
    bought = {(int(m), str(c)) for m, c in await cur.fetchall()}
    return t.browsed_not_bought(often, bought, min_visits=rule.min_visits, days=rule.days)


async def candidates(
    conn: AsyncConnection[Any],
    rule: TriggerRule,
    *,
    day: date,
    tz: str,
    tiers: TierRules,
    staleness_s: float,
) -> list[Candidate]:
    """The members ``rule`` picks for a run on the store-local ``day`` (time zone ``tz``)."""
    start = day_bounds(day, tz).lo
    if isinstance(rule, BirthdayRule):
        found = await _birthday(conn, rule, day=day)
    elif isinstance(rule, PurchaseAnniversaryRule):
        found = await _anniversary(conn, rule, day=day, tz=tz)
    elif isinstance(rule, LapseRule):
        found = await _lapse(conn, rule, start=start, staleness_s=staleness_s)
    elif isinstance(rule, PointsExpiringRule):
        found = await _points(conn, rule, start=start)
    elif isinstance(rule, NearTierRule):
        found = await _near_tier(conn, rule, start=start, tiers=tiers)
    else:
        found = await _browsed(conn, rule, start=start)
    logger.info("campaign rule %r on %s: %d members picked", rule.name, day, len(found))
    return found
