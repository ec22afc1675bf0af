"""The server's scheduled care pass against the real database: today's run of every active
trigger rule (once a day however often it passes), the follow-up sweep, and delivery of pending
contacts to a real HTTP webhook, a failed delivery staying pending for the next pass."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from server.crm.schedule import CarePass, care_once
from server.db import make_pool
from server.loyalty.rules import load_loyalty_rules
from tests.fix_db import Api
from tests.helpers.campaigns import add_members, put_rule
from tests.helpers.crm import crm
from tests.helpers.membership import client

BIRTH = date(1990, 6, 15)
DAY = date(2026, 6, 15)


class Webhook:
    """A real HTTP endpoint that records what is posted, or answers 503 while ``down``."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.down = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.down:
                    self.send_response(503)
                else:
                    hook.posted.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/contacts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def _pass(db_url: str, url: str | None) -> CarePass:
    async def go() -> CarePass:
        pool = make_pool(db_url, min_size=1, max_size=2)
        await pool.open(wait=True)
        try:
            return await care_once(
                pool,
                tiers=load_loyalty_rules(earning=None, tiers=None).tiers,
                staleness_s=0,
                webhook=url,
                today=DAY,
            )
        finally:
            await pool.close()

    return asyncio.run(go())


def test_a_pass_runs_each_rule_once_a_day_and_delivers_what_waits(
    api: Api, webhook: Webhook
) -> None:
    care = crm(api)
    ids = add_members(api.db_url, 3, prefix="S", birth_date=BIRTH)
    put_rule(api, care, name="Birthday", kind="birthday", days_before=0, holdout_share=0)
    put_rule(api, care, name="Off", kind="birthday", days_before=0, active=False)

    webhook.down = True
    first = _pass(api.db_url, webhook.url)
    assert len(first.runs_made) == 1  # the inactive rule is not run
    assert first.delivered == 0 and first.failures and "503" in first.failures[0]
    outbox = client(api).get("/api/v1/campaigns/outbox", headers=care).json()
    assert sorted(o["member_id"] for o in outbox if o["status"] == "pending") == ids

    webhook.down = False
    second = _pass(api.db_url, webhook.url)
    assert second.runs_made == []  # today's run was made already
    assert second.delivered == 3 and second.failures == []
    sent = [c["member_no"] for p in webhook.posted for c in p["contacts"]]
    assert len(sent) == len(set(sent)) == len(ids)
    assert _pass(api.db_url, webhook.url).delivered == 0  # nothing twice


def test_without_a_webhook_the_pass_only_makes_the_lists(api: Api) -> None:
    care = crm(api)
    add_members(api.db_url, 2, prefix="N", birth_date=BIRTH)
    put_rule(api, care, name="Birthday", kind="birthday", days_before=0, holdout_share=0)
    done = _pass(api.db_url, None)
    assert len(done.runs_made) == 1 and done.delivered == 0 and done.failures == []
    runs = client(api).get("/api/v1/campaigns/runs", headers=care).json()
    assert [(r["as_of"], r["counts"]["contacted"]) for r in runs] == [(DAY.isoformat(), 2)]
