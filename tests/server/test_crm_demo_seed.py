"""The demo's customer care content: complaints in every state, follow-ups from the rules and by
hand, referrals by code and past months of class snapshots, seeded once per database."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

from orchestration import demo_crm, demo_data
from server.analysis.stages import stage_rank
from server.loyalty import load_earning_rules
from server.queries import complaints as qc
from server.queries import followups as qf
from server.queries import stages as qs
from server.queries.layout import import_layout

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_month_ends_and_the_planted_chain_runs_back_from_the_current_class() -> None:
    ends = demo_crm.month_ends(date(2026, 3, 15), 3)
    assert ends == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]
    members = [
        (1, date(2020, 1, 1), "core"),
        (2, date(2026, 1, 10), "occasional"),
        (3, date(2020, 1, 1), "potential"),
        (4, date(2020, 1, 1), "unprofiled"),
    ]
    rows = demo_crm.planted_classes(members, ends)
    assert [(m, d) for m, d, _ in rows] == (
        [(1, e) for e in ends] + [(2, e) for e in ends[1:]] + [(3, e) for e in ends]
        + [(4, e) for e in ends]
    )  # fmt: skip
    last = {m: c for m, d, c in rows if d == ends[-1]}
    assert last == {1: "core", 2: "occasional", 3: "potential", 4: "unprofiled"}
    assert {c for m, _, c in rows if m == 3} == {"potential"}  # never bought: never anything else
    assert {c for m, _, c in rows if m == 4} == {"unprofiled"}
    assert rows == demo_crm.planted_classes(members, ends)  # the same for the same seed


def test_the_demo_server_runs_with_a_referral_reward(tmp_path: Path) -> None:
    rules = load_earning_rules(demo_crm.earning_rules_file(tmp_path))
    assert rules.referral is not None and rules.referral.referrer_points == 500


async def _demo_store(conn: psycopg.AsyncConnection[Any], members: int) -> None:
    """The demo's layout and members, and demo-like sales over the two weeks before ``NOW``
    (what the back-fill leaves): about half the members bought, one to six times."""
    await import_layout(conn, demo_data.layout())
    await demo_data.enrol_demo_members(conn, members)
    await conn.execute(demo_data.DEMO_EXTRAS_SQL)
    await conn.execute(
        "INSERT INTO purchase (store_id, register_id, pos_id, at, member_id, total, recorded_by) "
        "SELECT 'demo', 'POS1', 'B' || m.id || '-' || k, %(now)s - (((m.id * 7 + k * 13) %% 330) "
        "* interval '1 hour'), m.id, 20 + (m.id * 31 + k * 17) %% 400, 'test' "
        "FROM member m, generate_series(1, 1 + (m.id * 5) %% 6) k "
        "WHERE m.member_no LIKE 'D%%' AND m.id %% 2 = 0",
        {"now": NOW},
    )


def test_the_demo_seeds_every_customer_care_page_once(db_url: str) -> None:
    async def go() -> dict[str, Any]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await _demo_store(conn, 400)
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


def test_the_planted_history_ends_in_each_members_current_class(db_url: str) -> None:
    """The past months are planted backwards from the class the analysis gives each member on
    the store's sales, so this month's transitions are the members' real moves: no wave of moves
    down from made-up classes."""

    async def go() -> tuple[dict[int, str], dict[int, str], list[Any], int]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            tz = demo_data.layout().store.timezone
            await _demo_store(conn, 600)
            assert await demo_crm.plant_class_history(conn, store_id="demo", timezone=tz, now=NOW)
            again = await demo_crm.plant_class_history(conn, store_id="demo", timezone=tz, now=NOW)
            current = dict(
                await (
                    await conn.execute(
                        "SELECT s.member_id, s.primary_class FROM member_status s "
                        "JOIN member m ON m.id = s.member_id WHERE s.store_id = 'demo' "
                        "AND s.as_of = (SELECT max(as_of) FROM member_status_run) "
                        "AND (m.joined_at AT TIME ZONE %s)::date <= '2026-10-31'",
                        (tz,),
                    )
                ).fetchall()
            )
            last_planted = dict(
                await (
                    await conn.execute(
                        "SELECT member_id, member_class FROM member_stage "
                        "WHERE store_id = 'demo' AND as_of = '2026-10-31'"
                    )
                ).fetchall()
            )
            moves = await qs.transitions(conn, "demo", last_day=NOW.date(), months=6)
            return current, last_planted, moves.transitions, again

    current, last_planted, transitions, again = asyncio.run(go())
    assert again == 0  # once per store
    assert set(current.values()) >= {"potential", "occasional", "core"}
    assert len(current) > 500
    assert last_planted == current  # every member who had joined, in the class they are in now

    def share_down(month: date) -> float:
        cells = [t for t in transitions if t.month == month and t.from_class != "new"]
        down = sum(t.members for t in cells if stage_rank(t.to_class) < stage_rank(t.from_class))
        return down / sum(t.members for t in cells)

    assert share_down(date(2026, 11, 1)) == 0.0  # this month: the real classes again
    months = sorted({t.month for t in transitions})
    assert len(months) == 6
    assert all(share_down(m) < 0.05 for m in months)  # the planted months: mostly stays and ups
    ups = sum(
        t.members
        for t in transitions
        if t.from_class != "new" and stage_rank(t.to_class) > stage_rank(t.from_class)
    )
    assert ups > 0
