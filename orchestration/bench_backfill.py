"""``storeflow bench backfill``: the demo's back-fill alone, timed.

What ``storeflow demo`` does behind the live store, without the live store and the dashboard: a
private embedded PostgreSQL (or ``--database-url``) prepared as the demo prepares it, a
``storeflow server`` process with the demo's settings, then ``--days`` simulated days before
today's 11:00 pushed through the real edge code (encode, decode, track, outbox, upload; the
tills' sales through the POS API) on ``--workers`` processes, newest day first. Prints reads,
visits, wall seconds, reads per second, and the CPU seconds the workers, the server and
PostgreSQL spent (per million reads too), with the load average: on a shared machine the CPU
figures say what an idle one would do.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestration import demo_data
from orchestration.procs import ProcessGroup, storeflow_command, wait_http
from storeflow.net import free_port

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class BackfillBenchResult:
    days: float
    slices: int
    workers: int
    reads: int
    visits: int
    seconds: float
    reads_per_s: float
    cpu_workers_s: float  # the worker processes and the parent that runs them
    cpu_server_s: float | None  # the ``storeflow server`` process (None: not measurable here)
    cpu_postgres_s: float | None  # every process of the embedded PostgreSQL
    cpu_s_per_million_reads: float | None
    cores: int
    load_avg_1m_before: float
    load_avg_1m_after: float


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its waited-for children) from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return int(fields[1]), ticks / _CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of ``root`` and its descendants so far (Linux /proc); None elsewhere."""
    if _stat(root) is None:
        return None
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None:
                parent[int(entry.name)], cpu[int(entry.name)] = st
    total = 0.0
    for pid, seconds in cpu.items():
        p: int | None = pid
        while p is not None and p != root:
            p = parent.get(p)
            if p == 0 or p == 1:
                p = None
        if p == root:
            total += seconds
    return total


def _own_cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 1)


def run_backfill_bench(
    *,
    days: float,
    workers: int | None,
    noise: str,
    data_dir: Path | None,
    database_url: str | None,
    as_json: bool,
) -> int:
    """Prepare a store, start a server, back-fill ``days``; print the figures. Exit code."""
    if days <= 0:
        print(f"bench backfill: --days must be above 0, got {days:g}", file=sys.stderr)
        return 2
    if workers is None:
        workers = demo_data.backfill_workers()
    if workers < 1:
        print(f"bench backfill: --workers must be at least 1, got {workers}", file=sys.stderr)
        return 2
    work = data_dir or Path(tempfile.mkdtemp(prefix="storeflow-bench-backfill-"))
    work.mkdir(parents=True, exist_ok=True)
    group = ProcessGroup(log_dir=work / "logs")
    pg = None
    try:
        if database_url is None:
            from server.embedded_pg import EmbeddedPostgres

            pg = EmbeddedPostgres(work / "pgdata")
            pg.start()
            database_url = pg.url
        setup = asyncio.run(demo_data.prepare_database(database_url))
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        group.start(
            "server",
            storeflow_command("server", "--port", str(port), "--database-url", database_url),
            env=demo_data.server_env(work, headless=False),
        )
        wait_http(f"{api_url}/api/v1/health", timeout_s=90, group=group)
        history_end = asyncio.run(demo_data.data_end(database_url))
        end = demo_data.choose_live_start(now=datetime.now(UTC), data_end=history_end)
        start = end - timedelta(days=days)
        server_pid = group.procs[0][1].pid
        pg_pid = _postmaster_pid(work / "pgdata") if pg is not None else None
        load_before = os.getloadavg()[0]
        cpu0 = (_own_cpu_seconds(), tree_cpu_seconds(server_pid), _tree_or_none(pg_pid))
        summary = demo_data.backfill(
            api_url=api_url,
            token=setup.edge_token,
            pos_token=setup.pos_token,
            start=start,
            end=end,
            noise=noise,
            work_dir=work,
            stop=threading.Event(),
            workers=workers,
        )
        cpu1 = (_own_cpu_seconds(), tree_cpu_seconds(server_pid), _tree_or_none(pg_pid))
        load_after = os.getloadavg()[0]
    finally:
        group.stop_all()
        if pg is not None:
            pg.stop()
        if data_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    parts = [_delta(a, b) for a, b in zip(cpu1, cpu0, strict=True)]
    known = [p for p in parts if p is not None]
    result = BackfillBenchResult(
        days=days,
        slices=summary.slices,
        workers=workers,
        reads=summary.reads,
        visits=summary.visits,
        seconds=summary.seconds,
        reads_per_s=round(summary.reads / summary.seconds) if summary.seconds else 0.0,
        cpu_workers_s=parts[0] or 0.0,
        cpu_server_s=parts[1],
        cpu_postgres_s=parts[2],
        cpu_s_per_million_reads=(
            round(sum(known) / summary.reads * 1e6, 1) if summary.reads else None
        ),
        cores=os.cpu_count() or 1,
        load_avg_1m_before=round(load_before, 2),
        load_avg_1m_after=round(load_after, 2),
    )
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        print(
            f"back-filled {days:g} days ({result.slices} calendar days) on {workers} workers: "
            f"{result.reads:,} reads -> {result.visits:,} visits in {result.seconds:.1f} s "
            f"({result.reads_per_s:,.0f} reads/s); CPU s: workers {result.cpu_workers_s}, "
            f"server {result.cpu_server_s}, PostgreSQL {result.cpu_postgres_s} "
            f"({result.cpu_s_per_million_reads} per million reads); load average "
            f"{result.load_avg_1m_before} -> {result.load_avg_1m_after} on {result.cores} cores"
        )
    return 0


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tree_or_none(pid: int | None) -> float | None:
    return None if pid is None else tree_cpu_seconds(pid)
