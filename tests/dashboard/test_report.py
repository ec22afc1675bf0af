"""``storeflow report``: the period's digest as an HTML page, a PDF and an e-mail — against a
real server, with a local SMTP server taking the message."""

from __future__ import annotations

import email
import email.policy
import shutil
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from dashboard.digest import Digest, Item
from dashboard.report import build_message, period_days, render_html
from orchestration.cli import main
from server.threaded import serve_in_thread
from storeflow.api.stores import StoreInfo
from tests.fix_db import make_token
from tests.helpers.ingest import LAYOUT, T0, batch, visit
from tests.helpers.smtp import smtp_server

STORE = StoreInfo(id="demo", name="Demo <Store>", timezone="UTC")


@pytest.mark.parametrize(
    ("spec", "today", "days"),
    [
        ("last-week", date(2026, 11, 18), (date(2026, 11, 9), date(2026, 11, 15))),  # a Wed
        ("last-week", date(2026, 11, 16), (date(2026, 11, 9), date(2026, 11, 15))),  # a Mon
        ("last-7-days", date(2026, 11, 18), (date(2026, 11, 11), date(2026, 11, 17))),
        ("yesterday", date(2026, 11, 1), (date(2026, 10, 31), date(2026, 10, 31))),
        ("last-month", date(2026, 3, 5), (date(2026, 2, 1), date(2026, 2, 28))),
        ("month-to-date", date(2026, 11, 18), (date(2026, 11, 1), date(2026, 11, 17))),
        ("month-to-date", date(2026, 11, 1), (date(2026, 10, 1), date(2026, 10, 31))),
        ("2026-11-02..2026-11-08", date(2026, 12, 1), (date(2026, 11, 2), date(2026, 11, 8))),
    ],
)
def test_period_names_are_whole_days_before_today(
    spec: str, today: date, days: tuple[date, date]
) -> None:
    assert period_days(spec, today) == days


