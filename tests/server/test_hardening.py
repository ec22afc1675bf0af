"""Abuse limits, credential scopes and revocation, health without credentials, security headers,
metrics and JSON logs (in-process app on a real database)."""

from __future__ import annotations

import argparse
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.logs import JsonFormatter
from server.ratelimit import RateLimiter
from server.settings import Settings
from storeflow.wire import CardScan, IngestBatch
from tests.fix_db import Api, make_token
from tests.helpers.ingest import PATH, T0, batch, load_layout, visit
from tests.helpers.membership import enrol, sale


def _api(db_url: str, **env: object) -> Iterator[Api]:
    settings = Settings(**env)  # type: ignore[arg-type]
    with TestClient(create_app(settings, database_url=db_url)) as client:
        yield Api(client=client, db_url=db_url)


@pytest.fixture
def strict(db_url: str) -> Iterator[Api]:
    """An app with small limits, to reach them in a few calls."""
    yield from _api(
        db_url,
        STOREFLOW_LOOKUP_BURST=5,
        STOREFLOW_LOOKUP_RATE_PER_S=0.01,
        STOREFLOW_AUTH_FAIL_BURST=3,
        STOREFLOW_AUTH_FAIL_RATE_PER_S=0.01,
        STOREFLOW_MAX_BODY_BYTES=64 * 1024,
        STOREFLOW_MAX_RANGE_DAYS=31,
    )


def client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def ingest(api: Api, token: str, *events: object) -> dict[str, object]:
    body = IngestBatch(device_id="d1", sent_at=T0, events=list(events)).model_dump_json()  # type: ignore[arg-type]
    r = client(api).post(
        "/api/v1/ingest",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    result: dict[str, object] = r.json()
    return result


def scan(register_id: str = "T1") -> CardScan:
    return CardScan(
        event_id=uuid.uuid4(),
        store_id="demo",
        register_id=register_id,
        card_number="6001000001",
        scanned_at=T0,
        scanner="rdm6300",
    )


# --- abuse limits ---------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0.0  # keys are independent
    now[0] = 0.5
    assert limiter.blocked("a") == 0.0 and limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_member_lookups_are_rate_limited_per_credential(strict: Api) -> None:
    enrol(strict, strict.headers("admin"))
    till = strict.headers("cashier", store_id="demo", register_id="T1")
    url = "/api/v1/members/lookup?phone=13900000000"
    got = [client(strict).get(url, headers=till).status_code for _ in range(6)]
    assert got == [404] * 5 + [429]
    r = client(strict).get(url, headers=till)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    other_till = strict.headers("cashier", store_id="demo", register_id="T2")
    assert client(strict).get(url, headers=other_till).status_code == 404


def test_failed_credentials_are_rate_limited_per_client_address(strict: Api) -> None:
    url = "/api/v1/stores"
    bad = [
        client(strict).get(url, headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(4)
    ]
    assert bad == [401, 401, 401, 429]
    # the address is slowed down for a while, whatever it presents
    assert client(strict).get(url, headers=strict.headers("planner")).status_code == 429


def test_a_body_over_the_limit_is_refused_before_it_is_read(strict: Api) -> None:
    c = client(strict)
    # declared too large: refused on the header alone, before any credential is checked
    r = c.post(
        "/api/v1/ingest",
        content=b"{}",
        headers={"Content-Length": str(200 * 1024 * 1024), "Content-Type": "application/json"},
    )
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for _ in range(100):
            yield b" " * 1024

    r = c.post("/api/v1/ingest", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    # within the limit: read as usual (then 401 without a credential)
    assert c.post("/api/v1/ingest", content=b"{}").status_code == 401


def test_analytics_date_ranges_are_bounded(strict: Api) -> None:
    load_layout(strict)
    planner = strict.headers("planner")
    c = client(strict)
    base = "/api/v1/stores/demo/analytics/summary"
    r = c.get(f"{base}?start=0001-01-01T00:00:00Z&end=9999-12-31T00:00:00Z", headers=planner)
    assert r.status_code == 422 and "dates must lie between" in r.json()["detail"]
    r = c.get(f"{base}?start=2026-10-01T00:00:00Z&end=2026-12-01T00:00:00Z", headers=planner)
    assert r.status_code == 422
    r = c.get(f"{base}?start=2026-11-01T00:00:00Z&end=2026-11-08T00:00:00Z", headers=planner)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("year", [1, 2099, 9999])
def test_a_visit_dated_far_off_is_rejected_with_its_reason(api: Api, year: int) -> None:
    load_layout(api)
    edge = api.token("edge", store_id="demo")
    enter = datetime(year, 6, 1, 12, 0, tzinfo=UTC)
    odd = visit("A2", 0, 10).model_copy(
        update={"enter_at": enter, "exit_at": enter + timedelta(seconds=10)}
    )
    good = visit("A2", 0, 10)
    result = ingest(api, edge, odd, good)
    assert result["accepted"] == 1 and result["rejected"] == 1
    (problem,) = result["problems"]  # type: ignore[misc]
    assert problem["index"] == 0 and problem["event_id"] == str(odd.event_id)
    assert f"dated {enter.isoformat()}" in problem["reason"]


# --- scopes and revocation ------------------------------------------------------------------


def test_a_cashier_returns_only_purchases_of_its_own_register(api: Api) -> None:
    enrol(api, api.headers("admin"))
    t1 = api.headers("cashier", store_id="demo", register_id="T1")
    t2 = api.headers("cashier", store_id="demo", register_id="T2")
    p = client(api).post("/api/v1/purchases", json=sale("POS-1", "20.00"), headers=t1).json()
    ret = {"return_id": "R1", "register_id": "T2", "lines": [{"line_no": 1, "amount": "5.00"}]}
    r = client(api).post(f"/api/v1/purchases/{p['purchase_id']}/returns", json=ret, headers=t2)
    assert r.status_code == 403
    ret["register_id"] = "T1"
    r = client(api).post(f"/api/v1/purchases/{p['purchase_id']}/returns", json=ret, headers=t1)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"role": "edge"}, 422),
        ({"role": "planner"}, 422),
        ({"role": "cashier", "store_id": "demo"}, 422),
        ({"role": "register", "store_id": "demo"}, 422),
        ({"role": "edge", "chain": True, "store_id": "demo"}, 422),
        ({"role": "edge", "store_id": "demo"}, 201),
        ({"role": "planner", "store_id": "demo"}, 201),
        ({"role": "planner", "chain": True}, 201),
        ({"role": "register", "store_id": "demo", "register_id": "T1"}, 201),
        ({"role": "admin"}, 201),
    ],
)
def test_credentials_carry_the_scope_their_role_needs(
    api: Api, body: dict[str, object], status: int
) -> None:
    r = client(api).post(
        "/api/v1/credentials", json={"name": "x", **body}, headers=api.headers("admin")
    )
    assert r.status_code == status, r.text


