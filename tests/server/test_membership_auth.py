"""Who may do what in the membership endpoints, every boundary proven against the real app.

admin: everything; cashier: look-ups (no contacts), sales, returns and redemptions at its own store
and register; planner and edge: nothing here (403); no credential: 401.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fix_db import Api
from tests.helpers.membership import CARD, client, enrol, redemption, sale, till


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    method: str
    path: str
    body: dict[str, object] | None
    cashier: bool  # a cashier at store demo, register T1 may make it


def calls(member_id: int, purchase_id: int) -> list[Call]:
    ret: dict[str, object] = {
        "return_id": "R1",
        "register_id": "T1",
        "lines": [{"line_no": 1, "amount": "1.00"}],
    }
    return [
        Call("enrol", "POST", "/api/v1/members", {"name": "New", "phone": "1"}, False),
        Call("lookup", "GET", f"/api/v1/members/lookup?card={CARD}", None, True),
        Call(
            "issue card",
            "POST",
            f"/api/v1/members/{member_id}/cards",
            {"card_number": "999"},
            False,
        ),
        Call("lost", "POST", "/api/v1/cards/999/lost", None, False),
        Call("replace", "POST", f"/api/v1/cards/{CARD}/replace", {"new_card_number": "998"}, False),
        Call("sale", "POST", "/api/v1/purchases", sale("AUTH-1", "10.00"), True),
        Call("return", "POST", f"/api/v1/purchases/{purchase_id}/returns", ret, True),
        Call(
            "redeem",
            "POST",
            f"/api/v1/members/{member_id}/redemptions",
            redemption(1, "a1"),
            True,
        ),
        Call("merge", "POST", f"/api/v1/members/{member_id}/merge", {"into_member_id": 1}, False),
        Call("expire", "POST", "/api/v1/points/expire?as_of=2026-01-01T00:00:00Z", None, False),
        Call("review", "POST", "/api/v1/tiers/review?as_of=2026-01-01T00:00:00Z", None, False),
    ]


def status(api: Api, call: Call, headers: dict[str, str]) -> int:
    r = client(api).request(call.method, call.path, json=call.body, headers=headers)
    return r.status_code


@pytest.fixture
def setup(api: Api) -> tuple[Api, list[Call]]:
    member_id = enrol(api, api.headers("admin"))
    p = client(api).post("/api/v1/purchases", json=sale("AUTH-0", "50.00"), headers=till(api))
    assert p.status_code == 200, p.text
    return api, calls(member_id, p.json()["purchase_id"])


def test_no_credential_is_401_and_a_revoked_one_too(setup: tuple[Api, list[Call]]) -> None:
    api, table = setup
    for call in table:
        assert status(api, call, {}) == 401, call.name
        assert status(api, call, {"Authorization": "Bearer nonsense"}) == 401, call.name


@pytest.mark.parametrize("role", ["planner", "edge"])
def test_planners_and_edge_devices_get_403_everywhere(
    setup: tuple[Api, list[Call]], role: str
) -> None:
    api, table = setup
    h = api.headers(role, store_id="demo")
    assert {call.name: status(api, call, h) for call in table} == {c.name: 403 for c in table}


def test_cashier_gets_the_till_calls_and_403_on_the_rest(setup: tuple[Api, list[Call]]) -> None:
    api, table = setup
    h = till(api)
    got = {call.name: status(api, call, h) for call in table}
    assert got == {c.name: (200 if c.cashier else 403) for c in table}


@pytest.mark.parametrize(
    ("store_id", "register_id"), [("demo", "T2"), ("other", "T1")], ids=["register", "store"]
)
def test_cashier_at_another_register_or_store_gets_403(
    setup: tuple[Api, list[Call]], store_id: str, register_id: str
) -> None:
    api, table = setup
    h = till(api, register_id=register_id, store_id=store_id)
    acting = [c for c in table if c.cashier and c.name != "lookup"]
    if store_id != "demo":  # see test_cashier_of_another_store_cannot_record_a_return
        acting = [c for c in acting if c.name != "return"]
    got = {c.name: status(api, c, h) for c in acting}
    assert got == {c.name: 403 for c in acting}
    # nothing was recorded by the refused calls
    r = client(api).get(f"/api/v1/members/lookup?card={CARD}", headers=till(api))
    assert r.json()["points_balance"] == 50


def test_cashier_of_another_store_cannot_record_a_return(setup: tuple[Api, list[Call]]) -> None:
    api, table = setup
    (ret,) = [c for c in table if c.name == "return"]
    assert status(api, ret, till(api, register_id="T1", store_id="other")) == 403


def test_admin_may_do_everything(setup: tuple[Api, list[Call]]) -> None:
    api, table = setup
    h = api.headers("admin")
    ordered = sorted((c for c in table if c.name != "merge"), key=lambda c: c.name == "replace")
    got = {call.name: status(api, call, h) for call in ordered}
    assert set(got.values()) <= {200, 201}, got


def test_errors_are_plain_and_specific(setup: tuple[Api, list[Call]]) -> None:
    api, _ = setup
    c, h = client(api), till(api)
    unknown = c.post("/api/v1/purchases", json=sale("E1", "1.00", card="404404"), headers=h)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "card not found")
    c.post(f"/api/v1/cards/{CARD}/lost", headers=api.headers("admin"))
    lost = c.post("/api/v1/purchases", json=sale("E2", "1.00"), headers=h)
    assert (lost.status_code, lost.json()["detail"]) == (409, "card reported lost")
    member_id = c.get("/api/v1/members/lookup?member_no=M100001", headers=h).json()["member_id"]
    short = c.post(f"/api/v1/members/{member_id}/redemptions", json=redemption(51, "x"), headers=h)
    assert short.status_code == 409
    assert short.json()["detail"] == "insufficient points: 50 available, 51 requested"


def test_new_tokens_never_start_with_a_dash() -> None:
    import argparse

    from server.auth import new_token

    tokens = [new_token() for _ in range(3000)]  # one in 64 would start with "-" by chance
    assert not [t for t in tokens if t.startswith("-")]
    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    assert all(parser.parse_args(["--token", t]).token == t for t in tokens[:200])
