"""Members: five classes, RFM, the purchase rhythm, BG/NBD P(alive) and its fit, lapse actions.

Class counts, the Pareto curve and the lapse rule are queries over these figures: see
test_planner_truth.py (test_members_and_lapse_alerts)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from server.analysis.members import (
    CDNOW_PARAMS,
    SEGMENT_GRID,
    BgNbdParams,
    bgnbd_log_likelihood,
    classify_members,
    fit_bgnbd,
    member_status,
    nelder_mead,
    p_alive,
    quintile_score,
    rf_segment,
    rfm,
    suggest_action,
)

AS_OF = datetime(2026, 6, 30, 12, tzinfo=UTC)


def day(d: str) -> datetime:
    return datetime.fromisoformat(d).replace(hour=11, tzinfo=UTC)


MEMBERS = pd.DataFrame(
    {
        "member_id": [1, 2, 3, 4, 5, 6, 7],
        "joined_at": [day("2024-01-01")] * 7,
        "referrer_id": [None, None, None, None, 4, 1, None],
        "tier": ["Gold", "Member", "Member", "Member", "Member", "Member", "Silver"],
        "birth_date": [None] * 7,
        "gender": ["unknown"] * 7,
    }
)

# member, purchase id, day, amount
ROWS = [
    (1, 10, "2026-02-01", 1000.0),
    (1, 11, "2026-03-05", 1000.0),
    (1, 12, "2026-04-07", 1000.0),
    (2, 20, "2026-01-10", 50.0),
    (2, 21, "2026-02-10", 50.0),
    (2, 22, "2026-02-20", 50.0),
    (3, 30, "2026-05-02", 40.0),
    (3, 31, "2026-05-09", 40.0),
    (3, 32, "2026-05-16", 40.0),
    (4, 40, "2026-06-01", 30.0),
    (6, 60, "2026-03-01", 20.0),
    (6, 60, "2026-03-01", 25.0),  # a second line of the same purchase
    (7, 70, "2024-03-01", 500.0),
    (None, 99, "2026-06-01", 999.0),  # no member: ignored
    (2, 23, "2026-07-15", 50.0),  # after as_of: ignored
]
PURCHASES = pd.DataFrame(
    {
        "purchase_id": [r[1] for r in ROWS],
        "member_id": pd.array([r[0] for r in ROWS], dtype="Int64"),
        "at": [day(r[2]) for r in ROWS],
        "counter": ["C01"] * len(ROWS),
        "amount": [r[3] for r in ROWS],
    }
)

EXPECTED_CLASS = [
    (1, "core", True),  # top 20 % of 5 window buyers = 1 member; referred member 6 who bought
    (2, "loyal", False),  # 3 purchases over January and February
    (3, "occasional", False),  # 3 purchases, all in May
    (4, "occasional", False),  # referred member 5, who has not bought
    (5, "potential", False),
    (6, "occasional", False),  # two lines, one purchase
    (7, "occasional", False),  # bought, but not in the last 12 months
]


@pytest.mark.parametrize(("member", "cls", "referrer"), EXPECTED_CLASS)
def test_five_classes(member: int, cls: str, referrer: bool) -> None:
    out = classify_members(MEMBERS, PURCHASES, AS_OF).set_index("member_id")
    assert out.loc[member, "primary_class"] == cls
    assert bool(out.loc[member, "is_referrer"]) is referrer


def test_class_figures() -> None:
    out = classify_members(MEMBERS, PURCHASES, AS_OF).set_index("member_id")
    assert out.loc[6, "purchases_window"] == 1 and out.loc[6, "sales_window"] == 45.0
    assert out.loc[2, "purchases_window"] == 3 and out.loc[2, "months_window"] == 2
    assert out.loc[1, "referred_buyers"] == 1 and out.loc[4, "referred_buyers"] == 0


def test_quintile_scores_rank_ties_first() -> None:
    values = pd.Series([5.0] * 10)
    assert quintile_score(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    recency = pd.Series([1.0, 50.0, 3.0, 200.0, 10.0])
    assert quintile_score(recency, reverse=True).tolist() == [5, 2, 4, 1, 3]


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (5, 4, "champions"),
        (4, 5, "loyal"),
        (3, 4, "loyal"),
        (5, 2, "potential loyalists"),
        (5, 1, "new"),
        (4, 1, "promising"),
        (3, 3, "need attention"),
        (3, 1, "about to sleep"),
        (2, 3, "at risk"),
        (1, 5, "can't lose"),
        (2, 2, "hibernating"),
        (1, 1, "lost"),
    ],
)
def test_rf_grid(r: int, f: int, segment: str) -> None:
    assert rf_segment(r, f) == segment


def test_rf_grid_covers_every_cell_with_eleven_segments() -> None:
    assert len(SEGMENT_GRID) == 25
    assert len(set(SEGMENT_GRID.values())) == 11


def test_rfm_table() -> None:
    out = rfm(PURCHASES, AS_OF).set_index("member_id")
    assert set(out.index) == {1, 2, 3, 4, 6, 7}
    assert out.loc[1, "frequency"] == 3 and out.loc[1, "monetary"] == 3000.0
    assert out.loc[4, "r"] == 5  # most recent
    assert out.loc[7, "r"] == 1
    assert out.loc[7, "segment"] == SEGMENT_GRID[(1, int(out.loc[7, "f"]))]
    assert out.loc[1, "m"] == 5
    assert out.loc[4, "recency_days"] == pytest.approx(29 + 1 / 24)


def test_p_alive_cdnow_hand_computed() -> None:
    # x = 2, t_x = 30.43, T = 38.86 weeks, CDNOW r, alpha, a, b:
    # a / (b + x - 1) = 0.793 / 3.426 = 0.231465
    # ((alpha + T) / (alpha + t_x))^(r + x) = (43.274 / 34.844)^2.243 = 1.62577
    # P = 1 / (1 + 0.231465 x 1.62577) = 1 / 1.376306 = 0.72658
    got = p_alive([2], [30.43], [38.86], CDNOW_PARAMS)
    assert got[0] == pytest.approx(0.72658, abs=2e-5)


def test_p_alive_one_time_buyer_is_one_and_repeat_is_less() -> None:
    got = p_alive([0, 1, 1], [0.0, 1.0, 30.0], [38.86, 38.86, 38.86])
    assert got[0] == 1.0
    assert got[1] < got[2] < 1.0  # a recent last purchase means more likely alive


def test_nelder_mead_rosenbrock() -> None:
    def rosen(v: np.ndarray) -> float:
        return float((1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2)

    best = nelder_mead(rosen, np.array([-1.2, 1.0]), max_iter=5000, tol=1e-14)
    assert best == pytest.approx([1.0, 1.0], abs=1e-3)


def simulate_bgnbd(
    params: BgNbdParams, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    big_t = rng.uniform(26.0, 78.0, n)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > big_t[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, big_t


def test_fit_bgnbd_recovers_simulated_parameters() -> None:
    truth = BgNbdParams(r=0.8, alpha=6.0, a=0.7, b=2.5)
    x, t_x, big_t = simulate_bgnbd(truth, 3000, seed=11)
    fitted = fit_bgnbd(x, t_x, big_t)
    assert bgnbd_log_likelihood(fitted, x, t_x, big_t) >= bgnbd_log_likelihood(truth, x, t_x, big_t)
    assert fitted.r / fitted.alpha == pytest.approx(truth.r / truth.alpha, rel=0.2)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.3)


def test_fit_bgnbd_falls_back_to_cdnow_with_few_customers() -> None:
    assert fit_bgnbd([1, 2], [3.0, 4.0], [10.0, 10.0]) == CDNOW_PARAMS


def test_member_status_rhythm_for_the_lapse_rule() -> None:
    """The stored figures the lapse query reads: purchase days, median interval, days since."""
    start = day("2026-03-01")
    rows = []
    for i in range(5):  # member 1: every 10 days, then silent for 40 days
        rows.append((1, start + timedelta(days=10 * i)))
    for i in range(5):  # member 2: every 10 days, last one 15 days ago
        rows.append((2, AS_OF - timedelta(days=15 + 10 * i)))
    rows += [(3, start), (3, start + timedelta(days=5))]  # two purchases: no rhythm yet
    buys = pd.DataFrame(
        {
            "purchase_id": range(len(rows)),
            "member_id": [r[0] for r in rows],
            "at": [r[1] for r in rows],
            "amount": [100.0] * len(rows),
        }
    )
    members = pd.DataFrame(
        {"member_id": [1, 2, 3, 4], "referrer_id": [None] * 4, "tier": ["Gold"] + ["Member"] * 3}
    )
    out, params = member_status(members, buys, AS_OF, fit=False)
    assert params == CDNOW_PARAMS
    out = out.set_index("member_id")
    last = start + timedelta(days=40)
    assert out.loc[1, "purchase_days"] == 5 and out.loc[1, "median_interval_days"] == 10.0
    assert out.loc[1, "last_purchase_at"] == pd.Timestamp(last)
    assert out.loc[1, "days_since"] == pytest.approx((AS_OF - last).total_seconds() / 86400)
    expected = p_alive([4], [40 / 7], [(AS_OF - start.replace(hour=0)).total_seconds() / 604800])
    assert out.loc[1, "p_alive"] == pytest.approx(expected[0])
    assert out.loc[2, "days_since"] == pytest.approx(15.0)
    assert out.loc[3, "purchase_days"] == 2 and out.loc[3, "median_interval_days"] == 5.0
    assert out.loc[4, "purchase_days"] == 0 and math.isnan(out.loc[4, "p_alive"])
    assert math.isnan(out.loc[4, "recency_days"]) and out.loc[4, "primary_class"] == "potential"


@pytest.mark.parametrize(
    ("cls", "tier", "ratio", "pa", "text"),
    [
        # a core member of tier Member is not called a VIP
        ("core", "Member", 3.0, 0.8, "call: core member (top 20 % by sales), 3.0x usual interval"),
        ("occasional", "Gold", 2.5, 0.8, "call: Gold member, 2.5x usual interval"),
        ("loyal", None, 2.2, 0.8, "send a personal offer: loyal member, 2.2x usual interval"),
        (
            "occasional",
            None,
            4.0,
            0.1,
            "send a reminder: occasional member, 4.0x usual interval, win-back (P(alive) 10%)",
        ),
        (
            "occasional",
            "Member",
            4.0,
            None,
            "send a reminder: occasional member, 4.0x usual interval",
        ),
    ],
)
def test_suggest_action(
    cls: str, tier: str | None, ratio: float, pa: float | None, text: str
) -> None:
    assert suggest_action(primary_class=cls, tier=tier, ratio=ratio, p_alive=pa) == text


def test_member_status_of_a_period_without_purchases() -> None:
    """No sale at all (a new store, or a period before the first sale): every member is a
    potential buyer, nothing fails."""
    members = pd.DataFrame(
        {"member_id": [1, 2], "referrer_id": [None, None], "tier": ["Member", "Gold"]}
    )
    none = pd.DataFrame(columns=["member_id", "purchase_id", "at", "amount"])
    out, _ = member_status(members, none, AS_OF, fit=False)
    assert list(out["primary_class"]) == ["potential", "potential"]
    assert out["purchase_days"].tolist() == [0, 0]


def test_p_alive_is_unknown_for_one_time_buyers_and_without_measurable_dropout() -> None:
    from server.analysis.members import BgNbdParams, informative_p_alive

    x, t_x, t_cal = [0, 2, 2], [0.0, 1.0, 6.0], [7.0, 7.0, 7.0]
    got = informative_p_alive(x, t_x, t_cal, CDNOW_PARAMS)
    assert math.isnan(got[0])  # BG/NBD says 1.0 to anyone who bought once: not a fact
    assert got[1] < got[2] < 1.0  # a long silence after the last purchase: less likely alive
    # a fit that finds no drop-out (as on a store whose members never leave) says 1.0 to all
    no_dropout = BgNbdParams(r=1.6, alpha=2.0, a=1e-4, b=2.4e5)
    assert p_alive([2], [1.0], [7.0], no_dropout)[0] == pytest.approx(1.0)
    assert np.isnan(informative_p_alive(x, t_x, t_cal, no_dropout)).all()
