"""The planner's analyses find what the simulator planted, and do not find what it did not.

One module database: 84 days of the demo store (600 trips a day, straight from the simulator's
truth into the tables) with a layout change on day 28 (counters C03 and C07 trade places, so
C03 gets C07's attraction: 0.40 -> 0.15) and a promotion on C06 on days 63-69 (+50 %
attraction). The server computes its daily facts on first read, like in production.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.fix_planted import CHANGE_DAY, DAYS, END, FIRST, PROMO, Store
from tests.oracles import planner as oracle


def _by_metric(effects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["metric"]: e for e in effects}


def _relative_interval(e: dict[str, Any]) -> tuple[float, float]:
    return math.expm1(e["ci_low"]), math.expm1(e["ci_high"])


@pytest.mark.slow
def test_planted_promotion_is_found_with_its_size(planted: Store) -> None:
    got = planted.get(
        "experiments/promotion",
        counter="C06",
        first_day=PROMO[0].isoformat(),
        last_day=PROMO[1].isoformat(),
        before_days=21,
        after_days=7,
        control=["C01", "C02", "C04", "C05", "C08"],
    )
    traffic = _by_metric(got["effects"])["traffic"]
    lo, hi = _relative_interval(traffic)
    assert traffic["distinguishable"] and lo > 0
    assert lo <= 0.5 <= hi, (lo, traffic["relative"], hi)  # planted: +50 % attraction
    assert abs(traffic["relative"] - 0.5) < 0.2
    # after the promotion, traffic is back: no effect distinguishable from noise
    after = _by_metric(got["after_effects"])["traffic"]
    assert not after["distinguishable"], after
    # conversion was not planted to change
    assert not _by_metric(got["effects"])["conversion"]["distinguishable"]


UNTOUCHED = ["C01", "C02", "C04", "C05", "C08"]


@pytest.mark.slow
def test_promotions_that_did_not_happen_are_rarely_flagged(planted: Store) -> None:
    """Placebo promotions on untouched counters, in three windows, four metrics each: a 95 %
    interval flags a null change about 5 % of the time, never the way it flags the real one."""
    flagged, total, traffic = 0, 0, []
    for counter in UNTOUCHED:
        control = [c for c in UNTOUCHED if c != counter]
        for shift in (0, -7, -14):
            first, last = (d + timedelta(days=shift) for d in PROMO)
            got = planted.get(
                "experiments/promotion",
                counter=counter,
                first_day=first.isoformat(),
                last_day=last.isoformat(),
                before_days=21,
                after_days=0,
                control=control,
            )
            effects = _by_metric(got["effects"])
            flagged += sum(e["distinguishable"] for e in effects.values())
            total += len(effects)
            traffic.append(effects["traffic"]["relative"])
    assert total == 60
    assert flagged <= 8, flagged  # binomial(60, 0.05): 8 or more has probability < 2 %
    assert max(abs(t) for t in traffic) < 0.2  # the planted +50 % is far outside the noise


@pytest.mark.slow
def test_planted_layout_change_is_found(planted: Store) -> None:
    got = planted.get(
        "experiments/layout-change",
        day=CHANGE_DAY.isoformat(),
        counter="C03",
        control=["C01", "C02", "C04", "C05", "C08"],
        days=28,
    )
    traffic = _by_metric(got["effects"])["traffic"]
    lo, hi = _relative_interval(traffic)
    planted_effect = 0.15 / 0.40 - 1  # C03 takes C07's place: attraction 0.40 -> 0.15
    assert traffic["distinguishable"]
    assert lo <= planted_effect <= hi, (lo, traffic["relative"], hi)
    # the counters the change did not touch show no change (at most one chance flag of five)
    nulls = [
        _by_metric(
            planted.get(
                "experiments/layout-change",
                day=CHANGE_DAY.isoformat(),
                counter=c,
                control=[x for x in UNTOUCHED if x != c],
                days=28,
            )["effects"]
        )["traffic"]
        for c in UNTOUCHED
    ]
    assert sum(e["distinguishable"] for e in nulls) <= 1, nulls
    assert all(abs(e["relative"]) < 0.15 for e in nulls), nulls


@pytest.mark.slow
def test_traffic_endpoints_on_a_quarter(planted: Store) -> None:
    start, end = FIRST.isoformat(), END.date().isoformat()
    summary = planted.get("summary", start=start, end=end)
    assert summary["days"] == DAYS
    assert 0.8 * 600 * DAYS < summary["entries"] < 1.2 * 600 * DAYS
    assert summary["previous"] is not None and summary["previous"]["entries"] == 0
    weekly = planted.get("footfall", start=start, end=end, bucket="week")
    assert sum(w["entries"] for w in weekly) == summary["entries"]
    assert all(w["previous_week"] is not None for w in weekly[1:])
    per_zone = planted.get("zone-footfall", start=start, end=end, bucket="week")
    entrance = sum(z["entries"] for z in per_zone if z["zone"] == "ENT")
    assert abs(entrance - summary["entries"]) <= 0.01 * summary["entries"]  # one per trip
    heat = planted.get("heatmap", start=start, end=end)
    cells = {(c["weekday"], c["hour"]): c for c in heat}
    # weekday factors: Saturday (1.4) busier than Monday (0.8) at the same hour
    sat = sum(cells[(5, h)]["entries_per_day"] for h in range(24) if (5, h) in cells)
    mon = sum(cells[(0, h)]["entries_per_day"] for h in range(24) if (0, h) in cells)
    assert 1.4 < sat / mon < 2.1
    occ = planted.get("occupancy", start=(END - timedelta(days=1)).date().isoformat(), end=end)
    assert max(o["occupancy"] for o in occ) > 1
    dwell = {d["zone"]: d for d in planted.get("dwell", start=start, end=end)}
    # C06's planted median dwell is 200 s, C02's 110 s (lognormal, sigma 0.45)
    assert abs(dwell["C06"]["median_s"] - 200) < 25
    assert abs(dwell["C02"]["median_s"] - 110) < 15
    assert dwell["C06"]["holding_power"] > dwell["C02"]["holding_power"]
    paths = planted.get("paths", start=start, end=end)
    assert paths["efficiency_buyers"]["trips"] > 0
    assert 0 < paths["efficiency_buyers"]["mean_efficiency"] <= 1
    csv = planted.get("paths", start=start, end=end, format="csv", table="transitions")
    assert csv.splitlines()[0] == "source,target,count,probability"


@pytest.mark.slow
def test_members_and_lapse_alerts(planted: Store) -> None:
    end = END.date().isoformat()
    got = planted.get("members", end=end)
    classes = {c["member_class"]: c for c in got["classes"]}
    assert set(classes) <= {"core", "loyal", "occasional", "potential"}
    assert sum(c["members"] for c in got["classes"]) == got["members"]
    assert 1400 <= got["members"] <= 1500  # the members who had joined by then
    # core = the top 20 % of buyers by sales
    assert classes["core"]["members"] == math.ceil(0.2 * got["buyers"])
    assert 0.2 < got["pareto_top_share"] < 1
    assert got["pareto"][0]["sales_share"] == 0
    assert got["pareto"][-1]["sales_share"] == pytest.approx(1)
    assert abs(sum(t["entries_share"] for t in got["tiers"]) - 1) < 1e-9
    alerts = planted.get("members/lapse", end=end, factor=2.0)
    assert alerts, "a member population with gamma-distributed rates has overdue members"
    for a in alerts:
        assert a["days_since"] > 2.0 * a["median_interval_days"]
        assert a["purchases"] >= 3
        if a["tier"] == "Member":  # the action names who the member is: no "VIP" for Member
            assert "VIP" not in a["action"], a
    # the planted members never leave: the fit finds no drop-out, so P(alive) is unknown, not
    # a 1.0 that would make its filter a no-op
    assert got["bgnbd"]["dropout"] < 1e-3
    assert all(a["p_alive"] is None for a in alerts)
    # a period before the first sale: every member is a potential buyer (was HTTP 500)
    before = planted.get("members", end=(FIRST - timedelta(days=2)).isoformat())
    assert before["buyers"] == 0
    assert planted.get("members/lapse", end=(FIRST - timedelta(days=2)).isoformat()) == []
    assert [a["ratio"] for a in alerts] == sorted((a["ratio"] for a in alerts), reverse=True)
    stricter = planted.get("members/lapse", end=end, factor=4.0)
    assert len(stricter) < len(alerts)
    csv = planted.get("members/lapse", end=end, format="csv")
    assert csv.splitlines()[0].startswith("member_no,tier,member_class")
    assert len(csv.splitlines()) == len(alerts) + 1


@pytest.mark.slow
def test_segment_filter_splits_the_traffic(planted: Store) -> None:
    end = END.date().isoformat()
    everyone = planted.get("summary", end=end)
    tiers = [s for s in planted.get("segments") if s != "non-member"]
    assert "Member" in tiers and len(tiers) >= 2  # the review gave the big spenders a tier
    members = planted.get("summary", end=end, segment=tiers)
    others = planted.get("summary", end=end, segment="non-member")
    assert members["entries"] + others["entries"] == everyone["entries"]
    assert 0.5 < members["entries"] / everyone["entries"] < 0.7  # member_share 0.6


@pytest.mark.slow
def test_paths_match_a_pandas_oracle(planted: Store) -> None:
    """Top paths and the transition matrix served from the facts equal a re-count of the trips."""
    start = END - timedelta(days=7)
    f = oracle.load(planted.db_url, "demo", start, END)
    got = planted.get("paths", start=start.date().isoformat(), end=END.date().isoformat())
    assert got["trips"] == len(f.trips)
    truth = oracle.transitions(f.trips["zones"])
    served = {
        (t["source"], t["target"]): (t["count"], t["probability"]) for t in got["transitions"]
    }
    assert served.keys() == truth.keys()
    for key, (n, p) in truth.items():
        assert served[key][0] == n and served[key][1] == pytest.approx(p), key
    counts = oracle.path_counts(f.trips["zones"])
    top = [p["trips"] for p in got["top_paths"]]
    assert top == sorted(counts.values(), reverse=True)[: len(top)]
    assert all(counts[tuple(p["path"])] == p["trips"] for p in got["top_paths"])


@pytest.mark.slow
@pytest.mark.parametrize("min_dwell_s", [30.0, 60.0])  # from the facts; live from the visits
def test_counter_figures_match_a_pandas_oracle(planted: Store, min_dwell_s: float) -> None:
    start = END - timedelta(days=7)
    f = oracle.load(planted.db_url, "demo", start, END)
    truth = oracle.counter_figures(f, min_dwell_s=min_dwell_s)
    got = planted.get(
        "counters",
        start=start.date().isoformat(),
        end=END.date().isoformat(),
        min_dwell_s=min_dwell_s,
    )
    assert {c["code"] for c in got} == set(truth.index)
    for c in got:
        row = truth.loc[c["code"]]
        assert c["visitors"] == row["visitors"], c["code"]
        assert c["conversion"] == pytest.approx(row["conversion"]), c["code"]
        assert c["sales"] == pytest.approx(row["sales"]), c["code"]


@pytest.mark.slow
def test_occupancy_and_heatmap_match_a_pandas_oracle(planted: Store) -> None:
    start = END - timedelta(days=14)
    f = oracle.load(planted.db_url, "demo", start, END)
    span = {"start": start.date().isoformat(), "end": END.date().isoformat()}
    occ = oracle.occupancy(f.trips, start, END)
    served = {pd.Timestamp(o["hour_start"]): o for o in planted.get("occupancy", **span)}
    assert sum(o["entries"] for o in served.values()) == len(f.trips)
    for hour, value in occ.items():
        got = served.get(hour, {"occupancy": 0.0})
        assert got["occupancy"] == pytest.approx(value, abs=1e-6), hour
    heat = oracle.heatmap(f.trips, start, END, "UTC")
    cells = {(c["weekday"], c["hour"]): c for c in planted.get("heatmap", **span)}
    # hours with sales but no trip starting (e.g. the last checkouts) are served as empty cells
    assert {k for k, c in cells.items() if c["entries_per_day"] > 0} == set(heat.index)
    for (wd, h), row in heat.iterrows():
        assert cells[(wd, h)]["entries_per_day"] == pytest.approx(row["entries_per_day"])
        assert cells[(wd, h)]["conversion"] == pytest.approx(row["conversion"])


def test_days_are_whole_local_days() -> None:
    from server.rollup import day_bounds

    b = day_bounds(date(2026, 3, 29), "Europe/Berlin")  # a 23-hour day
    assert (b.hi - b.lo) == timedelta(hours=23)


@pytest.mark.slow
def test_too_few_days_is_an_error_not_an_effect(planted: Store) -> None:
    import httpx

    r = httpx.get(
        f"{planted.url}/api/v1/stores/demo/analytics/experiments/layout-change",
        params={"day": (FIRST + timedelta(days=1)).isoformat(), "counter": "C03", "days": 7},
        headers={"Authorization": f"Bearer {planted.token}"},
        timeout=60,
    )
    assert r.status_code == 422
    assert "not enough days with data" in r.json()["detail"]


@pytest.mark.slow
def test_a_period_before_with_too_little_data_gives_no_change(planted: Store) -> None:
    """14 days against the 14 before them, of which only one has data: no percentage."""
    start = FIRST + timedelta(days=1)
    got = planted.get(
        "summary", start=start.isoformat(), end=(start + timedelta(days=14)).isoformat()
    )
    assert got["days_with_data"] == 14 and got["previous_days_with_data"] == 1
    assert got["not_comparable"] is not None and "too little" in got["not_comparable"]
    whole = planted.get(
        "summary",
        start=(END - timedelta(days=14)).date().isoformat(),
        end=END.date().isoformat(),
    )
    assert whole["not_comparable"] is None and not whole["partial_day"]


@pytest.mark.slow
def test_the_day_not_over_is_not_counted_after_a_promotion(
    planted: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Today' four days after the promotion: only the three whole days after it count."""
    from server.queries import experiments

    monkeypatch.setattr(experiments, "today", lambda _tz: PROMO[1] + timedelta(days=4))
    got = planted.get(
        "experiments/promotion",
        counter="C06",
        first_day=PROMO[0].isoformat(),
        last_day=PROMO[1].isoformat(),
        before_days=21,
        after_days=7,
        control=UNTOUCHED,
    )
    assert {e["days_after"] for e in got["after_effects"]} == {3}
    assert max(p["day"] for p in got["daily"]) == (PROMO[1] + timedelta(days=3)).isoformat()


