"""The columnar ingest (``/api/v1/ingest/columns``) against the JSON one (``/api/v1/ingest``):
one batch of good and bad rows, sent each way to a database of its own, gets the same answer
(the same rows rejected, for the same reasons, at the same places) and leaves the same rows
behind -- visits, trips, unknown tags, dirty days, heartbeats -- through the same tag registry
and tracking consent."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from storeflow.columns import ColumnarBatch, VisitColumns
from storeflow.pseudonym import edge_epc
from storeflow.wire import CardScan, Event, Heartbeat, RawRead, TagKind, ZoneVisit, visit_event_id
from tests.fix_db import Api
from tests.helpers.ingest import PATH, T0, load_layout
from tests.helpers.membership import enrol

EDGE_KEY = "edge-key-for-tests"
SETTINGS = {"STOREFLOW_PRIVACY_SECRET": "secret-for-tests", "STOREFLOW_EDGE_EPC_KEY": EDGE_KEY}
TRACKED = "3500079FF000000400000011"  # a member card, tracking allowed
UNTRACKED = "3500079FF000000400000012"  # a member card, tracking refused: stored as a pseudonym
ALIASED = "3500079FF000000400000013"  # a member card the edge sends as its keyed hash
CART = "3500079FF0000010000000AA"  # registered as a cart; the edge says member_card
UNKNOWN = "E2801160600002054CC2D1AB"  # not in the registry, sent as unknown: a pseudonym
GUEST = "3500079FF000000400000099"  # a card nobody holds


def _visit(
    zone: str, start_s: float, dwell_s: float, epc: str, change: dict[str, Any] | None = None
) -> dict[str, Any]:
    enter = T0 + timedelta(seconds=start_s)
    v = ZoneVisit(
        event_id=visit_event_id(store_id="demo", zone=zone, epc=epc, enter_at=enter),
        store_id="demo",
        zone=zone,
        epc=epc,
        tag_kind=TagKind.UNKNOWN if epc == UNKNOWN else TagKind.MEMBER_CARD,
        enter_at=enter,
        exit_at=enter + timedelta(seconds=dwell_s),
        reads=10,
        mean_rssi_dbm=-55.5,
        reader_id="R1",
    )
    return {**v.model_dump(mode="json"), **(change or {})}


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(visits, other events) as JSON values, bad ones among them."""
    visits: list[dict[str, Any]] = []
    for n, epc in enumerate([TRACKED, UNTRACKED, CART, UNKNOWN, GUEST]):
        visits += [_visit(z, s + 400 * n, d, epc) for z, s, d in PATH]
    alias = edge_epc(EDGE_KEY.encode(), ALIASED)
    visits += [_visit(z, s + 3000, d, alias) for z, s, d in PATH]
    odd_zone = 'C"0,1\\'  # any text survives in the trip's path
    visits.append(_visit(odd_zone, 4000, 20, GUEST))
    far = datetime(2099, 6, 1, tzinfo=UTC).isoformat()
    old = datetime(1, 6, 1, tzinfo=UTC).isoformat()
    bad = [
        {"store_id": "elsewhere"},
        {"enter_at": old},
        {"exit_at": far},
        {"exit_at": (T0 - timedelta(seconds=5)).isoformat()},
        {"mean_rssi_dbm": math.nan},
        {"mean_rssi_dbm": math.inf},
        {"zone": "A\x002"},
        {"reader_id": "R\x001"},
    ]
    for i, change in enumerate(bad):
        visits.insert(3 + 4 * i, _visit("A2", 5000 + i, 10, GUEST, change))
    sent = T0 + timedelta(minutes=30)
    others: list[Event] = [
        Heartbeat(
            event_id=uuid.uuid4(), store_id="demo", device_id="edge-1", sent_at=sent, outbox_depth=3
        ),
        RawRead(
            event_id=uuid.uuid4(),
            store_id="demo",
            reader_id="R1",
            antenna=1,
            epc=GUEST,
            rssi_dbm=-60.0,
            read_at=sent,
        ),
        CardScan(
            event_id=uuid.uuid4(),
            store_id="demo",
            register_id="T1",
            card_number="6001",
            scanned_at=sent,
            scanner="manual",
        ),  # from an edge credential: refused
        Heartbeat(
            event_id=uuid.uuid4(),
            store_id="demo",
            device_id="edge-1",
            sent_at=datetime(2099, 1, 1, tzinfo=UTC),
            outbox_depth=0,
        ),
    ]
    return visits, [e.model_dump(mode="json") for e in others]


def _json_body(visits: list[dict[str, Any]], others: list[dict[str, Any]]) -> str:
    body = {"device_id": "edge-1", "sent_at": T0.isoformat(), "events": [*visits, *others]}
    return json.dumps(body)  # NaN and Infinity as JavaScript writes them


def _columns_body(visits: list[dict[str, Any]], others: list[dict[str, Any]]) -> str:
    cols = {name: [v[name] for v in visits] for name in VisitColumns.model_fields}
    body = {"device_id": "edge-1", "sent_at": T0.isoformat(), "visits": cols, "events": others}
    return json.dumps(body)


@pytest.fixture
def twins(db_url: str, second_db_url: str) -> Iterator[tuple[Api, Api]]:
    """Two apps on two fresh databases with the same keys, the same layout and members."""
    settings = Settings(**SETTINGS)  # type: ignore[arg-type]
    apis = []
    with (
        TestClient(create_app(settings, database_url=db_url)) as a,
        TestClient(create_app(settings, database_url=second_db_url)) as b,
    ):
        for client, url in ((a, db_url), (b, second_db_url)):
            api = Api(client=client, db_url=url)
            load_layout(api)
            admin = api.headers("admin")
            enrol(api, admin, card="6001000011", epc=TRACKED)
            enrol(
                api,
                admin,
                card="6001000012",
                epc=UNTRACKED,
                phone="+86 138 0000 0002",
                email="b@example.com",
                consents={"in_store_tracking": False},
            )
            enrol(
                api,
                admin,
                card="6001000013",
                epc=ALIASED,
                phone="+86 138 0000 0003",
                email="c@example.com",
            )
            r = client.post(
                "/api/v1/stores/demo/tags", json=[{"epc": CART, "kind": "cart"}], headers=admin
            )
            assert r.status_code == 200, r.text
            apis.append(api)
        yield apis[0], apis[1]


def _stored(db_url: str) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "zone_visit": "SELECT event_id, store_id, zone, epc, tag_kind, enter_at, exit_at, "
        "dwell_s, reads, mean_rssi_dbm, reader_id, device_id FROM zone_visit ORDER BY 1",
        "trip": "SELECT * FROM trip ORDER BY start_at, epc",
        "trip_span": "SELECT * FROM trip_span",
        "unknown_tag": "SELECT * FROM unknown_tag ORDER BY 1, 2",
        "rollup_day": "SELECT store_id, day, version FROM rollup_day ORDER BY 1, 2",
        "device_heartbeat": "SELECT device_id, store_id, sent_at, outbox_depth "
        "FROM device_heartbeat",
        "card_scan": "SELECT event_id, store_id, register_id, card_number, scanned_at, scanner "
        "FROM card_scan",
    }
    with psycopg.connect(db_url) as c:
        return {name: c.execute(q).fetchall() for name, q in queries.items()}


