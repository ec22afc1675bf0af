"""The server's tag registry decides what a tag is: registration (JSON, CSV, member cards)
re-classifies stored visits and rebuilds trips and daily facts; unknown tags stay pseudonymous,
counted and listed by pattern. Real PostgreSQL, through the HTTP API."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from storeflow.epc import encode_gid96, encode_sgtin96
from storeflow.wire import Heartbeat, IngestBatch, ReaderHealth, TagKind, ZoneVisit
from tests.fix_db import Api
from tests.helpers.ingest import PATH, T0, load_layout, post, visit
from tests.helpers.membership import enrol

DAY = "?start=2026-11-02T00:00:00Z&end=2026-11-03T00:00:00Z"
MANAGER = 4_711_000  # another company's GID-96 manager number
CARDS = [encode_gid96(MANAGER, 11, serial) for serial in (1, 2, 3)]  # their cards: class 11


def _client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def _trip(epc: str, kind: TagKind, start_s: float = 0.0) -> list[ZoneVisit]:
    """One trip along PATH, with the kind the edge's convention gave the tag."""
    return [visit(z, s + start_s, d, epc).model_copy(update={"tag_kind": kind}) for z, s, d in PATH]


def _ingest(api: Api, *visits: ZoneVisit, events: list[Any] | None = None) -> dict[str, int]:
    body = IngestBatch(device_id="edge-1", sent_at=T0, events=[*visits, *(events or [])])
    return post(api, body.model_dump_json(), api.token("edge", store_id="demo"))


def _summary(api: Api) -> tuple[int, int, int]:
    r = _client(api).get(
        f"/api/v1/stores/demo/analytics/summary{DAY}", headers=api.headers("planner")
    )
    assert r.status_code == 200, r.text
    s = r.json()
    return s["entries"], s["visits"], s["shoppers"]