@pytest.mark.parametrize(
    ("spec", "message"),
    [("last-fortnight", "unknown period 'last-fortnight'"), ("2026-11-08..2026-11-02", "ends")],
)
def test_bad_periods_say_what_is_accepted(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        period_days(spec, date(2026, 11, 18))


def _digest(items: list[Item]) -> Digest:
    return Digest(
        store=STORE,
        first=date(2026, 11, 9),
        last=date(2026, 11, 15),
        summary=None,
        counters=[],
        events=[],
        staffing=None,
        items=items,
    )


def test_the_page_escapes_what_it_shows_and_links_to_the_dashboard() -> None:
    digest = _digest([Item("Counters", "#8 <b>Hearth</b> — Replace", "counters", urgent=True)])
    page = render_html(digest, dashboard_url="http://dash:8501/")
    assert "Demo &lt;Store&gt;" in page and "<b>Hearth</b>" not in page
    assert '<li class="urgent"><strong>Counters:</strong> #8 &lt;b&gt;Hearth&lt;/b&gt;' in page
    assert 'href="http://dash:8501/counters?from=2026-11-09&amp;to=2026-11-15"' in page
    assert "<script" not in page
    quiet = render_html(_digest([]))
    assert "Nothing needs attention in this period." in quiet


def test_the_message_has_text_html_and_the_pdf(tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    digest = _digest([Item("Sales", "3 unusually large sales", "")])
    msg = build_message(digest, "<p>page</p>", sender="s@x", to=["a@x", "b@x"], pdf=pdf)
    assert msg["Subject"] == "Storeflow Demo <Store>, 09 Nov – 15 Nov 2026: 1 thing needs attention"
    assert msg["To"] == "a@x, b@x"
    body = msg.get_body(("plain",))
    assert body is not None and "- Sales: 3 unusually large sales" in body.get_content()
    assert [p.get_filename() for p in msg.iter_attachments()] == ["r.pdf"]


@pytest.fixture
def served_store(db_url: str) -> Iterator[tuple[str, str]]:
    """A server with the demo layout, three shoppers' visits, a sale and a recorded promotion
    on 2 Nov 2026; yields its URL and a planner token."""
    with serve_in_thread(db_url) as url:
        admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
        r = httpx.put(
            f"{url}/api/v1/stores/demo/layout",
            content=LAYOUT.read_bytes(),
            headers={**admin, "Content-Type": "application/yaml"},
        )
        assert r.status_code == 200, r.text
        visits = []
        for i in range(3):
            epc = f"3500079FF0000004000000{i + 10:02X}"
            visits += [visit("ENT", i * 60, 5, epc), visit("C01", i * 60 + 5, 90, epc)]
        edge = make_token(db_url, "edge", store_id="demo")
        r = httpx.post(
            f"{url}/api/v1/ingest",
            content=batch(*visits),
            headers={"Authorization": f"Bearer {edge}", "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text
        cashier = make_token(db_url, "cashier", store_id="demo", register_id="T1")
        sale = {
            "store_id": "demo",
            "register_id": "T1",
            "pos_id": "R-1",
            "at": T0.isoformat(),
            "lines": [{"sku": "S", "counter": "C01", "quantity": 2, "amount": "80.00"}],
        }
        r = httpx.post(
            f"{url}/api/v1/purchases", json=sale, headers={"Authorization": f"Bearer {cashier}"}
        )
        assert r.status_code == 200, r.text
        planner = make_token(db_url, "planner")
        r = httpx.post(
            f"{url}/api/v1/stores/demo/calendar",
            json={
                "kind": "promotion",
                "title": "Beauty day",
                "first_day": "2026-11-02",
                "counters": ["C01"],
            },
            headers={"Authorization": f"Bearer {planner}"},
        )
        assert r.status_code == 201, r.text
        yield url, planner


def _report(url: str, token: str, out: Path, *extra: str) -> int:
    return main(
        [
            "report",
            "--store",
            "demo",
            "--period",
            "2026-11-02..2026-11-02",
            "--out",
            str(out),
            "--api-url",
            url,
            f"--token={token}",  # a token may start with "-"
            *extra,
        ]
    )


def test_a_report_is_written_and_mailed(
    served_store: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, token = served_store
    monkeypatch.delenv("STOREFLOW_SMTP_HOST", raising=False)
    out = tmp_path / "week.html"
    assert _report(url, token, out, "--mail-to", "planners@example.com") == 0
    page = out.read_text()
    assert "Storeflow report — Storeflow Demo Department Store" in page
    assert "Monday 02 November 2026" in page
    assert "Beauty day" in page  # the calendar
    assert "Counters by sales per m²" in page and "Lumiere Beauty (C01)" in page
    assert "Units per sale (UPT)" in page and "2.00" in page  # 2 units in 1 sale
    # without an SMTP host the message is kept next to the page
    eml = email.message_from_bytes(out.with_suffix(".eml").read_bytes())
    assert eml["To"] == "planners@example.com"
    assert "no STOREFLOW_SMTP_HOST" in capsys.readouterr().out

    with smtp_server() as box:
        monkeypatch.setenv("STOREFLOW_SMTP_HOST", box.host)
        monkeypatch.setenv("STOREFLOW_SMTP_PORT", str(box.port))
        monkeypatch.setenv("STOREFLOW_REPORT_FROM", "storeflow@store.example")
        assert _report(url, token, out, "--mail-to", "a@x", "--mail-to", "b@x") == 0
    (got,) = box.messages
    assert (got.sender, got.recipients) == ("storeflow@store.example", ["a@x", "b@x"])
    sent = email.message_from_bytes(got.data, policy=email.policy.default)
    assert isinstance(sent, EmailMessage)
    assert str(sent["Subject"]).startswith("Storeflow Storeflow Demo Department Store, 02 Nov")
    html_part = sent.get_body(("html",))
    assert html_part is not None and "Beauty day" in html_part.get_content()


def test_a_report_refuses_what_it_cannot_do(
    served_store: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, token = served_store
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                "--store",
                "nowhere",
                "--out",
                str(out),
                "--api-url",
                url,
                f"--token={token}",
            ]
        )
        == 2
    )
    assert "no store 'nowhere'" in capsys.readouterr().out
    assert _report(url, "wrong-token", out) == 1
    assert "rejected the API token" in capsys.readouterr().out
    assert (
        main(
            [
                "report",
                "--store",
                "demo",
                "--period",
                "soon",
                "--out",
                str(out),
                "--api-url",
                url,
                f"--token={token}",
            ]
        )
        == 2
    )
    assert "unknown period 'soon'" in capsys.readouterr().out
    assert not out.exists()


def test_a_report_prints_to_pdf_with_chromium(
    served_store: tuple[str, str], tmp_path: Path
) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("chromium is missing (apt-get install -y chromium)")
    url, token = served_store
    pdf = tmp_path / "r.pdf"
    assert _report(url, token, tmp_path / "r.html", "--pdf", str(pdf)) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
