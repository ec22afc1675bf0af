"""``storeflow bench ingest``: the ingest endpoint against a plain COPY of the same rows.

A private embedded PostgreSQL and a real server on a free port; zone visits posted over HTTP in
batches (JSON decode, validation, COPY to staging, idempotent insert, trip assembly), then the same
rows COPYed straight into a table with the same columns and indexes. Both figures come from one run.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from firmware_sim.encoders import GID_MANAGER
from server.embedded_pg import EmbeddedPostgres
from server.migrate import migrate
from server.queries.credentials import create_credential
from server.queries.ingest import VISIT_COLUMNS, visit_row
from server.queries.layout import import_layout
from server.threaded import serve_in_thread
from storeflow.epc import OBJECT_CLASS_MEMBER_CARD, encode_gid96
from storeflow.layout import load_layout
from storeflow.wire import IngestBatch, TagKind, ZoneVisit, visit_event_id

LAYOUT = Path(__file__).resolve().parent.parent / "firmware_sim" / "stores" / "demo.yaml"
ZONES = ["ENT", "A2", "C02", "A1", "C01", "A4", "C05", "A5", "C08", "A3", "CHK", "EXIT"]


def make_visits(n: int) -> list[ZoneVisit]:
    """``n`` visits: shoppers walking a fixed 12-zone path, one every 20 s."""
    t0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        shopper, step = divmod(i, len(ZONES))
        epc = encode_gid96(GID_MANAGER, OBJECT_CLASS_MEMBER_CARD, shopper)
        enter = t0 + timedelta(seconds=shopper * 20 + step * 40)
        zone = ZONES[step]
        out.append(
            ZoneVisit(
                event_id=visit_event_id(store_id="demo", zone=zone, epc=epc, enter_at=enter),
                store_id="demo",
                zone=zone,
                epc=epc,
                tag_kind=TagKind.MEMBER_CARD,
                enter_at=enter,
                exit_at=enter + timedelta(seconds=35),
                reads=20,
                mean_rssi_dbm=-55.0,
                reader_id="R1",
            )
        )
    return out


async def _prepare(url: str) -> str:
    await migrate(url)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_layout(conn, load_layout(LAYOUT))
        token = await create_credential(conn, name="bench", role="edge", store_id="demo")
        await conn.commit()
    return token


def _plain_copy(url: str, visits: list[ZoneVisit]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_copy (LIKE zone_visit INCLUDING ALL)")
        conn.commit()
        t = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY bench_copy ({VISIT_COLUMNS}) FROM STDIN") as copy,
        ):
            for v in visits:
                copy.write_row(visit_row(v, device_id="bench"))
        conn.commit()
        return time.perf_counter() - t


def _post_all(
    base_url: str, token: str, bodies: list[str]
) -> tuple[float, list[float], int, float]:
    """Post every batch, then the first again: (seconds, latencies, duplicates, replay s)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies = []
    with httpx.Client(base_url=base_url, timeout=120) as client:
        t = time.perf_counter()
        for body in bodies:
            t1 = time.perf_counter()
            client.post("/api/v1/ingest", content=body, headers=headers).raise_for_status()
            latencies.append(time.perf_counter() - t1)
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        r = client.post("/api/v1/ingest", content=bodies[0], headers=headers)
        replay_s = time.perf_counter() - t
    return ingest_s, latencies, int(r.json()["duplicates"]), replay_s


def run_ingest_bench(*, visits: int, batch: int, as_json: bool) -> int:
    rows = make_visits(visits)
    bodies = [
        IngestBatch(
            device_id="bench", sent_at=datetime.now(UTC), events=list(rows[i : i + batch])
        ).model_dump_json()
        for i in range(0, len(rows), batch)
    ]
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            token = asyncio.run(_prepare(pg.url))
            with serve_in_thread(pg.url) as base_url:
                ingest_s, latencies, duplicates, replay_s = _post_all(base_url, token, bodies)
            copy_s = _plain_copy(pg.url, rows)
        finally:
            pg.stop()
    latencies.sort()
    result = {
        "visits": visits,
        "batch": batch,
        "ingest_visits_per_s": round(visits / ingest_s),
        "plain_copy_rows_per_s": round(visits / copy_s),
        "ingest_vs_copy": round(copy_s / ingest_s, 3),
        "batch_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "batch_max_ms": round(latencies[-1] * 1000, 1),
        "replayed_batch_duplicates": duplicates,
        "replayed_batch_ms": round(replay_s * 1000, 1),
        "run_id": uuid.uuid4().hex[:8],
    }
    if as_json:
        print(json.dumps(result))
    else:
        print(
            f"ingested {visits:,} visits in batches of {batch:,}: "
            f"{result['ingest_visits_per_s']:,} visits/s over HTTP (validation, COPY to staging, "
            f"idempotent insert, trip assembly); a plain COPY of the same rows: "
            f"{result['plain_copy_rows_per_s']:,} rows/s; ratio {result['ingest_vs_copy']}; "
            f"batch p50 {result['batch_p50_ms']} ms; replaying a batch: "
            f"{duplicates} duplicates in {result['replayed_batch_ms']} ms"
        )
    return 0
