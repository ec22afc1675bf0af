"""Every option and subcommand of ``storeflow`` says what it is for in ``--help``."""

from __future__ import annotations

import argparse
import logging

from orchestration.cli import build_parser, configure_logging


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helped = {a.dest for a in action._choices_actions if a.help}
            for name, sub in action.choices.items():
                if name not in helped:
                    missing.append(f"{path} {name} (subcommand)")
                missing += _undocumented(sub, f"{path} {name}")
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_and_subcommand_has_help() -> None:
    assert _undocumented(build_parser(), "storeflow") == []


def test_the_walk_finds_an_option_without_help() -> None:
    parser = argparse.ArgumentParser(prog="x")
    sub = parser.add_subparsers()
    run = sub.add_parser("run", help="run it")
    run.add_argument("--fast")
    sub.add_parser("quiet")
    assert _undocumented(parser, "x") == ["x run --fast", "x quiet (subcommand)"]


def test_http_client_request_logs_stay_quiet() -> None:
    """The demo's back-fill makes thousands of requests: httpx's per-request INFO lines are off."""
    saved = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "")}
    try:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        configure_logging("DEBUG")
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("server.app").getEffectiveLevel() == logging.DEBUG
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
