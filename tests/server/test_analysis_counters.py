"""Counter quadrants and the recommendation text the counter evaluation serves."""

from __future__ import annotations

import pytest

from server.analysis.counters import classify, recommend


@pytest.mark.parametrize(
    ("traffic", "conversion", "quadrant"),
    [
        (10, 0.5, "star"),
        (10, 0.1, "window shopping"),
        (1, 0.5, "hidden gem"),
        (1, 0.1, "weak"),
        (5, 0.3, "star"),  # at the median counts as high
    ],
)
def test_classify(traffic: float, conversion: float, quadrant: str) -> None:
    assert classify(traffic, conversion, traffic_median=5, conversion_median=0.3) == quadrant


FIGURES = "120 visitor trips (4% of store trips), 25% of them bought, 1,812 sales per m²"


@pytest.mark.parametrize(
    ("quadrant", "text"),
    [
        ("star", f"Keep: {FIGURES}."),
        ("hidden gem", f"Improve placement: converts well but few shoppers reach it — {FIGURES}."),
        (
            "window shopping",
            f"Review merchandising and the contract: many stop, few buy — {FIGURES}.",
        ),
        ("weak", f"Review the contract: low traffic and low conversion — {FIGURES}."),
    ],
)
def test_recommend_sentence(quadrant: str, text: str) -> None:
    got = recommend(
        quadrant,  # type: ignore[arg-type]
        visitors=120,
        exposure=0.04,
        conversion=0.25,
        sales_per_m2=1812.4,
    )
    assert got == text
