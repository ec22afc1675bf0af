"""Headless Chromium and Streamlit for the browser tests: start the dashboard, wait for a page
to be finished (by Streamlit's own script state and Plotly's drawn charts, never by a fixed
pause), take screenshots."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dashboard.serve import command
from storeflow.net import free_port

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
SHOTS = Path("test-artifacts/screenshots")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1400, 1000
EXCEPTION = '[data-testid="stException"]'
ERROR_BOX = '[data-testid="stAlertContentError"]'
# Streamlit marks its root with the script's run state; Vega draws an svg.marks per chart.
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHART = '[data-testid="stVegaLiteChart"]'
DATAFRAME = '[data-testid="stDataFrame"]'
ALERT = '[data-testid="stAlert"]'
PLOTS_DRAWN = (
    f"() => [...document.querySelectorAll('{CHART}')]"
    ".every(p => p.querySelector('svg.marks, canvas.marks'))"
)
NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def streamlit_app(*, api_url: str, token: str, log: Path) -> Iterator[str]:
    """``python -m dashboard.serve run dashboard/app.py`` (as ``storeflow dashboard`` runs it)
    against ``api_url``; yields the dashboard's URL."""
    port = free_port()
    env = {**os.environ, "STOREFLOW_API_URL": api_url, "STOREFLOW_API_TOKEN": token}
    argv = command(APP, port=port)
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def settle_and_shoot(page: object, name: str, shots: Path = SHOTS) -> str:
    """Wait until Streamlit has finished running, screenshot the whole page, return its text."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    page.wait_for_function(PLOTS_DRAWN, timeout=30_000)
    # Streamlit scrolls inside its main block: grow the viewport to the content for the shot.
    height = page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stMainBlockContainer"]\')].map(e => e.scrollHeight), 0)'
    )
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, int(height))})
    page.evaluate(NEXT_FRAMES)  # the resized page has been laid out and painted
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    return page.inner_text("body")
