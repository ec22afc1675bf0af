"""The customer care console in headless Chromium: find a member, open their page (with who
referred them and their class over time), log a complaint, resolve it on the spot, and see the
follow-up task the resolution made."""

from __future__ import annotations

import os
import shutil

import httpx
import psycopg
import pytest

from server.threaded import serve_in_thread
from tests.fix_db import make_token
from tests.helpers.browser import ARGS, CHROMIUM, SHOTS


@pytest.mark.browser
@pytest.mark.slow
def test_find_member_log_and_resolve_a_complaint_see_the_followup(db_url: str) -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    token = make_token(db_url, "crm")
    with serve_in_thread(db_url) as base:
        code = None  # Wang Lei enrols with Wang Fang's referral code
        for name, phone in (("Wang Fang", "13900000009"), ("Wang Lei", "13900000010")):
            r = httpx.post(
                f"{base}/api/v1/members",
                headers=admin,
                json={
                    "name": name,
                    "phone": phone,
                    "consents": {"marketing": True},
                    "referral_code": code,
                },
            )
            assert r.status_code == 201, r.text
            code = r.json()["referral_code"]
        member_id = r.json()["member_id"]
        with psycopg.connect(db_url) as conn:  # three months of class snapshots
            conn.cursor().executemany(
                "INSERT INTO member_stage (store_id, member_id, as_of, member_class, "
                "is_referrer) VALUES ('demo', %s, %s, %s, false)",
                [
                    (member_id, "2026-08-31", "potential"),
                    (member_id, "2026-09-30", "occasional"),
                    (member_id, "2026-10-31", "loyal"),
                ],
            )
        r = httpx.post(
            f"{base}/api/v1/members/{member_id}/cards",
            headers=admin,
            json={"card_number": "14008EC793"},
        )
        assert r.status_code == 201, r.text
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/console#token={token}&store=demo")
            expect(page.locator("#status")).to_have_text("ready", timeout=10_000)
            page.fill("#search-q", "wang")
            page.click("#search-go")
            expect(page.locator(".hit")).to_have_count(2)
            page.fill("#search-q", "14008EC793")  # by card number
            page.click("#search-go")
            expect(page.locator(".hit")).to_have_count(1)
            expect(page.locator(".hit")).to_contain_text("card")
            page.click(".hit button")
            expect(page.locator("#m-name")).to_have_text("Wang Lei")
            expect(page.locator("#m-cards")).to_contain_text("14008EC793")
            expect(page.locator("#m-contact")).to_have_text("yes")
            expect(page.locator("#m-referred-by")).to_contain_text("Wang Fang")
            expect(page.locator("#m-stages .stage")).to_have_count(3)
            expect(page.locator("#m-stages .stage").last).to_contain_text("loyal")
            expect(page.locator("#m-stages .period")).to_have_count(3)
            page.select_option("#c-severity", "high")
            page.fill("#c-counter", "C02")
            page.fill("#c-text", "The scales at the fish counter overcharged me")
            page.click("#c-submit")
            expect(page.locator("#c-msg")).to_contain_text("logged")
            complaint = page.locator("#m-complaints .complaint")
            expect(complaint).to_have_count(1)
            expect(complaint).to_contain_text("overcharged")
            expect(complaint).to_contain_text("open")
            expect(page.locator("#open-list .complaint")).to_have_count(1)
            complaint.locator(".r-text").fill("Refunded the difference")
            complaint.locator(".r-spot").check()
            complaint.locator(".r-submit").click()
            expect(page.locator("#c-msg")).to_contain_text("resolved; follow-up: Check the member")
            expect(complaint).to_contain_text("Resolved on the spot: Refunded the difference")
            expect(page.locator("#open-list")).to_have_text("none open")
            task = page.locator("#m-followups .followup")
            expect(task).to_have_count(1)
            expect(task).to_contain_text("rule: complaint resolved")
            expect(page.locator("#task-list .followup")).to_contain_text("Wang Lei")
            page.screenshot(path=str(SHOTS / "console.png"), full_page=True)
            task.locator(".f-submit").click()  # reached, the first outcome
            expect(task).to_contain_text("reached")
            expect(page.locator("#task-list")).to_have_text("nothing to do")
            browser.close()
