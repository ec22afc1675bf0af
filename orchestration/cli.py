"""The ``storeflow`` command: one entry point, a subcommand per part of the system."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from dashboard.cli import add_dashboard_parser, add_report_parser
    from edge.cli import add_edge_parser
    from edge.register import add_register_parser
    from firmware_sim.cli import add_sim_commands
    from orchestration.bench import add_bench_parser
    from orchestration.demo import add_demo_parser
    from orchestration.evaluate import add_evaluate_parser
    from server.cli import add_db_parser, add_server_parser

    parser = argparse.ArgumentParser(
        prog="storeflow",
        description="Storeflow: in-store membership and RFID footfall system.",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("STOREFLOW_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO, or STOREFLOW_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_demo_parser(sub)
    add_server_parser(sub)
    add_edge_parser(sub)
    sim = sub.add_parser("sim", help="the simulated store: run, truth, evaluate")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="TASK", required=True)
    add_sim_commands(sim_sub)
    add_evaluate_parser(sim_sub)
    add_register_parser(sub)
    add_dashboard_parser(sub)
    add_report_parser(sub)
    add_db_parser(sub)
    add_bench_parser(sub)
    return parser


# Libraries that log every request at INFO: the demo's back-fill alone makes thousands.
QUIET_LOGGERS = ("httpx", "httpcore")


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; the HTTP client libraries only from WARNING up."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(getattr(logging, level))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
