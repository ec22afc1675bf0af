"""Device health: heartbeats in the edge's own time order, status by heartbeat age, reader decode
statistics, alerts, data completeness, the alert webhook. Real PostgreSQL, through the HTTP API;
time moves only through explicit sent_at and ``at``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.devices.alerts import AlertLimits, device_alerts
from server.devices.status import device_status, error_rate, reader_state
from server.queries.devices import completeness_verdict
from storeflow.api.devices import StoreDevices
from storeflow.wire import ReaderHealth
from tests.fix_db import Api
from tests.helpers.devices import beat, send
from tests.helpers.ingest import T0, batch, load_layout, post, visit

S = timedelta(seconds=1)


def _client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def _get(api: Api, path: str, at: datetime | None = None) -> Any:
    params = {"at": at.isoformat()} if at else None
    r = _client(api).get(
        f"/api/v1/stores/demo/{path}", params=params, headers=api.headers("planner")
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_device_status_by_heartbeat_age() -> None:
    def st(age_s: float, missed: int = 3) -> str:
        return device_status(T0, T0 + age_s * S, 10.0, missed)

    assert [st(a) for a in (-5, 0, 10, 15, 15.1, 29.9, 30, 600)] == [
        "ok",
        "ok",
        "ok",
        "ok",
        "late",
        "late",
        "silent",
        "silent",
    ]
    assert st(20, missed=2) == "silent"
    with pytest.raises(ValueError):
        device_status(T0, T0, 0.0, 3)


def test_reader_state_from_heartbeat_and_its_own_age() -> None:
    def rs(**kw: Any) -> str:
        args: dict[str, Any] = {
            "reader_seen": T0,
            "edge_seen": T0,
            "edge_status": "ok",
            "interval": 10.0,
            "missed": 2,
            "connected": True,
            "rate": 0.0,
        }
        return reader_state(**{**args, **kw})

    assert rs() == "ok"
    assert rs(connected=False) == "disconnected"
    assert rs(rate=0.2) == "errors"
    assert rs(edge_status="silent") == "silent"
    # the edge beats on without it: silent after 2 intervals of the edge's own beats
    assert rs(edge_seen=T0 + 10 * S) == "ok"
    assert rs(edge_seen=T0 + 20 * S) == "silent"
    assert error_rate(90, 0, {"checksum": 10}) == pytest.approx(0.1)
    assert error_rate(0, 0, {}) == 0.0


def test_a_replayed_older_heartbeat_never_overwrites_a_newer_state(api: Api) -> None:
    token = api.token("edge", store_id="demo")
    gone = {
        "R1": ReaderHealth(
            connected=False,
            reads_total=900,
            frames_ok=880,
            frames_bad=3,
            bytes_skipped=12,
            errors={"checksum": 3},
            goods_reads=7,
        )
    }
    send(
        api,
        beat(T0 + 60 * S, readers=gone, status="degraded", problems=["R1 unplugged"]),
        token=token,
    )
    send(api, beat(T0, outbox_depth=5), token=token)  # older, replayed from an outbox
    d = _get(api, "devices", T0 + 61 * S)
    (edge,) = d["devices"]
    assert (edge["last_seen"], edge["outbox_depth"], edge["reported_status"]) == (
        "2026-11-02T11:01:00Z",
        0,
        "degraded",
    )
    assert edge["problems"] == ["R1 unplugged"]
    (r1,) = d["readers"]
    assert (
        r1["state"],
        r1["connected"],
        r1["reads_total"],
        r1["frames_ok"],
        r1["bytes_skipped"],
        r1["errors"],
        r1["goods_reads"],
    ) == ("disconnected", False, 900, 880, 12, {"checksum": 3}, 7)
    with psycopg.connect(api.db_url) as c:
        (stored,) = c.execute("SELECT beat FROM device_heartbeat").fetchone()  # type: ignore[misc]
        logged = c.execute("SELECT count(*) FROM heartbeat_log").fetchone()
    assert stored["problems"] == ["R1 unplugged"] and stored["readers"]["R1"]["frames_ok"] == 880
    assert logged == (2,)


def test_edge_and_reader_status_as_heartbeats_come_and_stop(api: Api) -> None:
    token = api.token("edge", store_id="demo")
    both = {"R1": ReaderHealth(connected=True), "R2": ReaderHealth(connected=True)}
    send(api, beat(T0, readers=both), token=token)
    for k in (1, 2, 3):  # R2 is no longer reported
        send(api, beat(T0 + 10 * k * S, readers={"R1": ReaderHealth(connected=True)}), token=token)

    def states(at: datetime) -> tuple[str, dict[str, str]]:
        d = _get(api, "devices", at)
        return d["devices"][0]["status"], {r["reader_id"]: r["state"] for r in d["readers"]}

    assert states(T0 + 30 * S) == ("ok", {"R1": "ok", "R2": "silent"})  # 3 beats missed
    assert states(T0 + 50 * S) == ("late", {"R1": "ok", "R2": "silent"})
    assert states(T0 + 60 * S) == ("silent", {"R1": "silent", "R2": "silent"})
    alerts = _get(api, "alerts", T0 + 60 * S)["alerts"]
    assert [(a["kind"], a["severity"], a["subject"]) for a in alerts] == [  # oldest first
        ("reader_silent", "critical", "edge-1/R2"),
        ("edge_silent", "critical", "edge-1"),
        ("reader_silent", "critical", "edge-1/R1"),
    ]
    assert "has sent nothing for 30 s" in alerts[1]["text"]


def test_alerts_for_outbox_dead_letters_lag_and_clocks(api: Api) -> None:
    token = api.token("edge", store_id="demo")
    for k in range(6):  # the outbox grows at every beat; from beat 3 the disk refuses writes
        send(
            api,
            beat(
                T0 + 10 * k * S,
                outbox_depth=100 * k,
                readers={"R1": ReaderHealth(connected=True, clock_offset_s=-42.0)},
                dead_letters=2,
                outbox_held=5 if k >= 3 else 0,
                outbox_refused_writes=k if k >= 3 else 0,
            ),
            token=token,
            uploaded_at=T0 + 10 * k * S + (600 * S if k == 5 else 0 * S),
        )
    alerts = {a["kind"]: a for a in _get(api, "alerts", T0 + 50 * S)["alerts"]}
    assert set(alerts) == {
        "outbox_refusing",
        "outbox_growing",
        "dead_letters",
        "edge_lag",
        "clock_offset",
    }
    assert alerts["outbox_refusing"]["severity"] == "critical"
    assert alerts["outbox_refusing"]["since"] == "2026-11-02T11:00:30Z"
    assert alerts["outbox_growing"]["since"] == "2026-11-02T11:00:00Z"
    assert alerts["dead_letters"]["since"] == "2026-11-02T11:00:00Z"
    assert "10 min late" in alerts["edge_lag"]["text"]
    assert "42 s off" in alerts["clock_offset"]["text"]


def test_no_alerts_for_a_healthy_store_and_a_surge_of_unknown_tags(api: Api) -> None:
    token = api.token("edge", store_id="demo")
    send(api, beat(T0), token=token)
    assert _get(api, "alerts", T0 + 5 * S)["alerts"] == []
    with psycopg.connect(api.db_url) as c:
        c.execute(
            "INSERT INTO unknown_tag (store_id, pseudonym, scheme, bits, hex_prefix, first_seen, "
            "last_seen) SELECT 'demo', 'p' || i, 'gid96', 96, '35', %s, %s "
            "FROM generate_series(1, 60) i",
            (T0 - 10 * S, T0),
        )
    (alert,) = _get(api, "alerts", T0 + 5 * S)["alerts"]
    assert (alert["kind"], alert["severity"]) == ("unknown_tags", "info")
    assert alert["text"].startswith("60 tags the store does not know appeared in the last hour")


def test_device_health_needs_a_planner_or_admin(api: Api) -> None:
    for path in ("alerts", "devices", "completeness"):
        url = f"/api/v1/stores/demo/{path}"
        assert _client(api).get(url).status_code == 401
        assert (
            _client(api)
            .get(url, headers=api.headers("cashier", store_id="demo", register_id="T1"))
            .status_code
            == 403
        )
        assert _client(api).get(url, headers=api.headers("admin")).status_code == 200


def test_completeness_against_the_same_hour_of_earlier_weeks(api: Api) -> None:
    load_layout(api)
    edge = api.token("edge", store_id="demo")
    for week, n in ((4, 10), (3, 12), (2, 8), (1, 10), (0, 3)):  # this week: 3 visits only
        start = -week * 7 * 86400
        post(api, batch(*[visit("A2", start + 60 * i, 20) for i in range(n)]), edge)
    send(
        api,
        beat(T0, readers={"R1": ReaderHealth(connected=True), "R2": ReaderHealth(connected=False)}),
        token=edge,
    )
    r = _client(api).get(
        "/api/v1/stores/demo/completeness",
        params={"start": "2026-11-02T10:00:00Z", "end": "2026-11-02T12:00:00Z"},
        headers=api.headers("planner"),
    )
    assert r.status_code == 200, r.text
    before, hour = r.json()
    assert (before["visits"], before["usual_visits"], before["complete"]) == (0, 0.0, False)
    assert before["note"] == "2 of 2 readers not connected"  # no heartbeat in that hour
    assert (hour["readers_up"], hour["readers_known"], hour["visits"], hour["reads"]) == (
        1,
        2,
        3,
        30,
    )
    assert (hour["usual_visits"], hour["usual_reads"], hour["complete"]) == (10.0, 100.0, False)
    assert hour["visits_ratio"] == pytest.approx(0.3)
    assert hour["note"] == "1 of 2 readers not connected; visits 30% of the usual for this hour"


def test_completeness_verdict_without_a_usual() -> None:
    assert completeness_verdict(readers_up=2, readers_known=2, visits=5, usual_visits=None) == (
        True,
        None,
        "no usual yet (fewer than one earlier week)",
    )


def test_alerts_sorted_most_severe_first() -> None:
    devices = StoreDevices(
        store_id="demo", at=T0, heartbeat_interval_s=10, missed_beats=3, devices=[], readers=[]
    )
    assert device_alerts(devices, {}, AlertLimits()) == []
    surge = device_alerts(
        devices,
        {},
        AlertLimits(unknown_tags_per_hour=5),
        new_unknown_tags=10,
        usual_unknown_tags=4.0,
        unknown_since=T0,
    )
    assert surge == []  # 10 is not 3x the usual 4


def test_webhook_posts_each_alert_once(api: Api) -> None:
    import asyncio

    from server.devices.webhook import deliver
    from server.settings import Settings
    from storeflow.api.devices import Alert

    token = api.token("edge", store_id="demo")
    send(api, beat(T0, readers={"R1": ReaderHealth(connected=False)}), token=token)
    posted: list[tuple[str, str]] = []
    failing = True

    async def post(store_id: str, alert: Alert) -> None:
        if failing:
            raise OSError("webhook down")
        posted.append((store_id, alert.key))

    async def run(at: datetime) -> list[Alert]:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            return await deliver(conn, Settings(), at, post)

    with pytest.raises(OSError):
        asyncio.run(run(T0 + S))
    failing = False
    assert [a.key for a in asyncio.run(run(T0 + S))] == ["reader_disconnected:edge-1/R1"]
    assert asyncio.run(run(T0 + 2 * S)) == []  # the same alert: not again
    send(api, beat(T0 + 10 * S), token=token)
    send(api, beat(T0 + 20 * S, readers={"R1": ReaderHealth(connected=False)}), token=token)
    assert [a.since for a in asyncio.run(run(T0 + 21 * S))] == [T0 + 20 * S]  # a new one
    assert posted == [("demo", "reader_disconnected:edge-1/R1")] * 2
