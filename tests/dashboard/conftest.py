"""The dashboard on top of a real server holding a simulated day (tests/fix_store.py).

Streamlit runs as a subprocess on a free port, stopped at the end of the module; its output goes
to a log file that a failing start shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.fix_store import SimulatedStore
from tests.helpers.browser import ARGS, CHROMIUM, HEIGHT, WIDTH, streamlit_app


@pytest.fixture(scope="module")
def dashboard_url(
    simulated_store: SimulatedStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with streamlit_app(
        api_url=simulated_store.api_url, token=simulated_store.planner_token, log=log
    ) as url:
        yield url


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser_page(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        finally:
            browser.close()
