"""``storeflow bench pages`` end to end at its smallest: a page with charts and one without
(the Retention page has no chart until a trigger rule has run) are both timed to the end of
their run, with the charts they drew counted, and set against the reference page (Streamlit's
floor: the same sidebar around one chart) timed in the same rounds."""

from __future__ import annotations

import pytest

from tests.helpers.cli import storeflow_json


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("chromium_path")  # fails under CI=true, else skips, without it
def test_pages_with_and_without_charts_are_timed() -> None:
    result = storeflow_json(
        "bench",
        "pages",
        "--days",
        "1",
        "--trips-per-day",
        "100",
        "--runs",
        "1",
        "--page",
        "members",
        "--page",
        "retention",
        "--json",
        timeout=900,
        exit_codes=(0, 1),  # 1: a page missed the time target, which a test does not judge
    )
    pages = {p["page"]: p for p in result["pages"]}
    assert set(pages) == {"members", "retention"}
    assert pages["members"]["charts"] == 3  # classes, the Pareto curve, segments' shares
    assert pages["retention"]["charts"] == 0
    for p in pages.values():
        assert p["runs"] == 1 and 0 < p["p50_ms"] <= p["p95_ms"]
    assert result["slowest_p95_ms"] == max(p["p95_ms"] for p in pages.values())
    reference = result["reference"]
    assert reference["page"] == "reference" and reference["charts"] == 1
    assert reference["runs"] == 1 and 0 < reference["p50_ms"] <= reference["p95_ms"]
    for p in pages.values():
        assert p["vs_reference"] == round(p["p50_ms"] / reference["p50_ms"], 2)
