"""``storeflow bench pages``: every dashboard page loaded cold in headless Chromium, timed.

A private embedded PostgreSQL holds ``--days`` of the demo store (as ``bench dashboard`` fills
it, daily facts computed), a real server answers on a free port and ``storeflow dashboard``
(Streamlit) runs against it. Each page is opened ``--runs`` times, each time in a fresh browser
context (no cookies, no HTTP cache, a new Streamlit session), and timed from navigation until its
charts are drawn and Streamlit has finished running the page ("time to charts"). The first load
of each page after the dashboard starts is reported apart (``first_ms``): it pays for the
dashboard's own caches being empty. Prints p50/p95 per page as JSON.

Chromium is Debian's (``/usr/bin/chromium``); Playwright only drives it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from orchestration.bench_dashboard import _prepare
from orchestration.bench_data import populate
from orchestration.procs import storeflow_command
from server.embedded_pg import EmbeddedPostgres
from server.migrate import migrate
from server.threaded import serve_in_thread
from storeflow.net import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = ("overview", "floor", "dwell", "counters", "paths", "members", "experiments")
TARGET_P95_MS = 2000.0
CHART = '[data-testid="stVegaLiteChart"]'

# Drawn: Streamlit is not running the page, at least one chart is there and Vega has drawn
# every chart's marks. A page without charts counts as drawn when its run ends (``charts`` in the
# result says which).
_CONTENT = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]'
_DRAWN = (
    """() => {
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (!document.querySelector('"""
    + _CONTENT
    + """')) return false;
  const plots = [...document.querySelectorAll('"""
    + CHART
    + """')];
  if (plots.length === 0) return false;
  return plots.every(p => p.querySelector('svg.marks, canvas.marks'));
}"""
)
_SETTLED = (
    """() => !document.querySelector('[data-testid="stStatusWidget"]') &&
  !!document.querySelector('"""
    + _CONTENT
    + "')"
)


@contextmanager
def dashboard(*, api_url: str, token: str, log: Path) -> Iterator[str]:
    """``storeflow dashboard`` on a free port until the block ends; yields its URL."""
    port = free_port()
    argv = storeflow_command("dashboard", "--port", str(port), "--api-url", api_url)
    env = {**os.environ, "STOREFLOW_API_TOKEN": token}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "--token", token], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def time_page(browser: Any, url: str, *, timeout_ms: float = 60_000) -> tuple[float, int]:
    """One cold load of ``url``: (ms until drawn, charts on the page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        try:
            page.wait_for_function(_DRAWN, timeout=timeout_ms, polling=50)
        except Exception:  # no chart on this page: time until its run ended
            page.wait_for_function(_SETTLED, timeout=timeout_ms, polling=50)
        ms = (time.perf_counter() - t0) * 1000
        return ms, page.locator(CHART).count()
    finally:
        context.close()


def _p(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure_pages(base_url: str, *, pages: tuple[str, ...], runs: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name in pages:
                url = f"{base_url}/{'' if name == 'overview' else name}"
                first, charts = time_page(browser, url)
                times = [time_page(browser, url)[0] for _ in range(runs)]
                rows.append(
                    {
                        "page": name,
                        "charts": charts,
                        "first_ms": round(first),
                        "p50_ms": round(_p(times, 50)),
                        "p95_ms": round(_p(times, 95)),
                        "runs": runs,
                    }
                )
        finally:
            browser.close()
    return rows


def run_pages_bench(
    *,
    days: int,
    trips_per_day: int,
    runs: int,
    pages: tuple[str, ...],
    data_dir: Path | None,
    as_json: bool,
    say: Callable[[str], None] = print,
) -> int:
    if not Path(CHROMIUM).exists():
        say(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        return 2
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    quiet = as_json
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-") as tmp:
        folder = data_dir or Path(tmp) / "pg"
        fresh = not (folder / "PG_VERSION").exists()
        pg = EmbeddedPostgres(folder)
        pg.start()
        try:
            meta = folder.parent / f"{folder.name}.pages.json"
            asyncio.run(migrate(pg.url))
            if fresh:
                populate(
                    pg.url,
                    days=days,
                    trips_per_day=trips_per_day,
                    end=end,
                    progress=None if quiet else say,
                )
                meta.write_text(json.dumps({"end": end.isoformat(), "days": days}))
            else:
                saved = json.loads(meta.read_text())
                end, days = datetime.fromisoformat(saved["end"]), int(saved["days"])
            token, _ = asyncio.run(_prepare(pg.url, end, days))
            with (
                serve_in_thread(pg.url) as api_url,
                dashboard(api_url=api_url, token=token, log=Path(tmp) / "dashboard.log") as url,
            ):
                if not quiet:
                    say(f"dashboard on {url}; {runs} cold loads per page ...")
                rows = measure_pages(url, pages=pages, runs=runs)
        finally:
            pg.stop()
    worst = max(float(r["p95_ms"]) for r in rows)
    print(
        json.dumps(
            {
                "days": days,
                "trips_per_day": trips_per_day,
                "pages": rows,
                "slowest_p95_ms": worst,
                "target_p95_ms": TARGET_P95_MS,
            }
        )
    )
    return 0 if worst <= TARGET_P95_MS else 1
