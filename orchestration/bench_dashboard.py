"""``storeflow bench dashboard``: latency of every API call the dashboard makes, on a busy store.

A private embedded PostgreSQL is filled with ``--days`` of the demo store at ``--trips-per-day``
(:func:`orchestration.bench_data.populate`: the simulator's truth straight into the tables), the
daily facts and the member figures are computed once (timed: that is the work the server does
in the background as data arrives), then a real server on a free port answers each dashboard
call ``--repeat`` times for the default selection (the last 7 days) and for the whole history.
Prints p50 and p95 per call. ``--data-dir`` keeps the database for another run;
``--database-url`` measures an existing server (TimescaleDB, say) instead of the embedded one.
The experiment calls' windows fit the history (:func:`experiments`).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from orchestration.bench_data import populate
from server.embedded_pg import EmbeddedPostgres
from server.member_status import ensure_status
from server.migrate import migrate
from server.queries.credentials import create_credential
from server.queries.facts import select
from server.rollup import refresh_dirty
from server.threaded import serve_in_thread

STORE = "demo"
TARGET_MS = 300.0


@dataclass(frozen=True)
class Experiments:
    """Dates of the experiment calls that fit ``days`` of history ending before ``end``."""

    promo: tuple[str, str, int, int] | None  # first day, last day, before_days, after_days
    change: tuple[str, int] | None  # the layout change's day, days compared on each side


MIN_SIDE_DAYS = 7  # the API's smallest before_days / days


def experiments(end: date, days: int) -> Experiments:
    """A 7-day promotion after up to 28 days before it and followed by up to 14 days, and a
    layout change with up to 28 days on each side, all inside the history: on 90 days these
    are the API's defaults; on a short history the windows shrink, and a call that cannot fit
    its smallest window is left out."""
    after = min(14, max(0, (days - 14) // 3))
    before = min(28, days - 7 - after)
    promo = None
    if before >= MIN_SIDE_DAYS:
        last = end - timedelta(days=1 + after)
        first = last - timedelta(days=6)
        promo = (first.isoformat(), last.isoformat(), before, after)
    side = min(28, days // 2)
    change = ((end - timedelta(days=side)).isoformat(), side) if side >= MIN_SIDE_DAYS else None
    return Experiments(promo=promo, change=change)


def calls(first: str, end: str, exp: Experiments) -> list[tuple[str, dict[str, Any]]]:
    """The dashboard's calls for one selection (``first`` .. ``end``, end exclusive)."""
    sel = {"start": first, "end": end}
    out: list[tuple[str, dict[str, Any]]] = [
        ("layout", {}),
        ("analytics/summary", sel),
        ("analytics/footfall", {**sel, "bucket": "hour"}),
        ("analytics/footfall", {**sel, "bucket": "day"}),
        ("analytics/zone-footfall", sel),
        ("analytics/occupancy", sel),
        ("analytics/heatmap", sel),
        ("analytics/dwell", sel),
        ("analytics/dwell-distribution", sel),
        ("analytics/zone-visits", sel),
        ("analytics/counters", sel),
        ("analytics/paths", sel),
        ("analytics/members", sel),
        ("analytics/members/lapse", sel),
    ]
    if exp.promo is not None:
        first_day, last_day, before, after = exp.promo
        params = {"counter": "C06", "first_day": first_day, "last_day": last_day}
        out.append(
            (
                "analytics/experiments/promotion",
                {**params, "before_days": before, "after_days": after},
            )
        )
    if exp.change is not None:
        out.append(
            (
                "analytics/experiments/layout-change",
                {"day": exp.change[0], "days": exp.change[1], "counter": "C03"},
            )
        )
    return out


