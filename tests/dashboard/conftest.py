"""The dashboard on top of a real server holding a simulated day (tests/fix_store.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.embedded_pg import free_port
from tests.fix_store import SimulatedStore

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def dashboard_url(simulated_store: SimulatedStore, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "STOREFLOW_API_URL": simulated_store.api_url,
        "STOREFLOW_API_TOKEN": simulated_store.planner_token,
    }
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(Path("dashboard/app.py").resolve()),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start:\n{log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM
