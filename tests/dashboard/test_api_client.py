"""The dashboard's API client: pure helpers, plain-language errors, and the real server's answers.

Server-facing tests run the real app (uvicorn in a thread) on a fresh migrated database; the
"server down" and "server hangs" cases use real sockets.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from dashboard import cli
from dashboard.api import (
    DEFAULT_API_URL,
    ApiConfig,
    ApiError,
    StoreflowClient,
    default_dates,
    dwell_frame,
    error_message,
    footfall_frame,
    period_for_dates,
    zone_visits_frame,
)
from orchestration import demo_data
from server.threaded import serve_in_thread
from storeflow.api.analytics import FootfallBucket, Summary, ZoneDwell
from storeflow.api.health import Health
from storeflow.api.paths import Paths
from storeflow.api.stores import StoreInfo
from storeflow.net import free_port
from storeflow.wire import IngestBatch, ZoneVisit
from tests.fix_db import make_token
from tests.helpers.ingest import zone_visit

# --- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "token"),
    [
        ({}, DEFAULT_API_URL, ""),
        ({"STOREFLOW_API_URL": "http://srv:9000/"}, "http://srv:9000", ""),
        ({"STOREFLOW_API_URL": "  ", "STOREFLOW_API_TOKEN": " t0k "}, DEFAULT_API_URL, "t0k"),
    ],
)
def test_config_from_env(env: dict[str, str], url: str, token: str) -> None:
    cfg = ApiConfig.from_env(env)
    assert (cfg.base_url, cfg.token) == (url, token)


D = date
DAY = "T00:00:00"


@pytest.mark.parametrize(
    ("first", "last", "tz", "start", "end"),
    [
        (D(2026, 11, 2), D(2026, 11, 2), "UTC", f"2026-11-02{DAY}+00:00", f"2026-11-03{DAY}+00:00"),
        (D(2026, 11, 5), D(2026, 11, 2), "UTC", f"2026-11-02{DAY}+00:00", f"2026-11-06{DAY}+00:00"),
        # local midnights, across the end of summer time in Paris (25 Oct 2026)
        (D(2026, 10, 24), D(2026, 10, 25), "Europe/Paris", f"2026-10-24{DAY}+02:00",
         f"2026-10-26{DAY}+01:00"),
        # an unknown zone name falls back to UTC
        (D(2026, 11, 2), D(2026, 11, 2), "No/Such_Zone", f"2026-11-02{DAY}+00:00",
         f"2026-11-03{DAY}+00:00"),
    ],
)  # fmt: skip
def test_period_for_dates_covers_whole_local_days(
    first: date, last: date, tz: str, start: str, end: str
) -> None:
    period = period_for_dates(first, last, tz)
    assert period.start.isoformat() == start
    assert period.end.isoformat() == end
    assert period.params() == {"start": start, "end": end}


@pytest.mark.parametrize(
    ("last_at", "tz", "expected"),
    [
        (datetime(2026, 11, 2, 22, 9, tzinfo=UTC), "UTC", (date(2026, 10, 27), date(2026, 11, 2))),
        # 23:30 UTC is already the next day in Shanghai
        (
            datetime(2026, 11, 2, 23, 30, tzinfo=UTC),
            "Asia/Shanghai",
            (date(2026, 10, 28), date(2026, 11, 3)),
        ),
    ],
)
def test_default_dates_are_the_last_seven_days_with_data(
    last_at: datetime, tz: str, expected: tuple[date, date]
) -> None:
    assert default_dates(last_at, tz, today=date(2026, 11, 20)) == expected


def test_default_dates_leave_out_today_which_is_not_over() -> None:
    """Data up to 10:00 today: the default is the seven whole days before today."""
    got = default_dates(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), "UTC", today=date(2026, 11, 20))
    assert got == (date(2026, 11, 13), date(2026, 11, 19))


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (401, "STOREFLOW_API_TOKEN"),
        (403, "planner token"),
        (404, "Not found"),
        (422, "cannot be answered"),
        (503, "server had a problem (HTTP 503)"),
        (418, "Unexpected answer"),
    ],
)
def test_error_messages_say_what_to_do(status: int, needle: str) -> None:
    assert needle in error_message(status, "why", url="http://x/api/v1/stores")


def test_frames_have_fixed_columns_even_when_empty() -> None:
    assert list(footfall_frame([]).columns) == ["bucket_start", "entries"]
    assert list(dwell_frame([]).columns) == [
        "zone",
        "visits",
        "median_s",
        "p90_s",
        "mean_s",
        "typical_median_s",
        "holding_power",
    ]
    assert list(zone_visits_frame([]).columns) == ["zone", "visits", "visitors"]
    rows = [
        FootfallBucket(
            bucket_start=datetime(2026, 11, 2, 11, tzinfo=UTC), entries=3, previous_week=None
        ),
        FootfallBucket(
            bucket_start=datetime(2026, 11, 2, 10, tzinfo=UTC), entries=5, previous_week=2
        ),
    ]
    frame = footfall_frame(rows)
    assert list(frame["entries"]) == [5, 3]  # sorted by time
    assert str(frame["bucket_start"].dt.tz) == "UTC"
    row = ZoneDwell(
        zone="C01",
        visits=2,
        median_s=30.0,
        p90_s=50.0,
        mean_s=35.0,
        typical_median_s=None,
        holding_power=None,
    )
    dwell = dwell_frame([row])
    assert dwell.loc[0, "median_s"] == 30.0


def test_the_client_keeps_no_copy_of_the_response_models() -> None:
    from pydantic import BaseModel

    from dashboard import api

    own = [
        name
        for name, value in vars(api).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == api.__name__
    ]
    assert own == []


def test_the_client_parses_answers_into_the_shared_models() -> None:
    paths_json = {
        "trips": 2,
        "top_paths": [{"path": ["ENT", "EXIT"], "trips": 2, "share": 1.0}],
        "transitions": [{"source": "ENT", "target": "EXIT", "count": 2, "probability": 1.0}],
        "mean_zones": 2.0,
        "mean_duration_s": 60.0,
        "efficiency_buyers": None,
        "efficiency_all": None,
        "added_by_a_newer_server": True,
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/paths"):
            return httpx.Response(200, json=paths_json)
        return httpx.Response(200, json=[{"id": "demo", "name": "Demo", "timezone": "UTC"}])

    cfg = ApiConfig(base_url="http://srv", token="t")
    with StoreflowClient(cfg, transport=httpx.MockTransport(answer)) as client:
        assert client.stores() == [StoreInfo(id="demo", name="Demo", timezone="UTC")]
        paths = client.paths("demo")
    assert isinstance(paths, Paths)
    assert (paths.trips, paths.transitions[0].target) == (2, "EXIT")


# --- errors over real sockets ----------------------------------------------------------------


def test_server_down_is_a_plain_message() -> None:
    port = free_port()  # nothing listens there
    with StoreflowClient(ApiConfig(base_url=f"http://127.0.0.1:{port}", token="t")) as client:
        with pytest.raises(ApiError) as err:
            client.stores()
    assert f"Cannot reach the Storeflow server at http://127.0.0.1:{port}" in str(err.value)
    assert "STOREFLOW_API_URL" in str(err.value)


def test_server_that_never_answers_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never replies
        port = listener.getsockname()[1]
        cfg = ApiConfig(base_url=f"http://127.0.0.1:{port}", token="t", timeout_s=0.3)
        with StoreflowClient(cfg) as client, pytest.raises(ApiError) as err:
            client.stores()
    assert "did not answer within 0.3 s" in str(err.value)


def test_missing_token_is_reported_before_calling() -> None:
    with StoreflowClient(ApiConfig(base_url="http://127.0.0.1:9", token="")) as client:
        with pytest.raises(ApiError, match="No API token configured"):
            client.stores()


# --- against the real server -----------------------------------------------------------------

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _visit(epc: str, zone: str, enter: datetime, dwell_s: float) -> ZoneVisit:
    return zone_visit(zone, enter, dwell_s, epc, reads=5, rssi_dbm=-60.0)


def small_day() -> list[ZoneVisit]:
    """Three shoppers: ENT -> A2 -> C02 -> A2 -> EXIT, C02 dwell 60, 120, 180 s."""
    visits: list[ZoneVisit] = []
    for i, counter_s in enumerate((60.0, 120.0, 180.0)):
        epc = f"3500079FF0000040000000{i:02X}"
        t = T0 + timedelta(hours=i)
        for zone, dwell in (("ENT", 10.0), ("A2", 20.0), ("C02", counter_s), ("A2", 20.0)):
            visits.append(_visit(epc, zone, t, dwell))
            t += timedelta(seconds=dwell + 1)
        visits.append(_visit(epc, "EXIT", t, 5.0))
    return visits


@pytest.fixture
def live_api(db_url: str) -> Iterator[tuple[str, str]]:
    """A real server with the demo layout and the small day; yields (base URL, planner token)."""
    with serve_in_thread(db_url) as url:
        admin = {"Authorization": f"Bearer {make_token(db_url, 'admin')}"}
        edge = {"Authorization": f"Bearer {make_token(db_url, 'edge', store_id='demo')}"}
        layout_json = demo_data.layout().model_dump_json()
        with httpx.Client(base_url=url + "/api/v1", timeout=30) as http:
            put = http.put(
                "/stores/demo/layout",
                content=layout_json,
                headers={**admin, "Content-Type": "application/json"},
            )
            assert put.status_code == 200, put.text
            batch = IngestBatch(device_id="edge-test", sent_at=T0, events=list(small_day()))
            res = http.post(
                "/ingest",
                content=batch.model_dump_json(),
                headers={**edge, "Content-Type": "application/json"},
            )
            assert res.status_code == 200, res.text
            assert res.json()["accepted"] == 15
        yield url, make_token(db_url, "planner")


def test_client_reads_what_the_server_computed(live_api: tuple[str, str]) -> None:
    url, token = live_api
    period = period_for_dates(date(2026, 11, 2), date(2026, 11, 2), "UTC")
    with StoreflowClient(ApiConfig(base_url=url, token=token)) as client:
        assert client.health().database is True
        stores = client.stores()
        assert [(s.id, s.timezone) for s in stores] == [("demo", "UTC")]
        layout, expected = client.layout("demo"), demo_data.layout()
        assert layout.store == expected.store
        assert {z.code: z.polygon for z in layout.zones} == {
            z.code: z.polygon for z in expected.zones
        }
        assert layout.adjacency() == expected.adjacency()

        assert isinstance(client.health(), Health)  # the server's own models, not copies
        assert all(isinstance(s, StoreInfo) for s in stores)
        summary = client.summary("demo", period)
        assert isinstance(summary, Summary)
        assert (summary.visits, summary.trips, summary.shoppers) == (15, 3, 3)
        default = client.summary("demo")  # no period: the server's last 7 days of data
        assert default.visits == 15
        assert default.last_at is not None
        assert default_dates(default.last_at, "UTC") == (date(2026, 10, 27), date(2026, 11, 2))

        hourly = client.footfall("demo", period, bucket="hour")
        assert list(hourly["entries"]) == [1, 1, 1]
        assert list(hourly["bucket_start"].dt.hour) == [10, 11, 12]
        daily = client.footfall("demo", period, bucket="day")
        assert list(daily["entries"]) == [3]

        dwell = client.dwell("demo", period).set_index("zone")
        assert dwell.loc["C02", "visits"] == 3
        assert dwell.loc["C02", "median_s"] == pytest.approx(120.0, rel=0.05)  # 10 % bins
        assert dwell.loc["A2", "visits"] == 6

        zones = client.zone_visits("demo", period).set_index("zone")
        assert (zones.loc["A2", "visits"], zones.loc["A2", "visitors"]) == (6, 3)
        assert set(zones.index) == {"ENT", "A2", "C02", "EXIT"}

        paths = client.paths("demo", period)
        assert isinstance(paths, Paths)
        assert (paths.trips, paths.top_paths[0].path) == (3, ["ENT", "A2", "C02", "A2", "EXIT"])
        counters = client.counters("demo", period).set_index("code")
        assert counters.loc["C02", "visitors"] == 3

        empty = client.footfall("demo", period_for_dates(date(2026, 1, 1), date(2026, 1, 2), "UTC"))
        assert empty.empty and list(empty.columns) == ["bucket_start", "entries"]


def test_wrong_token_role_and_store_read_plainly(live_api: tuple[str, str], db_url: str) -> None:
    url, token = live_api
    cases: list[tuple[str, Any, int, str]] = [
        ("not-a-token", lambda c: c.stores(), 401, "rejected the API token"),
        (
            make_token(db_url, "cashier", store_id="demo", register_id="T1"),
            lambda c: c.stores(),
            403,
            "planner token",
        ),
        (token, lambda c: c.layout("nowhere"), 404, "Not found"),
    ]
    for tok, call, status, needle in cases:
        with StoreflowClient(ApiConfig(base_url=url, token=tok)) as client:
            with pytest.raises(ApiError) as err:
                call(client)
        assert err.value.status == status
        assert needle in str(err.value)
        assert tok not in str(err.value)  # never echo a token


# --- the launcher ----------------------------------------------------------------------------


def test_dashboard_cli_parses_and_refuses_without_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STOREFLOW_API_TOKEN", raising=False)
    parser = argparse.ArgumentParser()
    cli.add_dashboard_parser(parser.add_subparsers())
    args = parser.parse_args(["dashboard", "--port", "8600", "--api-url", "http://srv:1"])
    assert (args.port, args.api_url, args.token) == (8600, "http://srv:1", None)
    assert cli.run_dashboard(args) == 2
    assert "planner token" in capsys.readouterr().out
