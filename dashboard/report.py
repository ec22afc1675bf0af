"""The period's digest as a report: an HTML page (``storeflow report``), optionally a PDF printed
by a headless Chromium, optionally sent by e-mail (SMTP) or kept as an ``.eml`` file.

What the report says is what the overview opens on (:mod:`dashboard.digest`): the store's
alerts and the period's verdicts, the headline figures against the period before, the counters'
verdicts in rank order and the calendar's events. It reads the server's API with a planner
token, like the dashboard; it names no member.
"""

from __future__ import annotations

import html
import os
import shutil
import smtplib
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

from dashboard import fmt
from dashboard.digest import Digest, Item

PERIODS = ("last-week", "last-7-days", "yesterday", "last-month", "month-to-date")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120.0
URGENT = ' class="urgent"'


def period_days(spec: str, today: date) -> tuple[date, date]:
    """The whole days a period name means on ``today`` (store time), or ``FIRST..LAST``.

    ``last-week``: Monday to Sunday before this week; ``last-7-days``: the 7 days before today;
    ``yesterday``; ``last-month``: the calendar month before this one; ``month-to-date``: the
    1st to yesterday (on the 1st: the month before). Today is never included: it is not over.
    """
    yesterday = today - timedelta(days=1)
    if spec == "last-week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if spec == "last-7-days":
        return today - timedelta(days=7), yesterday
    if spec == "yesterday":
        return yesterday, yesterday
    if spec == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if spec == "month-to-date":
        return yesterday.replace(day=1), yesterday
    for sep in ("..", ":"):
        if sep in spec:
            a, _, b = spec.partition(sep)
            try:
                first, last = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
            except ValueError:
                break
            if last < first:
                raise ValueError(f"the period {spec!r} ends before it starts")
            return first, last
    raise ValueError(
        f"unknown period {spec!r}: use one of {', '.join(PERIODS)} or FIRST..LAST "
        "(e.g. 2026-11-02..2026-11-08)"
    )


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
.period { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; white-space: nowrap; }
li { margin-bottom: 0.35rem; } .urgent { color: #b00020; font-weight: 600; }
.ok { color: #1b7f3b; } .note { color: #666; font-size: 0.85rem; }
.verdict-keep { color: #1b7f3b; } .verdict-replace { color: #b00020; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _link(item: Item, digest: Digest, dashboard_url: str | None) -> str:
    if dashboard_url is None or item.page is None:
        return ""
    sep = "&" if "?" in item.page else "?"
    href = (
        f"{dashboard_url.rstrip('/')}/{item.page}{sep}"
        f"from={digest.first.isoformat()}&to={digest.last.isoformat()}"
    )
    return f' <a href="{_e(href)}">details</a>'


def _figures(digest: Digest) -> str:
    s = digest.summary
    if s is None:
        return '<p class="note">The headline figures could not be read.</p>'
    prev = s.previous if s.not_comparable is None else None

    def change(name: str) -> str:
        now = getattr(s, name)
        before = getattr(prev, name) if prev is not None else None
        if name == "conversion":
            return fmt.point_change(now, before) or "–"
        return fmt.relative_change(now, before) or "–"

    staff = digest.staffing.shoppers_per_staff if digest.staffing else None
    rows = [
        ("Entries (trips)", fmt.number(s.entries), change("entries")),
        ("Conversion", fmt.pct(s.conversion), change("conversion")),
        ("Sales (net of returns)", fmt.money(s.sales), change("sales")),
        ("Average sale (ATV)", fmt.money(s.average_sale), change("average_sale")),
        (
            "Units per sale (UPT)",
            fmt.number(s.units_per_sale, decimals=2),
            change("units_per_sale"),
        ),
        ("Shoppers per staff member", fmt.number(staff, decimals=1), "–"),
    ]
    body = "".join(
        f"<tr><td>{_e(a)}</td><td class='num'>{_e(b)}</td><td class='num'>{_e(c)}</td></tr>"
        for a, b, c in rows
    )
    note = (
        "Changes: relative (conversion in percentage points), against the period just before."
        if prev is not None
        else f"No change shown: {s.not_comparable or 'no period before'}."
    )
    return (
        "<table><tr><th>Figure</th><th>This period</th><th>Change</th></tr>"
        f"{body}</table><p class='note'>{_e(note)}</p>"
    )


def _counters(digest: Digest) -> str:
    if not digest.counters:
        return '<p class="note">No counter figures.</p>'
    terms = any(c.take_per_m2 is not None for c in digest.counters)
    head = "<tr><th>#</th><th>Counter</th><th>Verdict</th><th>Sales per m²</th>"
    head += "<th>Store's take per m² a month</th>" if terms else ""
    head += "<th>Why</th></tr>"
    rows = []
    for c in sorted(digest.counters, key=lambda c: c.rank):
        why = c.recommendation.split(": ", 1)[-1]
        take = f"<td class='num'>{_e(fmt.money(c.take_per_m2))}</td>" if terms else ""
        rows.append(
            f"<tr><td>{c.rank}</td><td>{_e(c.name)} ({_e(c.code)})</td>"
            f"<td class='verdict-{_e(c.verdict.replace(' ', '-'))}'>{_e(c.verdict)}</td>"
            f"<td class='num'>{_e(fmt.money(c.sales_per_m2))}</td>{take}<td>{_e(why)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _events(digest: Digest) -> str:
    if not digest.events:
        return '<p class="note">No promotion or layout change in the calendar for these days.</p>'
    items = "".join(
        f"<li>{_e(e.first_day.strftime('%d %b'))}"
        + (f" – {_e(e.last_day.strftime('%d %b'))}" if e.last_day > e.first_day else "")
        + f": {_e(e.title)} ({_e(e.kind.replace('_', ' '))}"
        + (f"; {_e(', '.join(e.counters))}" if e.counters else "")
        + ")</li>"
        for e in digest.events
    )
    return f"<ul>{items}</ul>"


def render_html(digest: Digest, *, dashboard_url: str | None = None) -> str:
    """The report as one self-contained HTML page (no script, no external file)."""
    title = f"{digest.store.name}: {digest.first:%d %b %Y} – {digest.last:%d %b %Y}"
    if digest.items:
        attention = (
            "<ul>"
            + "".join(
                f"<li{URGENT if i.urgent else ''}><strong>{_e(i.topic)}:</strong> "
                f"{_e(i.text)}{_link(i, digest, dashboard_url)}</li>"
                for i in digest.items
            )
            + "</ul>"
        )
    else:
        attention = '<p class="ok">Nothing needs attention in this period.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Storeflow report — {_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>Storeflow report — {_e(digest.store.name)}</h1>
<p class="period">{digest.first:%A %d %B %Y} – {digest.last:%A %d %B %Y}
(store time, {_e(digest.store.timezone)})</p>
<h2>Needs attention ({len(digest.items)})</h2>
{attention}
<h2>Headline figures</h2>
{_figures(digest)}
<h2>Counters by sales per m²</h2>
{_counters(digest)}
<h2>Calendar</h2>
{_events(digest)}
<p class="note">Definitions: docs/metrics.md. Figures from the Storeflow server's API; the
same as the dashboard shows for these days.</p>
</body></html>
"""


def render_text(digest: Digest) -> str:
    """The plain-text part of the e-mail: the lines that need attention."""
    head = f"Storeflow report — {digest.store.name}, {digest.first:%d %b} – {digest.last:%d %b %Y}"
    if not digest.items:
        return f"{head}\n\nNothing needs attention in this period.\n"
    lines = "\n".join(f"- {i.topic}: {i.text}" for i in digest.items)
    return f"{head}\n\nNeeds attention ({len(digest.items)}):\n{lines}\n"


# --- PDF -------------------------------------------------------------------------------------


def find_chromium(environ: Mapping[str, str] | None = None) -> str | None:
    """``STOREFLOW_CHROMIUM``, else a Chromium or Chrome on the PATH."""
    env = os.environ if environ is None else environ
    if env.get("STOREFLOW_CHROMIUM"):
        return env["STOREFLOW_CHROMIUM"]
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(page: str, pdf: Path, *, chromium: str) -> None:
    """Print the HTML page to ``pdf`` with a headless Chromium (A4, no header or footer)."""
    with tempfile.TemporaryDirectory(prefix="storeflow-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        argv = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            source.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses its sandbox as root
        done = subprocess.run(argv, capture_output=True, timeout=PDF_TIMEOUT_S, check=False)
    if done.returncode != 0 or not pdf.exists():
        tail = done.stderr.decode(errors="replace")[-500:]
        raise RuntimeError(f"{chromium} could not print the PDF (exit {done.returncode}): {tail}")


# --- e-mail ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "storeflow@localhost"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """``STOREFLOW_SMTP_HOST`` (unset: no SMTP), ``_PORT`` (25), ``_USER``, ``_PASSWORD``,
        ``_STARTTLS`` (1 to upgrade the connection) and ``STOREFLOW_REPORT_FROM``."""
        env = os.environ if environ is None else environ
        host = env.get("STOREFLOW_SMTP_HOST", "").strip()
        if not host:
            return None
        port_text = env.get("STOREFLOW_SMTP_PORT", "25").strip() or "25"
        if not port_text.isdigit():
            raise ValueError(f"STOREFLOW_SMTP_PORT must be a port number, not {port_text!r}")
        return cls(
            host=host,
            port=int(port_text),
            user=env.get("STOREFLOW_SMTP_USER") or None,
            password=env.get("STOREFLOW_SMTP_PASSWORD") or None,
            starttls=env.get("STOREFLOW_SMTP_STARTTLS", "").strip() in ("1", "true", "yes"),
            sender=env.get("STOREFLOW_REPORT_FROM", "").strip() or "storeflow@localhost",
        )


def build_message(
    digest: Digest,
    page: str,
    *,
    sender: str,
    to: list[str],
    pdf: Path | None = None,
) -> EmailMessage:
    """The report as an e-mail: the lines in plain text, the page as HTML, the PDF attached."""
    msg = EmailMessage()
    n = len(digest.items)
    msg["Subject"] = (
        f"Storeflow {digest.store.name}, {digest.first:%d %b} – {digest.last:%d %b %Y}: "
        + (
            f"{n} thing{'s' if n != 1 else ''} need{'s' if n == 1 else ''} attention"
            if n
            else "nothing needs attention"
        )
    )
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(render_text(digest))
    msg.add_alternative(page, subtype="html")
    if pdf is not None:
        msg.add_attachment(
            pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name
        )
    return msg


def send(msg: EmailMessage, smtp: SmtpSettings, *, timeout_s: float = 30.0) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(msg)
