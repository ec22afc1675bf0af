"""The demo's triggered contacts: the rules of config/campaigns.example.yaml stored, and each run
on the demo's data (a week before its last sale, and on that day), so the campaign lists and the
uplift chart have content. Runs are per rule and day, so a restarted demo adds only new days.

The simulated shoppers do not read messages: the uplift the demo shows is an interval around 0.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from server.loyalty.rules import TierRules
from server.queries import campaigns as q
from storeflow.api.campaigns import CampaignFile, RunIn, RunOut
from storeflow.yamlconf import load_yaml

logger = logging.getLogger(__name__)

RULES_PATH = Path(__file__).resolve().parent.parent / "config" / "campaigns.example.yaml"
RUN_EVERY_DAYS = 7


def run_days(first: date, last: date) -> list[date]:
    """The days the demo runs every rule on: ``last`` and a week before it, if data reach back."""
    days = [last - timedelta(days=RUN_EVERY_DAYS), last]
    return [d for d in days if d >= first]


async def _sale_days(conn: psycopg.AsyncConnection[Any]) -> tuple[date, date] | None:
    cur = await conn.execute(
        "SELECT (min(at) AT TIME ZONE 'UTC')::date, (max(at) AT TIME ZONE 'UTC')::date "
        "FROM purchase WHERE member_id IS NOT NULL"
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


async def seed_campaigns(
    db_url: str,
    *,
    rules_path: Path = RULES_PATH,
    days: list[date] | None = None,
    tiers: TierRules | None = None,
) -> list[RunOut]:
    """Store the rules file's rules and cap, then run every active rule on ``days`` (default:
    :func:`run_days` of the member sales on record; none without sales)."""
    rules = load_yaml(rules_path, CampaignFile)
    made: list[RunOut] = []
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        imported = await q.import_file(conn, rules)
        if days is None:
            span = await _sale_days(conn)
            days = [] if span is None else run_days(*span)
        for day in days:
            for r in imported.rules:
                if r.rule.active:
                    body = RunIn(rule_id=r.rule_id, as_of=day)
                    made.append(
                        await q.run(
                            conn, body, tiers=tiers or TierRules(), staleness_s=0.0, actor="demo"
                        )
                    )
        await conn.commit()
    for run in made:
        c = run.counts
        _say(
            f"campaign {run.rule_name!r} on {run.as_of}: {c.selected} picked, {c.contacted} "
            f"contacted, {c.held_out} held out"
        )
    return made


def backfill_then_campaigns(*, db_url: str, **backfill: Any) -> None:
    """The demo's back-fill thread: the simulated history (then the past months' class
    snapshots), then the campaign runs on it."""
    from orchestration.demo_data import backfill as run_backfill

    run_backfill(db_url=db_url, **backfill)
    if backfill["stop"].is_set():
        return
    try:
        asyncio.run(seed_campaigns(db_url))
    except Exception:  # the demo goes on without campaign content
        logger.exception("seeding the demo's campaign runs failed")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
