"""``storeflow bench pages``: every dashboard page loaded cold in headless Chromium, timed.

A private embedded PostgreSQL holds ``--days`` of the demo store (as ``bench dashboard`` fills
it, daily facts computed), a real server answers on a free port and ``storeflow dashboard``
(Streamlit) runs against it. Each page is opened ``--runs`` times, each time cold: in a new tab
of an open browser window with the HTTP cache off and no cookies or storage, so every script is
fetched and compiled again and Streamlit starts a new session (``--new-window``: in a new browser
context instead, which adds Chromium's start-up of a window, about a second of CPU here, to
every load). Each load is timed from navigation until Streamlit has finished running the page
and its last chart is drawn ("time to charts"; see :func:`time_page`). The first load
of each page after the dashboard starts is reported apart (``first_ms``): it pays for the
dashboard's own caches being empty. The timed loads go round the pages (one load of each, then
the next round), so a slow spell of the machine falls on all of them alike.

A **reference page** (:mod:`orchestration.pages_reference`: the dashboard's navigation and
sidebar filters around one title and one chart, no API) is served the same way and timed in the
same rounds: Streamlit's own floor for such a page on the machine of the run. Each page's p50 is
also given as a ratio to the reference's, a figure that holds from one machine to another where
the seconds do not. Prints a table (unless ``--json``) and p50/p95 per page as JSON.

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

from dashboard.serve import command
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
PAGES = ("overview", "floor", "dwell", "counters", "paths", "members", "retention", "experiments")
TARGET_P95_MS = 2000.0
VIEWPORT: Any = {"width": 1400, "height": 1000}  # playwright's ViewportSize
CHART = '[data-testid="stVegaLiteChart"]'

# Drawn: the page's run has ended (Streamlit marks the app "notRunning" once a run with an id
# is over; the status widget alone shows only after a delay, so a page read before it appeared
# would count as done), at least one chart is there and Vega has drawn every chart's marks. A
# page without charts counts as drawn when its run ends (``charts`` in the result says which).
_CONTENT = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]'
_RUN_OVER = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Charts present and drawn, or -1 while the page is still running or a present chart is not
# drawn yet.
_CHARTS_DRAWN = (
    """() => {
  if (!document.querySelector('"""
    + _RUN_OVER
    + """')) return -1;
  const plots = [...document.querySelectorAll('"""
    + CHART
    + """')];
  return plots.every(p => p.querySelector('svg.marks, canvas.marks')) ? plots.length : -1;
}"""
)
# drawn so far: the run is over, the page shows content and every chart present is drawn
_DRAWN = "() => (" + _CHARTS_DRAWN + ")() >= 0 && !!document.querySelector('" + _CONTENT + "')"


REFERENCE = "reference"  # the reference page's name in the results


@contextmanager
def dashboard(*, api_url: str, token: str, log: Path) -> Iterator[str]:
    """``storeflow dashboard`` on a free port until the block ends; yields its URL."""
    port = free_port()
    argv = storeflow_command("dashboard", "--port", str(port), "--api-url", api_url)
    env = {**os.environ, "STOREFLOW_API_TOKEN": token}
    with _serving("the dashboard", [*argv, f"--token={token}"], port, env, log) as url:
        yield url


@contextmanager
def reference_page(*, log: Path) -> Iterator[str]:
    """The reference page (:mod:`orchestration.pages_reference`) served as the dashboard is
    (``dashboard.serve``) on a free port until the block ends; yields its URL."""
    port = free_port()
    argv = command(Path(__file__).with_name("pages_reference.py"), port=port, host="127.0.0.1")
    with _serving("the reference page", argv, port, dict(os.environ), log) as url:
        yield url


@contextmanager
def _serving(
    name: str, argv: list[str], port: int, env: dict[str, str], log: Path
) -> Iterator[str]:
    """``argv`` (a Streamlit server on ``port``, called ``name`` in errors) running until the
    block ends; yields its URL once it answers its health check."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
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
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _open(browser: Any, context: Any | None) -> tuple[Any, Any]:
    """A page with nothing cached: in ``context`` (a new tab, the HTTP cache off, no cookies or
    storage) or, without one, in a new browser context. Returns (page, what to close)."""
    if context is None:
        fresh = browser.new_context(viewport=VIEWPORT)
        return fresh.new_page(), fresh
    context.clear_cookies()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Storage.clearDataForOrigin", {"origin": "*", "storageTypes": "all"})
    return page, page


QUIET_S = 1.5  # a page is done when no further chart is drawn for this long


def time_page(
    browser: Any, url: str, *, context: Any | None = None, timeout_ms: float = 60_000
) -> tuple[float, int]:
    """One cold load of ``url``: (ms until its last chart was drawn, charts on the page).

    Streamlit reports the run over before the browser has mounted every element it sent, so a
    chart can appear after the first moment when every chart present is drawn: the page is
    watched until no further chart is drawn for :data:`QUIET_S`, and the time is that of the
    last one (to the 50 ms of the polling)."""
    page, closing = _open(browser, context)
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(_DRAWN, timeout=timeout_ms, polling=50)
        done = time.perf_counter()
        charts = int(page.evaluate(_CHARTS_DRAWN))
        while time.perf_counter() - done < QUIET_S:
            time.sleep(0.05)
            now = int(page.evaluate(_CHARTS_DRAWN))
            if now > charts:
                charts, done = now, time.perf_counter()
        return (done - t0) * 1000, charts
    finally:
        closing.close()


def _p(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure_pages(
    urls: dict[str, str], *, runs: int, new_window: bool = False
) -> list[dict[str, Any]]:
    """Each page of ``urls`` (name -> URL) loaded once, then ``runs`` rounds of one timed load
    of each, every load cold (see :func:`_open`): in a new tab of one open browser window, as a
    planner opens a link, or (``new_window``) in a new browser context each time, which adds
    Chromium's start-up of a window to every load."""
    from playwright.sync_api import sync_playwright

    first: dict[str, tuple[float, int]] = {}
    times: dict[str, list[float]] = {name: [] for name in urls}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        window = None if new_window else browser.new_context(viewport=VIEWPORT)
        try:
            for name, url in urls.items():
                first[name] = time_page(browser, url, context=window)
            for _ in range(runs):
                for name, url in urls.items():
                    times[name].append(time_page(browser, url, context=window)[0])
        finally:
            browser.close()
    return [
        {
            "page": name,
            "charts": first[name][1],
            "first_ms": round(first[name][0]),
            "p50_ms": round(_p(times[name], 50)),
            "p95_ms": round(_p(times[name], 95)),
            "runs": runs,
        }
        for name in urls
    ]


def with_ratios(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The reference page's row, and the dashboard's rows each with ``vs_reference``: its p50
    over the reference's p50."""
    ref = next(r for r in rows if r["page"] == REFERENCE)
    pages = [
        {**r, "vs_reference": round(r["p50_ms"] / ref["p50_ms"], 2)}
        for r in rows
        if r["page"] != REFERENCE
    ]
    return ref, pages


def table(reference: dict[str, Any], pages: list[dict[str, Any]]) -> str:
    """The results as a text table, the reference page last."""
    lines = [f"{'page':<14}{'charts':>7}{'p50 s':>8}{'p95 s':>8}{'x reference':>13}"]
    for r in [*pages, {**reference, "vs_reference": 1.0}]:
        lines.append(
            f"{r['page']:<14}{r['charts']:>7}{r['p50_ms'] / 1000:>8.2f}{r['p95_ms'] / 1000:>8.2f}"
            f"{r['vs_reference']:>13.2f}"
        )
    return "\n".join(lines)


def run_pages_bench(
    *,
    days: int,
    trips_per_day: int,
    runs: int,
    pages: tuple[str, ...],
    data_dir: Path | None,
    as_json: bool,
    new_window: bool = False,
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
                reference_page(log=Path(tmp) / "reference.log") as ref_url,
            ):
                if not quiet:
                    say(f"dashboard on {url}; {runs} rounds of cold loads, a reference page ...")
                urls = {name: f"{url}/{'' if name == 'overview' else name}" for name in pages}
                urls[REFERENCE] = ref_url
                rows = measure_pages(urls, runs=runs, new_window=new_window)
        finally:
            pg.stop()
    reference, timed = with_ratios(rows)
    worst = max(float(r["p95_ms"]) for r in timed)
    if not quiet:
        say(table(reference, timed))
    print(
        json.dumps(
            {
                "days": days,
                "trips_per_day": trips_per_day,
                "load": "new window" if new_window else "new tab, cache off",
                "pages": timed,
                "reference": reference,
                "slowest_p95_ms": worst,
                "target_p95_ms": TARGET_P95_MS,
            }
        )
    )
    return 0 if worst <= TARGET_P95_MS else 1
