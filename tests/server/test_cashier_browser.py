"""The cashier's page in headless Chromium with a simulated RDM6300 scanner and register agent:
scan -> member shown -> sale -> new balance shown -> redemption; a lost card is shown plainly."""

from __future__ import annotations

import os
import shutil
import socket
import threading

import httpx
import pytest

from edge.register import ScanPoster, make_decoder, run_scanner, scan_event
from firmware_sim.encoders import rdm6300_frame
from server.threaded import serve_in_thread
from tests.fix_db import make_token
from tests.helpers.browser import ARGS, CHROMIUM, SHOTS


@pytest.mark.browser
@pytest.mark.slow
def test_scan_sale_redeem_at_the_till(db_url: str) -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    cashier = make_token(db_url, "cashier", store_id="demo", register_id="T1")
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    with serve_in_thread(db_url) as base:
        r = httpx.post(
            f"{base}/api/v1/members",
            headers=admin,
            json={"name": "Wang Fang", "phone": "13900000009"},
        )
        member_id = r.json()["member_id"]
        for card in ("14008EC793", "0A0B0C0D0E"):
            httpx.post(
                f"{base}/api/v1/members/{member_id}/cards",
                headers=admin,
                json={"card_number": card},
            )
        httpx.post(f"{base}/api/v1/cards/0A0B0C0D0E/lost", headers=admin)
        poster = ScanPoster(
            server_url=base,
            token=make_token(db_url, "register", store_id="demo", register_id="T1"),
            device_id="register-T1",
        )
        agent = threading.Thread(
            target=run_scanner,
            daemon=True,
            kwargs={
                "url": f"socket://127.0.0.1:{listener.getsockname()[1]}",
                "baudrate": 9600,
                "decoder": make_decoder("rdm6300"),
                "stop": stop,
                "on_read": lambda read: poster.post(
                    scan_event(read, store_id="demo", register_id="T1")
                ),
            },
        )
        agent.start()
        scanner, _ = listener.accept()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{base}/cashier#token={cashier}&register=T1&store=demo")
            expect(page.locator("#status")).to_contain_text("connected: register", timeout=10_000)
            scanner.sendall(rdm6300_frame("14008EC793") * 3)  # the card lies on the reader
            expect(page.locator("#member-name")).to_have_text("Wang Fang", timeout=5_000)
            expect(page.locator("#member-tier")).to_have_text("Member")
            expect(page.locator("#member-points")).to_have_text("0")
            page.fill("#sale-amount", "120")
            page.click("#sale-submit")
            expect(page.locator("#sale-result")).to_contain_text("balance 120")
            expect(page.locator("#member")).to_be_hidden()  # the next customer starts afresh
            page.fill("#lookup", "14008EC793")
            page.click("#lookup-form button")
            expect(page.locator("#member-points")).to_have_text("120")
            page.fill("#redeem-points", "50")
            page.click("#redeem-submit")
            expect(page.locator("#member-points")).to_have_text("70")
            page.fill("#redeem-points", "500")
            page.click("#redeem-submit")
            expect(page.locator("#redeem-result")).to_contain_text("insufficient points")
            page.screenshot(path=str(SHOTS / "cashier.png"), full_page=True)
            scanner.sendall(rdm6300_frame("0A0B0C0D0E"))
            expect(page.locator("#problem")).to_have_text("card reported lost", timeout=5_000)
            page.screenshot(path=str(SHOTS / "cashier-lost-card.png"), full_page=True)
            browser.close()
        stop.set()
        scanner.close()
        listener.close()
        agent.join(5)
        poster.close()
