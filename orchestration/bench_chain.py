"""``storeflow bench chain``: latency of the chain view over N stores x D days.

One store's history is simulated and loaded (:func:`orchestration.bench_data.populate`, the
demo store) and its daily facts computed; the other N - 1 stores are that store's layout and
facts copied under a new id with a per-store scale (0.5x-1.5x traffic and sales), some days
without data (data health), a heartbeat, and every fifth store without one concession, so the
chain endpoints read N x D days of real-shaped facts without simulating N stores. The single-
store endpoints of the simulated store are timed on the one-store database and again after the
copies, to show the chain's size does not slow them down. Prints p50/p95 per call, and the
first call's time (it sums the copied days into the chain's per-store days, once).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from orchestration.bench_data import populate
from server.embedded_pg import EmbeddedPostgres
from server.migrate import migrate
from server.queries.credentials import create_credential
from server.rollup import FACT_TABLES, refresh_dirty
from server.threaded import serve_in_thread

SOURCE = "demo"
TARGET_MS = 300.0
# the store's layout, parents first
LAYOUT_TABLES = ("store", "floor", "zone", "zone_adjacency", "counter", "reader", "antenna_zone")
# fact columns that are counts or sums (scaled with the store's traffic); others are keys
SCALED = frozenset(
    {
        "entries",
        "buying_trips",
        "sales",
        "transactions",
        "occupancy_s",
        "duration_s",
        "zones",
        "visits",
        "visitors",
        "dwell_s",
        "n",
        "buyers",
        "trips",
        "efficiency",
        "walked",
        "shortest",
        "order_deviation",
        "travel_deviation",
    }
)


@dataclass(frozen=True, slots=True)
class StoreCopy:
    store_id: str
    name: str
    scale: float
    missing_days: int  # days of the history without data (one day is always kept)
    drop_counter: str | None  # a counter the store does not host


def plan_copies(n: int, counters: list[str], *, seed: int = 7) -> list[StoreCopy]:
    """``n`` copies, deterministic for ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        out.append(
            StoreCopy(
                store_id=f"s{i:03d}",
                name=f"Store {i:03d}",
                scale=round(rng.uniform(0.5, 1.5), 3),
                missing_days=rng.choice((0, 0, 0, 1, 3)),
                drop_counter=counters[i % len(counters)] if counters and i % 5 == 0 else None,
            )
        )
    return out


def _columns(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(str(c), str(t)) for c, t in rows]


def _copy_rows(
    conn: psycopg.Connection[Any], table: str, source: str, target: StoreCopy, *, scale: bool
) -> None:
    key = "id" if table == "store" else "store_id"
    cols = _columns(conn, table)
    picks: list[sql.Composable] = []
    for name, kind in cols:
        col = sql.Identifier(name)
        if name == key:
            picks.append(sql.Literal(target.store_id))
        elif table == "store" and name == "name":
            picks.append(sql.Literal(target.name))
        elif scale and name in SCALED:
            expr: sql.Composable = sql.SQL("{} * {}").format(col, sql.Literal(target.scale))
            if kind in ("integer", "bigint", "smallint"):
                expr = sql.SQL("round({})").format(expr)
            picks.append(expr)
        else:
            picks.append(col)
    conn.execute(
        sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {t} WHERE {key} = %s").format(
            t=sql.Identifier(table),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c, _ in cols),
            picks=sql.SQL(", ").join(picks),
            key=sql.Identifier(key),
        ),
        (source,),
    )


def copy_store(conn: psycopg.Connection[Any], source: str, target: StoreCopy) -> None:
    """``source``'s layout and daily facts under ``target`` (in the caller's transaction)."""
    for table in LAYOUT_TABLES:
        _copy_rows(conn, table, source, target, scale=False)
    for table in FACT_TABLES:
        _copy_rows(conn, table, source, target, scale=True)
    conn.execute(
        "INSERT INTO rollup_day (store_id, day, refreshed_at) "
        "SELECT %s, day, now() FROM rollup_day WHERE store_id = %s",
        (target.store_id, source),
    )
    if target.missing_days:
        conn.execute(
            # scattered days (a fixed pseudo-random pick), always leaving one with data
            "DELETE FROM rollup_day WHERE store_id = %(s)s AND day IN (SELECT day FROM rollup_day "
            "WHERE store_id = %(s)s ORDER BY md5(%(s)s || day::text) LIMIT least(%(n)s, "
            "(SELECT count(*) - 1 FROM rollup_day WHERE store_id = %(s)s)))",
            {"s": target.store_id, "n": target.missing_days},
        )
        for table in FACT_TABLES:
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE store_id = %s AND day NOT IN "
                    "(SELECT day FROM rollup_day WHERE store_id = %s)"
                ).format(sql.Identifier(table)),
                (target.store_id, target.store_id),
            )
    if target.drop_counter is not None:
        conn.execute(
            "DELETE FROM counter WHERE store_id = %s AND code = %s",
            (target.store_id, target.drop_counter),
        )
        for table in ("fact_counter", "fact_counter_dwell"):
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE store_id = %s AND counter = %s").format(
                    sql.Identifier(table)
                ),
                (target.store_id, target.drop_counter),
            )
    conn.execute(
        "INSERT INTO device_heartbeat (device_id, store_id, sent_at, received_at, outbox_depth, "
        "readers) VALUES (%s, %s, now(), now() - make_interval(mins => %s), 0, '{}')",
        (f"edge-{target.store_id}", target.store_id, int(target.scale * 60)),
    )