@pytest.mark.slow
def test_layout_swap_is_judged_per_counter_with_clean_controls(planted: Store) -> None:
    """C03 and C07 trade places: each moves its own way (pooled they cancel out); asked about
    C03 alone, C07 is kept out of the default controls, with a warning."""
    got = planted.get(
        "experiments/layout-change",
        day=CHANGE_DAY.isoformat(),
        counter=["C03", "C07"],
        days=7,
    )
    traffic = {e["unit"]: e for e in got["effects"] if e["metric"] == "traffic"}
    assert traffic["C03"]["distinguishable"] and traffic["C03"]["relative"] < -0.3
    assert traffic["C07"]["distinguishable"] and traffic["C07"]["relative"] > 0.5
    alone = planted.get(
        "experiments/layout-change", day=CHANGE_DAY.isoformat(), counter="C03", days=7
    )
    assert "C07" not in alone["control"]
    assert any("C07" in w for w in alone["warnings"])


@pytest.mark.slow
def test_returns_come_off_sales_and_outliers_are_flagged(planted: Store) -> None:
    """A sale returned in full leaves Sales (store and counter); outlier sales are flagged.
    Runs last in the module: it changes the planted sales."""
    import psycopg

    day = (END - timedelta(days=3)).date()
    span = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    sales = planted.get("summary", **span)["sales"]
    counters = {c["code"]: c["sales"] for c in planted.get("counters", **span)}
    outliers = planted.get("sales/outliers", **span)
    assert outliers["sales"] == pytest.approx(sales)
    assert outliers["threshold"] is not None
    assert all(o["net_total"] > outliers["threshold"] for o in outliers["outliers"])
    with psycopg.connect(planted.db_url) as c:
        row = c.execute(
            "SELECT p.id, p.total, pl.line_no, pl.amount, pl.counter FROM purchase p "
            "JOIN purchase_line pl ON pl.purchase_id = p.id WHERE p.store_id = 'demo' "
            "AND p.at >= %s AND p.at < %s AND pl.counter IS NOT NULL AND p.total = pl.amount "
            "ORDER BY p.id LIMIT 1",
            (day, day + timedelta(days=1)),
        ).fetchone()
        assert row is not None
        pid, total, line_no, amount, counter = row
        (rid,) = c.execute(
            "INSERT INTO purchase_return (purchase_id, return_id, at, amount, points_reversed, "
            "shortfall, recorded_by) VALUES (%s, 'r-1', %s, %s, 0, 0, 'test') RETURNING id",
            (pid, END, total),
        ).fetchone() or (None,)
        c.execute(
            "INSERT INTO purchase_return_line (return_pk, line_no, amount) VALUES (%s, %s, %s)",
            (rid, line_no, amount),
        )
        # the return marked the sale's day dirty; pretend its facts are old enough to redo
        c.execute("UPDATE rollup_day SET refreshed_at = NULL WHERE day = %s", (day,))
    assert planted.get("summary", **span)["sales"] == pytest.approx(sales - float(total))
    after = {c["code"]: c["sales"] for c in planted.get("counters", **span)}
    assert after[counter] == pytest.approx(counters[counter] - float(amount))
    assert planted.get("sales/outliers", **span)["sales"] == pytest.approx(sales - float(total))
