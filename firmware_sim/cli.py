"""``storeflow sim run`` and ``storeflow sim truth``: the simulated store from the command line."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_SCENARIO = Path(str(resources.files("firmware_sim") / "scenarios" / "demo.yaml"))


def add_sim_commands(sim_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sim_sub.add_parser(
        "run",
        help="play the simulated store's readers live",
        description="Simulated shoppers and readers: R2000 readers serve their serial stream on "
        "TCP (socket://), Impinj readers publish IoT Device Interface JSON to MQTT.",
    )
    run.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML")
    run.add_argument("--speed", type=float, default=30.0, help="simulated seconds per second")
    run.add_argument("--sim-epoch", type=float, default=None, help="simulated start (epoch s)")
    run.add_argument("--wall-start", type=float, default=None, help="wall time of sim-epoch")
    run.add_argument("--minutes", type=float, default=None, help="stop after N wall minutes")
    run.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883", help="broker for MQTT readers")
    run.add_argument(
        "--serial-ports", default="", help="TCP port per serial reader, e.g. R1=5001,R2=5002"
    )
    run.add_argument("--truth-dir", type=Path, default=None, help="write ground truth here")
    run.add_argument("--noise", choices=["clean", "realistic", "harsh"], default=None)
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

    truth = sim_sub.add_parser("truth", help="write a period's ground truth (no readers)")
    truth.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    truth.add_argument("--start", default="2026-11-02T10:00:00+00:00", help="ISO start")
    truth.add_argument("--hours", type=float, default=12.0)
    truth.add_argument("--out", type=Path, required=True, help="folder for the JSONL files")
    truth.set_defaults(func=run_truth)


def _ports(spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        rid, _, port = item.partition("=")
        if not port.isdigit():
            raise SystemExit(f"--serial-ports: expected READER=PORT, got {item!r}")
        out[rid] = int(port)
    return out


def run_sim(args: argparse.Namespace) -> int:
    from firmware_sim.live import Emitter, LiveSimulation
    from firmware_sim.mqtt_emitter import ImpinjMqttEmitter, ZebraMqttEmitter
    from firmware_sim.scenario import load_scenario
    from firmware_sim.serial_emitter import R2000SocketEmitter
    from storeflow.clock import ScaledClock
    from storeflow.layout import load_layout
    from storeflow.yamlconf import ConfigError

    try:
        scenario = load_scenario(args.scenario, noise=args.noise)
        layout = load_layout(scenario.layout)
    except ConfigError as exc:
        print(f"config error: {exc}")
        return 2
    ports = _ports(args.serial_ports)
    emitters: dict[str, Emitter] = {}
    for reader in layout.readers:
        topic = f"storeflow/{layout.store.id}/{reader.id}/events"
        if reader.protocol == "r2000":
            serial_em = R2000SocketEmitter(port=ports.get(reader.id, 0))
            emitters[reader.id] = serial_em
            print(f"{reader.id}: R2000 serial stream at {serial_em.url}", flush=True)
        elif reader.protocol == "impinj_iot":
            emitters[reader.id] = ImpinjMqttEmitter(args.mqtt_url, topic, reader.id)
            print(f"{reader.id}: Impinj IoT events on {args.mqtt_url} topic {topic}", flush=True)
        else:
            emitters[reader.id] = ZebraMqttEmitter(args.mqtt_url, topic, reader.id)
            print(f"{reader.id}: Zebra IoT events on {args.mqtt_url} topic {topic}", flush=True)
    now = time.time()
    clock = ScaledClock(
        sim_epoch=args.sim_epoch if args.sim_epoch is not None else now,
        wall_start=args.wall_start if args.wall_start is not None else now,
        scale=args.speed,
    )
    pos = None
    if args.pos_url:
        import os

        from firmware_sim.pos import PosClient

        token = os.environ.get(args.pos_token_env, "")
        if not token:
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

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wait = clock.wall_start - time.time()
    if wait > 0 and stop.wait(wait):
        return 0
    until = None
    if args.minutes is not None:
        until = clock.now() + args.minutes * 60 * args.speed
    logger.info(
        "simulation running at %.0fx from %s",
        args.speed,
        datetime.fromtimestamp(clock.now(), UTC).isoformat(),
    )
    try:
        sim.run(until_sim_ts=until)
    finally:
        for em in emitters.values():
            em.close()
        if pos is not None:
            pos.close()
        logger.info("simulation stopped: %d reads emitted", sim.emitted)
    return 0


def run_truth(args: argparse.Namespace) -> int:
    from firmware_sim.scenario import load_scenario
    from firmware_sim.shoppers import simulate
    from firmware_sim.truth import append_truth
    from storeflow.layout import load_layout

    scenario = load_scenario(args.scenario)
    layout = load_layout(scenario.layout)
    start = datetime.fromisoformat(args.start)
    result = simulate(scenario, layout, start, start + timedelta(hours=args.hours))
    append_truth(args.out, result.visits, result.purchases)
    print(f"{len(result.visits)} visits, {len(result.purchases)} purchases -> {args.out}")
    return 0
