"""``storeflow bench ingest --steps``: where the time of a columnar ingest batch goes.

The server's ingest (:func:`server.queries.ingest.ingest_columns`) run in this process on a
private embedded PostgreSQL (fsync on, as in ``bench ingest``), batch by batch in turn with a
plain COPY of the same rows into a table like ``zone_visit`` (one transaction, as in ``bench
ingest``); no HTTP. Each step is timed where the ingest module calls it (wall time, and this
thread's CPU time), and the database logs the time of every statement, summed here by kind.
Steps overlap: the trip assembly runs in a worker thread while the database takes the COPY, and
a statement's time is also in the step that sent it. The figures are per batch, over every batch
after the first (which warms up).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orchestration.bench_ingest import make_visits, prepare_store
from server.auth import Role
from server.embedded_pg import EmbeddedPostgres
from server.ingest_checks import TimeWindow
from server.privacy.keys import PrivacyKeys
from server.queries import ingest
from server.queries.credentials import Principal
from server.queries.ingest import VISIT_COLUMNS, visit_row
from server.runtime import tune_gc
from storeflow.columns import ColumnarBatch, encode_columns

# what the ingest module calls, by the name it calls it: the step it is
STEPS = {
    "classify_visits": "tag classification (registry look-up)",
    "tracking_renames": "tracking consent (one look-up of the batch's tags)",
    "begin_rebuild": "trip rebuild: lock, delete from the bounds, read back",
    "_copy_new": "COPY straight into zone_visit (savepoint)",
    "_insert_skipping_stored": "staging COPY + INSERT ON CONFLICT (retries only)",
    "_assemble": "trip assembly (worker thread, during the COPY)",
    "rebuild_trips": "trip rebuild after the insert (retries only)",
}
# the steps that hold others: what is left of them once those are taken out is a step too
_STORE, _INSERT = "storing (_store)", "consent, insert, trips (_insert_visits)"
_HOLDERS = {"_store": _STORE, "_insert_visits": _INSERT}
_DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.{0,60})")


@dataclass
class _Clock:
    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    on: bool = False

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            if self.on:
                self.wall[name] += time.perf_counter() - wall
                self.cpu[name] += time.thread_time() - cpu

    def wrap(self, name: str, label: str) -> None:
        f = getattr(ingest, name)
        if asyncio.iscoroutinefunction(f):

            @functools.wraps(f)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with self.step(label):
                    return await f(*args, **kwargs)

            setattr(ingest, name, timed_async)
        else:

            @functools.wraps(f)
            def timed(*args: Any, **kwargs: Any) -> Any:
                with self.step(label):
                    return f(*args, **kwargs)

            setattr(ingest, name, timed)


def _statements(log: str, batches: int) -> list[tuple[str, float]]:
    """Server time per statement kind (its first words), ms per batch, largest first."""
    total: dict[str, float] = defaultdict(float)
    for ms, text in _DURATION.findall(log):
        words = re.sub(r"\s+", " ", text).split(" ")
        total[" ".join(words[:4])] += float(ms)
    return sorted(((k, v / batches) for k, v in total.items()), key=lambda kv: -kv[1])


async def _profile(
    url: str, bodies: list[str], rows: list[list[tuple[object, ...]]], log: Path
) -> tuple[_Clock, int]:
    """The steps timed, and where the server's log stood after the first batch."""
    clock = _Clock()
    start = 0
    originals = {name: getattr(ingest, name) for name in [*STEPS, *_HOLDERS]}
    for name, label in [*STEPS.items(), *_HOLDERS.items()]:
        clock.wrap(name, label)
    principal = Principal(id=1, name="bench", role=Role.EDGE, store_id="demo")
    window = TimeWindow(
        now=datetime.now(UTC), max_age=timedelta(days=3650), max_ahead=timedelta(days=1)
    )
    try:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            with psycopg.connect(url) as copy_conn:
                copy_conn.execute("CREATE TABLE bench_copy (LIKE zone_visit INCLUDING ALL)")
                copy_conn.commit()
                for i, body in enumerate(bodies):
                    clock.on = i > 0
                    if i == 1:
                        start = log.stat().st_size
                    with clock.step("plain COPY of the same rows (for comparison)"):
                        with (
                            copy_conn.cursor() as cur,
                            cur.copy(f"COPY bench_copy ({VISIT_COLUMNS}) FROM STDIN") as copy,
                        ):
                            for row in rows[i]:
                                copy.write_row(row)
                    with clock.step("ingest, all steps"):
                        with clock.step("decode (JSON bytes to the batch)"):
                            batch = ColumnarBatch.model_validate_json(body)
                        with clock.step("ingest_columns"):
                            await ingest.ingest_columns(
                                conn,
                                principal=principal,
                                batch=batch,
                                trip_gap_s=1800.0,
                                privacy=PrivacyKeys(),
                                window=window,
                            )
                        with clock.step("commit"):
                            await conn.commit()
                copy_conn.commit()  # the plain COPY: one transaction, as in ``bench ingest``
    finally:
        for name, f in originals.items():
            setattr(ingest, name, f)
    return clock, start


