"""``storeflow demo``: the whole system on embedded defaults.

1. PostgreSQL: ``DATABASE_URL`` if set, else the embedded server in ``<data dir>/pgdata``
   (kept, so a second run keeps the history); migrate; import the demo store layout; credentials.
2. MQTT: ``MQTT_URL`` if set, else an in-process amqtt broker.
3. The server (``storeflow server``) as a child process.
4. The dashboard (``storeflow dashboard``) as a child process, unless ``--headless``; its URL
   and the till's are printed as soon as they answer.
5. Live: the simulated store (serial R2000 readers on sockets, Impinj readers on MQTT), the till
   and an edge agent as child processes, on a shared simulated clock running ``--speed`` times
   real time.
6. Back-fill, behind the live store: simulated days of history before it, newest day first,
   pushed through the real edge code (encode -> decode -> track -> outbox -> uplink) on worker
   processes at a lower CPU priority, with one progress line.

``--headless --minutes N`` stops after N minutes and prints one JSON line of figures measured
against the simulator's ground truth. Ctrl-C stops every process the demo started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from orchestration import demo_data
from orchestration.procs import ProcessGroup, storeflow_command, wait_http
from storeflow.net import free_port

logger = logging.getLogger(__name__)

BACKFILL_NICE = 10  # the back-fill workers yield the CPU to the live store, the till, the pages


def add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole system on embedded defaults",
        description="Embedded PostgreSQL, an in-process MQTT broker, the simulated store, an edge "
        "agent, the server and the dashboard. Ctrl-C stops everything.",
    )
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    p.add_argument("--headless", action="store_true", help="no dashboard; print a JSON summary")
    p.add_argument("--speed", type=float, default=30.0, help="simulated time speed-up (30)")
    p.add_argument(
        "--backfill-days",
        type=float,
        default=None,
        help="days of history to back-fill first (default 14; 0 when --headless)",
    )
    p.add_argument("--data-dir", type=Path, default=None, help="working folder (.storeflow)")
    p.add_argument("--port", type=int, default=8000, help="API port (8000)")
    p.add_argument("--dashboard-port", type=int, default=8501, help="dashboard port (8501)")
    p.add_argument(
        "--noise",
        choices=["clean", "realistic", "harsh"],
        default="realistic",
        help="how noisy the simulated readers are (realistic)",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="use this PostgreSQL instead of an embedded one (or DATABASE_URL)",
    )
    p.add_argument(
        "--mqtt-url",
        default=os.environ.get("MQTT_URL"),
        help="use this MQTT broker instead of an in-process one (or MQTT_URL)",
    )
    p.set_defaults(func=run_demo)


@dataclass
class DemoPlan:
    data_dir: Path
    speed: float
    backfill_days: float
    headless: bool
    minutes: float | None
    noise: str
    api_port: int
    dashboard_port: int


def plan_from_args(args: argparse.Namespace) -> DemoPlan:
    if args.data_dir is not None:
        data_dir = Path(args.data_dir)
    elif args.headless:
        data_dir = Path(tempfile.mkdtemp(prefix="storeflow-headless-"))
    else:
        data_dir = Path(os.environ.get("STOREFLOW_DATA_DIR", ".storeflow"))
    backfill = args.backfill_days
    if backfill is None:
        backfill = 0.0 if args.headless else 14.0
    return DemoPlan(
        data_dir=data_dir.resolve(),
        speed=args.speed,
        backfill_days=backfill,
        headless=args.headless,
        minutes=args.minutes,
        noise=args.noise,
        api_port=args.port if not args.headless else free_port(),
        dashboard_port=args.dashboard_port,
    )


def run_demo(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    plan.data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    group = ProcessGroup(log_dir=plan.data_dir / "logs")
    pg = None
    broker = None
    try:
        if args.database_url:
            db_url = args.database_url
        else:
            from server.embedded_pg import EmbeddedPostgres

            _say(f"starting embedded PostgreSQL in {plan.data_dir / 'pgdata'} ...")
            pg = EmbeddedPostgres(plan.data_dir / "pgdata")
            pg.start()
            db_url = pg.url
        setup = asyncio.run(demo_data.prepare_database(db_url))
        if args.mqtt_url:
            mqtt_url = args.mqtt_url
        else:
            from orchestration.broker import InProcessBroker

            broker = InProcessBroker()
            broker.start()
            mqtt_url = broker.url
        api_url = f"http://127.0.0.1:{plan.api_port}"
        group.start(
            "server",
            storeflow_command("server", "--port", str(plan.api_port), "--database-url", db_url),
            env=demo_data.server_env(plan.data_dir, headless=plan.headless),
        )
        wait_http(f"{api_url}/api/v1/health", timeout_s=90, group=group)
        if not plan.headless:
            group.start(
                "dashboard",
                storeflow_command(
                    "dashboard",
                    "--port",
                    str(plan.dashboard_port),
                    "--api-url",
                    api_url,
                    # "=": a token may start with "-", which argparse would read as an option
                    f"--token={setup.planner_token}",
                ),
            )
        history_end = asyncio.run(demo_data.data_end(db_url))
        live_start = demo_data.choose_live_start(now=datetime.now(UTC), data_end=history_end)
        wall_start = time.time() + 3.0
        live = demo_data.LivePlan(
            sim_epoch=live_start.timestamp(),
            wall_start=wall_start,
            speed=plan.speed,
            mqtt_url=mqtt_url,
            serial_ports={r: free_port() for r in demo_data.serial_readers()},
            truth_dir=plan.data_dir / "truth" / live_start.strftime("%Y%m%dT%H%M"),
            noise=plan.noise,
            api_url=api_url,
            scanner_port=free_port(),
        )
        group.start(
            "sim",
            storeflow_command(*live.sim_args()),
            env={"STOREFLOW_POS_TOKEN": setup.pos_token},
        )
        group.start(
            "register-POS1",
            storeflow_command(
                "register",
                "--store",
                demo_data.STORE_ID,
                "--register",
                "POS1",
                "--scanner-url",
                f"socket://127.0.0.1:{live.scanner_port}",
                "--server-url",
                api_url,
                "--token-env",
                "STOREFLOW_REGISTER_TOKEN",
            ),
            env={"STOREFLOW_REGISTER_TOKEN": setup.register_token},
        )
        edge_cfg = _write_edge_config(plan.data_dir, live, api_url)
        group.start(
            "edge",
            storeflow_command("edge", "--config", str(edge_cfg)),
            env={"STOREFLOW_EDGE_TOKEN": setup.edge_token},
        )
        _say(f"API:       {api_url}/docs")
        if not plan.headless:
            dashboard_url = f"http://127.0.0.1:{plan.dashboard_port}"
            wait_http(f"{dashboard_url}/_stcore/health", timeout_s=60, group=group)
            _say(f"Dashboard: {dashboard_url}")
            _say(
                f"Till:      {api_url}/cashier#register=POS1&store={demo_data.STORE_ID}"
                f"&token={setup.pos_token}"
            )
            _say(f"Console:   {api_url}/console#store={demo_data.STORE_ID}&token={setup.crm_token}")
        _say(
            f"live: simulated store from {live_start:%Y-%m-%d %H:%M} UTC at {plan.speed:g}x; "
            f"logs in {group.log_dir}; Ctrl-C stops everything"
        )
        backfill: threading.Thread | None = None
        if plan.backfill_days > 0:
            from orchestration.demo_campaigns import backfill_then_campaigns

            earliest = history_end or datetime.min.replace(tzinfo=UTC)
            backfill = threading.Thread(
                target=backfill_then_campaigns,
                name="backfill",
                kwargs={
                    "db_url": db_url,
                    "api_url": api_url,
                    "token": setup.edge_token,
                    "start": max(live_start - timedelta(days=plan.backfill_days), earliest),
                    "end": live_start,
                    "noise": plan.noise,
                    "work_dir": plan.data_dir,
                    "stop": stop,
                    "pos_token": setup.pos_token,
                    "nice": BACKFILL_NICE,
                },
                daemon=True,
            )
            backfill.start()

        deadline = None if plan.minutes is None else time.monotonic() + plan.minutes * 60
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            group.check_alive()
            stop.wait(1.0)
        live_end = live.sim_now()
        if backfill is not None:
            stop.set()  # the minutes are up (or Ctrl-C): the back-fill stops where it is
            backfill.join(60)
        group.stop("sim")
        group.stop("edge", timeout=30)
        if plan.headless:
            summary = asyncio.run(
                demo_data.score_live(
                    db_url, truth_dir=live.truth_dir, start=live_start, end=live_end
                )
            )
            print(json.dumps(summary), flush=True)
        return 0
    finally:
        group.stop_all()
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()
        if plan.headless and args.data_dir is None:
            shutil.rmtree(plan.data_dir, ignore_errors=True)


def _write_edge_config(data_dir: Path, live: demo_data.LivePlan, api_url: str) -> Path:
    cfg: dict[str, Any] = {
        "device_id": "edge-demo-1",
        "store_id": demo_data.STORE_ID,
        "layout": str(demo_data.LAYOUT_PATH),
        "server": {"url": api_url},
        "readers": demo_data.edge_readers(live),
        "outbox": {"path": str(data_dir / "edge-demo-1.outbox.sqlite")},
        "clock": {"scale": live.speed, "sim_epoch": live.sim_epoch, "wall_start": live.wall_start},
    }
    path = data_dir / "edge-demo.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
