"""Referrals: codes, the referrer recorded at enrolment, the reward paid once on the referred
member's first purchase (an earning rule, through the ledger) and taken back when that purchase
is returned, the referral tree, and the referrer class fed by recorded referrals who bought."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from server.crm.referrals import (
    ALPHABET,
    BadCode,
    Referred,
    build_tree,
    count,
    keeps_reward,
    normalise_code,
)
from server.loyalty import (
    EarningRules,
    Lot,
    ReferralReward,
    lot_changes,
    parse_earning_rules,
    referral_reversal_entries,
)
from tests.fix_db import Api
from tests.helpers.crm import crm
from tests.helpers.membership import client, ledger_sum, one, sale, till

RULES = """
base_points_per_unit: 1
referral: {referrer_points: 500, new_member_points: 200, min_purchase: 50.00}
"""
JOINED = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def api_rules(db_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app with a referral reward in its earning rules."""
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    path = tmp_path / "earning.yaml"
    path.write_text(RULES)
    app = create_app(Settings(STOREFLOW_EARNING_RULES=str(path)), database_url=db_url)
    with TestClient(app) as c:
        yield Api(client=c, db_url=db_url)


def join(
    api: Api, name: str, *, code: str | None = None, card: str | None = None
) -> tuple[int, str]:
    """Enrol ``name`` (with another member's referral ``code``); their id and own code."""
    admin = api.headers("admin")
    body: dict[str, object] = {"name": name, "consents": {"marketing": True}}
    if code is not None:
        body["referral_code"] = code
    r = client(api).post("/api/v1/members", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    if card is not None:
        r = client(api).post(
            f"/api/v1/members/{created['member_id']}/cards",
            json={"card_number": card},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    return created["member_id"], created["referral_code"]


# ------------------------------------------------------------------------ pure: codes and trees


@pytest.mark.parametrize(
    ("typed", "code"),
    [("ABCD2345", "ABCD2345"), ("abcd-2345", "ABCD2345"), (" ab cd 23 45 ", "ABCD2345")],
)
def test_a_code_is_read_as_people_type_it(typed: str, code: str) -> None:
    assert normalise_code(typed) == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ABC234", "has 6"),
        ("ABCD23456", "has 9"),
        ("ABCD2O45", "characters no code has: O"),
        ("ABCD1045", "characters no code has: 01"),
    ],
)
def test_text_that_cannot_be_a_code_says_why(typed: str, message: str) -> None:
    with pytest.raises(BadCode, match=message):
        normalise_code(typed)


def _r(member_id: int, parent: int, depth: int, *, bought: bool = False, n: int = 0) -> Referred:
    at = datetime(2026, 1, member_id, tzinfo=UTC)
    return Referred(member_id, parent, depth, f"M{member_id}", f"N{member_id}", at,
                    at if bought else None, 500 if bought else None, n)  # fmt: skip


def test_the_tree_nests_rows_by_parent_oldest_first_and_counts_what_is_cut() -> None:
    rows = [_r(4, 2, 2, n=3), _r(3, 1, 1), _r(2, 1, 1, bought=True, n=1), _r(5, 9, 2)]
    nodes = build_tree(1, rows)
    assert [(n.member.member_id, [c.member.member_id for c in n.children]) for n in nodes] == [
        (2, [4]),
        (3, []),
    ]
    assert nodes[0].children[0].not_shown == 3  # member 4 referred three, below the limit
    assert nodes[0].not_shown == 0
    assert count(nodes) == (3, 1)  # the row whose parent is not in the tree is left out


def test_referral_rules_load_from_the_earning_rules_data() -> None:
    rules = parse_earning_rules(RULES)
    assert rules.referral == ReferralReward(
        referrer_points=500, new_member_points=200, min_purchase="50.00"
    )
    assert EarningRules().referral is None  # no reward unless the store sets one
    with pytest.raises(ValueError, match="referrer_points"):
        parse_earning_rules("referral: {referrer_points: -1}")


# -------------------------------------------------------------------------------- enrolment


