"""Stage history: a class snapshot per member kept whenever the class analysis runs (one per
day, however often it runs), one member's class over time for customer care, and the monthly
transitions between classes for planners, checked on planted snapshots."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest

from server.analysis.stages import STAGE_ORDER, Period, Snapshot, periods, snapshot_day
from server.member_status import compute_status
from tests.fix_db import Api
from tests.helpers.crm import crm
from tests.helpers.membership import client, enrol, one, sale, till
from tests.helpers.privacy import set_consent

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


# -------------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("as_of", "tz", "day"),
    [
        (datetime(2026, 3, 2, tzinfo=UTC), "UTC", date(2026, 3, 1)),  # the end is exclusive
        (datetime(2026, 3, 1, 16, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 1)),  # 00:00 local
        (datetime(2026, 3, 1, 17, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 2)),
    ],
)
def test_a_run_stands_for_the_last_local_day_it_includes(
    as_of: datetime, tz: str, day: date
) -> None:
    assert snapshot_day(as_of, tz) == day


def _s(day: int, cls: str, ref: bool = False, store: str = "demo") -> Snapshot:
    return Snapshot(store, date(2026, 1, day), cls, ref)


@pytest.mark.parametrize(
    ("snaps", "expected"),
    [
        ([], []),
        (
            [_s(3, "occasional"), _s(1, "potential"), _s(2, "potential")],
            [("potential", False, 1, 2, 2), ("occasional", False, 3, 3, 1)],
        ),
        (  # the referrer flag starts a new period too
            [_s(1, "loyal"), _s(2, "loyal", True), _s(3, "loyal", True)],
            [("loyal", False, 1, 1, 1), ("loyal", True, 2, 3, 2)],
        ),
        (  # back to a class it had before: a period of its own
            [_s(1, "core"), _s(2, "loyal"), _s(3, "core")],
            [("core", False, 1, 1, 1), ("loyal", False, 2, 2, 1), ("core", False, 3, 3, 1)],
        ),
    ],
)
def test_snapshots_become_periods_in_one_class(
    snaps: list[Snapshot], expected: list[tuple[str, bool, int, int, int]]
) -> None:
    assert periods(snaps) == [
        Period("demo", c, r, date(2026, 1, a), date(2026, 1, b), n) for c, r, a, b, n in expected
    ]


def test_stores_keep_their_own_periods() -> None:
    got = periods(
        [_s(1, "core", store="b"), _s(1, "potential", store="a"), _s(2, "core", store="b")]
    )
    assert [(p.store_id, p.member_class, p.snapshots) for p in got] == [
        ("a", "potential", 1),
        ("b", "core", 2),
    ]


def test_the_matrix_runs_from_new_up_the_stages() -> None:
    assert STAGE_ORDER == ("new", "potential", "occasional", "loyal", "core", "unprofiled")


# ------------------------------------------------------------------------ snapshots are kept


def _run(db_url: str, day: date) -> None:
    """The class analysis for the store as of the end of ``day`` (UTC: the store has no row)."""

    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            await compute_status(conn, "demo", end, 0)
            await conn.commit()

    asyncio.run(go())


def _stages(db_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return list(
            conn.execute(
                "SELECT member_id, as_of, member_class, is_referrer FROM member_stage "
                "ORDER BY as_of, member_id"
            ).fetchall()
        )


def test_each_run_keeps_a_snapshot_and_a_second_run_of_a_day_replaces_it(api: Api) -> None:
    admin = api.headers("admin")
    li = enrol(api, admin)
    na = enrol(api, admin, card=None, name="Li Na", phone="13900000002", email="na@example.com")
    with psycopg.connect(api.db_url) as conn:
        conn.execute("UPDATE member SET joined_at = '2026-01-01'")
    _run(api.db_url, D1)
    assert _stages(api.db_url) == [(li, D1, "potential", False), (na, D1, "potential", False)]
    _run(api.db_url, D1)  # the same day again: nothing added
    assert len(_stages(api.db_url)) == 2
    r = client(api).post(
        "/api/v1/purchases",
        json=sale("P1", "50.00", at="2026-03-01T10:00:00+00:00"),
        headers=till(api),
    )
    assert r.status_code == 200, r.text
    _run(api.db_url, D1)  # a late sale of that day: the day's snapshot says so, still once
    _run(api.db_url, D2)  # the next day is added
    assert _stages(api.db_url) == [
        (li, D1, "core", False),  # the only buyer is the top 20 %
        (na, D1, "potential", False),
        (li, D2, "core", False),
        (na, D2, "potential", False),
    ]
    # only the newest two runs of the figures are kept; the snapshots stay
    _run(api.db_url, date(2026, 3, 3))
    assert one(api.db_url, "SELECT count(DISTINCT as_of) FROM member_status_run") == 2
    assert one(api.db_url, "SELECT count(DISTINCT as_of) FROM member_stage") == 3


def test_class_over_time_for_customer_care(api: Api) -> None:
    admin, care, c = api.headers("admin"), crm(api), client(api)
    li = enrol(api, admin)
    _plant(
        api.db_url,
        [
            (li, "2026-01-31", "potential", False),
            (li, "2026-02-28", "occasional", False),
            (li, "2026-03-31", "occasional", True),
            (li, "2026-04-30", "occasional", True),
        ],
    )
    r = c.get(f"/api/v1/members/{li}/stages", headers=care)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [
        (p["member_class"], p["is_referrer"], p["first"], p["last"]) for p in body["periods"]
    ] == [
        ("potential", False, "2026-01-31", "2026-01-31"),
        ("occasional", False, "2026-02-28", "2026-02-28"),
        ("occasional", True, "2026-03-31", "2026-04-30"),
    ]
    assert [s["as_of"] for s in body["snapshots"]][-1] == "2026-04-30"
    assert (
        one(
            api.db_url,
            "SELECT count(*) FROM privacy_access_log WHERE endpoint = %s",
            "GET /members/{id}/stages",
        )
        == 1
    )
    assert c.get(f"/api/v1/members/{li}/stages", headers=api.headers("planner")).status_code == 403
    assert c.get("/api/v1/members/999999/stages", headers=care).status_code == 404


def test_objecting_to_profiling_blanks_the_history_and_erasure_removes_it(api: Api) -> None:
    admin = api.headers("admin")
    li = enrol(api, admin)
    na = enrol(api, admin, card=None, name="Li Na", phone="13900000002", email="na@example.com")
    _plant(
        api.db_url,
        [(li, "2026-01-31", "loyal", True), (na, "2026-01-31", "core", False)],
    )
    set_consent(api, li, "profiling", False)
    assert _stages(api.db_url) == [
        (li, date(2026, 1, 31), "unprofiled", False),
        (na, date(2026, 1, 31), "core", False),
    ]
    r = client(api).post(f"/api/v1/members/{na}/erase", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["detail"]["class_history"] == 1
    assert _stages(api.db_url) == [(li, date(2026, 1, 31), "unprofiled", False)]


# ------------------------------------------------------------------------------- transitions

Row = tuple[int, str, str, bool]


def _plant(db_url: str, rows: list[Row], store: str = "demo") -> None:
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(store, *r) for r in rows],
        )


def _members(api: Api, n: int) -> list[int]:
    admin = api.headers("admin")
    return [
        enrol(api, admin, card=None, name=f"M{i}", phone=f"1390000{i:04d}", email=f"{i}@x.org")
        for i in range(n)
    ]


def test_transitions_per_month_from_planted_snapshots(api: Api) -> None:
    m1, m2, m3, m4, m5 = _members(api, 5)
    _plant(
        api.db_url,
        [
            # January: the first month, nothing to compare with
            (m1, "2024-01-31", "potential", False),
            (m2, "2024-01-31", "occasional", False),
            (m4, "2024-01-31", "loyal", False),
            # February: the month's last snapshot counts
            (m1, "2024-02-10", "potential", False),
            (m1, "2024-02-29", "occasional", False),
            (m2, "2024-02-29", "loyal", True),
            (m3, "2024-02-29", "potential", False),  # first seen: from "new"
            # March: m4 has no February snapshot, so it comes from January's class
            (m1, "2024-03-31", "occasional", False),
            (m2, "2024-03-31", "core", True),
            (m3, "2024-03-31", "potential", False),
            (m4, "2024-03-31", "occasional", False),
        ],
    )
    _plant(api.db_url, [(m5, "2024-02-29", "core", False)], store="other")  # another store
    c = client(api)
    params = {"start": "2024-03-01", "end": "2024-04-01", "months": 3}
    r = c.get(
        "/api/v1/stores/demo/analytics/members/transitions",
        params=params,
        headers=api.headers("planner"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    got = {(t["month"], t["from_class"], t["to_class"]): t["members"] for t in body["transitions"]}
    assert got == {
        ("2024-02-01", "potential", "occasional"): 1,
        ("2024-02-01", "occasional", "loyal"): 1,
        ("2024-02-01", "new", "potential"): 1,
        ("2024-03-01", "occasional", "occasional"): 1,
        ("2024-03-01", "loyal", "core"): 1,
        ("2024-03-01", "potential", "potential"): 1,
        ("2024-03-01", "loyal", "occasional"): 1,
    }
    assert body["months"] == ["2024-02-01", "2024-03-01"]
    assert body["classes"] == ["new", "potential", "occasional", "loyal", "core"]
    assert "last snapshot before the month" in body["definition"]
    assert "name" not in r.text and "member_id" not in r.text  # counts only

    one_month = c.get(
        "/api/v1/stores/demo/analytics/members/transitions",
        params={**params, "months": 1},
        headers=api.headers("planner"),
    ).json()
    assert {t["month"] for t in one_month["transitions"]} == {"2024-03-01"}
    csv = c.get(
        "/api/v1/stores/demo/analytics/members/transitions",
        params={**params, "format": "csv"},
        headers=api.headers("planner"),
    )
    assert (
        csv.status_code == 200 and csv.text.splitlines()[0] == "month,from_class,to_class,members"
    )
    assert len(csv.text.splitlines()) == 1 + 7

    store_planner = api.headers("planner", store_id="other")
    r = c.get(
        "/api/v1/stores/demo/analytics/members/transitions", params=params, headers=store_planner
    )
    assert r.status_code == 403
    r = c.get(
        "/api/v1/stores/demo/analytics/members/transitions",
        params={**params, "months": 0},
        headers=api.headers("planner"),
    )
    assert r.status_code == 422


def _month_ends(db_url: str) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """The rows marked as month ends, and the rows that are (each member's last of a month)."""
    with psycopg.connect(db_url) as conn:
        marked = conn.execute(
            "SELECT store_id, member_id, as_of FROM member_stage WHERE month_end"
        ).fetchall()
        truth = conn.execute(
            "SELECT DISTINCT ON (store_id, member_id, date_trunc('month', as_of::timestamp)) "
            "store_id, member_id, as_of FROM member_stage "
            "ORDER BY store_id, member_id, date_trunc('month', as_of::timestamp), as_of DESC"
        ).fetchall()
    return set(marked), set(truth)


def test_month_ends_stay_marked_whatever_writes_the_snapshots(api: Api) -> None:
    """The transitions read only rows marked month_end; triggers keep the mark on each member's
    last snapshot of a month through inserts in any order, in one statement or many, updates of
    a day, and deletes."""
    m1, m2 = _members(api, 2)
    db = api.db_url
    steps: list[tuple[str, str, tuple[object, ...]]] = [
        # several days of one month in one statement, out of order, and another month
        (
            "insert",
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "SELECT 'demo', m, d::date, 'potential', false FROM unnest(%s::bigint[]) m, "
            "unnest(%s::date[]) d",
            ([m1, m2], ["2024-03-20", "2024-03-05", "2024-03-31", "2024-04-02"]),
        ),
        # an earlier day of a month whose end is already there: not an end
        (
            "insert",
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "VALUES ('demo', %s, '2024-03-10', 'loyal', false)",
            (m1,),
        ),
        # a later day: it becomes the end, the old end is cleared
        (
            "insert",
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "VALUES ('demo', %s, '2024-04-15', 'loyal', false)",
            (m1,),
        ),
        # a second run of a day (ON CONFLICT DO UPDATE) and another store's own months
        (
            "insert",
            "INSERT INTO member_stage (store_id, member_id, as_of, member_class, is_referrer) "
            "VALUES ('demo', %s, '2024-04-15', 'core', false), "
            "('other', %s, '2024-04-01', 'core', false) "
            "ON CONFLICT (store_id, member_id, as_of) DO UPDATE "
            "SET member_class = EXCLUDED.member_class",
            (m1, m1),
        ),
        # the end deleted: the newest day left of the month takes over
        (
            "delete",
            "DELETE FROM member_stage WHERE member_id = %s AND as_of = '2024-03-31'",
            (m1,),
        ),
        # days before a cut deleted (as the retention purge does)
        ("delete", "DELETE FROM member_stage WHERE as_of < '2024-03-15'", ()),
        ("delete", "DELETE FROM member_stage WHERE member_id = %s", (m2,)),  # erasure
    ]
    for _, sql, params in steps:
        with psycopg.connect(db) as conn:
            conn.execute(sql, params)  # type: ignore[arg-type]
        marked, truth = _month_ends(db)
        assert marked == truth, sql
    assert marked == {
        ("demo", m1, date(2024, 3, 20)),
        ("demo", m1, date(2024, 4, 15)),
        ("other", m1, date(2024, 4, 1)),
    }
