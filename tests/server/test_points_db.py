"""Points in the real database: redemption without double spend, expiry, the append-only ledger.

Every balance here is checked two ways: the sum of the ledger, and the lots replayed from the
ledger by the pure engine (``server.loyalty.lot_changes``) against the stored remainders. And the
ledger and lot tables are written by one module only, ``server.queries.ledger``.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from server.errors import Conflict
from server.loyalty import LedgerEntry
from server.queries import ledger
from server.queries import membership as q
from storeflow.api.points import RedemptionIn
from tests.fix_db import Api
from tests.helpers.ledger import owed
from tests.helpers.ledger import replay as replay_entries
from tests.helpers.membership import client, enrol, ledger_sum, one, redemption, sale, till


def replay(db_url: str, member_id: int) -> None:
    """The stored lots equal the lots replayed from the ledger; the balance equals its sum."""
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT e.kind, e.points, e.lot_id, e.at, e.actor, e.reason, e.ref, "
            "CASE WHEN e.points > 0 AND e.lot_id IS NOT NULL THEN l.expires_at END "
            "FROM points_ledger e LEFT JOIN points_lot l ON l.id = e.lot_id "
            "WHERE e.member_id = %s ORDER BY e.id",
            (member_id,),
        ).fetchall()
        stored: dict[str, int] = dict(
            c.execute(
                "SELECT id::text, remaining FROM points_lot WHERE member_id = %s", (member_id,)
            ).fetchall()
        )
    entries = [
        LedgerEntry(r[0], r[1], None if r[2] is None else str(r[2]), r[3], r[4], r[5], r[6], r[7])
        for r in rows
    ]
    assert all(e.actor and e.reason for e in entries)
    assert {lot.lot_id: lot.remaining for lot in replay_entries(entries)} == stored
    total = sum(e.points for e in entries)
    assert total == sum(stored.values()) - owed(entries) == ledger_sum(db_url, member_id)


def earn(api: Api, pos_id: str, amount: str, at: datetime | None = None) -> int:
    body = sale(pos_id, amount) if at is None else sale(pos_id, amount, at=at.isoformat())
    r = client(api).post("/api/v1/purchases", json=body, headers=till(api))
    assert r.status_code == 200, r.text
    points: int = r.json()["points_earned"]
    return points


def test_fifty_parallel_redemptions_over_separate_connections_never_double_spend(
    api: Api,
) -> None:
    member_id = enrol(api, api.headers("admin"))
    assert earn(api, "B-1", "400.00") + earn(api, "B-2", "333.00") == 733
    each = 30

    async def one_redemption(i: int) -> str:
        body = RedemptionIn.model_validate(redemption(each, f"par-{i}"))
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            try:
                await q.redeem(conn, member_id, body, actor="till")
            except Conflict as exc:
                await conn.rollback()
                return f"conflict {exc}"
            await conn.commit()
            return "ok"

    async def storm() -> list[str]:
        return await asyncio.gather(*(one_redemption(i) for i in range(50)))

    outcomes = asyncio.run(storm())
    assert outcomes.count("ok") == 733 // each
    refused = [o for o in outcomes if o != "ok"]
    assert len(refused) == 50 - 733 // each
    assert all(o.startswith("conflict insufficient points: ") for o in refused)
    assert all(o.endswith(f"available, {each} requested") for o in refused)
    assert ledger_sum(api.db_url, member_id) == 733 % each >= 0
    replay(api.db_url, member_id)


def test_redemption_spends_the_oldest_lots_first_and_is_idempotent(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    now = datetime.now(UTC)
    earn(api, "F-1", "50.00", now - timedelta(days=300))
    earn(api, "F-2", "70.00", now - timedelta(days=100))
    earn(api, "F-3", "90.00", now - timedelta(days=10))
    c, h, url = client(api), till(api), f"/api/v1/members/{member_id}/redemptions"
    r = c.post(url, json=redemption(80, "once"), headers=h)
    assert r.json() == {"member_id": member_id, "points_balance": 130}
    assert c.post(url, json=redemption(80, "once"), headers=h).json()["points_balance"] == 130
    with psycopg.connect(api.db_url) as conn:
        left = conn.execute(
            "SELECT points, remaining FROM points_lot WHERE member_id = %s ORDER BY earned_at",
            (member_id,),
        ).fetchall()
    assert left == [(50, 0), (70, 40), (90, 90)]
    assert one(api.db_url, "SELECT count(*) FROM redemption") == 1
    replay(api.db_url, member_id)


def test_a_refused_redemption_does_not_use_up_its_key(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    earn(api, "K-1", "20.00")
    c, h, url = client(api), till(api), f"/api/v1/members/{member_id}/redemptions"
    refused = c.post(url, json=redemption(50, "k"), headers=h)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "insufficient points: 20 available, 50 requested"
    earn(api, "K-2", "40.00")
    assert c.post(url, json=redemption(50, "k"), headers=h).json()["points_balance"] == 10
    assert c.post(url, json=redemption(1, "z"), headers={}).status_code == 401
    unknown = c.post("/api/v1/members/999/redemptions", json=redemption(1, "u"), headers=h)
    assert unknown.status_code == 404


def test_expiry_takes_the_oldest_lots_first_and_balances_recompute(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    t0 = datetime.now(UTC) - timedelta(days=300)
    for i, amount in enumerate(("100.00", "60.00", "40.00")):
        earn(api, f"E-{i}", amount, t0 + timedelta(days=90 * i))
    c, h, admin = client(api), till(api), api.headers("admin")
    # 30 spent from the oldest lot leaves 70 there to expire
    c.post(f"/api/v1/members/{member_id}/redemptions", json=redemption(30, "e"), headers=h)
    with psycopg.connect(api.db_url) as conn:
        expiries = [
            r[0]
            for r in conn.execute(
                "SELECT expires_at FROM points_lot WHERE member_id = %s ORDER BY earned_at",
                (member_id,),
            ).fetchall()
        ]
    assert expiries == sorted(expiries)
    before_first = (expiries[0] - timedelta(seconds=1)).isoformat()
    r = c.post("/api/v1/points/expire", params={"as_of": before_first}, headers=admin)
    assert r.json() == {"points_expired": 0}
    steps = [(expiries[0], 70, 100), (expiries[1], 60, 40), (expiries[2], 40, 0)]
    for as_of, expired, left in steps:
        r = c.post("/api/v1/points/expire", params={"as_of": as_of.isoformat()}, headers=admin)
        assert r.json() == {"points_expired": expired}
        again = c.post("/api/v1/points/expire", params={"as_of": as_of.isoformat()}, headers=admin)
        assert again.json() == {"points_expired": 0}
        assert ledger_sum(api.db_url, member_id) == left
        replay(api.db_url, member_id)
    assert one(api.db_url, "SELECT count(*) FROM points_ledger WHERE kind = 'expire'") == 3
    assert one(api.db_url, "SELECT min(actor) FROM points_ledger WHERE kind = 'expire'") == (
        "test-admin"
    )


def test_the_expiry_function_for_a_scheduler(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    earn(api, "J-1", "25.00", datetime(2024, 1, 1, tzinfo=UTC))

    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(api.db_url) as conn:
            expired = await q.expire_points(conn, as_of=datetime.now(UTC), actor="nightly")
            await conn.commit()
            return expired

    assert asyncio.run(run()) == 25
    assert ledger_sum(api.db_url, member_id) == 0
    replay(api.db_url, member_id)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_ledger SET points = 1000",
        "DELETE FROM points_ledger",
        "TRUNCATE points_ledger",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_ledger_refuses_changes(api: Api, statement: str) -> None:
    member_id = enrol(api, api.headers("admin"))
    earn(api, "A-1", "15.00")
    with psycopg.connect(api.db_url) as conn, pytest.raises(psycopg.errors.RaiseException) as e:
        conn.execute(statement)
    assert "append-only" in str(e.value)
    assert ledger_sum(api.db_url, member_id) == 15


def test_points_owed_are_settled_before_new_points_can_be_spent(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    p = client(api).post("/api/v1/purchases", json=sale("D-1", "100.00"), headers=till(api))
    url = f"/api/v1/members/{member_id}/redemptions"
    client(api).post(url, json=redemption(100, "d1"), headers=till(api))
    full = {"return_id": "R", "register_id": "T1", "lines": [{"line_no": 1, "amount": "100.00"}]}
    client(api).post(
        f"/api/v1/purchases/{p.json()['purchase_id']}/returns", json=full, headers=till(api)
    )
    assert ledger_sum(api.db_url, member_id) == -100
    earn(api, "D-2", "60.00")  # 60 earned against a debt of 100: still 40 owed
    r = client(api).post(url, json=redemption(50, "d2"), headers=till(api))
    assert r.status_code == 409
    assert ledger_sum(api.db_url, member_id) == -40


def test_a_redemption_retried_after_a_merge_is_not_spent_twice(api: Api) -> None:
    admin = api.headers("admin")
    keep = enrol(api, admin)
    dup = enrol(api, admin, card="7001", epc=None, phone="139", email=None)
    client(api).post("/api/v1/purchases", json=sale("G-1", "100.00", "7001"), headers=till(api))
    url = f"/api/v1/members/{dup}/redemptions"
    assert (
        client(api).post(url, json=redemption(40, "g"), headers=till(api)).json()["points_balance"]
        == 60
    )
    client(api).post(f"/api/v1/members/{dup}/merge", json={"into_member_id": keep}, headers=admin)
    retry = client(api).post(url, json=redemption(40, "g"), headers=till(api))
    assert retry.json()["points_balance"] == 60


def test_a_redemption_racing_the_expiry_job_is_refused_cleanly(api: Api) -> None:
    """The job's ledger rows hold a key-share lock on the member row until it commits, so a
    redemption waits for the job and then sees the expired lot as gone."""
    member_id = enrol(api, api.headers("admin"))
    earn(api, "X-1", "100.00", datetime.now(UTC) - timedelta(days=400))  # due, not yet expired
    earn(api, "X-2", "10.00")
    with psycopg.connect(api.db_url) as conn:  # still spendable for a moment
        conn.execute(
            "UPDATE points_lot SET expires_at = now() + interval '1 hour' WHERE points = 100"
        )

    async def race() -> str:
        job = await psycopg.AsyncConnection.connect(api.db_url)
        till_conn = await psycopg.AsyncConnection.connect(api.db_url)
        watch = await psycopg.AsyncConnection.connect(api.db_url, autocommit=True)
        try:
            await q.expire_points(job, as_of=datetime.now(UTC) + timedelta(days=1), actor="job")
            pid = till_conn.info.backend_pid
            body = RedemptionIn.model_validate(redemption(80, "race"))
            spend = asyncio.create_task(q.redeem(till_conn, member_id, body, actor="till"))
            for _ in range(200):  # until the redemption waits on the job's lock
                cur = await watch.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
                )
                row = await cur.fetchone()
                if (row and row[0] == "Lock") or spend.done():
                    break
                await asyncio.sleep(0.02)
            await job.commit()
            try:
                await spend
            except Conflict:
                return "conflict"
            except psycopg.Error as exc:
                return type(exc).__name__
            return "spent"
        finally:
            for c in (job, till_conn, watch):
                await c.close()

    outcome = asyncio.run(race())
    assert outcome == "conflict", outcome
    assert ledger_sum(api.db_url, member_id) == 10
    replay(api.db_url, member_id)


SERVER = Path(__file__).resolve().parents[2] / "server"


def test_only_the_ledger_module_touches_the_ledger_and_lot_tables() -> None:
    """Every ledger row is made by the pure rules and written by ``append_entries``: no other
    module in server/ names the tables, so none can write a row by hand."""
    assert Path(ledger.__file__).resolve().parent == SERVER / "queries"
    table = re.compile(r"\bpoints_(ledger|lot)\b")
    sources = sorted(SERVER.rglob("*.py"))
    assert len(sources) > 20
    naming = [p.relative_to(SERVER).as_posix() for p in sources if table.search(p.read_text())]
    assert naming == ["queries/ledger.py"]
