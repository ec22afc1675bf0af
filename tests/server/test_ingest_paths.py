"""The two ways zone visits go in (server/queries/ingest.py): a batch sent for the first time is
COPYed straight into ``zone_visit``; one with visits stored before -- read back by the trip
rebuild, or refused by the table's key -- goes through a staging table and an insert that skips
what is stored. Whichever way a batch takes, the answer counts each visit once (new or
duplicate), nothing is stored twice, members without tracking consent are stored under their
pseudonym, and the trips equal a full re-assembly of what is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from server.auth import Role
from server.ingest_checks import TimeWindow
from server.privacy.keys import Hasher, PrivacyKeys
from server.queries.credentials import Principal
from server.queries.ingest import ingest_columns
from server.trips import VisitRow, assemble_trips
from storeflow.columns import ColumnarBatch, encode_columns
from storeflow.wire import SHOPPER_TAG_VALUES, TagKind, ZoneVisit
from tests.fix_db import Api
from tests.helpers.ingest import PATH, T0, load_layout, zone_visit
from tests.helpers.membership import enrol

SECRET = b"secret-for-tests"
KEYS = PrivacyKeys(secret=SECRET)
GAP_S = 1800.0
TRACKED = "3500079FF000000400000021"  # a member card, tracking allowed
UNTRACKED = "3500079FF000000400000022"  # a member card, tracking refused
STAFF = "3500079FF000003000000001"  # registered as a staff badge: not a shopper
GUEST = "3500079FF000000400000099"  # a card nobody holds
PSEUDONYM = Hasher(SECRET).untracked_epc(UNTRACKED)


@dataclass(frozen=True)
class Stored:
    accepted: int
    duplicates: int
    fell_back: bool  # the staging table and ON CONFLICT, not the straight COPY


def _visits(epc: str, first_s: float = 0.0, kind: TagKind = TagKind.MEMBER_CARD) -> list[ZoneVisit]:
    """One walk along the demo path, two walks an hour apart."""
    return [
        zone_visit(z, T0 + timedelta(seconds=first_s + s + hour * 3600), d, epc, kind=kind)
        for hour in (0, 1)
        for z, s, d in PATH
    ]


def _batch() -> list[ZoneVisit]:
    """Every kind of tag of the store, shoppers and staff, interleaved in time order."""
    visits = [
        *_visits(TRACKED),
        *_visits(UNTRACKED, 100),
        *_visits(GUEST, 200),
        *_visits(STAFF, 300, kind=TagKind.STAFF),
    ]
    return sorted(visits, key=lambda v: v.enter_at)


def ingest(db_url: str, visits: Sequence[ZoneVisit]) -> Stored:
    """One columnar batch stored on a connection of its own, as a request does, committed."""

    async def run() -> Stored:
        body, _ = encode_columns(device_id="edge-1", sent_at=T0, events=list(visits))
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            result = await ingest_columns(
                conn,
                principal=Principal(id=1, name="edge", role=Role.EDGE, store_id="demo"),
                batch=ColumnarBatch.model_validate_json(body),
                trip_gap_s=GAP_S,
                privacy=KEYS,
                window=TimeWindow(
                    now=T0 + timedelta(hours=3),
                    max_age=timedelta(days=10),
                    max_ahead=timedelta(hours=1),
                ),
            )
            cur = await conn.execute("SELECT to_regclass('pg_temp.staging_visit') IS NOT NULL")
            row = await cur.fetchone()
            await conn.commit()
        assert row is not None and result.rejected == 0
        return Stored(result.accepted, result.duplicates, fell_back=bool(row[0]))

    return asyncio.run(run())


def _setup(api: Api) -> None:
    load_layout(api)
    admin = api.headers("admin")
    enrol(api, admin, card="6001000021", epc=TRACKED)
    enrol(
        api,
        admin,
        card="6001000022",
        epc=UNTRACKED,
        phone="+86 138 0000 0022",
        email="u@example.com",
        consents={"in_store_tracking": False},
    )
    client: TestClient = api.client  # type: ignore[assignment]
    r = client.post(
        "/api/v1/stores/demo/tags", json=[{"epc": STAFF, "kind": "staff"}], headers=admin
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def twins(db_url: str, second_db_url: str) -> Iterator[tuple[str, str]]:
    """Two databases with the same layout, members and registered tags."""
    from server.app import create_app
    from server.settings import Settings

    for url in (db_url, second_db_url):
        with TestClient(create_app(Settings(), database_url=url)) as client:
            _setup(Api(client=client, db_url=url))
    yield db_url, second_db_url


def _stored(db_url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(db_url) as c:
        return {
            "zone_visit": c.execute(
                "SELECT event_id, store_id, zone, epc, tag_kind, enter_at, exit_at, reads, "
                "mean_rssi_dbm, reader_id, device_id FROM zone_visit ORDER BY event_id"
            ).fetchall(),
            "trip": c.execute(
                "SELECT trip_id, epc, tag_kind, start_at, end_at, zones, visit_count FROM trip "
                "ORDER BY epc, start_at"
            ).fetchall(),
            "days": c.execute("SELECT store_id, day FROM rollup_day ORDER BY 1, 2").fetchall(),
        }


def _reassembled(db_url: str) -> list[tuple[object, ...]]:
    """The trips of every shopper tag assembled from all its stored visits at once."""
    with psycopg.connect(db_url) as c:
        kinds = dict(c.execute("SELECT code, kind FROM zone WHERE store_id = 'demo'").fetchall())
        visits = c.execute(
            "SELECT epc, zone, enter_at, exit_at FROM zone_visit WHERE tag_kind = ANY(%s) "
            "ORDER BY epc, enter_at",
            (list(SHOPPER_TAG_VALUES),),
        ).fetchall()
    by_tag: dict[str, list[VisitRow]] = {}
    for epc, zone, enter_at, exit_at in visits:
        by_tag.setdefault(epc, []).append(VisitRow(zone, enter_at, exit_at))
    return [
        (epc, t.start_at, t.end_at, list(t.zones), t.visit_count)
        for epc, rows in sorted(by_tag.items())
        for t in assemble_trips(rows, store_id="demo", epc=epc, zone_kinds=kinds, gap_s=GAP_S)
    ]


def _trips(db_url: str) -> list[tuple[object, ...]]:
    return [(epc, s, e, z, n) for _, epc, _, s, e, z, n in _stored(db_url)["trip"]]


def test_a_new_batch_goes_straight_in_and_its_replay_is_all_duplicates(db_url: str) -> None:
    from server.app import create_app
    from server.settings import Settings

    with TestClient(create_app(Settings(), database_url=db_url)) as client:
        _setup(Api(client=client, db_url=db_url))
    batch = _batch()
    assert ingest(db_url, batch) == Stored(len(batch), 0, fell_back=False)
    first = _stored(db_url)
    assert ingest(db_url, batch) == Stored(0, len(batch), fell_back=True)
    assert _stored(db_url) == first  # nothing stored twice, the trips as they were
    assert len(first["zone_visit"]) == len(batch)
    assert _trips(db_url) == _reassembled(db_url)
    assert len(first["trip"]) == 6  # two walks of each of the three shoppers


def test_a_half_new_batch_stores_the_new_half_as_one_batch_would(
    twins: tuple[str, str],
) -> None:
    """The first half of a batch stored, then the whole batch resent (an edge retrying after a
    lost answer, with more since): the trip rebuild reads the stored half back, so the batch
    takes the careful path; what is stored equals one clean batch."""
    one_go, piecemeal = twins
    batch = _batch()
    half = len(batch) // 2
    assert ingest(one_go, batch) == Stored(len(batch), 0, fell_back=False)
    assert ingest(piecemeal, batch[:half]) == Stored(half, 0, fell_back=False)
    assert ingest(piecemeal, batch) == Stored(len(batch) - half, half, fell_back=True)
    assert _stored(piecemeal) == _stored(one_go)
    assert _trips(piecemeal) == _reassembled(piecemeal)


def test_a_visit_the_rebuild_does_not_read_back_is_refused_by_the_key_then_skipped(
    twins: tuple[str, str],
) -> None:
    """Staff badges are not shoppers, so no trip rebuild reads their visits back: a resent staff
    visit reaches the straight COPY, whose key refuses it; the batch then goes the careful way,
    and nothing of the refused COPY stays. So does a visit sent twice in one batch."""
    one_go, piecemeal = twins
    batch = _batch()
    staff = [v for v in batch if v.epc == STAFF]
    shoppers = [v for v in batch if v.epc != STAFF]
    assert ingest(one_go, batch) == Stored(len(batch), 0, fell_back=False)
    assert ingest(piecemeal, staff[:3]) == Stored(3, 0, fell_back=False)
    resent = [*staff, *shoppers[:5], shoppers[4]]  # the 5th shopper visit twice
    assert ingest(piecemeal, resent) == Stored(len(staff) - 3 + 5, 3 + 1, fell_back=True)
    assert ingest(piecemeal, shoppers[5:]) == Stored(len(shoppers) - 5, 0, fell_back=False)
    assert _stored(piecemeal) == _stored(one_go)
    assert _trips(piecemeal) == _reassembled(piecemeal)


def test_members_without_tracking_consent_are_stored_under_their_pseudonym_either_way(
    db_url: str,
) -> None:
    from server.app import create_app
    from server.settings import Settings

    with TestClient(create_app(Settings(), database_url=db_url)) as client:
        _setup(Api(client=client, db_url=db_url))
    walks = _visits(UNTRACKED)
    assert ingest(db_url, walks[:4]).fell_back is False
    assert ingest(db_url, walks).fell_back is True  # the first four read back
    stored = _stored(db_url)
    epcs = {row[3] for row in stored["zone_visit"]}
    trip_epcs = {row[1] for row in stored["trip"]}
    assert epcs == trip_epcs == {PSEUDONYM}
    assert len(stored["zone_visit"]) == len(walks)
    assert _trips(db_url) == _reassembled(db_url)
