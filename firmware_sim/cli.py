"""``storeflow sim run`` and ``storeflow sim truth``: the simulated store from the command line.

``add_sim_parser(subparsers)`` registers ``sim`` with its tasks; ``add_sim_commands(sim_sub)``
adds ``run`` and ``truth`` to an existing ``sim`` parser, next to tasks defined elsewhere
(``sim evaluate``). Every handler returns an exit code: 0 done, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_sim.live import Emitter

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

logger = logging.getLogger(__name__)

DEFAULT_SCENARIO = Path(str(resources.files("firmware_sim") / "scenarios" / "demo.yaml"))
NOISE_CHOICES = ["clean", "realistic", "harsh"]


def add_sim_parser(subparsers: SubParsers) -> None:
    """Register ``sim`` (tasks ``run`` and ``truth``) on the top-level subparsers."""
    sim = subparsers.add_parser("sim", help="the simulated store: run, truth")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="TASK", required=True)
    add_sim_commands(sim_sub)


def add_sim_commands(sim_sub: SubParsers) -> None:
    """Add ``run`` and ``truth`` to the ``sim`` parser's subparsers."""
    run = sim_sub.add_parser(
        "run",
        help="play the simulated store's readers live",
        description="Simulated shoppers and readers: R2000 readers serve their serial stream on "
        "TCP (socket://), Impinj readers publish IoT Device Interface JSON to MQTT, LLRP readers "
        "listen for the edge on TCP. Ctrl-C stops.",
    )
    run.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML")
    run.add_argument("--speed", type=float, default=30.0, help="simulated seconds per second")
    run.add_argument("--sim-epoch", type=float, default=None, help="simulated start (epoch s)")
    run.add_argument("--wall-start", type=float, default=None, help="wall time of sim-epoch")
    run.add_argument(
        "--minutes", type=float, default=None, help="stop after N wall minutes (default: never)"
    )
    run.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883", help="broker for MQTT readers")
    run.add_argument(
        "--serial-port-base",
        type=int,
        default=None,
        help="serial readers listen on TCP ports BASE, BASE+1, ... (default: free ports)",
    )
    run.add_argument(
        "--serial-ports",
        default="",
        help="TCP port per serial or LLRP reader, e.g. R1=5001,R2=5002,R3=5084",
    )
    run.add_argument("--truth-dir", type=Path, default=None, help="write ground truth here")
    run.add_argument("--noise", choices=NOISE_CHOICES, default=None, help="RF preset")
    run.add_argument("--pos-url", default=None, help="server to post simulated purchases to")
    run.add_argument(
        "--scanner-port",
        type=int,
        default=None,
        help="serve the POS1 till's RDM6300 card reader on this TCP port",
    )
    run.add_argument(
        "--pos-token-env",
        default="STOREFLOW_POS_TOKEN",
        help="variable holding the POS's cashier token",
    )
    run.set_defaults(func=run_sim)

    truth = sim_sub.add_parser(
        "truth",
        help="write a period's ground truth (no readers)",
        description="Simulate shoppers and write their true visits, purchases and trips as JSON "
        "Lines (visits.jsonl, staff_visits.jsonl, purchases.jsonl, trips.jsonl).",
    )
    truth.add_argument(
        "--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML (the demo store's)"
    )
    truth.add_argument("--date", default=None, help="a whole day, YYYY-MM-DD (default: today)")
    truth.add_argument("--days", type=int, default=1, help="number of days from --date")
    truth.add_argument("--start", default=None, help="or an ISO start time (with --hours)")
    truth.add_argument("--hours", type=float, default=12.0, help="length from --start")
    truth.add_argument("--out", type=Path, required=True, help="folder for the JSONL files")
    truth.set_defaults(func=run_truth)


def parse_ports(spec: str) -> dict[str, int]:
    """``R1=5001,R2=5002`` -> {"R1": 5001, "R2": 5002}; ValueError on anything else."""
    out: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        rid, _, port = item.partition("=")
        if not rid or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected READER=PORT, got {item!r}")
        out[rid] = int(port)
    return out


def serial_ports(
    reader_ids: list[str], *, spec: str = "", base: int | None = None
) -> dict[str, int]:
    """TCP port per serial reader: explicit ``spec`` first, else ``base`` + i, else 0 (free)."""
    explicit = parse_ports(spec)
    return {
        rid: explicit.get(rid, base + i if base is not None else 0)
        for i, rid in enumerate(reader_ids)
    }


def truth_period(
    *, day: str | None, days: int, start: str | None, hours: float, today: date
) -> tuple[datetime, datetime]:
    """[start, end) of ``sim truth``: ``--start``/``--hours`` if given, else whole days."""
    if start is not None:
        lo = datetime.fromisoformat(start)
        if lo.tzinfo is None:
            lo = lo.replace(tzinfo=UTC)
        return lo, lo + timedelta(hours=hours)
    first = date.fromisoformat(day) if day else today
    lo = datetime.combine(first, datetime.min.time(), UTC)
    return lo, lo + timedelta(days=days)


