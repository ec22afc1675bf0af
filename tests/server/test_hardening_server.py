"""Against a real server over TCP: a 200 means committed, streams hold no pooled connection, a
till reads its own writes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import httpx
import psycopg

from server.settings import Settings
from server.threaded import serve_in_thread
from storeflow.wire import CardScan, IngestBatch
from tests.fix_db import make_token
from tests.fix_proxy import COMMIT, proxied
from tests.helpers.ingest import LAYOUT, PATH, T0, batch, visit
from tests.helpers.membership import sale


def _load_layout(base: str, admin: dict[str, str]) -> None:
    r = httpx.put(
        f"{base}/api/v1/stores/demo/layout",
        content=LAYOUT.read_bytes(),
        headers={**admin, "Content-Type": "application/yaml"},
    )
    assert r.status_code == 200, r.text


def _visits(db_url: str) -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute("SELECT count(*) FROM zone_visit").fetchone()
    assert row is not None
    return int(row[0])


def test_a_commit_that_fails_is_an_error_not_a_200(db_url: str) -> None:
    """The database connection drops at COMMIT: the edge must not be told its batch is stored
    (it would delete it from its outbox). Before, the answer went out before the COMMIT."""
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    edge = {
        "Authorization": f"Bearer {make_token(db_url, 'edge', store_id='demo')}",
        "Content-Type": "application/json",
    }
    body = batch(*(visit(z, s, d) for z, s, d in PATH))
    with proxied(db_url) as (proxy, url), serve_in_thread(url) as base:
        _load_layout(base, admin)
        proxy.cut_at(COMMIT)
        r = httpx.post(f"{base}/api/v1/ingest", content=body, headers=edge, timeout=30)
        assert r.status_code == 500  # before: 200, and the COMMIT failed after the answer
        assert proxy.cuts == 1
        assert _visits(db_url) == 0
        # the pool recovers: the edge's retry is stored, and answered only once it is
        r = httpx.post(f"{base}/api/v1/ingest", content=body, headers=edge, timeout=30)
        assert r.status_code == 200 and r.json()["accepted"] == len(PATH)
        assert _visits(db_url) == len(PATH)


def test_every_answer_comes_after_its_rows_are_visible(db_url: str) -> None:
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    edge = {
        "Authorization": f"Bearer {make_token(db_url, 'edge', store_id='demo')}",
        "Content-Type": "application/json",
    }
    with serve_in_thread(db_url) as base, httpx.Client(base_url=base, timeout=30) as c:
        _load_layout(base, admin)
        for i in range(20):
            v = visit("A2", 600 + i * 60, 10, epc=f"3500079FF0000004000001{i:02d}")
            r = c.post("/api/v1/ingest", content=batch(v), headers=edge)
            assert r.status_code == 200 and r.json()["accepted"] == 1
            assert _visits(db_url) == i + 1


def test_a_till_reads_its_own_writes_on_any_pooled_connection(db_url: str) -> None:
    """Sale, then at once its return (a read of the sale on whichever pooled connection): never
    a 404. Before, the sale's COMMIT could still be on its way when the return came in."""
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    token = make_token(db_url, "cashier", store_id="demo", register_id="T1")
    till = {"Authorization": f"Bearer {token}"}
    with serve_in_thread(db_url) as base, httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/members", json={"name": "Li Wei", "phone": "1390000"}, headers=admin)
        member_id = r.json()["member_id"]
        c.post(
            f"/api/v1/members/{member_id}/cards", json={"card_number": "6001000001"}, headers=admin
        )
        for i in range(40):
            p = c.post("/api/v1/purchases", json=sale(f"POS-{i}", "10.00"), headers=till)
            assert p.status_code == 200, p.text
            ret = {
                "return_id": f"R-{i}",
                "register_id": "T1",
                "lines": [{"line_no": 1, "amount": "10.00"}],
            }
            r = c.post(
                f"/api/v1/purchases/{p.json()['purchase_id']}/returns", json=ret, headers=till
            )
            assert r.status_code == 200, (i, r.text)


@contextlib.contextmanager
def _stream(c: httpx.Client, url: str, headers: dict[str, str]) -> Iterator[Iterator[str]]:
    with c.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(lines) == ": connected"
        yield lines


def test_more_scan_streams_than_the_pool_leave_the_api_answering(db_url: str) -> None:
    """Six cashier pages open on a pool of two: every other call still answers, and a card
    scanned at one register reaches that register's page."""
    admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
    settings = Settings(STOREFLOW_POOL_MAX=2)  # type: ignore[call-arg]
    scanner = make_token(db_url, "register", store_id="demo", register_id="T0")
    with (
        serve_in_thread(db_url, settings=settings) as base,
        httpx.Client(base_url=base, timeout=20) as c,
        contextlib.ExitStack() as streams,
    ):
        r = c.post("/api/v1/members", json={"name": "Li Wei", "phone": "1390000"}, headers=admin)
        member_id = r.json()["member_id"]
        c.post(
            f"/api/v1/members/{member_id}/cards", json={"card_number": "6001000001"}, headers=admin
        )
        pages = []
        for i in range(6):
            token = make_token(db_url, "cashier", store_id="demo", register_id=f"T{i}")
            till = {"Authorization": f"Bearer {token}"}
            url = f"/api/v1/registers/T{i}/scans?store_id=demo"
            page = streams.enter_context(httpx.Client(base_url=base, timeout=20))
            pages.append(streams.enter_context(_stream(page, url, till)))
        assert c.get("/api/v1/health").status_code == 200
        assert c.get("/api/v1/stores", headers=admin).status_code == 200
        scan = CardScan(
            event_id=uuid.uuid4(),
            store_id="demo",
            register_id="T0",
            card_number="6001000001",
            scanned_at=T0,
            scanner="rdm6300",
        )
        body = IngestBatch(device_id="register-T0", sent_at=T0, events=[scan]).model_dump_json()
        r = c.post(
            "/api/v1/ingest",
            content=body,
            headers={"Authorization": f"Bearer {scanner}", "Content-Type": "application/json"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
        event = next(line for line in pages[0] if line.startswith("event:"))
        assert event == "event: member"
        data = next(line for line in pages[0] if line.startswith("data:"))
        assert '"name": "Li Wei"' in data
        metrics = c.get("/metrics").text
        assert "storeflow_scan_streams 6.0" in metrics