def test_the_database_refuses_an_edge_credential_without_a_store(db_url: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        make_token(db_url, "edge")


def test_a_store_scoped_planner_reads_its_own_store_only(api: Api) -> None:
    load_layout(api)
    elsewhere = api.headers("planner", store_id="elsewhere")
    assert client(api).get("/api/v1/stores/demo/layout", headers=elsewhere).status_code == 403
    demo = api.headers("planner", store_id="demo")
    assert client(api).get("/api/v1/stores/demo/layout", headers=demo).status_code == 200


def test_card_scans_come_only_from_a_registers_credential(api: Api) -> None:
    load_layout(api)
    edge = api.token("edge", store_id="demo")
    result = ingest(api, edge, scan())
    assert result["accepted"] == 0 and result["rejected"] == 1
    assert "register's credential" in result["problems"][0]["reason"]  # type: ignore[index]
    scanner = api.token("register", store_id="demo", register_id="T1")
    result = ingest(api, scanner, scan("T2"), scan("T1"), visit("A2", 0, 10))
    assert result["accepted"] == 1 and result["rejected"] == 2
    with psycopg.connect(api.db_url) as c:
        assert c.execute("SELECT register_id FROM card_scan").fetchall() == [("T1",)]


def test_a_revoked_token_gets_401(api: Api) -> None:
    admin = api.headers("admin")
    r = client(api).post(
        "/api/v1/credentials",
        json={"name": "pos", "role": "cashier", "store_id": "demo", "register_id": "T1"},
        headers=admin,
    )
    made = r.json()
    till = {"Authorization": f"Bearer {made['token']}"}
    url = "/api/v1/members/lookup?card=1"
    assert client(api).get(url, headers=till).status_code == 404
    r = client(api).delete(f"/api/v1/credentials/{made['id']}", headers=admin)
    assert r.json() == {"id": made["id"], "revoked": True}
    assert client(api).get(url, headers=till).status_code == 401
    r = client(api).delete(f"/api/v1/credentials/{made['id']}", headers=admin)
    assert r.json() == {"id": made["id"], "revoked": False}
    assert client(api).delete("/api/v1/credentials/999999", headers=admin).status_code == 404


def test_revoke_token_command(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.cli import run_revoke_token

    token = api.token("edge", store_id="demo")
    monkeypatch.setenv("OLD_TOKEN", token)
    args = argparse.Namespace(database_url=api.db_url, id=None, name=None, token_env="OLD_TOKEN")
    assert run_revoke_token(args) == 0
    r = client(api).post(
        "/api/v1/ingest",
        content=batch(visit("A2", 0, 10)),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 401


# --- what anyone can see --------------------------------------------------------------------


def test_health_without_a_credential_says_only_up_or_down(api: Api) -> None:
    load_layout(api)
    ingest(api, api.token("edge", store_id="demo"), *(visit(z, s, d) for z, s, d in PATH))
    assert client(api).get("/api/v1/health").json() == {"status": "ok", "database": True}
    r = client(api).get("/api/v1/health", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401
    detailed = client(api).get("/api/v1/health", headers=api.headers("planner")).json()
    assert detailed["migrations"] >= 1 and "devices" in detailed


def test_pages_and_answers_carry_security_headers(api: Api) -> None:
    page = client(api).get("/cashier")
    csp = page.headers["content-security-policy"]
    assert (
        "frame-ancestors 'none'" in csp
        and "'sha256-" in csp
        and "unsafe-inline" not in (csp.split("script-src")[1].split(";")[0])
    )
    for r in (page, client(api).get("/api/v1/health"), client(api).get("/docs")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" in client(api).get("/docs").headers
    enrol(api, api.headers("admin"))
    till = api.headers("cashier", store_id="demo", register_id="T1")
    member = client(api).get("/api/v1/members/lookup?card=6001000001", headers=till)
    assert member.status_code == 200 and member.headers["cache-control"] == "no-store"


def test_metrics_count_requests_ingest_and_the_pool(api: Api) -> None:
    load_layout(api)
    ingest(api, api.token("edge", store_id="demo"), visit("A2", 0, 10), scan())
    text = client(api).get("/metrics").text
    assert 'storeflow_ingest_events_total{outcome="accepted"} 1.0' in text
    assert 'storeflow_ingest_events_total{outcome="rejected"} 1.0' in text
    assert 'route="/api/v1/ingest",status="200"' in text
    assert "storeflow_db_pool_size" in text and "storeflow_http_request_seconds_bucket" in text


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord("server.x", logging.WARNING, "f.py", 1, "a %s", ("b",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "server.x"
    assert entry["message"] == "a b" and entry["time"].endswith("+00:00")


# --- the dashboard --------------------------------------------------------------------------


def test_the_dashboard_binds_to_loopback_and_asks_for_a_login_elsewhere() -> None:
    import dashboard.cli as dcli

    parser = argparse.ArgumentParser()
    dcli.add_dashboard_parser(parser.add_subparsers())
    args = parser.parse_args(["dashboard", "--token", "t0k", "--api-url", "http://api"])
    assert args.host == "127.0.0.1"
    env = dcli.dashboard_env(args, {"STOREFLOW_API_TOKEN": "old"})
    assert isinstance(env, dict) and env["STOREFLOW_API_TOKEN"] == "t0k"
    assert dcli.LOGIN_ENV not in env
    args = parser.parse_args(["dashboard", "--host", "0.0.0.0", "--token", "t0k"])
    env = dcli.dashboard_env(args, {"STOREFLOW_API_TOKEN": "old"})
    assert isinstance(env, dict) and env[dcli.LOGIN_ENV] == "1"
    assert "STOREFLOW_API_TOKEN" not in env  # never built in when others can reach it
    args = parser.parse_args(["dashboard", "--host", "::1"])
    args.token = None
    assert isinstance(dcli.dashboard_env(args, {}), str)  # loopback without a token: refused
