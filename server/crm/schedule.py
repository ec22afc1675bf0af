"""Customer care's daily work, run by the server on a schedule (``STOREFLOW_CARE_INTERVAL_S``):
the follow-up sweep (tasks from new sales, tier upgrades), each active trigger rule's run for
today (one per rule and day: a later pass the same day finds it made), and the delivery of
pending contacts to ``STOREFLOW_CAMPAIGN_WEBHOOK`` when one is set (a failed delivery stays
pending and is tried again next pass). Several server processes may run it: followups lock their
cursor and runs are made under an advisory lock, so nothing is made twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from server.loyalty.rules import TierRules
from server.queries import campaigns, followups
from storeflow.api.campaigns import DeliveryOut, RunIn

logger = logging.getLogger(__name__)

ACTOR = "schedule"


@dataclass
class CarePass:
    """What one pass did."""

    tasks: int = 0
    runs_made: list[int] = field(default_factory=list)
    delivered: int = 0
    failures: list[str] = field(default_factory=list)


async def deliver_to(conn: AsyncConnection[Any], run_id: int, url: str) -> DeliveryOut:
    """Post ``run_id``'s pending contacts to the webhook ``url`` in one JSON batch."""
    async with httpx.AsyncClient(timeout=10.0) as client:

        async def post(payload: dict[str, Any]) -> None:
            r = await client.post(url, json=payload)
            r.raise_for_status()

        return await campaigns.deliver(conn, run_id, post)


async def care_once(
    pool: AsyncConnectionPool[Any],
    *,
    tiers: TierRules,
    staleness_s: float,
    webhook: str | None,
    today: date | None = None,
) -> CarePass:
    """One pass; each step in its own transaction, so one failure does not undo the others."""
    day = today or datetime.now(UTC).date()
    done = CarePass()
    rank = {t.name: i for i, t in enumerate(tiers.tiers)}
    async with pool.connection() as conn:
        done.tasks = (await followups.sweep(conn, rank, actor=ACTOR)).created
    async with pool.connection() as conn:
        rules = [r for r in await campaigns.list_rules(conn) if r.rule.active]
    for r in rules:
        try:
            async with pool.connection() as conn:
                made = await campaigns.run(
                    conn,
                    RunIn(rule_id=r.rule_id, as_of=day),
                    tiers=tiers,
                    staleness_s=staleness_s,
                    actor=ACTOR,
                )
        except Exception as exc:  # one rule's trouble does not stop the others
            logger.exception("scheduled run of campaign rule %s failed", r.rule_id)
            done.failures.append(f"rule {r.rule_id}: {exc}")
            continue
        if made.created:
            done.runs_made.append(made.run_id)
    if webhook:
        async with pool.connection() as conn:
            pending = sorted(
                {o.run_id for o in await campaigns.outbox(conn, run_id=None, status="pending")}
            )
        for run_id in pending:
            async with pool.connection() as conn:
                out = await deliver_to(conn, run_id, webhook)
            done.delivered += out.delivered
            if out.error is not None:
                done.failures.append(f"run {run_id}: {out.error}")
    return done


async def care_every(
    pool: AsyncConnectionPool[Any],
    interval_s: float,
    *,
    tiers: TierRules,
    staleness_s: float,
    webhook: str | None,
) -> None:
    """:func:`care_once` every ``interval_s`` seconds (0: never; the API does it by hand)."""
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            p = await care_once(pool, tiers=tiers, staleness_s=staleness_s, webhook=webhook)
            logger.info(
                "care pass: %d follow-up tasks, %d campaign runs, %d contacts delivered%s",
                p.tasks,
                len(p.runs_made),
                p.delivered,
                f"; problems: {'; '.join(p.failures)}" if p.failures else "",
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # tried again next time
            logger.exception("scheduled care pass failed")
