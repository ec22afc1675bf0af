"""``storeflow bench dashboard``: latency of every API call the dashboard makes, on a busy store.

A private embedded PostgreSQL is filled with ``--days`` of the demo store at ``--trips-per-day``
(:func:`orchestration.bench_data.populate`: the simulator's truth straight into the tables), the
daily facts and the member figures are computed once (timed: that is the work the server does
in the background as data arrives), then a real server on a free port answers each dashboard
call ``--repeat`` times for the default selection (the last 7 days) and for the whole history.
Prints p50 and p95 per call. ``--data-dir`` keeps the database for another run.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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


def calls(
    first: str, end: str, promo: tuple[str, str], change: str
) -> list[tuple[str, dict[str, Any]]]:
    """The dashboard's calls for one selection (``first`` .. ``end``, end exclusive)."""
    sel = {"start": first, "end": end}
    return [
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
        (
            "analytics/experiments/promotion",
            {"counter": "C06", "first_day": promo[0], "last_day": promo[1]},
        ),
        ("analytics/experiments/layout-change", {"day": change, "counter": "C03"}),
    ]


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


def run_dashboard_bench(
    *,
    days: int,
    trips_per_day: int,
    repeat: int,
    data_dir: Path | None,
    as_json: bool,
    say: Callable[[str], None] = print,
) -> int:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-") as tmp:
        folder = data_dir or Path(tmp) / "pg"
        fresh = not (folder / "PG_VERSION").exists()
        pg = EmbeddedPostgres(folder)
        pg.start()
        try:
            meta = folder.parent / f"{folder.name}.bench.json"
            asyncio.run(migrate(pg.url))
            if fresh:
                result = populate(
                    pg.url,
                    days=days,
                    trips_per_day=trips_per_day,
                    end=end,
                    progress=say if not as_json else None,
                )
                meta.write_text(json.dumps({"end": end.isoformat(), "days": days}))
                say(
                    f"loaded {result.trips:,} trips, {result.visits:,} zone visits and "
                    f"{result.purchases:,} sales in {result.seconds:.0f} s"
                )
            else:
                saved = json.loads(meta.read_text())
                end, days = datetime.fromisoformat(saved["end"]), int(saved["days"])
            token, prep = asyncio.run(_prepare(pg.url, end, days))
            say(
                f"daily facts: {prep['facts_s']:.1f} s for {prep['facts_days']:.0f} days "
                "(0: computed by an earlier run); member figures: "
                f"{prep['members_7d_s']:.1f} s (0: kept from an earlier run)"
            )
            last = end - timedelta(days=1)
            promo = (
                (last - timedelta(days=20)).date().isoformat(),
                (last - timedelta(days=14)).date().isoformat(),
            )
            change = (end - timedelta(days=35)).date().isoformat()
            selections = {
                "7 days": ((end - timedelta(days=7)).date().isoformat(), end.date().isoformat()),
                f"{days} days": (
                    (end - timedelta(days=days)).date().isoformat(),
                    end.date().isoformat(),
                ),
            }
            rows: list[dict[str, Any]] = []
            with (
                serve_in_thread(pg.url) as base,
                httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
                ) as client,
            ):
                for label, (first, stop) in selections.items():
                    for path, params in calls(first, stop, promo, change):
                        ms = _time(client, path, params, repeat)
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
        finally:
            pg.stop()
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
