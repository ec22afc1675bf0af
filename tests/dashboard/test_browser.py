"""Every dashboard page in headless Chromium, as a planner sees it; screenshots are kept in
test-artifacts/screenshots/ (look at them: an element count misses an empty chart)."""

from __future__ import annotations

import pytest

from storeflow.net import free_port
from tests.fix_store import SimulatedStore
from tests.helpers.browser import (
    CHART,
    DATAFRAME,
    ERROR_BOX,
    EXCEPTION,
    settle_and_shoot,
    streamlit_app,
)

# (screenshot name, url path, text the page must show, charts expected at least)
PAGES = [
    ("overview", "", "Entries per day", 2),
    ("floor", "floor", "Ground floor: visits by zone", 1),
    ("dwell", "dwell", "Dwell by zone", 2),
    ("counters", "counters", "Traffic vs conversion", 1),
    ("paths", "paths", "Transition matrix", 2),
]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("simulated_store")
def test_every_page_renders_its_charts(dashboard_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    for name, path, expect, charts in PAGES:
        page.goto(f"{dashboard_url}/{path}")
        page.wait_for_selector(CHART, timeout=60_000)
        text = settle_and_shoot(page, name)
        assert page.locator(EXCEPTION).count() == 0, f"{name}: a Streamlit exception is shown"
        assert page.locator(ERROR_BOX).count() == 0, f"{name}: an error box is shown"
        assert page.locator(CHART).count() >= charts, name
        assert expect in text, name
        assert "Page not found" not in text
        assert "Download CSV" in text or name == "overview", f"{name}: no CSV download"
        if name == "overview":
            # the simulated day is Monday 2 November: its bar is labelled, KPI tiles are filled
            assert "02 Nov 2026" in text
            assert "Median zone dwell" in text and "no data" not in text
        if name == "floor":
            assert "C03" in text and "Linea Womenswear" in text  # labels on the plan
            assert "Visits" in text  # the colour bar's title
        if name == "counters":
            assert "Review" in text or "Keep" in text
        if name == "paths":
            assert "Most common paths" in text


@pytest.mark.browser
@pytest.mark.slow
def test_wrong_token_and_server_down_read_as_plain_errors(
    simulated_store: SimulatedStore,
    browser_page: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    cases = [
        ("error-bad-token", simulated_store.api_url, "rejected the API token"),
        ("error-server-down", f"http://127.0.0.1:{free_port()}", "Cannot reach the Storeflow"),
    ]
    for name, api_url, message in cases:
        log = tmp_path_factory.mktemp("streamlit") / f"{name}.log"
        with streamlit_app(api_url=api_url, token="not-a-planner-token", log=log) as url:
            page.goto(url)
            page.wait_for_selector(ERROR_BOX, timeout=60_000)
            text = settle_and_shoot(page, name)
            assert page.locator(EXCEPTION).count() == 0, f"{name}: a stack trace is shown"
        assert message in text, name
        assert "Traceback" not in text


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("simulated_store")
def test_the_overview_draws_its_figures_tables_when_asked(
    dashboard_url: str, browser_page: object
) -> None:
    """The tables that only repeat the overview's charts are not drawn with every load (a data
    grid is the heaviest element of a page); their CSV downloads are there from the start and
    a toggle draws each table."""
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    page.goto(dashboard_url)
    page.wait_for_selector(CHART, timeout=60_000)
    settle_and_shoot(page, "overview-tables-closed")
    assert page.locator(DATAFRAME).count() == 0
    assert page.get_by_text("Download CSV").count() >= 3
    page.get_by_text("Footfall table").click()
    page.wait_for_selector(DATAFRAME, timeout=60_000)
    text = settle_and_shoot(page, "overview-tables-open")
    assert page.locator(DATAFRAME).count() == 1
    assert "Footfall table" in text
