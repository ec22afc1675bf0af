"""``storeflow dashboard``: the planners' Streamlit app, pointed at a server.

It listens on 127.0.0.1 unless told otherwise. Bound to any other address, it asks each visitor
for a planner token (entered in the page, kept in that visitor's session); a token given with
``--token`` is then not used, so the dashboard never serves data to whoever reaches the port.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

LOGIN_ENV = "STOREFLOW_DASHBOARD_LOGIN"  # read by dashboard/context.py


def add_dashboard_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dashboard",
        help="run the planners' dashboard (Streamlit)",
        description="Serve the Streamlit dashboard; it reads the server's API only.",
    )
    p.add_argument("--port", type=int, default=8501, help="port (8501)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (127.0.0.1); any other asks each visitor for a planner token",
    )
    p.add_argument(
        "--api-url",
        default=os.environ.get("STOREFLOW_API_URL", "http://127.0.0.1:8000"),
        help="the API server the dashboard reads (or STOREFLOW_API_URL; 127.0.0.1:8000)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("STOREFLOW_API_TOKEN"),
        help="a planner token (or STOREFLOW_API_TOKEN); only when bound to a loopback address",
    )
    p.set_defaults(func=run_dashboard)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_env(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str] | str:
    """The environment of the Streamlit process, or why it cannot start."""
    env = {k: v for k, v in environ.items() if k not in ("STOREFLOW_API_TOKEN", LOGIN_ENV)}
    env["STOREFLOW_API_URL"] = args.api_url
    if is_loopback(args.host):
        if not args.token:
            return "config error: give --token or set STOREFLOW_API_TOKEN (a planner token)"
        env["STOREFLOW_API_TOKEN"] = args.token
    else:
        env[LOGIN_ENV] = "1"  # the token, if any, stays out: visitors log in with their own
    return env


def run_dashboard(args: argparse.Namespace) -> int:
    env = dashboard_env(args, dict(os.environ))
    if isinstance(env, str):
        print(env)
        return 2
    if not is_loopback(args.host):
        print(f"dashboard on {args.host}: each visitor logs in with a planner token")
    app = Path(__file__).with_name("app.py")
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
    ]
    os.execve(sys.executable, argv, env)
    return 0  # not reached