def _post(api: Api, path: str, body: str) -> dict[str, Any]:
    client: TestClient = api.client  # type: ignore[assignment]
    token = api.token("edge", store_id="demo")
    r = client.post(
        path,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_columns_reject_and_store_exactly_what_json_does(twins: tuple[Api, Api]) -> None:
    by_json, by_columns = twins
    visits, others = _rows()
    a = _post(by_json, "/api/v1/ingest", _json_body(visits, others))
    b = _post(by_columns, "/api/v1/ingest/columns", _columns_body(visits, others))
    assert a == b
    # the good visits and one heartbeat stored (a raw read is taken, not stored)
    assert (a["accepted"], a["rejected"]) == (len(visits) - 8 + 1, 8 + 2)
    reasons = [p["reason"] for p in a["problems"]]
    assert "store 'elsewhere' is not this credential's" in reasons
    assert "mean_rssi_dbm is not a finite number" in reasons
    assert "a text field holds a NUL character" in reasons
    assert "card scans are accepted from a register's credential only" in reasons
    stored = _stored(by_json.db_url)
    assert stored == _stored(by_columns.db_url)
    epcs = {row[3] for row in stored["zone_visit"]}
    assert TRACKED in epcs and ALIASED in epcs and GUEST in epcs
    assert UNTRACKED not in epcs and UNKNOWN not in epcs  # under pseudonyms
    assert {row[4] for row in stored["zone_visit"] if row[3] == CART} == {"cart"}
    assert any('C"0,1\\' in row[6] for row in stored["trip"])  # zones: the path
    assert len(stored["unknown_tag"]) == 1
    # sent again: every visit a duplicate, the same problems
    again_a = _post(by_json, "/api/v1/ingest", _json_body(visits, others))
    again_b = _post(by_columns, "/api/v1/ingest/columns", _columns_body(visits, others))
    assert again_a == again_b
    assert again_a["duplicates"] == len(visits) - 8


def test_a_registers_credential_is_refused_visits_in_columns_too(api: Api) -> None:
    load_layout(api)
    visits, _ = _rows()
    client: TestClient = api.client  # type: ignore[assignment]
    headers = {**api.headers("cashier", store_id="demo", register_id="T1")}
    answers = [
        client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
        for path, body in (
            ("/api/v1/ingest", _json_body(visits[:2], [])),
            ("/api/v1/ingest/columns", _columns_body(visits[:2], [])),
        )
    ]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["problems"][0]["reason"] == (
        "a register's credential sends card scans only, not zone_visit"
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"epc": ["nothex"]}, "epc"),
        ({"reads": [0]}, "reads"),
        ({"zone": []}, "differ in length"),
        ({"tag_kind": ["pallet"]}, "tag_kind"),
        ({"enter_at": ["yesterday"]}, "enter_at"),
    ],
)
def test_a_malformed_column_is_a_422_naming_it(
    api: Api, change: dict[str, list[object]], words: str
) -> None:
    visits, _ = _rows()
    body = json.loads(_columns_body(visits[:1], []))
    body["visits"].update(change)
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.post(
        "/api/v1/ingest/columns",
        content=json.dumps(body),
        headers={**api.headers("edge", store_id="demo"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert words in r.text


def test_at_most_ten_thousand_rows() -> None:
    visits, _ = _rows()
    cols = json.loads(_columns_body(visits[:1], []))["visits"]
    many = {name: values * 10_001 for name, values in cols.items()}
    with pytest.raises(ValueError, match="at most 10000"):
        ColumnarBatch.model_validate(
            {"device_id": "edge-1", "sent_at": T0.isoformat(), "visits": many}
        )


def test_trips_are_the_same_however_the_visits_arrive(twins: tuple[Api, Api]) -> None:
    """Trips are prepared while the visits go in and kept when the insert took exactly the
    visits expected; a batch with visits stored before, or one visit twice, takes the rebuild
    after the insert. Either way the trips equal those of one clean batch."""
    one_go, piecemeal = twins
    visits = [
        _visit(z, s + 400 * n, d, epc) for n, epc in enumerate([TRACKED, GUEST]) for z, s, d in PATH
    ]
    _post(one_go, "/api/v1/ingest/columns", _columns_body(visits, []))
    for part in (visits[:4], visits[2:9], [visits[9], visits[9], *visits[10:]], visits):
        _post(piecemeal, "/api/v1/ingest/columns", _columns_body(part, []))
    a, b = _stored(one_go.db_url), _stored(piecemeal.db_url)
    assert a["trip"] == b["trip"] and len(a["trip"]) == 2
    assert a["zone_visit"] == b["zone_visit"]
