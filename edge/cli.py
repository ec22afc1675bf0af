"""``storeflow edge``: run the store's edge agent from its YAML config."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from storeflow.yamlconf import ConfigError

logger = logging.getLogger(__name__)


def add_edge_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "edge",
        help="run an edge agent (readers -> zone visits -> server)",
        description="Read the store's RFID readers, turn reads into zone visits and send them "
        "to the server through a durable outbox.",
    )
    p.add_argument("--config", required=True, help="edge config YAML (see edge/examples/)")
    p.add_argument(
        "--validate-config",
        action="store_true",
        help="check the config, the layout and the token variable, then exit",
    )
    p.set_defaults(func=run_edge)


def run_edge(args: argparse.Namespace) -> int:
    from edge.config import edge_token, load_edge_config

    try:
        cfg, layout = load_edge_config(args.config)
        token = edge_token(cfg, args.config)
    except ConfigError as exc:
        print(f"config error: {exc}")
        return 2
    if args.validate_config:
        print(f"{args.config}: OK ({len(cfg.readers)} readers, store {cfg.store_id})")
        return 0

    from edge.agent import EdgeAgent

    agent = EdgeAgent(cfg, layout, token=token)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    agent.start()
    stop.wait()
    agent.stop()
    return 0