async def _prepare(url: str, end: datetime, days: int) -> tuple[str, dict[str, float]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        token = await create_credential(conn, name="bench", role="planner", chain=True)
        await conn.commit()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        days_done = 0
        while n := await refresh_dirty(conn, max_days=10):
            days_done += n
        timings["facts_s"] = time.perf_counter() - t0
        timings["facts_days"] = days_done
        for label, n in (("members_7d_s", 7), ("members_all_s", days)):
            sel = await select(conn, STORE, end - timedelta(days=n), end)
            t0 = time.perf_counter()
            await ensure_status(conn, STORE, sel.end, staleness_s=1e9)
            await conn.commit()
            timings[label] = time.perf_counter() - t0
    return token, timings


def _time(client: httpx.Client, path: str, params: dict[str, Any], repeat: int) -> list[float]:
    url = f"/api/v1/stores/{STORE}/{path}"
    r = client.get(url, params=params)  # warm: connection, plans
    r.raise_for_status()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(url, params=params)
        out.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@contextmanager
def _embedded(data_dir: Path | None) -> Iterator[tuple[str, Path | None]]:
    """A private embedded PostgreSQL: its URL, and the file recording a kept database's
    history (None while the database is fresh)."""
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-") as tmp:
        folder = data_dir or Path(tmp) / "pg"
        fresh = not (folder / "PG_VERSION").exists()
        pg = EmbeddedPostgres(folder)
        pg.start()
        try:
            yield pg.url, None if fresh else folder.parent / f"{folder.name}.bench.json"
        finally:
            pg.stop()


@contextmanager
def _external(url: str) -> Iterator[tuple[str, Path | None]]:
    yield url, None


async def _history(url: str) -> tuple[datetime, int] | None:
    """The end (exclusive, midnight UTC) and days of the demo store's visits, if it has any."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT min(enter_at), max(enter_at) FROM zone_visit WHERE store_id = %s", (STORE,)
        )
        row = await cur.fetchone()
    if row is None or row[0] is None:
        return None
    first = row[0].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = row[1].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end += timedelta(days=1)
    return end, (end - first).days


def run_dashboard_bench(
    *,
    days: int,
    trips_per_day: int,
    repeat: int,
    data_dir: Path | None,
    as_json: bool,
    database_url: str | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """``database_url``: an existing database (migrated here; filled only if the demo store has
    no visits yet, else its history is measured as it is) instead of an embedded one."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with _external(database_url) if database_url else _embedded(data_dir) as (url, meta):
        asyncio.run(migrate(url))
        known = None
        if database_url:
            known = asyncio.run(_history(url))
        elif meta is not None:
            saved = json.loads(meta.read_text())
            known = datetime.fromisoformat(saved["end"]), int(saved["days"])
        if known is None:
            result = populate(
                url,
                days=days,
                trips_per_day=trips_per_day,
                end=end,
                progress=say if not as_json else None,
            )
            if data_dir is not None and not database_url:
                (data_dir.parent / f"{data_dir.name}.bench.json").write_text(
                    json.dumps({"end": end.isoformat(), "days": days})
                )
            say(
                f"loaded {result.trips:,} trips, {result.visits:,} zone visits and "
                f"{result.purchases:,} sales in {result.seconds:.0f} s"
            )
        else:
            end, days = known
            say(f"measuring the {days} days of history already there (up to {end.date()})")
        token, prep = asyncio.run(_prepare(url, end, days))
        say(
            f"daily facts: {prep['facts_s']:.1f} s for {prep['facts_days']:.0f} days "
            "(0: computed by an earlier run); member figures: "
            f"{prep['members_7d_s']:.1f} s (0: kept from an earlier run)"
        )
        exp = experiments(end.date(), days)
        if exp.promo is None or exp.change is None:
            say(f"{days} days are too few for some experiment calls: left out")
        selections = {
            "7 days": ((end - timedelta(days=7)).date().isoformat(), end.date().isoformat()),
            f"{days} days": (
                (end - timedelta(days=days)).date().isoformat(),
                end.date().isoformat(),
            ),
        }
        rows: list[dict[str, Any]] = []
        with (
            serve_in_thread(url) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client,
        ):
            for label, (first, stop) in selections.items():
                for path, params in calls(first, stop, exp):
                    try:
                        ms = _time(client, path, params, repeat)
                    except httpx.HTTPStatusError as exc:
                        # an experiment needs days with data on each side: a short or thin
                        # history may not have them (422), which is an answer, not a crash
                        if exc.response.status_code != 422 or "experiments" not in path:
                            raise
                        say(f"{label}: {path} left out: {exc.response.text[:200]}")
                        continue
                    name = path.removeprefix("analytics/")
                    if "bucket" in params:
                        name += f"?bucket={params['bucket']}"
                    rows.append(
                        {
                            "selection": label,
                            "call": name,
                            "p50_ms": round(_p(ms, 50), 1),
                            "p95_ms": round(_p(ms, 95), 1),
                        }
                    )
    worst = max(float(r["p95_ms"]) for r in rows)
    if as_json:
        print(json.dumps({"days": days, "trips_per_day": trips_per_day, **prep, "calls": rows}))
    else:
        say(f"{'selection':<10} {'call':<34} {'p50 ms':>8} {'p95 ms':>8}")
        for r in rows:
            flag = "" if r["p95_ms"] < TARGET_MS else "  over 300 ms"
            say(f"{r['selection']:<10} {r['call']:<34} {r['p50_ms']:>8} {r['p95_ms']:>8}{flag}")
        say(f"slowest p95: {worst} ms (target {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS else 1
