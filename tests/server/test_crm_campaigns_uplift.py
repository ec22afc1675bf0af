"""The uplift report recovers a planted effect: 2,400 members picked by one birthday run, half
held out; afterwards contacted members buy with probability 0.45 and held-out members with 0.30
(+15 points), each purchase 50-250 (mean 150, so +22.50 spend per member). The report's
intervals hold the planted differences and exclude 0; purchases outside the window do not
count; planners read the figures, not the lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from dashboard.api import ApiConfig, StoreflowClient
from server.threaded import serve_in_thread
from tests.fix_db import Api
from tests.helpers.campaigns import add_members, add_sales, listed, put_rule, run
from tests.helpers.crm import crm
from tests.helpers.membership import client

MEMBERS = 2400
BASE_RATE = 0.30
PLANTED_RATE = 0.15  # contacted members' extra purchase probability
AMOUNT = (50.0, 250.0)  # each purchase uniform in this range: mean 150
PLANTED_SPEND = PLANTED_RATE * sum(AMOUNT) / 2  # 22.50 per member
AS_OF = date(2026, 6, 15)
WINDOW_DAYS = 30


def _plant(api: Api, rows: list[dict[str, Any]], seed: int) -> dict[str, float]:
    """One purchase in the window for each member who buys; noise outside the window."""
    rng = np.random.default_rng(seed)
    start = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC)
    sales = []
    for r in rows:
        p = BASE_RATE + (PLANTED_RATE if r["group"] == "contacted" else 0.0)
        if rng.random() < p:
            at = start + timedelta(seconds=float(rng.uniform(0, WINDOW_DAYS * 86400 - 1)))
            sales.append((r["member_id"], at, round(float(rng.uniform(*AMOUNT)), 2)))
        # held-out members also bought before the run and after the window: not counted
        if r["group"] == "held_out" and rng.random() < 0.5:
            sales.append((r["member_id"], start - timedelta(hours=1), 999.0))
            sales.append((r["member_id"], start + timedelta(days=WINDOW_DAYS, hours=1), 999.0))
    add_sales(api.db_url, sales)
    contacted = [r["member_id"] for r in rows if r["group"] == "contacted"]
    bought = {m for m, at, _ in sales if start <= at < start + timedelta(days=WINDOW_DAYS)}
    return {"contacted_rate": sum(m in bought for m in contacted) / len(contacted)}


def test_the_uplift_report_recovers_a_planted_effect(api: Api) -> None:
    care, c = crm(api), client(api)
    add_members(api.db_url, MEMBERS, prefix="U", birth_date=date(1985, 6, 15))
    rule_id = put_rule(
        api,
        care,
        name="Birthday",
        kind="birthday",
        days_before=0,
        holdout_share=0.5,
        uplift_days=WINDOW_DAYS,
    )
    made = run(api, care, rule_id, AS_OF)
    assert made["counts"]["contacted"] + made["counts"]["held_out"] == MEMBERS
    assert made["counts"]["held_out"] == pytest.approx(MEMBERS / 2, abs=1)
    rows = listed(api, care, made["run_id"])
    observed = _plant(api, rows, seed=20260615)

    r = c.get(f"/api/v1/campaigns/runs/{made['run_id']}/uplift", headers=care)
    assert r.status_code == 200, r.text
    report = r.json()
    groups = {g["group"]: g for g in report["groups"]}
    assert groups["contacted"]["purchase_rate"] == pytest.approx(observed["contacted_rate"])
    assert report["window_days"] == WINDOW_DAYS and report["window_complete"] is True
    rate, spend = report["purchase_rate"], report["spend_per_member"]
    print(  # the figures the README quotes (pytest -s)
        f"\nplanted +{PLANTED_RATE:.3f}: estimated {rate['estimate']:+.4f} "
        f"[{rate['ci_low']:+.4f}, {rate['ci_high']:+.4f}] ({rate['method']}); "
        f"planted +{PLANTED_SPEND:.2f}/member: estimated {spend['estimate']:+.2f} "
        f"[{spend['ci_low']:+.2f}, {spend['ci_high']:+.2f}] ({spend['method']}); "
        f"rates {groups['contacted']['purchase_rate']:.4f} vs "
        f"{groups['held_out']['purchase_rate']:.4f}, n = {groups['contacted']['members']} "
        f"vs {groups['held_out']['members']}"
    )
    assert rate["ci_low"] <= PLANTED_RATE <= rate["ci_high"]
    assert rate["ci_low"] > 0 and rate["distinguishable"] is True
    assert rate["ci_high"] - rate["ci_low"] < 0.1
    assert spend["ci_low"] <= PLANTED_SPEND <= spend["ci_high"]
    assert spend["ci_low"] > 0 and spend["distinguishable"] is True

    # the same figures per rule (every run pooled), for planners too
    planner = api.headers("planner")
    per_rule = c.get("/api/v1/campaigns/uplift", headers=planner)
    assert per_rule.status_code == 200, per_rule.text
    (only,) = per_rule.json()
    assert (only["rule_id"], only["runs"], only["runs_complete"]) == (rule_id, 1, 1)
    assert only["purchase_rate"] == rate
    assert (
        c.get(f"/api/v1/campaigns/runs/{made['run_id']}/contacts", headers=planner).status_code
        == 403
    )
    # the dashboard reads the same figures with a planner token
    with serve_in_thread(api.db_url) as url:
        token = planner["Authorization"].removeprefix("Bearer ")
        dashboard = StoreflowClient(ApiConfig(base_url=url, token=token))
        (seen,) = dashboard.campaign_uplift("demo")
        dashboard.close()
    assert seen.purchase_rate.model_dump() == rate
    # a shorter window sees fewer purchases, and says so
    short = c.get(
        f"/api/v1/campaigns/runs/{made['run_id']}/uplift", params={"days": 7}, headers=care
    ).json()
    assert short["window_days"] == 7
    assert short["groups"][0]["buyers"] < groups["contacted"]["buyers"]
