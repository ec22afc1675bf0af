"""``storeflow bench balancer``: two ``storeflow server`` processes behind nginx, one killed.

An edge's real outbox and uplink send zone visits through nginx to two server processes on one
PostgreSQL; when a quarter of them are acknowledged, one server is killed with SIGKILL. nginx
passes what that server dropped to the other (ingest is idempotent by event id), the uplink
retries what failed, and at the end the database must hold every visit exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from edge.outbox import Outbox
from edge.uplink import Uplink
from orchestration.balancer import nginx_balancer, upstream_counts
from orchestration.bench_ingest import make_visits, prepare_store
from orchestration.procs import ProcessGroup, storeflow_command, wait_http
from server.embedded_pg import EmbeddedPostgres
from storeflow.net import free_port


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:.0f} s")
        time.sleep(0.05)


def run_balanced(
    db_url: str, workdir: Path, *, visits: int = 6000, batch: int = 100, kill_share: float = 0.25
) -> dict[str, Any]:
    """The scenario of the module docstring against ``db_url``; its figures."""
    token = asyncio.run(prepare_store(db_url, edge_name="edge-lb"))
    rows = make_visits(visits)
    group = ProcessGroup(workdir / "logs")
    ports = [free_port(), free_port()]
    for i, port in enumerate(ports):
        group.start(
            f"server-{i}",
            storeflow_command("server", "--port", str(port), "--database-url", db_url),
        )
    stop = threading.Event()
    try:
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/api/v1/health", group=group)
        with nginx_balancer(ports, workdir=workdir / "nginx") as lb_url:
            outbox = Outbox(workdir / "outbox.sqlite")
            outbox.put(rows)
            uplink = Uplink(
                server_url=lb_url,
                token=token,
                device_id="edge-lb",
                outbox=outbox,
                batch_size=batch,
            )
            sender = threading.Thread(
                target=uplink.run, args=(stop,), kwargs={"idle_s": 0.05}, daemon=True
            )
            t0 = time.monotonic()
            sender.start()
            killed_at = int(visits * (1 - kill_share))
            _wait(lambda: outbox.depth() <= killed_at, 300, "a quarter sent")
            name, victim = group.procs[0]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(10)
            group.procs.remove((name, victim))
            _wait(lambda: outbox.depth() == 0, 300, "the outbox emptied")
            seconds = time.monotonic() - t0
            stop.set()
            sender.join(10)
            uplink.close()
            served = upstream_counts(workdir / "nginx" / "access.log")
    finally:
        stop.set()
        group.stop_all()
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM zone_visit WHERE device_id = 'edge-lb'"
        ).fetchone()
    assert row is not None
    stored, distinct = int(row[0]), int(row[1])
    sent = {v.event_id for v in rows}
    return {
        "visits": visits,
        "stored": stored,
        "lost": len(sent) - distinct,
        "duplicated": stored - distinct,
        "killed_after_acked": visits - killed_at,
        "uplink_failures": uplink.health.failures,
        "passed_on_by_nginx": served.pop("passed_on"),
        "answered_by": served,
        "seconds": round(seconds, 1),
        "visits_per_s": round(visits / seconds),
    }


def run_balancer_bench(*, visits: int, batch: int, as_json: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="storeflow-lb-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        pg.start()
        try:
            result = run_balanced(pg.url, Path(tmp), visits=visits, batch=batch)
        finally:
            pg.stop()
    if as_json:
        print(json.dumps(result))
    else:
        print(
            f"{visits:,} visits through nginx to two servers, one killed (SIGKILL) after "
            f"{result['killed_after_acked']:,} were sent: {result['stored']:,} stored, "
            f"{result['lost']} lost, {result['duplicated']} duplicated; nginx passed "
            f"{result['passed_on_by_nginx']} requests on to the other server, the uplink "
            f"retried {result['uplink_failures']}; answered by {result['answered_by']}; "
            f"{result['visits_per_s']:,} visits/s overall"
        )
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1
