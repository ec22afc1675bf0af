"""Retention, the record of processing and edge pseudonyms against the real database."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.cli import run_purge
from server.privacy.record import load_store_record
from server.rollup import mark_dirty, refresh_dirty
from server.settings import Settings
from storeflow.pseudonym import edge_epc
from storeflow.wire import TagKind
from storeflow.yamlconf import ConfigError
from tests.fix_db import Api
from tests.helpers.ingest import load_layout, post
from tests.helpers.membership import EPC, client, enrol, one, till
from tests.helpers.privacy import linked, sale_at, visits

EXAMPLE = Path("config/privacy_record.example.yaml")
CART = "C0FFEE000000000000000001"


@pytest.fixture
def configured(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("STOREFLOW_PRIVACY_RECORD", str(EXAMPLE))
    monkeypatch.setenv("STOREFLOW_EDGE_EPC_KEY", "edge-key")
    monkeypatch.setenv("STOREFLOW_PRIVACY_SECRET", "server-secret")
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        yield Api(client=c, db_url=db_url)


def test_the_record_is_served_without_a_credential(configured: Api) -> None:
    r = client(configured).get("/api/v1/privacy/record")
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["store"]["controller"]["name"] == "Example Department Store Co., Ltd."
    fields = {(f["table"], f["field"]): f["present"] for f in rec["system"]["personal_data"]}
    assert fields[("member", "phone")] and fields[("zone_visit", "epc")]
    assert all(fields.values())  # every declared field exists in the database
    assert rec["system"]["retention_days"]["member_visits_days"] == 180
    assert rec["system"]["retention_days"]["class_history_days"] == 730
    assert {c["purpose"]: c["default"] for c in rec["system"]["consents"]} == {
        "in_store_tracking": False,
        "marketing": False,
        "profiling": True,
    }
    assert rec["system"]["edge_pseudonymous_epcs"] is True
    page = client(configured).get("/privacy")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Example Department Store" in page.text and "in_store_tracking" in page.text


def test_without_a_record_file_the_system_half_is_still_served(api: Api) -> None:
    rec = client(api).get("/api/v1/privacy/record").json()
    assert rec["store"] is None and "STOREFLOW_PRIVACY_RECORD" in rec["store_note"]


def test_a_bad_record_names_file_line_and_key(tmp_path: Path, db_url: str) -> None:
    text = EXAMPLE.read_text().replace("consent: marketing", "consent: newsletters")
    bad = tmp_path / "record.yaml"
    bad.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "newsletters" in s)
    with pytest.raises(ConfigError, match=rf"record.yaml:{line}: purposes\[2\].consent"):
        load_store_record(bad)
    with pytest.raises(ConfigError):
        create_app(
            Settings.model_validate({"STOREFLOW_PRIVACY_RECORD": str(bad)}), database_url=db_url
        )


def test_edge_pseudonyms_match_registered_cards_by_the_same_hash(configured: Api) -> None:
    load_layout(configured)
    enrol(configured, configured.headers("admin"))
    t0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    edge = configured.token("edge", store_id="demo")
    post(configured, visits(edge_epc(b"edge-key", EPC), start=t0), edge)
    post(configured, visits(edge_epc(b"edge-key", CART), start=t0, kind=TagKind.CART), edge)
    db = configured.db_url
    assert one(db, "SELECT count(*) FROM zone_visit WHERE epc = %s", EPC) == 6
    assert one(db, "SELECT count(*) FROM zone_visit WHERE epc = %s", CART) == 0
    s = client(configured).post(
        "/api/v1/purchases",
        json=sale_at("S1", t0 + timedelta(seconds=250)),
        headers=till(configured),
    )
    assert linked(db, s.json()["purchase_id"])


def facts(db_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as c:
        return c.execute(
            "SELECT day, sum(entries), sum(transactions), sum(sales) FROM fact_hour "
            "GROUP BY day ORDER BY day"
        ).fetchall()


async def _refresh(db_url: str, day: datetime | None = None) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        if day is not None:
            await mark_dirty(conn, "demo", [day])
            await conn.commit()
        while await refresh_dirty(conn, max_days=50):
            pass


def test_purge_deletes_what_is_past_retention_and_leaves_the_facts(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    load_layout(api)
    admin = api.headers("admin")
    enrol(api, admin)
    gone = enrol(api, admin, card="6001000009", epc=None, phone="139", email=None)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    old, mid, recent = (now - timedelta(days=d) for d in (400, 200, 10))
    edge = api.token("edge", store_id="demo")
    for at in (old, mid, recent):
        post(api, visits(EPC, start=at), edge)
        post(api, visits(CART, start=at, kind=TagKind.CART), edge)
    mid_sale = client(api).post(
        "/api/v1/purchases", json=sale_at("S1", mid + timedelta(seconds=250)), headers=till(api)
    )
    assert linked(api.db_url, mid_sale.json()["purchase_id"])
    ancient = now - timedelta(days=3700)
    client(api).post(
        "/api/v1/purchases", json=sale_at("S2", ancient, card="6001000009"), headers=till(api)
    )
    assert client(api).post(f"/api/v1/members/{gone}/erase", headers=admin).status_code == 200
    refused = enrol(api, admin, card="6001000005", epc=CART[:-1] + "5", phone="135", email=None)
    with psycopg.connect(api.db_url) as c:
        # data from before consents were enforced: a refusing member's raw trip, linked
        c.execute(
            "INSERT INTO consent (member_id, purpose, granted, source) "
            "VALUES (%s, 'in_store_tracking', false, 'desk')",
            (refused,),
        )
        c.execute(
            "INSERT INTO trip (trip_id, store_id, epc, tag_kind, start_at, end_at, zones, "
            "visit_count) VALUES (gen_random_uuid(), 'demo', %s, 'member_card', %s, %s, "
            "'{ENT,CHK}', 2)",
            (CART[:-1] + "5", recent, recent + timedelta(minutes=5)),
        )
        c.execute(
            "INSERT INTO purchase (store_id, register_id, pos_id, at, member_id, total, trip_id, "
            "recorded_by) SELECT 'demo', 'T1', 'OLD', %s, %s, 1, trip_id, 'x' FROM trip "
            "WHERE epc = %s",
            (recent, refused, CART[:-1] + "5"),
        )
        c.execute(
            "INSERT INTO privacy_access_log (at, credential_name, role, member_id, endpoint) "
            "VALUES (now() - interval '2000 days', 'x', 'admin', 1, 'GET /x')"
        )
    asyncio.run(_refresh(api.db_url))
    before = facts(api.db_url)
    assert before and sum(int(str(r[1])) for r in before) == 7  # seven trips entered

    r = client(api).post("/api/v1/privacy/purge", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == {
        "untracked_members_unlinked": 1,  # linked before consents were enforced
        "member_visits": 12,  # 400 and 200 days old: past the 180 days of member-linked visits
        "member_trips": 2,
        "anonymous_visits": 6,  # only the 400 days old: anonymous visits stay 395 days
        "anonymous_trips": 1,
        "erased_member_purchases": 1,
        "class_snapshots": 0,
        "audit_entries": 1,
    }
    db = api.db_url
    assert one(db, "SELECT count(*) FROM zone_visit") == 36 - 18
    assert one(db, "SELECT min(enter_at) FROM zone_visit WHERE epc = %s", EPC) >= recent
    assert not linked(db, mid_sale.json()["purchase_id"])
    assert one(db, "SELECT count(*) FROM points_ledger WHERE member_id = %s", gone) == 1
    assert facts(db) == before
    assert one(db, "SELECT count(*) FROM purchase WHERE pos_id = 'OLD' AND trip_id IS NULL") == 1
    assert one(db, "SELECT count(*) FROM trip WHERE epc = %s", CART[:-1] + "5") == 0
    # a later mark on a purged day cannot re-compute it from what is left
    asyncio.run(_refresh(db, old))
    assert facts(db) == before
    runs = client(api).get("/api/v1/privacy/purge-runs", headers=admin).json()
    assert runs[0]["trigger"] == "api:test-admin" and runs[0]["finished_at"] is not None
    assert runs[0]["error"] is None

    assert run_purge(argparse.Namespace(database_url=db)) == 0
    out = capsys.readouterr().out
    assert "purge run" in out and "deleted member_visits: 0" in out
    assert one(db, "SELECT count(*) FROM privacy_purge_run WHERE trigger = 'cli'") == 1


def test_class_snapshots_are_kept_for_their_period_by_store_local_day(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOREFLOW_RETAIN_CLASS_HISTORY_DAYS", "30")
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        api = Api(client=c, db_url=db_url)
        load_layout(api)
        member = enrol(api, api.headers("admin"))
        now = datetime.now(UTC)
        kept: dict[str, list[object]] = {}
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE store SET timezone = 'Asia/Shanghai' WHERE id = 'demo'")
            # a store without a row of its own goes by UTC days
            for store, tz in (("demo", "Asia/Shanghai"), ("elsewhere", "UTC")):
                cut = (now - timedelta(days=30)).astimezone(ZoneInfo(tz)).date()
                today = now.astimezone(ZoneInfo(tz)).date()
                conn.execute(
                    "INSERT INTO member_stage (store_id, member_id, as_of, member_class, "
                    "is_referrer) SELECT %s, %s, d, 'occasional', false FROM unnest(%s::date[]) d",
                    (store, member, [cut - timedelta(days=1), cut, today]),
                )
                kept[store] = [cut, today]
        rec = c.get("/api/v1/privacy/record").json()
        assert rec["system"]["retention_days"]["class_history_days"] == 30
        r = c.post("/api/v1/privacy/purge", headers=api.headers("admin"))
        assert r.status_code == 200, r.text
        assert r.json()["deleted"]["class_snapshots"] == 2  # the day before the cut, per store
        assert "class_history" in r.json()["cutoffs"]
        with psycopg.connect(db_url) as conn:
            rows = conn.execute(
                "SELECT store_id, array_agg(as_of ORDER BY as_of) FROM member_stage GROUP BY 1"
            ).fetchall()
        assert dict(rows) == kept
        runs = c.get("/api/v1/privacy/purge-runs", headers=api.headers("admin")).json()
        assert runs[0]["deleted"]["class_snapshots"] == 2