def run_sim(args: argparse.Namespace) -> int:
    from firmware_sim.live import LiveSimulation
    from firmware_sim.llrp_emitter import LlrpReaderEmitter
    from firmware_sim.mqtt_emitter import ImpinjMqttEmitter, ZebraMqttEmitter
    from firmware_sim.scenario import check_against_layout, load_scenario
    from firmware_sim.serial_emitter import R2000SocketEmitter
    from storeflow.clock import ScaledClock
    from storeflow.layout import load_layout
    from storeflow.yamlconf import ConfigError

    try:
        scenario = load_scenario(args.scenario, noise=args.noise)
        layout = load_layout(scenario.layout)
        check_against_layout(scenario, layout)
        ports = serial_ports(
            [r.id for r in layout.readers if r.protocol in ("r2000", "llrp")],
            spec=args.serial_ports,
            base=args.serial_port_base,
        )
    except (ConfigError, ValueError) as exc:
        print(f"config error: {exc}")
        return 2
    if args.speed <= 0:
        print("config error: --speed must be > 0")
        return 2
    emitters: dict[str, Emitter] = {}

    def close_all() -> None:
        for em in emitters.values():
            try:
                em.close()
            except Exception:
                logger.exception("closing an emitter failed")

    try:
        for reader in layout.readers:
            topic = f"storeflow/{layout.store.id}/{reader.id}/events"
            if reader.protocol == "r2000":
                serial_em = R2000SocketEmitter(port=ports[reader.id])
                emitters[reader.id] = serial_em
                print(f"{reader.id}: R2000 serial stream at {serial_em.url}", flush=True)
            elif reader.protocol == "llrp":
                llrp_em = LlrpReaderEmitter(port=ports[reader.id])
                emitters[reader.id] = llrp_em
                print(f"{reader.id}: LLRP reader at {llrp_em.host}:{llrp_em.port}", flush=True)
            elif reader.protocol == "impinj_iot":
                emitters[reader.id] = ImpinjMqttEmitter(args.mqtt_url, topic, reader.id)
                print(
                    f"{reader.id}: Impinj IoT events on {args.mqtt_url} topic {topic}", flush=True
                )
            else:
                emitters[reader.id] = ZebraMqttEmitter(args.mqtt_url, topic, reader.id)
                print(f"{reader.id}: Zebra IoT events on {args.mqtt_url} topic {topic}", flush=True)
    except OSError as exc:
        close_all()
        print(f"cannot start the simulated readers: {exc}")
        return 2
    now = time.time()
    clock = ScaledClock(
        sim_epoch=args.sim_epoch if args.sim_epoch is not None else now,
        wall_start=args.wall_start if args.wall_start is not None else now,
        scale=args.speed,
    )
    print(
        f"simulated clock: sim_epoch={clock.sim_epoch} wall_start={clock.wall_start} "
        f"scale={clock.scale}",
        flush=True,
    )
    pos = None
    if args.pos_url:
        import os

        from firmware_sim.pos import PosClient

        token = os.environ.get(args.pos_token_env, "")
        if not token:
            close_all()
            print(f"config error: --pos-url needs a cashier token in {args.pos_token_env}")
            return 2
        scanner = None
        if args.scanner_port is not None:
            from firmware_sim.scanner_emitter import Rdm6300SocketEmitter

            scanner = Rdm6300SocketEmitter(args.scanner_port)
            print(f"POS1: RDM6300 card reader at {scanner.url}", flush=True)
        pos = PosClient(
            base_url=args.pos_url,
            token=token,
            store_id=layout.store.id,
            register_id="POS1",
            categories={c.code: c.category for c in layout.counters},
            scanner=scanner,
        )
    sim = LiveSimulation(scenario, layout, clock, emitters, truth_dir=args.truth_dir, pos=pos)
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        sim.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        wait = clock.wall_start - time.time()
        if wait > 0 and stop.wait(wait):
            return 0
        until = None
        if args.minutes is not None:
            until = clock.now() + args.minutes * 60 * args.speed
        sim.run(until_sim_ts=until)
    finally:
        close_all()
        if pos is not None:
            pos.close()
    print(f"simulation stopped: {sim.emitted:,} reads emitted", flush=True)
    return 0


def run_truth(args: argparse.Namespace) -> int:
    from firmware_sim.scenario import load_scenario
    from firmware_sim.shoppers import ShopperSimulator
    from firmware_sim.truth import write_truth
    from storeflow.layout import load_layout
    from storeflow.yamlconf import ConfigError

    try:
        scenario = load_scenario(args.scenario)
        layout = load_layout(scenario.layout)
        start, end = truth_period(
            day=args.date,
            days=args.days,
            start=args.start,
            hours=args.hours,
            today=datetime.now(UTC).date(),
        )
        result = ShopperSimulator(scenario, layout).simulate(start, end)
    except (ConfigError, ValueError) as exc:
        print(f"config error: {exc}")
        return 2
    write_truth(args.out, result)
    print(
        f"{start.isoformat()} .. {end.isoformat()}: {len(result.trips)} trips, "
        f"{len(result.visits)} visits, {len(result.purchases)} purchases, "
        f"{len(result.staff_visits)} staff visits -> {args.out}"
    )
    return 0