def _stored(api: Api, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(api.db_url) as c:
        return c.execute(query, params).fetchall()  # type: ignore[arg-type]


def test_class_11_cards_registered_later_count_with_their_earlier_visits(api: Api) -> None:
    load_layout(api)
    for i, epc in enumerate(CARDS):  # the edge's default convention: class 11 is unknown
        _ingest(api, *_trip(epc, TagKind.UNKNOWN, start_s=600 * i))
    assert _summary(api) == (0, 0, 0)
    stored = {e for (e,) in _stored(api, "SELECT DISTINCT epc FROM zone_visit")}
    assert len(stored) == 3 and not stored & set(CARDS)  # kept, under pseudonyms only

    r = _client(api).post(
        "/api/v1/stores/demo/tags",
        json=[
            {"epc": e.lower(), "kind": "member_card", "label": f"card {i}"}
            for i, e in enumerate(CARDS)
        ],
        headers=api.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"registered": 3, "visits": 18, "trips": 3}
    assert _summary(api) == (3, 18, 3)
    assert _stored(api, "SELECT DISTINCT epc, tag_kind FROM zone_visit ORDER BY 1") == [
        (e, "member_card") for e in CARDS
    ]
    # new visits follow the registry whatever the edge says
    _ingest(api, *_trip(CARDS[0], TagKind.UNKNOWN, start_s=4 * 3600))
    assert _summary(api) == (4, 24, 3)
    r = _client(api).get("/api/v1/stores/demo/tags", headers=api.headers("admin"))
    assert [(t["epc"], t["kind"], t["label"]) for t in r.json()] == [
        (e, "member_card", f"card {i}") for i, e in enumerate(CARDS)
    ]


def test_csv_import_registers_carts_and_names_the_bad_line(api: Api) -> None:
    load_layout(api)
    cart = encode_gid96(MANAGER, 40, 7)
    _ingest(api, *_trip(cart, TagKind.UNKNOWN))
    admin = {**api.headers("admin"), "Content-Type": "text/csv"}
    bad = f"epc,kind,label\n{cart},cart,Cart 7\n{CARDS[0]},trolley,\nXYZ,basket,\n"
    r = _client(api).post("/api/v1/stores/demo/tags/import", content=bad, headers=admin)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "csv:3: kind:" in detail and "csv:4: epc:" in detail
    assert _summary(api) == (0, 0, 0)  # nothing registered from a file with errors

    good = f"EPC,Kind,Label\n{cart},cart,Cart 7\n{CARDS[1]},basket,\n"
    r = _client(api).post("/api/v1/stores/demo/tags/import", content=good, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"registered": 2, "visits": 6, "trips": 1}
    assert _summary(api) == (1, 6, 1)
    planner = {**api.headers("planner"), "Content-Type": "text/csv"}
    r = _client(api).post("/api/v1/stores/demo/tags/import", content=good, headers=planner)
    assert r.status_code == 403


def test_registry_kind_wins_over_the_edge_hint_both_ways(api: Api) -> None:
    load_layout(api)
    badge = encode_gid96(0x79FF, 1, 99)  # the convention says member card: it is a staff badge
    _ingest(api, *_trip(badge, TagKind.MEMBER_CARD))
    assert _summary(api) == (1, 6, 1)
    r = _client(api).post(
        "/api/v1/stores/demo/tags",
        json=[{"epc": badge, "kind": "staff"}],
        headers=api.headers("admin"),
    )
    assert r.json() == {"registered": 1, "visits": 6, "trips": 0}
    assert _summary(api) == (0, 0, 0)
    assert _stored(api, "SELECT count(*) FROM trip") == [(0,)]
    _ingest(api, *_trip(badge, TagKind.MEMBER_CARD, start_s=3600))
    assert _stored(api, "SELECT DISTINCT tag_kind FROM zone_visit") == [("staff",)]
    assert _summary(api) == (0, 0, 0)
    r = _client(api).post(
        "/api/v1/stores/demo/tags",
        json=[{"epc": badge, "kind": "unknown"}, {"epc": badge, "kind": "goods"}],
        headers=api.headers("admin"),
    )
    assert r.status_code == 422


def test_a_member_card_issued_later_claims_the_visits_of_its_tag(api: Api) -> None:
    load_layout(api)
    epc = CARDS[2]
    _ingest(api, *_trip(epc, TagKind.UNKNOWN))
    assert _summary(api) == (0, 0, 0)
    enrol(api, api.headers("admin"), card="6001000077", epc=epc)
    assert _summary(api) == (1, 6, 1)
    assert _stored(api, "SELECT epc, tag_kind FROM trip") == [(epc, "member_card")]


def test_unknown_tags_are_listed_by_pattern_reader_zone_and_goods(api: Api) -> None:
    load_layout(api)
    other = "E2801160600002054C6D1A32"  # a factory EPC: no scheme
    beat = Heartbeat(
        event_id=uuid.uuid4(),
        store_id="demo",
        device_id="edge-1",
        sent_at=T0,
        outbox_depth=0,
        readers={"R1": ReaderHealth(connected=True, goods_reads=1234)},
    )
    visits = [
        *_trip(CARDS[0], TagKind.UNKNOWN),
        *_trip(CARDS[1], TagKind.UNKNOWN, 600),
        visit("C01", 100, 20, other).model_copy(update={"tag_kind": TagKind.UNKNOWN}),
    ]
    assert _ingest(api, *visits, events=[beat])["accepted"] == 14
    client = _client(api)
    assert (
        client.get(
            "/api/v1/stores/demo/unknown-tags", headers=api.headers("edge", store_id="demo")
        ).status_code
        == 403
    )
    r = client.get("/api/v1/stores/demo/unknown-tags", headers=api.headers("planner"))
    assert r.status_code == 200, r.text
    u = r.json()
    assert (u["visits"], u["tags"]) == (13, 3)
    assert [
        (p["scheme"], p["company"], p["object_class"], p["tags"], p["visits"])
        for p in u["patterns"]
    ] == [
        ("gid-96", str(MANAGER), 11, 2, 12),
        ("unknown", None, None, 1, 1),
    ]
    assert u["patterns"][1]["hex_prefix"] == "E280" and u["patterns"][0]["hex_prefix"] is None
    places = {(p["reader_id"], p["zone"]): (p["visits"], p["tags"]) for p in u["places"]}
    assert places[("R1", "C01")] == (1, 1) and places[("R1", "C03")] == (2, 2)
    assert [(g["reader_id"], g["reads"]) for g in u["goods"]] == [("R1", 1234)]
    assert not any(e in r.text for e in (*CARDS, other))

    # registering one of them takes it (and only it) out of the list
    client.post(
        "/api/v1/stores/demo/tags",
        json=[{"epc": CARDS[0], "kind": "member_card"}],
        headers=api.headers("admin"),
    )
    u = client.get("/api/v1/stores/demo/unknown-tags", headers=api.headers("planner")).json()
    assert (u["visits"], u["tags"]) == (7, 2)
    assert [(p["object_class"], p["tags"]) for p in u["patterns"]] == [(11, 1), (None, 1)]


def test_goods_epcs_are_not_registrable_and_sgtin_patterns_show_their_company(api: Api) -> None:
    load_layout(api)
    card = encode_sgtin96("0614141", "000011", 5)  # a store that encoded its cards as SGTIN-96
    _ingest(api, *_trip(card, TagKind.UNKNOWN))
    u = _client(api).get("/api/v1/stores/demo/unknown-tags", headers=api.headers("planner")).json()
    assert [(p["scheme"], p["company"]) for p in u["patterns"]] == [("sgtin-96", "0614141")]


def test_an_edge_rule_in_yaml_makes_the_same_cards_shoppers_without_registration(
    api: Api,
) -> None:
    from edge.tag_rules import TagRulesConfig
    from storeflow.yamlconf import parse_yaml

    rules = parse_yaml(
        f"rules:\n  - {{scheme: gid-96, company: {MANAGER}, object_class: [11], "
        "kind: member_card}\n",
        TagRulesConfig,
        source="store.yaml",
    ).classifier()
    load_layout(api)
    for i, epc in enumerate(CARDS):
        _ingest(api, *_trip(epc, rules(epc), start_s=600 * i))
    assert _summary(api) == (3, 18, 3)
    u = _client(api).get("/api/v1/stores/demo/unknown-tags", headers=api.headers("planner"))
    assert u.json()["patterns"] == []