def test_enrolment_with_a_code_records_the_referrer(api: Api) -> None:
    care = crm(api)
    anna, code = join(api, "Anna")
    assert len(code) == 8 and set(code) <= set(ALPHABET)
    ben, ben_code = join(api, "Ben", code=f"{code[:4].lower()}-{code[4:].lower()}")
    assert ben_code != code
    assert one(api.db_url, "SELECT referrer_id FROM member WHERE id = %s", ben) == anna
    c = client(api)
    profile = c.get(f"/api/v1/members/{ben}", headers=care).json()
    assert profile["referred_by"]["member_id"] == anna
    assert profile["referral_code"] == ben_code
    mine = c.get(f"/api/v1/members/{anna}", headers=care).json()
    assert (mine["referral_code"], mine["referrals"], mine["referred_by"]) == (code, 1, None)


def test_an_unknown_or_malformed_code_is_a_422_and_no_member(api: Api) -> None:
    admin, c = api.headers("admin"), client(api)
    _, code = join(api, "Anna")
    unused = next(x for x in ("ABCD2345", "ABCD2346") if x != code)
    for typed, message in (
        (unused, f"unknown referral code '{unused}': no member has it"),
        ("XYZ", "a referral code has 8 letters and digits"),
    ):
        r = c.post("/api/v1/members", json={"name": "Ben", "referral_code": typed}, headers=admin)
        assert r.status_code == 422, r.text
        assert message in r.json()["detail"]
    anna_no = one(api.db_url, "SELECT member_no FROM member WHERE referral_code = %s", code)
    join(api, "Carl")
    carl_no = one(api.db_url, "SELECT member_no FROM member WHERE name = 'Carl'")
    r = c.post(
        "/api/v1/members",
        json={"name": "Ben", "referral_code": code, "referrer_no": carl_no},
        headers=admin,
    )
    assert r.status_code == 422 and "different members" in r.json()["detail"]
    r = c.post(
        "/api/v1/members",
        json={"name": "Ben", "referral_code": code, "referrer_no": anna_no},
        headers=admin,
    )
    assert r.status_code == 201  # both naming the same member is fine
    assert one(api.db_url, "SELECT count(*) FROM member") == 3


def test_nobody_refers_themselves(api: Api) -> None:
    anna, _ = join(api, "Anna")
    with (
        psycopg.connect(api.db_url) as conn,
        pytest.raises(psycopg.errors.CheckViolation, match="member_not_own_referrer"),
    ):
        conn.execute("UPDATE member SET referrer_id = id WHERE id = %s", (anna,))


