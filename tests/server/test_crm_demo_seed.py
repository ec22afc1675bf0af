"""The demo's customer care content: complaints in every state, follow-ups from the rules and by
hand, referrals by code and past months of class snapshots, seeded once per database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from orchestration import demo_crm, demo_data
from server.loyalty import load_earning_rules
from server.queries import complaints as qc
from server.queries import followups as qf
from server.queries import stages as qs
from server.queries.layout import import_layout

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_month_ends_and_the_planted_chain() -> None:
    ends = demo_crm.month_ends(date(2026, 3, 15), 3)
    assert ends == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]
    members = [(1, date(2020, 1, 1)), (2, date(2026, 1, 10))]
    rows = demo_crm.planted_classes(members, ends)
    assert [(m, d) for m, d, _ in rows] == [(1, e) for e in ends] + [(2, e) for e in ends[1:]]
    assert rows[3][2] == "potential"  # a member joining later starts with no purchase
    assert rows == demo_crm.planted_classes(members, ends)  # the same for the same seed


def test_the_demo_server_runs_with_a_referral_reward(tmp_path: Path) -> None:
    rules = load_earning_rules(demo_crm.earning_rules_file(tmp_path))
    assert rules.referral is not None and rules.referral.referrer_points == 500


def test_the_demo_seeds_every_customer_care_page_once(db_url: str) -> None:
    async def go() -> dict[str, Any]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await import_layout(conn, demo_data.layout())
            await demo_data.enrol_demo_members(conn, 400)
            await conn.execute(demo_data.DEMO_EXTRAS_SQL)
            tz = demo_data.layout().store.timezone
            first = await demo_crm.seed_crm(conn, store_id="demo", timezone=tz, now=NOW)
            again = await demo_crm.seed_crm(conn, store_id="demo", timezone=tz, now=NOW)
            await conn.commit()
            every = await qc.listing(
                conn, status=None, overdue=False, member_id=None, store_id="demo", now=NOW
            )
            overdue = await qc.listing(
                conn, status="open", overdue=True, member_id=None, store_id="demo", now=NOW
            )
            tasks = await qf.listing(
                conn, status=None, member_id=None, assignee=None, due_by=None, today=NOW.date()
            )
            moves = await qs.transitions(conn, "demo", last_day=date(2026, 10, 31), months=12)
            cur = await conn.execute(
                "SELECT count(*) FROM member WHERE member_no LIKE 'M%' AND referrer_id IS NOT NULL"
            )
            row = await cur.fetchone()
            return {
                "first": first,
                "again": again,
                "every": every,
                "overdue": overdue,
                "tasks": tasks,
                "moves": moves,
                "referred": row[0] if row else 0,
            }

    got = asyncio.run(go())
    assert got["first"] is True and got["again"] is False
    every = got["every"]
    assert len(every) == len(demo_crm.COMPLAINTS)
    resolved = [c for c in every if c.status == "resolved"]
    assert sum(1 for c in resolved if c.on_the_spot) == 8
    assert sum(1 for c in resolved if not c.on_the_spot) == 7
    assert any(c.member_id is None for c in every)  # anonymous ones too
    assert len(got["overdue"]) == 4
    tasks = got["tasks"]
    by_rule = [t for t in tasks if t.rule == "complaint resolved"]
    assert len(by_rule) == 13  # one per resolved member complaint (anonymous ones make none)
    assert any(t.done_at is not None for t in by_rule) and any(t.done_at is None for t in by_rule)
    assert sum(1 for t in tasks if t.source == "manual") == len(demo_crm.FOLLOWUPS_BY_HAND)
    assert any(t.overdue for t in tasks)
    assert got["referred"] == len(demo_crm.REFERRED)
    moves = got["moves"]
    assert len(moves.months) == 5  # six planted month ends: five months of transitions
    ups = sum(
        t.members
        for t in moves.transitions
        if (t.from_class, t.to_class) in {("potential", "occasional"), ("loyal", "core")}
    )
    assert ups > 0
