"""The till page as a cashier sees it, in headless Chromium against a real server: the member
is cleared after each sale, a non-member sale is plain, a scan mid-sale asks before switching,
large sales are confirmed, counters are offered, the discount and amount to pay are shown,
returns are made on the page, and the page holds at 800x600. Screenshots: test-artifacts/."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from edge.drivers.cards import CardRead
from edge.register import ScanPoster, scan_event
from server.threaded import serve_in_thread
from tests.fix_db import make_token
from tests.helpers.browser import ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("test-artifacts/screenshots")
CHROMIUM = "/usr/bin/chromium"
LAYOUT = Path("firmware_sim/stores/demo.yaml")
MEMBERS = {  # card -> (name, tier)
    "14008EC793": ("Wang Fang", "Member"),
    "0A0B0C0D0E": ("Li Na", "Member"),
    "5566778899": ("Zhao Lei", "Silver"),
}


@dataclass
class Till:
    base: str
    db_url: str
    cashier: str
    poster: ScanPoster
    browser: Any

    def open(self, width: int = 1280, height: int = 800) -> Any:
        from playwright.sync_api import expect

        page = self.browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{self.base}/cashier#token={self.cashier}&register=T1&store=demo")
        # "connected: register …" comes after the till (its counters) has loaded; the bare word
        # would match the page's first "not connected" at once
        expect(page.locator("#status")).to_contain_text("connected: register", timeout=10_000)
        return page

    def scan(self, card: str) -> None:
        read = CardRead(card_number=card, host_ts=time.time(), scanner="rdm6300")
        assert self.poster.post(scan_event(read, store_id="demo", register_id="T1"))

    def one(self, query: str, *params: object) -> Any:
        with psycopg.connect(self.db_url) as c:
            row = c.execute(query, params).fetchone()
        assert row is not None
        return row[0]


@pytest.fixture(scope="module")
def till(module_db_url: str) -> Iterator[Till]:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    db_url = module_db_url
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    with serve_in_thread(db_url) as base:
        r = httpx.put(
            f"{base}/api/v1/stores/demo/layout",
            content=LAYOUT.read_bytes(),
            headers={**admin, "Content-Type": "application/yaml"},
        )
        assert r.status_code == 200, r.text
        for i, (card, (name, tier)) in enumerate(MEMBERS.items()):
            r = httpx.post(
                f"{base}/api/v1/members",
                headers=admin,
                json={"name": name, "phone": f"1390000000{i}"},
            )
            member_id = r.json()["member_id"]
            r = httpx.post(
                f"{base}/api/v1/members/{member_id}/cards",
                headers=admin,
                json={"card_number": card},
            )
            assert r.status_code == 201, r.text
            with psycopg.connect(db_url) as c:
                c.execute("UPDATE member SET tier = %s WHERE id = %s", (tier, member_id))
        poster = ScanPoster(
            server_url=base,
            token=make_token(db_url, "register", store_id="demo", register_id="T1"),
            device_id="register-T1",
        )
        cashier = make_token(db_url, "cashier", store_id="demo", register_id="T1")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield Till(base, db_url, cashier, poster, browser)
            finally:
                browser.close()
                poster.close()


def test_the_next_customer_is_not_credited_to_the_last_member(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open()
    till.scan("14008EC793")
    expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
    expect(page.locator("#sale-submit")).to_have_text("Record sale for Wang Fang")
    page.fill("#sale-amount", "120")
    page.click("#sale-submit")
    result = page.locator("#sale-result")
    expect(result).to_contain_text("Sale recorded for Wang Fang")
    expect(result).to_contain_text("card ···C793")
    expect(result).to_contain_text("+120 points")
    # the member is gone from the screen: the next customer starts as no member
    expect(page.locator("#member")).to_be_hidden()
    expect(page.locator("#waiting")).to_be_visible()
    expect(page.locator("#sale-who")).to_have_text("No member (no card scanned)")
    expect(page.locator("#sale-submit")).to_have_text("Record sale without member")
    expect(page.locator("#sale-submit")).to_be_enabled()
    expect(page.locator("#redeem-submit")).to_be_disabled()
    page.screenshot(path=str(SHOTS / "till-after-sale.png"), full_page=True)
    page.fill("#sale-amount", "30")
    page.click("#sale-submit")
    expect(result).to_contain_text("Sale recorded for no member")
    receipt = page.locator("#return-pos").input_value()
    assert till.one("SELECT member_id IS NULL FROM purchase WHERE pos_id = %s", receipt)
    assert till.one("SELECT points_earned FROM purchase WHERE pos_id = %s", receipt) == 0
    # "New customer" clears a member who did not buy
    till.scan("14008EC793")
    expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
    page.click("#new-customer")
    expect(page.locator("#member")).to_be_hidden()
    expect(page.locator("#sale-submit")).to_have_text("Record sale without member")
    page.close()


def test_a_scan_during_a_sale_asks_before_switching(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open()
    till.scan("14008EC793")
    expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
    page.fill("#sale-amount", "45")
    till.scan("0A0B0C0D0E")  # the next customer's card near the reader
    prompt = page.locator("#switch-prompt")
    expect(prompt).to_be_visible(timeout=5_000)
    expect(prompt).to_contain_text("Li Na")
    expect(prompt).to_contain_text("the sale for Wang Fang")
    expect(page.locator("#member-name")).to_have_text("Wang Fang")
    page.screenshot(path=str(SHOTS / "till-switch-prompt.png"), full_page=True)
    page.click("#switch-no")
    expect(prompt).to_be_hidden()
    expect(page.locator("#sale-submit")).to_have_text("Record sale for Wang Fang")
    till.scan("0A0B0C0D0E")
    expect(prompt).to_be_visible(timeout=5_000)
    page.click("#switch-yes")
    expect(page.locator("#member-name")).to_have_text("Li Na")
    expect(page.locator("#sale-submit")).to_have_text("Record sale for Li Na")
    page.close()


def test_large_sales_are_confirmed_and_absurd_ones_refused(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open()
    count = till.one("SELECT count(*) FROM purchase")
    page.fill("#sale-amount", "99999999")
    page.click("#sale-submit")
    expect(page.locator("#sale-quote")).to_contain_text("over the maximum of 1,000,000.00")
    expect(page.locator("#sale-confirm")).to_be_hidden()
    page.screenshot(path=str(SHOTS / "till-absurd-amount.png"), full_page=True)
    assert till.one("SELECT count(*) FROM purchase") == count

    till.scan("0A0B0C0D0E")
    expect(page.locator("#member-name")).to_have_text("Li Na", timeout=5_000)
    page.fill("#sale-amount", "6000")
    page.click("#sale-submit")
    confirm = page.locator("#sale-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("6,000.00 for Li Na")
    expect(confirm).to_contain_text("card ···0D0E")
    expect(page.locator("#supervisor-label")).to_be_hidden()
    assert till.one("SELECT count(*) FROM purchase") == count  # nothing before the confirmation
    page.click("#sale-confirm-no")
    expect(confirm).to_be_hidden()
    page.click("#sale-submit")
    page.click("#sale-confirm-yes")
    expect(page.locator("#sale-result")).to_contain_text("Sale recorded for Li Na")
    assert till.one("SELECT count(*) FROM purchase") == count + 1

    page.fill("#sale-amount", "60000")
    page.click("#sale-submit")
    expect(confirm).to_contain_text("a supervisor must confirm it")
    expect(page.locator("#supervisor-label")).to_be_visible()
    page.screenshot(path=str(SHOTS / "till-supervisor.png"), full_page=True)
    page.click("#sale-confirm-yes")  # no supervisor named: nothing is recorded
    expect(confirm).to_be_visible()
    assert till.one("SELECT count(*) FROM purchase") == count + 1
    page.fill("#supervisor", "Chen Jie")
    page.click("#sale-confirm-yes")
    expect(page.locator("#sale-result")).to_contain_text("Sale recorded for no member")
    assert till.one("SELECT count(*) FROM purchase") == count + 2
    assert till.one("SELECT supervisor FROM purchase ORDER BY id DESC LIMIT 1") == "Chen Jie"
    page.close()


def test_counters_are_offered_and_the_discount_is_applied(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open()
    options = page.locator("#sale-counter option").all_inner_texts()
    assert options[:3] == ["(none)", "C01 Lumiere Beauty", "C02 Maison Ambre"]
    till.scan("5566778899")
    expect(page.locator("#member-name")).to_have_text("Zhao Lei", timeout=5_000)
    expect(page.locator("#member-discount")).to_have_text("2 %")
    page.fill("#sale-amount", "100")
    page.select_option("#sale-counter", "C02")
    expect(page.locator("#amount-due")).to_have_text("98.00")
    expect(page.locator("#sale-quote")).to_contain_text("Silver discount 2 %: −2.00")
    page.screenshot(path=str(SHOTS / "till-discount.png"), full_page=True)
    page.click("#sale-submit")
    expect(page.locator("#sale-result")).to_contain_text("to pay 98.00")
    receipt = page.locator("#return-pos").input_value()
    row = ("discount", "amount_due", "(SELECT counter FROM purchase_line WHERE purchase_id = p.id)")
    got = [till.one(f"SELECT {c} FROM purchase p WHERE pos_id = %s", receipt) for c in row]
    assert [str(got[0]), str(got[1]), got[2]] == ["2.00", "98.00", "C02"]
    page.close()


def test_a_return_is_made_on_the_till_page(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open()
    till.scan("14008EC793")
    expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
    page.fill("#sale-amount", "80")
    page.click("#sale-submit")
    expect(page.locator("#sale-result")).to_contain_text("+80 points")
    receipt = page.locator("#return-pos").input_value()
    page.click("#return-find")
    expect(page.locator("#return-summary")).to_contain_text(f"Sale {receipt}")
    page.fill("#return-line-1", "30")
    page.click("#return-submit")
    expect(page.locator("#return-result")).to_contain_text(f"Returned 30.00 of sale {receipt}")
    expect(page.locator("#return-result")).to_contain_text("−30 points")
    page.click("#return-find")
    expect(page.locator("#return-lines")).to_contain_text("30.00")
    page.click("#return-all")
    expect(page.locator("#return-line-1")).to_have_value("50.00")
    page.screenshot(path=str(SHOTS / "till-return.png"), full_page=True)
    page.click("#return-submit")
    expect(page.locator("#return-result")).to_contain_text("Returned 50.00")
    pid = till.one("SELECT id FROM purchase WHERE pos_id = %s", receipt)
    assert str(till.one("SELECT sum(amount) FROM purchase_return WHERE purchase_id = %s", pid)) == (
        "80.00"
    )
    page.close()


def test_the_till_holds_at_800_by_600(till: Till) -> None:
    from playwright.sync_api import expect

    page = till.open(800, 600)
    till.scan("14008EC793")
    expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
    page.fill("#sale-amount", "12.5")
    expect(page.locator("#amount-due")).to_have_text("12.50")
    page.screenshot(path=str(SHOTS / "till-800x600.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    header = page.locator("header").bounding_box()
    assert header is not None and header["height"] <= 110
    for sel in ("#connect", "#status", "#token", "#sale-submit", "#new-customer", "#return-find"):
        box = page.locator(sel).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800, (sel, box)
    page.close()