def copy_stores(database_url: str, copies: list[StoreCopy], source: str = SOURCE) -> None:
    with psycopg.connect(database_url) as conn:
        for target in copies:
            with conn.transaction():
                copy_store(conn, source, target)
        conn.commit()
        conn.autocommit = True
        for table in (*FACT_TABLES, "rollup_day", "counter", "store"):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def source_counters(database_url: str, source: str = SOURCE) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT code FROM counter WHERE store_id = %s ORDER BY code", (source,)
        ).fetchall()
    return [str(r[0]) for r in rows]


async def _facts(url: str) -> tuple[str, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        token = await create_credential(conn, name="bench-chain", role="planner", chain=True)
        await conn.commit()
        days = 0
        while n := await refresh_dirty(conn, max_days=10):
            days += n
    return token, days


def chain_calls(first: str, end: str, brand: str) -> list[tuple[str, dict[str, Any]]]:
    sel = {"start": first, "end": end}
    return [
        ("chain/stores", sel),
        ("chain/stores", {**sel, "rank_by": "conversion"}),
        ("chain/stores", {**sel, "rank_by": "coverage", "order": "asc"}),
        ("chain/concessions", {}),
        ("chain/concessions/compare", {**sel, "brand": brand}),
    ]


def store_calls(first: str, end: str) -> list[tuple[str, dict[str, Any]]]:
    sel = {"start": first, "end": end}
    base = f"stores/{SOURCE}/analytics"
    return [
        (f"{base}/summary", sel),
        (f"{base}/footfall", {**sel, "bucket": "day"}),
        (f"{base}/counters", sel),
        (f"{base}/dwell", sel),
        (f"{base}/zone-visits", sel),
    ]


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _time(client: httpx.Client, path: str, params: dict[str, Any], repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    client.get(f"/api/v1/{path}", params=params).raise_for_status()  # warm: plans, sums
    first = (time.perf_counter() - t0) * 1000
    ms = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(f"/api/v1/{path}", params=params)
        ms.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    name = path + "".join(
        f"&{k}={v}" if i else f"?{k}={v}"
        for i, (k, v) in enumerate((k, v) for k, v in params.items() if k not in ("start", "end"))
    )
    return {
        "call": name,
        "first_ms": round(first, 1),
        "p50_ms": round(_p(ms, 50), 1),
        "p95_ms": round(_p(ms, 95), 1),
    }


def _time_all(
    url: str,
    token: str,
    selections: dict[str, tuple[str, str]],
    calls: Callable[[str, str], list[tuple[str, dict[str, Any]]]],
    repeat: int,
) -> list[dict[str, Any]]:
    out = []
    with (
        serve_in_thread(url) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client,
    ):
        for label, (first, end) in selections.items():
            for path, params in calls(first, end):
                out.append({"selection": label, **_time(client, path, params, repeat)})
    return out


def run_chain_bench(
    *,
    stores: int,
    days: int,
    trips_per_day: int,
    repeat: int,
    as_json: bool,
    say: Callable[[str], None] = print,
) -> int:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    selections = {
        "7 days": ((end - timedelta(days=7)).date().isoformat(), end.date().isoformat()),
        f"{days} days": ((end - timedelta(days=days)).date().isoformat(), end.date().isoformat()),
    }
    quiet: Callable[[str], None] = (lambda _m: None) if as_json else say
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-chain-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            asyncio.run(migrate(pg.url))
            t0 = time.perf_counter()
            loaded = populate(
                pg.url,
                days=days,
                trips_per_day=trips_per_day,
                members=max(500, trips_per_day * 4),
                end=end,
                progress=quiet,
            )
            timings["load_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            token, fact_days = asyncio.run(_facts(pg.url))
            timings["facts_s"] = round(time.perf_counter() - t0, 1)
            quiet(
                f"{SOURCE}: {loaded.trips:,} trips, {loaded.purchases:,} sales; facts of "
                f"{fact_days} days in {timings['facts_s']} s"
            )
            single_before = _time_all(pg.url, token, selections, store_calls, repeat)
            copies = plan_copies(stores - 1, source_counters(pg.url))
            t0 = time.perf_counter()
            copy_stores(pg.url, copies)
            timings["copy_s"] = round(time.perf_counter() - t0, 1)
            quiet(f"{len(copies)} more stores copied in {timings['copy_s']} s")
            brand = "Lumiere"

            def chain(first: str, stop: str) -> list[tuple[str, dict[str, Any]]]:
                return chain_calls(first, stop, brand)

            chain_rows = _time_all(pg.url, token, selections, chain, repeat)
            single_after = _time_all(pg.url, token, selections, store_calls, repeat)
        finally:
            pg.stop()
    worst = max(float(r["p95_ms"]) for r in chain_rows)
    result = {
        "stores": stores,
        "days": days,
        "trips_per_day": trips_per_day,
        "repeat": repeat,
        **timings,
        "chain": chain_rows,
        "single_store_1_store": single_before,
        f"single_store_{stores}_stores": single_after,
        "chain_worst_p95_ms": worst,
        "target_p95_ms": TARGET_MS,
    }
    if as_json:
        print(json.dumps(result))
    else:
        say(f"{'selection':<9} {'call':<56} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
        for r in chain_rows:
            say(
                f"{r['selection']:<9} {r['call']:<56} {r['first_ms']:>9} {r['p50_ms']:>8} "
                f"{r['p95_ms']:>8}"
            )
        say(f"single store, 1 store -> {stores} stores (p95 ms):")
        for a, b in zip(single_before, single_after, strict=True):
            say(f"{a['selection']:<9} {a['call']:<60} {a['p95_ms']:>8} {b['p95_ms']:>8}")
        say(f"chain: slowest p95 {worst} ms (target {TARGET_MS:.0f} ms)")
    return 0 if worst <= TARGET_MS else 1
