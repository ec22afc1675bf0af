"""A planner walks every dashboard page over 84 days of planted history in headless Chromium.

The experiments page is opened on the planted promotion and the planted layout change (the
question travels in the link) and must call both distinguishable. Screenshots are kept in
test-artifacts/screenshots/planner-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fix_planted import CHANGE_DAY, PROMO, Store
from tests.helpers.browser import ERROR_BOX, EXCEPTION, settle_and_shoot, streamlit_app

# (screenshot, url path + query, texts the page must show, plotly charts at least)
PAGES = [
    ("overview", "", ["Entries per day", "Conversion", "weekday x hour"], 4),
    ("floor", "floor", ["Ground floor"], 1),
    ("dwell", "dwell", ["Holding power", "Dwell distribution"], 3),
    ("counters", "counters", ["Traffic vs conversion", "Recommendations"], 1),
    ("paths", "paths", ["Path efficiency (buyers)", "Most common paths"], 2),
    ("members", "members", ["Members by class", "Lapse alerts", "RFM segments"], 3),
    (
        "experiments-promotion",
        f"experiments?counter=C06&first={PROMO[0]}&last={PROMO[1]}",
        ["During the promotion", "After the promotion", "distinguishable from noise"],
        1,
    ),
    (
        "experiments-layout",
        f"experiments?kind=layout&day={CHANGE_DAY}&counter=C03",
        ["Effect", "Traffic (visitor trips): -6", "distinguishable from noise"],
        1,
    ),
]


@pytest.fixture(scope="module")
def planner_url(planted: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "planner.log"
    with streamlit_app(api_url=planted.url, token=planted.token, log=log) as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(900)  # the planted 84-day store is built in the set-up, which counts too
def test_a_planner_walks_every_page(planner_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    for name, path, texts, charts in PAGES:
        page.goto(f"{planner_url}/{path}")
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        text = settle_and_shoot(page, f"planner-{name}")
        assert page.locator(EXCEPTION).count() == 0, f"{name}: a Streamlit exception is shown"
        assert page.locator(ERROR_BOX).count() == 0, f"{name}: an error box is shown"
        assert page.locator(".js-plotly-plot").count() >= charts, name
        for expected in texts:
            assert expected in text, (name, expected)
        assert "Download CSV" in text, f"{name}: no CSV download"
