"""Every dashboard page in headless Chromium, as a planner sees it; screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

SHOTS = Path("test-artifacts/screenshots")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_renders_its_charts(dashboard_url: str, chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, path, expect in [
            ("overview", "", "Footfall"),
            ("floor", "floor", "Floor heatmap"),
            ("dwell", "dwell", "Dwell by zone"),
            ("counters", "counters", "Traffic vs conversion"),
        ]:
            page.goto(f"{dashboard_url}/{path}")
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            page.wait_for_timeout(1500)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            assert expect in page.inner_text("body")
            assert "Page not found" not in page.inner_text("body")
            if name == "floor":
                assert "C03" in page.inner_text("body")  # zone labels on the plan
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert "Review" in page.inner_text("body") or "Keep" in page.inner_text("body")
        browser.close()
