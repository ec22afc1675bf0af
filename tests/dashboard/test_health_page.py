"""The store-health page in headless Chromium: a reader that is unplugged shows as such by the
next heartbeat, a reader no longer reported shows late within two heartbeat intervals and silent
after the missed beats. Time moves only through the heartbeats' sent_at: they are dated a little
ahead of the server's clock, so the edge itself never falls silent while the test runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from storeflow.epc import encode_gid96
from storeflow.wire import IngestBatch, ReaderHealth, TagKind
from tests.fix_db import make_token
from tests.fix_store import SimulatedStore
from tests.helpers.browser import ERROR_BOX, EXCEPTION, SCRIPT_DONE, settle_and_shoot
from tests.helpers.devices import beat
from tests.helpers.ingest import zone_visit

INTERVAL = timedelta(seconds=10)  # the server's default heartbeat interval


@pytest.mark.browser
@pytest.mark.slow
def test_unplugged_reader_shows_on_the_health_page(
    simulated_store: SimulatedStore, dashboard_url: str, browser_page: object
) -> None:
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    token = make_token(simulated_store.db_url, "edge", store_id="demo")
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)

    def send(k: int, readers: dict[str, ReaderHealth]) -> None:
        b = beat(base + k * INTERVAL, device="edge-health", readers=readers)
        body = IngestBatch(device_id="edge-health", sent_at=b.sent_at, events=[b])
        r = httpx.post(
            f"{simulated_store.api_url}/api/v1/ingest",
            content=body.model_dump_json(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10.0,
        )
        assert r.status_code == 200, r.text

    def shown(name: str) -> str:
        page.goto(f"{dashboard_url}/health")
        page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
        page.wait_for_selector("text=Data completeness", timeout=60_000)
        text = settle_and_shoot(page, name)
        assert page.locator(EXCEPTION).count() == 0, f"{name}: a Streamlit exception is shown"
        assert page.locator(ERROR_BOX).count() == 0, f"{name}: an error box is shown"
        return text

    stats = {"reads_total": 5000, "frames_ok": 4900, "frames_bad": 12, "errors": {"crc": 12}}
    send(0, {"H1": ReaderHealth(connected=True, **stats), "H2": ReaderHealth(connected=True)})
    text = shown("health-ok")
    assert "Reader H1 (edge-health): ok" in text
    assert "Reader H2 (edge-health): ok" in text

    # H2 unplugged: the next heartbeat says so
    send(1, {"H1": ReaderHealth(connected=True, **stats), "H2": ReaderHealth(connected=False)})
    text = shown("health-unplugged")
    assert "Reader H2 (edge-health): DISCONNECTED" in text
    assert "Reader H1 (edge-health): ok" in text

    # H1 no longer reported (its loop stopped): late within two beats, silent after three
    send(3, {"H2": ReaderHealth(connected=False)})
    assert "Reader H1 (edge-health): LATE" in shown("health-late")
    send(4, {"H2": ReaderHealth(connected=False)})
    text = shown("health-silent")
    assert "Reader H1 (edge-health): SILENT" in text
    assert "Alerts" in text and "Edges" in text


@pytest.mark.browser
@pytest.mark.slow
def test_unknown_tags_show_on_the_health_page_by_pattern(
    simulated_store: SimulatedStore, dashboard_url: str, browser_page: object
) -> None:
    """Another company's class-11 GID-96 cards, not registered: store IT sees their pattern."""
    from playwright.sync_api import Page

    page = browser_page
    assert isinstance(page, Page)
    token = make_token(simulated_store.db_url, "edge", store_id="demo")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    visits = []
    for serial in range(3):
        epc = encode_gid96(4_711_000, 11, serial)
        for k, zone in enumerate(("C01", "C02")):
            enter = start + timedelta(minutes=10 * serial + 3 * k)
            visits.append(
                zone_visit(zone, enter, 90, epc, kind=TagKind.UNKNOWN, reader_id="R9", reads=12)
            )
    body = IngestBatch(device_id="edge-unknown", sent_at=start, events=visits)
    r = httpx.post(
        f"{simulated_store.api_url}/api/v1/ingest",
        content=body.model_dump_json(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10.0,
    )
    assert r.status_code == 200, r.text
    page.goto(f"{dashboard_url}/health")
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    page.wait_for_selector("text=EPC patterns seen most", timeout=60_000)
    text = settle_and_shoot(page, "health-unknown-tags")
    assert page.locator(EXCEPTION).count() == 0
    assert "Unknown pattern: gid-96 (96 bit), company 4711000, object class 11: 3 tags" in text
    assert "6 visits" in text
