"""The record of processing as anyone sees it: headless Chromium opens ``/privacy`` with no
credential and finds the controller, the purposes, the consents and the retention periods.
Screenshot: test-artifacts/screenshots/privacy-record.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from server.threaded import serve_in_thread
from tests.helpers.browser import ARGS, CHROMIUM, SHOTS

EXAMPLE = Path("config/privacy_record.example.yaml")


@pytest.mark.browser
@pytest.mark.slow
def test_the_record_page_opens_without_a_credential(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("STOREFLOW_PRIVACY_RECORD", str(EXAMPLE))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve_in_thread(db_url) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        answer = page.goto(f"{base}/privacy")
        assert answer is not None and answer.status == 200
        expect(page.locator("h1")).to_have_text("How this store uses member data")
        body = page.locator("body")
        expect(body).to_contain_text("Example Department Store Co., Ltd.")
        for heading in (
            "Who is responsible",
            "What we use your data for",
            "Consents we ask for",
            "How long we keep it",
        ):
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
        for purpose in ("in_store_tracking", "marketing", "profiling"):
            expect(body).to_contain_text(purpose)
        page.screenshot(path=str(SHOTS / "privacy-record.png"), full_page=True)
        browser.close()