def run_ingest_profile(*, visits: int, batch: int, as_json: bool) -> int:
    tune_gc()  # as the server does
    made = make_visits(visits)
    sent_at = datetime.now(UTC)
    parts = [made[i : i + batch] for i in range(0, len(made), batch)]
    bodies = [encode_columns(device_id="bench", sent_at=sent_at, events=p)[0] for p in parts]
    rows = [[tuple(visit_row(v, device_id="bench")) for v in p] for p in parts]
    del made, parts
    with tempfile.TemporaryDirectory(prefix="storeflow-profile-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            with psycopg.connect(pg.admin_url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE profile")
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = 0").format(
                        sql.Identifier("profile")
                    )
                )
            url = pg.url_for("profile")
            asyncio.run(prepare_store(url))
            clock, start = asyncio.run(_profile(url, bodies, rows, pg.log_file))
            with pg.log_file.open("rb") as f:
                f.seek(start)
                log = f.read().decode(errors="replace")
        finally:
            pg.stop()
    n = len(bodies) - 1
    steps = {k: (clock.wall[k] * 1000 / n, clock.cpu[k] * 1000 / n) for k in clock.wall}

    def wall(name: str) -> float:
        return steps.get(name, (0.0, 0.0))[0]

    inner = [label for name, label in STEPS.items() if name not in ("_assemble", "classify_visits")]
    derived = {
        "row checks and rows (ingest_columns less _store)": wall("ingest_columns") - wall(_STORE),
        "trips stored, days marked, the rest (one pipelined round trip)": wall(_INSERT)
        - sum(wall(label) for label in inner),
    }
    statements = [(k, ms) for k, ms in _statements(log, n) if ms >= 0.05]
    copy_ms = steps["plain COPY of the same rows (for comparison)"][0]
    ratio = copy_ms / steps["ingest, all steps"][0]
    if as_json:
        print(
            json.dumps(
                {
                    "visits": visits,
                    "batch": batch,
                    "steps_ms": {
                        **{k: round(w, 2) for k, (w, _) in steps.items()},
                        **{k: round(v, 2) for k, v in derived.items()},
                    },
                    "steps_cpu_ms": {k: round(c, 2) for k, (_, c) in steps.items()},
                    "server_ms": {k: round(v, 2) for k, v in statements},
                    "in_process_ratio": round(ratio, 3),
                }
            )
        )
        return 0
    print(f"{visits:,} visits in batches of {batch:,}, ms per batch (in process, no HTTP):")
    print(f"  {'step':62s} {'wall':>7s} {'cpu':>7s}")
    order = [
        "plain COPY of the same rows (for comparison)",
        "ingest, all steps",
        "decode (JSON bytes to the batch)",
        *derived,
        *STEPS.values(),
        "commit",
    ]
    for name in order:
        if name in derived:
            print(f"  {name:62s} {derived[name]:7.1f}")
        elif name in steps:
            print(f"  {name:62s} {steps[name][0]:7.1f} {steps[name][1]:7.1f}")
    print(
        f"  in-process ratio, plain COPY / ingest: {ratio:.3f}\n"
        "the database's time per statement, ms per batch:"
    )
    for text, ms in statements[:12]:
        print(f"  {ms:7.1f}  {text}")
    return 0
