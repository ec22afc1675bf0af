"""``storeflow dashboard``: the planners' Streamlit app, pointed at a server; ``storeflow
report``: the period's digest as HTML, PDF or e-mail.

It listens on 127.0.0.1 unless told otherwise. Bound to any other address, it asks each visitor
for a planner token (entered in the page, kept in that visitor's session); a token given with
``--token`` is then not used, so the dashboard never serves data to whoever reaches the port.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import smtplib
import subprocess
import sys
from pathlib import Path

from dashboard.serve import command

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
    add_api_arguments(
        p,
        api_help="the API server the dashboard reads",
        token_help="a planner token (or STOREFLOW_API_TOKEN); only when bound to a loopback "
        "address",
    )
    p.set_defaults(func=run_dashboard)


def add_api_arguments(p: argparse.ArgumentParser, *, api_help: str, token_help: str) -> None:
    """``--api-url`` and ``--token``, defaulting to STOREFLOW_API_URL and STOREFLOW_API_TOKEN."""
    p.add_argument(
        "--api-url",
        default=os.environ.get("STOREFLOW_API_URL", "http://127.0.0.1:8000"),
        help=f"{api_help} (or STOREFLOW_API_URL; 127.0.0.1:8000)",
    )
    p.add_argument("--token", default=os.environ.get("STOREFLOW_API_TOKEN"), help=token_help)


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
    # streamlit's command line, its socket fixed (dashboard/serve.py)
    argv = command(Path(__file__).with_name("app.py"), port=args.port, host=args.host)
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help="the period's digest (alerts and verdicts) as HTML, PDF or e-mail",
        description=(
            "Write the period's digest — what needs attention, the headline figures, the "
            "counters' verdicts and the calendar — as an HTML page; optionally print it to PDF "
            "(a headless Chromium) and send it by e-mail (STOREFLOW_SMTP_HOST, _PORT, _USER, "
            "_PASSWORD, _STARTTLS, STOREFLOW_REPORT_FROM; without a host the message is written "
            "next to --out as an .eml file). Schedule it with cron, e.g. every Monday at 07:00: "
            "0 7 * * 1 storeflow report --store demo --period last-week --out /srv/week.html "
            "--mail-to planners@example.com"
        ),
    )
    p.add_argument("--store", required=True, help="the store's id")
    p.add_argument(
        "--period",
        default="last-week",
        help="last-week (default), last-7-days, yesterday, last-month, month-to-date, or "
        "FIRST..LAST (e.g. 2026-11-02..2026-11-08); whole days in store time",
    )
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--pdf", type=Path, help="also print the report to this PDF (needs Chromium)")
    p.add_argument(
        "--mail-to",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="send the report to this address (repeatable)",
    )
    add_api_arguments(
        p, api_help="the API server", token_help="a planner token (or STOREFLOW_API_TOKEN)"
    )
    p.add_argument(
        "--dashboard-url",
        default=os.environ.get("STOREFLOW_DASHBOARD_URL"),
        help="the dashboard's address, to link each line to its page (or STOREFLOW_DASHBOARD_URL)",
    )
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dashboard import report
    from dashboard.api import ApiConfig, ApiError, StoreflowClient
    from dashboard.digest import gather

    if not args.token:
        print("config error: give --token or set STOREFLOW_API_TOKEN (a planner token)")
        return 2
    try:
        smtp = report.SmtpSettings.from_env() if args.mail_to else None
    except ValueError as exc:
        print(f"config error: {exc}")
        return 2
    chromium = report.find_chromium() if args.pdf else None
    if args.pdf and chromium is None:
        print(
            "config error: --pdf needs a Chromium or Chrome (set STOREFLOW_CHROMIUM to its "
            "path); the HTML report needs nothing more"
        )
        return 2
    config = ApiConfig(base_url=args.api_url.rstrip("/"), token=args.token)
    with StoreflowClient(config) as client:
        try:
            store = next((s for s in client.stores() if s.id == args.store), None)
        except ApiError as exc:
            print(f"error: {exc}")
            return 1
        if store is None:
            print(f"config error: no store {args.store!r} on {args.api_url}")
            return 2
        today = datetime.now(ZoneInfo(store.timezone)).date()
        try:
            first, last = report.period_days(args.period, today)
        except ValueError as exc:
            print(f"config error: {exc}")
            return 2
        digest = gather(client, store, first, last)
    if digest.summary is None:
        problems = "; ".join(i.text for i in digest.items if i.topic == "Not read")
        print(f"error: the report cannot be made: {problems}")
        return 1
    page = report.render_html(digest, dashboard_url=args.dashboard_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    print(f"report for {store.id}, {first} – {last}: {len(digest.items)} lines -> {args.out}")
    if args.pdf and chromium is not None:
        try:
            report.write_pdf(page, args.pdf, chromium=chromium)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"error: {exc}")
            return 1
        print(f"PDF -> {args.pdf}")
    if args.mail_to:
        sender = smtp.sender if smtp else report.SmtpSettings("").sender
        msg = report.build_message(
            digest, page, sender=sender, to=args.mail_to, pdf=args.pdf if chromium else None
        )
        if smtp is None:
            eml = args.out.with_suffix(".eml")
            eml.write_bytes(bytes(msg))
            print(f"no STOREFLOW_SMTP_HOST: the message is in {eml}")
        else:
            try:
                report.send(msg, smtp)
            except (OSError, smtplib.SMTPException) as exc:
                print(f"error: the e-mail could not be sent via {smtp.host}:{smtp.port}: {exc}")
                return 1
            print(f"sent to {', '.join(args.mail_to)} via {smtp.host}:{smtp.port}")
    return 0
