"""Path efficiency (the facts' ``fact_efficiency``) on a hand-made graph and the demo store."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from server.analysis.paths import (
    RouteGraph,
    floyd_warshall,
    path_efficiency,
)
from storeflow.layout import load_layout

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# A line ENT - A - B - CHK - EXIT with counter P off A and counter Q off B:
#
#        P(10,5)   Q(20,5)
#          |         |
# ENT(0,0)-A(10,0)--B(20,0)-CHK(30,0)-EXIT(35,0)
ADJ = {"ENT": ["A"], "A": ["B", "P"], "B": ["CHK", "Q"], "CHK": ["EXIT"]}
POS = {
    "ENT": (0.0, 0.0),
    "A": (10.0, 0.0),
    "B": (20.0, 0.0),
    "CHK": (30.0, 0.0),
    "EXIT": (35.0, 0.0),
    "P": (10.0, 5.0),
    "Q": (20.0, 5.0),
}
KINDS = {"ENT": "entrance", "CHK": "checkout", "EXIT": "exit", "P": "counter", "Q": "counter"}


def graph(metric: str) -> RouteGraph:
    return RouteGraph(
        ADJ,
        positions=POS,
        metric="hops" if metric == "hops" else "metres",
        kinds=KINDS,
        counter_zone={"cP": "P", "cQ": "Q"},
    )


def trips_frame(paths: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trip_id": [f"t{i}" for i in range(len(paths))],
            "epc": [f"e{i}" for i in range(len(paths))],
            "start_at": [T0 + timedelta(minutes=i) for i in range(len(paths))],
            "end_at": [T0 + timedelta(minutes=i + 10 * (len(p))) for i, p in enumerate(paths)],
            "zones": paths,
        }
    )


# t0: Q first, then back to P: wrong order, no other detour.
# t1: P then Q (best order) but a detour B -> A -> B before the checkout.
# t2: no purchase, straight through. t3: bought at P but the path never shows P (missed read).
PATHS = [
    ["ENT", "A", "B", "Q", "B", "A", "P", "A", "B", "CHK", "EXIT"],
    ["ENT", "A", "P", "A", "B", "Q", "B", "A", "B", "CHK"],
    ["ENT", "A", "B", "CHK", "EXIT"],
    ["ENT", "A", "B", "CHK"],
]
PURCHASES = pd.DataFrame(
    {
        "purchase_id": [1, 2, 3, 4, 5],
        "trip_id": ["t0", "t0", "t1", "t1", "t3"],
        "counter": ["cQ", "cP", "cP", "cQ", "cP"],
        "at": [T0 + timedelta(minutes=m) for m in (3, 6, 3, 6, 3)],
        "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
    }
)

# metric, trip, walked, shortest, observed order, order deviation, travel deviation
EXPECTED = [
    ("metres", 0, 70.0, 50.0, 70.0, 20.0, 0.0),
    ("metres", 1, 70.0, 50.0, 50.0, 0.0, 20.0),
    ("metres", 2, 30.0, 30.0, 30.0, 0.0, 0.0),
    ("metres", 3, 30.0, 40.0, 40.0, 0.0, -10.0),
    ("hops", 0, 9.0, 7.0, 9.0, 2.0, 0.0),
    ("hops", 1, 9.0, 7.0, 7.0, 0.0, 2.0),
    ("hops", 2, 3.0, 3.0, 3.0, 0.0, 0.0),
]


@pytest.mark.parametrize(("metric", "row", "walked", "shortest", "obs", "od", "td"), EXPECTED)
def test_path_efficiency_known_answers(
    metric: str, row: int, walked: float, shortest: float, obs: float, od: float, td: float
) -> None:
    out = path_efficiency(trips_frame(PATHS), PURCHASES, graph(metric))
    r = out.iloc[row]
    assert r["walked"] == pytest.approx(walked)
    assert r["shortest"] == pytest.approx(shortest)
    assert r["observed_order"] == pytest.approx(obs)
    assert r["order_deviation"] == pytest.approx(od)
    assert r["travel_deviation"] == pytest.approx(td)
    assert r["walked"] == pytest.approx(
        r["shortest"] + r["order_deviation"] + r["travel_deviation"]
    )
    assert r["efficiency"] == pytest.approx(shortest / walked)
    assert r["end_zone"] == "CHK"  # the span stops at the checkout, not the exit


def test_path_efficiency_targets_and_missing() -> None:
    out = path_efficiency(trips_frame(PATHS), PURCHASES, graph("metres"))
    assert out["targets"].tolist() == [("Q", "P"), ("P", "Q"), (), ("P",)]
    assert out["missing_targets"].tolist() == [0, 0, 0, 1]


def test_path_efficiency_unknown_zone_and_empty_trip() -> None:
    out = path_efficiency(
        trips_frame([["ENT", "ZZ", "CHK"], []]), PURCHASES.iloc[:0], graph("hops")
    )
    assert math.isnan(out["walked"].iloc[0])
    assert math.isnan(out["efficiency"].iloc[1])


def test_floyd_warshall_small() -> None:
    inf = np.inf
    w = np.array([[0, 1, inf, 10], [1, 0, 2, inf], [inf, 2, 0, 3], [10, inf, 3, 0]], dtype=float)
    d = floyd_warshall(w)
    assert d[0, 3] == 6.0 and d[3, 0] == 6.0 and d[0, 2] == 3.0


def random_graph(n: int, seed: int) -> tuple[RouteGraph, list[str]]:
    rng = np.random.default_rng(seed)
    names = [f"Z{i:02d}" for i in range(n)]
    pos = {
        z: (float(x), float(y)) for z, (x, y) in zip(names, rng.uniform(0, 50, (n, 2)), strict=True)
    }
    adj: dict[str, list[str]] = {z: [] for z in names}
    for i in range(1, n):  # a random spanning tree plus extra edges
        adj[names[i]].append(names[int(rng.integers(0, i))])
    for _ in range(n):
        a, b = rng.choice(n, 2, replace=False)
        adj[names[a]].append(names[b])
    return RouteGraph(adj, positions=pos, metric="metres"), names


def test_held_karp_matches_brute_force() -> None:
    g, names = random_graph(14, seed=3)
    targets = names[2:8]
    best = min(
        g.route_length([names[0], *perm, names[1]]) for perm in itertools.permutations(targets)
    )
    length, order = g.shortest_tour(names[0], names[1], targets)
    assert length == pytest.approx(best)
    assert sorted(order) == sorted(targets)
    assert g.route_length([names[0], *order, names[1]]) == pytest.approx(length)


def test_two_opt_close_to_exact_above_the_limit() -> None:
    g, names = random_graph(16, seed=5)
    targets = names[2:12]  # 10 targets
    exact, _ = g.shortest_tour(names[0], names[1], targets, exact_limit=10)
    g2, _ = random_graph(16, seed=5)
    heur, order = g2.shortest_tour(names[0], names[1], targets)
    assert sorted(order) == sorted(targets)
    assert exact - 1e-9 <= heur <= exact * 1.25


def test_demo_layout_graph() -> None:
    layout = load_layout("firmware_sim/stores/demo.yaml")
    hops = RouteGraph.from_layout(layout, metric="hops")
    assert hops.route_length(["ENT", "CHK"]) == 3.0  # ENT - A2 - A3 - CHK
    metres = RouteGraph.from_layout(layout)
    assert metres.route_length(["ENT", "A2"]) == pytest.approx(5.0)  # centroids (30, 2) and (30, 7)
    trips = trips_frame([["ENT", "A2", "C02", "A2", "A3", "CHK", "EXIT"]])
    buy = pd.DataFrame({"trip_id": ["t0"], "counter": ["C02"], "at": [T0], "amount": [1.0]})
    out = path_efficiency(trips, buy, hops)
    assert out["shortest"].iloc[0] == 5.0 and out["efficiency"].iloc[0] == 1.0