def test_an_erased_members_code_no_longer_works(api: Api) -> None:
    anna, code = join(api, "Anna")
    r = client(api).post(f"/api/v1/members/{anna}/erase", headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    assert one(api.db_url, "SELECT referral_code FROM member WHERE id = %s", anna) is None
    r = client(api).post(
        "/api/v1/members",
        json={"name": "Ben", "referral_code": code},
        headers=api.headers("admin"),
    )
    assert r.status_code == 422 and "unknown referral code" in r.json()["detail"]


# ---------------------------------------------------------------------------------- rewards


def test_the_reward_is_paid_once_on_the_first_purchase_reaching_the_minimum(
    api_rules: Api,
) -> None:
    api = api_rules
    anna, code = join(api, "Anna")
    ben, _ = join(api, "Ben", code=code, card="7001")
    c, pos = client(api), till(api)

    def buy(pos_id: str, amount: str) -> dict[str, object]:
        r = c.post("/api/v1/purchases", json=sale(pos_id, amount, "7001"), headers=pos)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    buy("P1", "30.00")  # below the rule's minimum: no reward yet
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (0, 30)
    first = buy("P2", "120.00")
    assert first["points_balance"] == 30 + 120 + 200  # purchase points and the welcome bonus
    assert ledger_sum(api.db_url, anna) == 500
    assert buy("P2", "120.00")["duplicate"] is True  # a retried sale pays nothing again
    buy("P3", "80.00")  # a later purchase: no second reward
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (500, 430)
    with psycopg.connect(api.db_url) as conn:
        entries = conn.execute(
            "SELECT member_id, kind, points, ref, reason, lot_id IS NOT NULL FROM points_ledger "
            "WHERE ref LIKE 'referral:%%' ORDER BY member_id"
        ).fetchall()
        rewards = conn.execute(
            "SELECT member_id, referrer_id, referrer_points, member_points FROM referral_reward"
        ).fetchall()
        lots = conn.execute(
            "SELECT member_id, points, remaining, purchase_id FROM points_lot l WHERE EXISTS "
            "(SELECT 1 FROM points_ledger e WHERE e.lot_id = l.id AND e.ref LIKE 'referral:%%') "
            "ORDER BY member_id"
        ).fetchall()
    assert [e[:4] for e in entries] == [
        (anna, "earn", 500, f"referral:{ben}"),
        (ben, "earn", 200, f"referral:{ben}"),
    ]
    assert all(e[5] for e in entries) and "referred" in entries[0][4]
    assert rewards == [(ben, anna, 500, 200)]
    assert lots == [(anna, 500, 500, None), (ben, 200, 200, None)]


def test_no_reward_without_a_rule_or_a_referrer(api: Api, api_rules: Api) -> None:
    anna, code = join(api, "Anna")  # the app without a referral rule
    join(api, "Ben", code=code, card="7001")
    r = client(api).post("/api/v1/purchases", json=sale("P1", "120.00", "7001"), headers=till(api))
    assert r.status_code == 200, r.text
    assert ledger_sum(api.db_url, anna) == 0
    carl, _ = join(api_rules, "Carl", card="7002")  # not referred
    r = client(api_rules).post(
        "/api/v1/purchases", json=sale("P2", "120.00", "7002"), headers=till(api_rules)
    )
    assert r.status_code == 200 and ledger_sum(api.db_url, carl) == 120
    assert one(api.db_url, "SELECT count(*) FROM referral_reward") == 0


# ------------------------------------------------------------------------ rewards taken back


@pytest.mark.parametrize(
    ("net", "minimum", "keeps"),
    [
        ("120.00", "50.00", True),
        ("50.00", "50.00", True),  # reaching the minimum is enough
        ("49.99", "50.00", False),  # a partial return below the minimum
        ("0.00", "50.00", False),  # returned in full
        ("0.00", "0.00", False),  # returned in full, even without a minimum
        ("0.01", "0.00", True),
    ],
)
def test_a_purchase_keeps_the_reward_while_its_net_reaches_the_minimum(
    net: str, minimum: str, keeps: bool
) -> None:
    assert keeps_reward(Decimal(net), Decimal(minimum)) is keeps


def test_a_reward_is_taken_back_from_its_own_lot_first_then_as_a_debt() -> None:
    at = datetime(2026, 11, 5, tzinfo=UTC)
    exp = at + timedelta(days=300)
    lots = [
        Lot("7", at - timedelta(days=9), exp, 500, 120),  # the reward's lot, partly spent
        Lot("9", at - timedelta(days=1), exp, 300, 300),  # a newer purchase lot
    ]
    back = referral_reversal_entries(
        lots, 500, at=at, actor="t", referred_member_id=4, to_referrer=True, reward_lot_ids={"7"}
    )
    assert [(e.kind, e.points, e.lot_id, e.ref) for e in back.entries] == [
        ("reverse", -120, "7", "referral:4"),
        ("reverse", -300, "9", "referral:4"),
        ("reverse", -80, None, "referral:4"),
    ]
    assert back.shortfall == 80 and "debt" in back.entries[-1].reason
    assert "reversed" in back.entries[0].reason
    assert lot_changes(back.entries).taken == {"7": 120, "9": 300}


def _buy(api: Api, pos_id: str, amount: str, card: str, *, day: int) -> int:
    at = datetime(2026, 11, day, 12, tzinfo=UTC).isoformat()
    r = client(api).post(
        "/api/v1/purchases", json=sale(pos_id, amount, card, at=at), headers=till(api)
    )
    assert r.status_code == 200, r.text
    purchase_id: int = r.json()["purchase_id"]
    return purchase_id


def _return(api: Api, purchase_id: int, return_id: str, amount: str) -> dict[str, object]:
    line = {"line_no": 1, "amount": amount}
    body = {"return_id": return_id, "register_id": "T1", "lines": [line]}
    r = client(api).post(f"/api/v1/purchases/{purchase_id}/returns", json=body, headers=till(api))
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    return answer


def _rewards(db_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT purchase_id, referrer_points, reversed_at IS NOT NULL, reversed_by "
            "FROM referral_reward ORDER BY id"
        ).fetchall()


def test_a_full_return_takes_the_reward_back_once_and_a_later_purchase_pays_it_again(
    api_rules: Api,
) -> None:
    api = api_rules
    anna, code = join(api, "Anna")
    ben, _ = join(api, "Ben", code=code, card="7001")
    p1 = _buy(api, "P1", "120.00", "7001", day=2)
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (500, 120 + 200)

    back = _return(api, p1, "R1", "120.00")
    assert back["points_reversed"] == 120
    assert back["points_balance"] == 0  # the purchase's points and the welcome bonus
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (0, 0)
    assert _rewards(api.db_url) == [(p1, 500, True, f"return:{p1}:R1")]
    assert _return(api, p1, "R1", "120.00")["duplicate"] is True  # a retried return
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (0, 0)
    with psycopg.connect(api.db_url) as conn:
        taken = conn.execute(
            "SELECT member_id, points, lot_id IS NOT NULL FROM points_ledger "
            "WHERE kind = 'reverse' AND ref = %s ORDER BY member_id",
            (f"referral:{ben}",),
        ).fetchall()
        lots = conn.execute(
            "SELECT l.member_id, l.remaining FROM referral_reward w JOIN points_lot l "
            "ON l.id IN (w.referrer_lot_id, w.member_lot_id) ORDER BY l.member_id"
        ).fetchall()
    assert taken == [(anna, -500, True), (ben, -200, True)]  # out of the reward's own lots
    assert lots == [(anna, 0), (ben, 0)]

    tree = client(api).get(f"/api/v1/members/{anna}/referrals", headers=crm(api)).json()
    assert tree["reward_points"] == 0 and tree["referred"][0]["reward_points"] is None

    _buy(api, "P2", "30.00", "7001", day=3)  # below the minimum: still nothing
    assert ledger_sum(api.db_url, anna) == 0
    p3 = _buy(api, "P3", "60.00", "7001", day=4)  # qualifies: the reward is paid again
    assert (ledger_sum(api.db_url, anna), ledger_sum(api.db_url, ben)) == (500, 30 + 60 + 200)
    assert _rewards(api.db_url) == [(p1, 500, True, f"return:{p1}:R1"), (p3, 500, False, None)]
    tree = client(api).get(f"/api/v1/members/{anna}/referrals", headers=crm(api)).json()
    assert tree["reward_points"] == 500 and tree["referred"][0]["reward_points"] == 500
    _buy(api, "P4", "90.00", "7001", day=5)  # and only once
    assert ledger_sum(api.db_url, anna) == 500


def test_a_partial_return_takes_the_reward_back_only_below_the_minimum(api_rules: Api) -> None:
    api = api_rules
    anna, code = join(api, "Anna")
    join(api, "Ben", code=code, card="7001")
    p1 = _buy(api, "P1", "120.00", "7001", day=2)
    _return(api, p1, "R1", "70.00")  # 50.00 kept: still reaches the minimum
    assert ledger_sum(api.db_url, anna) == 500
    assert _rewards(api.db_url) == [(p1, 500, False, None)]
    _return(api, p1, "R2", "0.01")  # 49.99 kept: below it
    assert ledger_sum(api.db_url, anna) == 0
    assert _rewards(api.db_url) == [(p1, 500, True, f"return:{p1}:R2")]
    _return(api, p1, "R3", "49.99")  # the rest: nothing more to take back
    assert ledger_sum(api.db_url, anna) == 0


def test_a_spent_reward_becomes_a_debt_and_another_qualifying_purchase_keeps_it(
    api_rules: Api,
) -> None:
    api = api_rules
    anna, code = join(api, "Anna")
    ben, _ = join(api, "Ben", code=code, card="7001")
    p1 = _buy(api, "P1", "120.00", "7001", day=2)
    p2 = _buy(api, "P2", "80.00", "7001", day=3)  # qualifies too, no second reward
    _return(api, p1, "R1", "120.00")  # the reward moves to P2: nothing taken back
    assert ledger_sum(api.db_url, anna) == 500
    assert _rewards(api.db_url) == [(p2, 500, False, None)]

    r = client(api).post(
        f"/api/v1/members/{anna}/redemptions",
        json={
            "points": 450,
            "reason": "voucher",
            "store_id": "demo",
            "register_id": "T1",
            "idempotency_key": "K1",
        },
        headers=till(api),
    )
    assert r.status_code == 200, r.text
    _return(api, p2, "R2", "80.00")  # now nothing qualifies: taken back, 450 already spent
    assert ledger_sum(api.db_url, anna) == -450
    assert (
        one(
            api.db_url,
            "SELECT points FROM points_ledger WHERE member_id = %s AND kind = 'reverse' "
            "AND lot_id IS NULL",
            anna,
        )
        == -450
    )
    assert ledger_sum(api.db_url, ben) == 0
    assert _rewards(api.db_url) == [(p2, 500, True, f"return:{p2}:R2")]


# ------------------------------------------------------------------------------------- tree


def test_the_referral_tree_below_a_member_is_depth_limited(api_rules: Api) -> None:
    api = api_rules
    care, c = crm(api), client(api)
    anna, a_code = join(api, "Anna")
    ben, b_code = join(api, "Ben", code=a_code, card="7001")
    cleo, _ = join(api, "Cleo", code=a_code)
    dan, d_code = join(api, "Dan", code=b_code)
    join(api, "Eve", code=d_code)
    r = c.post("/api/v1/purchases", json=sale("P1", "120.00", "7001"), headers=till(api))
    assert r.status_code == 200, r.text

    r = c.get(f"/api/v1/members/{anna}/referrals", params={"depth": 2}, headers=care)
    assert r.status_code == 200, r.text
    tree = r.json()
    assert (tree["referral_code"], tree["depth"], tree["members"], tree["buyers"]) == (
        a_code,
        2,
        3,
        1,
    )
    assert tree["reward_points"] == 500 and tree["truncated"] is False

    def shape(nodes: list[dict[str, object]]) -> list[object]:
        return [(n["name"], n["not_shown"], shape(n["referred"])) for n in nodes]  # type: ignore[arg-type]

    assert shape(tree["referred"]) == [("Ben", 0, [("Dan", 1, [])]), ("Cleo", 0, [])]
    ben_node = tree["referred"][0]
    assert ben_node["reward_points"] == 500 and ben_node["first_purchase_at"] is not None
    assert tree["referred"][1]["first_purchase_at"] is None

    deep = c.get(f"/api/v1/members/{anna}/referrals", params={"depth": 3}, headers=care).json()
    assert shape(deep["referred"]) == [("Ben", 0, [("Dan", 0, [("Eve", 0, [])])]), ("Cleo", 0, [])]
    below = c.get(f"/api/v1/members/{dan}/referrals", headers=care).json()
    assert below["referred_by"]["member_id"] == ben and below["members"] == 1
    assert (
        one(
            api.db_url,
            "SELECT count(*) FROM privacy_access_log WHERE endpoint = %s",
            "GET /members/{id}/referrals",
        )
        == 3
    )
    assert c.get(f"/api/v1/members/{cleo}/referrals", headers=care).json()["members"] == 0

    for params, status in (({"depth": 0}, 422), ({"depth": 11}, 422)):
        assert (
            c.get(f"/api/v1/members/{anna}/referrals", params=params, headers=care).status_code
            == status
        )
    assert c.get("/api/v1/members/999999/referrals", headers=care).status_code == 404
    planner = api.headers("planner")
    assert c.get(f"/api/v1/members/{anna}/referrals", headers=planner).status_code == 403


# ---------------------------------------------------------------------------- referrer class


def test_the_referrer_class_counts_recorded_referrals_who_bought(api: Api) -> None:
    anna, code = join(api, "Anna")
    join(api, "Ben", code=code, card="7001")
    join(api, "Cleo", code=code)  # referred, never bought
    with psycopg.connect(api.db_url) as conn:
        conn.execute("UPDATE member SET joined_at = %s", (JOINED,))
    c, planner = client(api), api.headers("planner")
    window = {"start": "2026-11-01", "end": "2026-11-03"}

    def referrers() -> dict[int, tuple[bool, int]]:
        r = c.get("/api/v1/stores/demo/analytics/members", params=window, headers=planner)
        assert r.status_code == 200, r.text
        with psycopg.connect(api.db_url) as conn:
            rows = conn.execute(
                "SELECT member_id, is_referrer, referred_buyers FROM member_status"
            ).fetchall()
        return {m: (flag, n) for m, flag, n in rows}

    assert referrers()[anna] == (False, 0)  # Ben has not bought yet
    r = c.post("/api/v1/purchases", json=sale("P1", "120.00", "7001"), headers=till(api))
    assert r.status_code == 200, r.text
    assert referrers()[anna] == (True, 1)
