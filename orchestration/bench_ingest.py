"""``storeflow bench ingest``: the ingest endpoints against a plain COPY of the same rows.

A private embedded PostgreSQL and two ``storeflow server`` processes, each on a database of its own:
zone visits posted over HTTP in batches (decode, validation, row checks, tag classification,
tracking consent, the idempotent insert -- a new batch COPYed straight into ``zone_visit``, a
replayed one through staging and ON CONFLICT -- and trip assembly), to one in the edge's columnar
encoding, to the other as the JSON batch; and the same rows COPYed straight into a table with the
same columns and indexes, in one transaction. The three go batch by batch in turn, so every figure
comes from one run and a machine whose speed drifts weighs on them alike. The servers' background
re-computation of daily facts is held off during the run (it is not part of ingest).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from firmware_sim.encoders import GID_MANAGER
from orchestration.procs import ProcessGroup, storeflow_command, wait_http
from server.embedded_pg import EmbeddedPostgres
from server.migrate import migrate
from server.queries.credentials import create_credential
from server.queries.ingest import VISIT_COLUMNS, visit_row
from server.queries.layout import import_layout
from storeflow.columns import encode_columns
from storeflow.epc import OBJECT_CLASS_MEMBER_CARD, encode_gid96
from storeflow.layout import load_layout
from storeflow.net import free_port
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


async def prepare_store(url: str, *, edge_name: str = "bench") -> str:
    """Migrate, import the demo store's layout, and make an edge credential; its token."""
    await migrate(url)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_layout(conn, load_layout(LAYOUT))
        token = await create_credential(conn, name=edge_name, role="edge", store_id="demo")
        await conn.commit()
    return token


