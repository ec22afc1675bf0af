"""The demo's campaign runs on demo-like data: the demo's members (its consents: every 9th member
refused), the demo layout and two weeks of sales; every rule of the example file run a week
before the last sale and on its day. The birthday runs give a contact list that only holds
members with marketing consent and a phone, with a hold-out group; running again adds nothing."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from orchestration import demo_data
from orchestration.demo_campaigns import backfill_then_campaigns, seed_campaigns
from orchestration.demo_data import DEMO_EXTRAS_SQL, enrol_demo_members, layout
from server.queries.layout import import_layout
from tests.helpers.campaigns import add_sales

MEMBERS = 2500
LAST = datetime(2026, 11, 20, 15, tzinfo=UTC)


async def _demo_like(db_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await import_layout(conn, layout())
        await enrol_demo_members(conn, MEMBERS)
        await conn.execute(DEMO_EXTRAS_SQL)
        await conn.commit()


def test_demo_runs_give_consent_filtered_lists_with_a_holdout(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_demo_like(db_url))
    with psycopg.connect(db_url) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM member ORDER BY id").fetchall()]
    rng = np.random.default_rng(3)
    add_sales(
        db_url,
        [
            (int(m), LAST - timedelta(days=float(rng.uniform(0, 14))), float(rng.uniform(50, 900)))
            for m in rng.choice(ids, size=3000)
        ],
    )
    made = asyncio.run(seed_campaigns(db_url))
    assert sorted({r.as_of for r in made}) == [LAST.date() - timedelta(days=7), LAST.date()]
    assert {r.rule_name for r in made} >= {"Birthday next week", "Close to the next tier"}
    birthdays = [r for r in made if r.kind == "birthday"]
    assert len(birthdays) == 2 and all(r.created for r in made)
    listed = sum(r.counts.contacted + r.counts.held_out for r in birthdays)
    assert listed > 20 and sum(r.counts.held_out for r in birthdays) > 0
    assert sum(r.counts.not_contactable for r in birthdays) > 0
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT m.member_no, m.phone, c.held_out FROM campaign_contact c "
            "JOIN member m ON m.id = c.member_id WHERE c.run_id = ANY(%s)",
            ([r.run_id for r in birthdays],),
        ).fetchall()
        outbox = conn.execute(
            "SELECT count(*) FROM campaign_outbox WHERE run_id = ANY(%s)",
            ([r.run_id for r in birthdays],),
        ).fetchone()
    assert len(rows) == listed
    # demo consents: member n refused marketing when n is a multiple of 9
    assert all(int(no[1:]) % 9 != 0 and phone for no, phone, _ in rows)
    assert outbox == (sum(1 for *_, held in rows if not held),)
    # a restarted demo finds its runs made
    again = asyncio.run(seed_campaigns(db_url))
    assert [r.run_id for r in again] == [r.run_id for r in made]
    assert not any(r.created for r in again)
    # the demo's back-fill thread runs them once the history is in, unless stopped
    filled: list[dict[str, object]] = []
    monkeypatch.setattr(demo_data, "backfill", lambda **kw: filled.append(kw))
    stop = threading.Event()
    backfill_then_campaigns(db_url=db_url, stop=stop, api_url="http://x")
    stop.set()
    backfill_then_campaigns(db_url=db_url, stop=stop, api_url="http://x")
    assert len(filled) == 2 and filled[0]["api_url"] == "http://x"
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM campaign_run").fetchone() == (len(made),)
