"""A planner walks every dashboard page over 84 days of planted history in headless Chromium.

The experiments page is opened on the planted promotion and the planted layout change (the
question travels in the link) and must call both distinguishable. Screenshots are kept in
test-artifacts/screenshots/planner-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.fix_planted import CHANGE_DAY, FIRST, PROMO, Store
from tests.helpers.browser import (
    ALERT,
    CHART,
    DATAFRAME,
    ERROR_BOX,
    EXCEPTION,
    settle_and_shoot,
    streamlit_app,
)

# (screenshot, url path + query, texts the page must show, charts at least)
PAGES = [
    ("overview", "", ["Entries per day", "Conversion", "weekday x hour"], 4),
    ("floor", "floor", ["Ground floor"], 1),
    ("dwell", "dwell", ["Holding power", "Dwell distribution"], 3),
    ("counters", "counters", ["Traffic vs conversion", "Recommendations"], 1),
    ("paths", "paths", ["Path efficiency (buyers)", "Most common paths"], 2),
    ("members", "members", ["Members by class", "RFM segments", "Age band x gender"], 3),
    ("retention", "retention", ["Lapse alerts", "members overdue", "Triggered contacts"], 0),
    (
        "experiments-promotion",
        f"experiments?counter=C06&first={PROMO[0]}&last={PROMO[1]}",
        ["During the promotion", "After the promotion", "distinguishable from noise"],
        1,
    ),
    (
        "experiments-layout",
        f"experiments?kind=layout&day={CHANGE_DAY}&counter=C03",
        ["Effect", "Traffic (visitor trips): -6", "relative", "distinguishable from noise"],
        1,
    ),
]


@pytest.fixture(scope="module")
def planner_url(planted: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "planner.log"
    with streamlit_app(api_url=planted.url, token=planted.token, log=log) as url:
        yield url


# the module's fixture plants 84 days of history first: minutes on a busy machine
@pytest.mark.timeout(900)
@pytest.mark.browser
@pytest.mark.slow
def test_a_planner_walks_every_page(planner_url: str, browser_page: object) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    for name, path, texts, charts in PAGES:
        page.goto(f"{planner_url}/{path}")
        page.wait_for_selector(CHART if charts else DATAFRAME, timeout=120_000)
        text = settle_and_shoot(page, f"planner-{name}")
        assert page.locator(EXCEPTION).count() == 0, f"{name}: a Streamlit exception is shown"
        assert page.locator(ERROR_BOX).count() == 0, f"{name}: an error box is shown"
        assert page.locator(CHART).count() >= charts, name
        for expected in texts:
            assert expected in text, (name, expected)
        assert "Download CSV" in text, f"{name}: no CSV download"


def _open(page: object, url: str, name: str, *, ready: str = CHART) -> str:
    """The page at ``url`` once ``ready`` (a chart unless said otherwise) is shown."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(url)
    page.wait_for_selector(ready, timeout=120_000)
    text = settle_and_shoot(page, name)
    assert page.locator(EXCEPTION).count() == 0, f"{name}: a Streamlit exception is shown"
    return text