@dataclass(slots=True)
class Timed:
    """One way of storing the batches: the time each took, and replaying the first batch."""

    latencies: list[float] = field(default_factory=list)
    replay_duplicates: int = 0
    replay_s: float = 0.0

    @property
    def seconds(self) -> float:
        return sum(self.latencies)

    def figures(self, prefix: str, *, visits: int, copy_s: float) -> dict[str, float | int]:
        lat = sorted(self.latencies)
        return {
            f"{prefix}visits_per_s": round(visits / self.seconds),
            f"{prefix}vs_copy": round(copy_s / self.seconds, 3),
            f"{prefix}batch_p50_ms": round(lat[len(lat) // 2] * 1000, 1),
            f"{prefix}batch_max_ms": round(lat[-1] * 1000, 1),
            f"{prefix}replayed_batch_duplicates": self.replay_duplicates,
            f"{prefix}replayed_batch_ms": round(self.replay_s * 1000, 1),
        }


class _Poster:
    """Posts batches to one server's endpoint, timing each."""

    def __init__(self, base_url: str, token: str, path: str, bodies: list[str]) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.path = path
        self.bodies = bodies
        self.timed = Timed()

    def post(self, i: int) -> None:
        t = time.perf_counter()
        self.client.post(self.path, content=self.bodies[i], headers=self.headers).raise_for_status()
        self.timed.latencies.append(time.perf_counter() - t)

    def replay_first(self) -> None:
        t = time.perf_counter()
        r = self.client.post(self.path, content=self.bodies[0], headers=self.headers)
        r.raise_for_status()
        self.timed.replay_s = time.perf_counter() - t
        self.timed.replay_duplicates = int(r.json()["duplicates"])


class _PlainCopy:
    """The same rows COPYed into a table like ``zone_visit``, batch by batch in ONE transaction
    (one COPY command per batch, one commit at the end)."""

    def __init__(self, conn: psycopg.Connection[Any], batches: list[list[ZoneVisit]]) -> None:
        self.conn = conn
        self.batches = batches
        self.timed = Timed()
        conn.execute("CREATE TABLE bench_copy (LIKE zone_visit INCLUDING ALL)")
        conn.commit()

    def post(self, i: int) -> None:
        t = time.perf_counter()
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY bench_copy ({VISIT_COLUMNS}) FROM STDIN") as copy,
        ):
            for v in self.batches[i]:
                copy.write_row(visit_row(v, device_id="bench"))
        self.timed.latencies.append(time.perf_counter() - t)

    def commit(self) -> None:
        t = time.perf_counter()
        self.conn.commit()
        self.timed.latencies[-1] += time.perf_counter() - t


def _database(pg: EmbeddedPostgres, name: str) -> tuple[str, str]:
    """A fresh database of the embedded server, migrated, with the demo layout: (url, token)."""
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg.url_for(name)
    return url, asyncio.run(prepare_store(url))


def _serve(group: ProcessGroup, name: str, database_url: str) -> str:
    """``storeflow server`` for ``database_url`` in a process of its own, as deployed (an edge
    is another process, or machine); its background re-computation of daily facts held off, as
    it is not part of ingest. Returns its base URL."""
    port = free_port()
    group.start(
        name,
        storeflow_command("server", "--port", str(port), "--database-url", database_url),
        env={"STOREFLOW_ROLLUP_INTERVAL_S": "3600"},
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/api/v1/health", group=group)
    return base


def run_ingest_bench(*, visits: int, batch: int, as_json: bool) -> int:
    rows = make_visits(visits)
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    sent_at = datetime.now(UTC)
    json_bodies = [
        IngestBatch(device_id="bench", sent_at=sent_at, events=list(b)).model_dump_json()
        for b in batches
    ]
    column_bodies = [
        encode_columns(device_id="bench", sent_at=sent_at, events=b)[0] for b in batches
    ]
    with tempfile.TemporaryDirectory(prefix="storeflow-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        servers = ProcessGroup(Path(tmp) / "logs")
        try:
            url_c, token_c = _database(pg, "bench_columns")
            url_j, token_j = _database(pg, "bench_json")
            base_c = _serve(servers, "server-columns", url_c)
            base_j = _serve(servers, "server-json", url_j)
            with psycopg.connect(url_c) as copy_conn:
                columns = _Poster(base_c, token_c, "/api/v1/ingest/columns", column_bodies)
                plain = _Poster(base_j, token_j, "/api/v1/ingest", json_bodies)
                copy = _PlainCopy(copy_conn, batches)
                # batch by batch, the three in turn (rotating who goes first), so a machine
                # that slows down or speeds up during the run weighs on all three alike
                ways: list[_Poster | _PlainCopy] = [copy, columns, plain]
                for i in range(len(batches)):
                    for way in ways[i % 3 :] + ways[: i % 3]:
                        way.post(i)
                copy.commit()
                columns.replay_first()
                plain.replay_first()
                columns.client.close()
                plain.client.close()
        finally:
            servers.stop_all()
            pg.stop()
    copy_s = copy.timed.seconds
    result: dict[str, float | int | str] = {
        "visits": visits,
        "batch": batch,
        "plain_copy_rows_per_s": round(visits / copy_s),
        **columns.timed.figures("ingest_", visits=visits, copy_s=copy_s),
        **plain.timed.figures("json_ingest_", visits=visits, copy_s=copy_s),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "run_id": uuid.uuid4().hex[:8],
    }
    if as_json:
        print(json.dumps(result))
    else:
        print(
            f"ingested {visits:,} visits in batches of {batch:,} over HTTP (validation, row "
            "checks, tag classification, tracking consent, idempotent insert, trip assembly); "
            f"a plain COPY of the same rows: {result['plain_copy_rows_per_s']:,} "
            f"rows/s; the three taken in turn, batch by batch (load average "
            f"{result['load_avg_1m']})\n"
            f"  columns (the edge's encoding): {result['ingest_visits_per_s']:,} visits/s, "
            f"ratio {result['ingest_vs_copy']}, batch p50 {result['ingest_batch_p50_ms']} ms; "
            f"replaying a batch: {columns.timed.replay_duplicates} duplicates in "
            f"{result['ingest_replayed_batch_ms']} ms\n"
            f"  JSON batch: {result['json_ingest_visits_per_s']:,} visits/s, "
            f"ratio {result['json_ingest_vs_copy']}, batch p50 "
            f"{result['json_ingest_batch_p50_ms']} ms; replaying a batch: "
            f"{plain.timed.replay_duplicates} duplicates in "
            f"{result['json_ingest_replayed_batch_ms']} ms"
        )
    return 0
