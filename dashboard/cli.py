"""``storeflow dashboard``: the planners' Streamlit app, pointed at a server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_dashboard_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dashboard",
        help="run the planners' dashboard (Streamlit)",
        description="Serve the Streamlit dashboard; it reads the server's API only.",
    )
    p.add_argument("--port", type=int, default=8501, help="port (8501)")
    p.add_argument(
        "--api-url",
        default=os.environ.get("STOREFLOW_API_URL", "http://127.0.0.1:8000"),
        help="the API server the dashboard reads (or STOREFLOW_API_URL; 127.0.0.1:8000)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("STOREFLOW_API_TOKEN"),
        help="a planner token (or STOREFLOW_API_TOKEN)",
    )
    p.set_defaults(func=run_dashboard)


def run_dashboard(args: argparse.Namespace) -> int:
    if not args.token:
        print("config error: give --token or set STOREFLOW_API_TOKEN (a planner token)")
        return 2
    app = Path(__file__).with_name("app.py")
    os.environ["STOREFLOW_API_URL"] = args.api_url
    os.environ["STOREFLOW_API_TOKEN"] = args.token
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
    ]
    os.execv(sys.executable, argv)
    return 0  # not reached