@pytest.mark.timeout(900)
@pytest.mark.browser
@pytest.mark.slow
def test_a_planner_reads_verdicts_that_hold(planner_url: str, browser_page: object) -> None:
    """What the newcomer saw wrong, as a person sees it: the best earner per m² told to keep,
    a swap judged per counter, a contaminated control named, an empty period without
    verdicts, members without a useless P(alive) filter, and changes that say their kind."""
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)

    text = _open(page, f"{planner_url}/counters", "verdict-counters")
    first = next(line for line in text.splitlines() if line.startswith("1. "))
    assert "Keep" in first, first  # rank 1 by sales per m² is kept, whatever its quadrant

    swap = f"experiments?kind=layout&day={CHANGE_DAY}&counter=C03&counter=C07"
    text = _open(page, f"{planner_url}/{swap}", "verdict-layout-swap")
    assert "Effect on C03" in text and "Effect on C07" in text
    c03 = text[text.index("Effect on C03") :]
    assert "Traffic (visitor trips): -" in c03.splitlines()[1], c03[:200]
    c07 = text[text.index("Effect on C07") :]
    assert "Traffic (visitor trips): +" in c07.splitlines()[1], c07[:200]

    alone = f"experiments?kind=layout&day={CHANGE_DAY}&counter=C03"
    text = _open(page, f"{planner_url}/{alone}", "verdict-layout-control")
    assert "C07's own traffic changed" in text  # the swapped partner is no control
    assert "left out of the control group" in text

    empty = f"counters?from={FIRST - timedelta(days=30)}&to={FIRST - timedelta(days=24)}"
    text = _open(page, f"{planner_url}/{empty}", "verdict-counters-empty", ready=ALERT)
    assert "No data in this period" in text
    assert "Keep" not in text and page.locator(CHART).count() == 0

    text = _open(page, f"{planner_url}/retention", "verdict-retention", ready=DATAFRAME)
    assert "P(alive) is unknown here" in text  # rather than a filter that does nothing

    text = _open(page, f"{planner_url}/", "verdict-overview")
    assert "relative" in text and "points" in text  # changes say what kind they are
    assert "Needs attention" in text


@pytest.mark.timeout(900)
@pytest.mark.browser
@pytest.mark.slow
def test_a_planner_opens_on_alerts_verdicts_and_the_calendar(
    planted: Store, browser_page: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The promotion and the layout change recorded in the store's calendar are marked on the
    charts and judged on the overview, which opens on what needs attention; the counters show
    their terms and the store's take; UPT and shoppers per staff member are on the overview."""
    import httpx
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    auth = {"Authorization": f"Bearer {planted.token}"}
    for event in (
        {
            "kind": "promotion",
            "title": "Aurum watch week",
            "first_day": PROMO[0].isoformat(),
            "last_day": PROMO[1].isoformat(),
            "counters": ["C06"],
        },
        {
            "kind": "layout_change",
            "title": "C03 and C07 trade places",
            "first_day": CHANGE_DAY.isoformat(),
            "counters": ["C03", "C07"],
        },
    ):
        r = httpx.post(f"{planted.url}/api/v1/stores/demo/calendar", json=event, headers=auth)
        assert r.status_code == 201, r.text
    log = tmp_path_factory.mktemp("streamlit") / "calendar.log"
    # a dashboard of its own: the module's one may hold the calendar from before, for 30 s
    with streamlit_app(api_url=planted.url, token=planted.token, log=log) as url:
        first, last = PROMO[0] - timedelta(days=14), PROMO[1] + timedelta(days=7)
        text = _open(page, f"{url}/?from={first}&to={last}", "calendar-overview")
        assert text.index("Needs attention") < text.index("Entries (trips)")  # opens on it
        calendar = next(line for line in text.splitlines() if line.startswith("Calendar:"))
        assert "Aurum watch week (promotion of C06" in calendar, calendar
        assert "traffic +" in calendar and "distinguishable from noise" in calendar, calendar
        assert "Aurum Watches (C06) — Review the contract: ranks #" in text
        assert "Units per sale (UPT)" in text and "Shoppers per staff member" in text
        # the promotion is drawn on the footfall, occupancy and staffing charts
        marks = page.locator(f"{CHART} text", has_text="Aurum watch week")
        assert marks.count() == 3

        text = _open(page, f"{url}/counters?from={first}&to={last}", "calendar-counters")
        assert "Terms from the store layout" in text  # the table's terms and take columns
        assert "at 8% commission, the store takes" in text
        assert "under its target of 900" in text

        text = _open(page, f"{url}/experiments?kind=layout", "calendar-layout")
        assert f"Layout changes on record: {CHANGE_DAY:%d %b %Y}" in text
        assert "Effect on C03" in text and "Effect on C07" in text  # the recorded counters
        swap = page.locator(f"{CHART} text", has_text="C03 and C07 trade")
        assert swap.count() == 1
