"""The till's sales against the real API: limits, counters, the tier discount, finding a sale
for a return, and what the till page is told about its register."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from server.loyalty.discount import tier_discount
from server.loyalty.rules import DEFAULT_TIERS
from server.sale_limits import SaleLimits
from tests.fix_db import Api
from tests.helpers.ingest import load_layout
from tests.helpers.membership import client, enrol, one, sale, till

D = Decimal


def _post(api: Api, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    r = client(api).post("/api/v1/purchases", json=body, headers=till(api))
    return r.status_code, r.json()


def test_an_absurd_amount_is_refused_and_earns_nothing(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    code, body = _post(api, sale("P-BIG", "99999999.00"))
    assert code == 422
    assert body["detail"] == (
        "a sale of 99,999,999.00 is over the maximum of 1,000,000.00: check the amount"
    )
    assert one(api.db_url, "SELECT count(*) FROM purchase") == 0
    assert one(api.db_url, "SELECT tier FROM member WHERE id = %s", member_id) == "Member"
    assert one(api.db_url, "SELECT count(*) FROM points_lot") == 0


def test_a_sale_over_the_limit_needs_a_supervisor(api: Api) -> None:
    member_id = enrol(api, api.headers("admin"))
    code, body = _post(api, sale("P-60K", "60000.00"))
    assert code == 409
    assert "over the per-sale limit of 50,000.00: a supervisor must confirm it" in str(
        body["detail"]
    )
    assert one(api.db_url, "SELECT count(*) FROM purchase") == 0
    blank = {**sale("P-60K", "60000.00"), "supervisor": "  "}
    assert _post(api, blank)[0] == 409
    code, body = _post(api, {**sale("P-60K", "60000.00"), "supervisor": "Chen Jie"})
    assert code == 200, body
    assert one(api.db_url, "SELECT supervisor FROM purchase WHERE pos_id = 'P-60K'") == "Chen Jie"
    assert one(api.db_url, "SELECT tier FROM member WHERE id = %s", member_id) == "VIP"
    # within the limit no confirmation is needed
    assert _post(api, sale("P-SMALL", "49999.99"))[0] == 200


def test_an_unknown_counter_is_refused_naming_the_code(api: Api) -> None:
    enrol(api, api.headers("admin"))
    load_layout(api)
    body = sale("P-ZZ9", "10.00")
    body["lines"] = [
        {"sku": "A", "counter": "C01", "quantity": 1, "amount": "5.00"},
        {"sku": "B", "counter": "ZZ9", "quantity": 1, "amount": "5.00"},
    ]
    code, answer = _post(api, body)
    assert code == 422
    assert str(answer["detail"]).startswith("line 2: unknown counter 'ZZ9' at store 'demo'")
    assert one(api.db_url, "SELECT count(*) FROM purchase") == 0
    code, answer = _post(api, sale("P-C01", "10.00"))
    assert code == 200, answer


@pytest.mark.parametrize(
    ("tier", "rate", "discount", "due"),
    [
        ("Member", "0.00", "0.00", "120.55"),
        ("Silver", "0.02", "2.41", "118.14"),
        ("VIP", "0.08", "9.64", "110.91"),
    ],
)
def test_the_tier_discount_is_computed_returned_and_recorded(
    api: Api, tier: str, rate: str, discount: str, due: str
) -> None:
    member_id = enrol(api, api.headers("admin"))
    with psycopg.connect(api.db_url) as c:
        c.execute("UPDATE member SET tier = %s WHERE id = %s", (tier, member_id))
    q = client(api).post(
        "/api/v1/purchases/quote",
        json={k: v for k, v in sale("-", "120.55").items() if k not in ("pos_id", "at")},
        headers=till(api),
    )
    assert q.status_code == 200, q.text
    quote = q.json()
    assert (quote["member_name"], quote["tier"]) == ("Li Wei", tier)
    assert (quote["total"], quote["discount"], quote["amount_due"]) == ("120.55", discount, due)
    assert quote["needs_confirmation"] is False
    code, body = _post(api, sale("P-D", "120.55"))
    assert code == 200
    assert D(str(body["discount_rate"])) == D(rate)
    assert (body["discount"], body["amount_due"]) == (discount, due)
    row = (D(discount), D(due))
    got = (
        one(api.db_url, "SELECT discount FROM purchase WHERE pos_id = 'P-D'"),
        one(api.db_url, "SELECT amount_due FROM purchase WHERE pos_id = 'P-D'"),
    )
    assert got == row
    retry = _post(api, sale("P-D", "120.55"))[1]
    assert (retry["duplicate"], retry["discount"], retry["amount_due"]) == (True, discount, due)


def test_a_sale_without_a_member_has_no_discount(api: Api) -> None:
    code, body = _post(api, sale("P-ANON", "80.00", card=None))
    assert code == 200
    assert (body["member_id"], body["discount"], body["amount_due"]) == (None, "0.00", "80.00")


def test_a_sale_is_found_by_its_pos_id_for_a_return(api: Api) -> None:
    enrol(api, api.headers("admin"))
    body = sale("T1-RCPT-7", "30.00")
    body["lines"] = [
        {"sku": "A", "quantity": 1, "amount": "10.00"},
        {"sku": "B", "quantity": 1, "amount": "20.00"},
    ]
    purchase_id = _post(api, body)[1]["purchase_id"]
    r = client(api).post(
        f"/api/v1/purchases/{purchase_id}/returns",
        json={"return_id": "R1", "register_id": "T1", "lines": [{"line_no": 2, "amount": "5.00"}]},
        headers=till(api),
    )
    assert r.status_code == 200, r.text
    found = client(api).get(
        "/api/v1/purchases", params={"store_id": "demo", "pos_id": "T1-RCPT-7"}, headers=till(api)
    )
    assert found.status_code == 200, found.text
    got = found.json()
    assert got["purchase_id"] == purchase_id
    assert [(ln["line_no"], D(ln["amount"]), D(ln["returned"])) for ln in got["lines"]] == [
        (1, D("10.00"), D(0)),
        (2, D("20.00"), D("5.00")),
    ]
    missing = client(api).get(
        "/api/v1/purchases", params={"store_id": "demo", "pos_id": "nope"}, headers=till(api)
    )
    assert missing.status_code == 404
    other = client(api).get(
        "/api/v1/purchases",
        params={"store_id": "north", "pos_id": "T1-RCPT-7"},
        headers=till(api),
    )
    assert other.status_code == 403


def test_the_till_is_told_its_counters_and_limits(api: Api) -> None:
    load_layout(api)
    r = client(api).get("/api/v1/registers/T1/till", params={"store_id": "demo"}, headers=till(api))
    assert r.status_code == 200, r.text
    cfg = r.json()
    assert [c["code"] for c in cfg["counters"]][:3] == ["C01", "C02", "C03"]
    assert cfg["counters"][0]["name"] == "Lumiere Beauty"
    assert (D(cfg["confirm_above"]), D(cfg["supervisor_above"]), D(cfg["hard_max"])) == (
        D(5000),
        D(50000),
        D(1000000),
    )


@pytest.mark.parametrize(
    ("total", "tier", "discount", "to_pay"),
    [
        ("100.00", 1, "2.00", "98.00"),
        ("0.25", 1, "0.01", "0.24"),
        ("0.24", 1, "0.00", "0.24"),
        ("12.50", 3, "1.00", "11.50"),
        ("12.50", None, "0.00", "12.50"),
    ],
)
def test_tier_discount_rounds_half_up_to_the_cent(
    total: str, tier: int | None, discount: str, to_pay: str
) -> None:
    d = tier_discount(D(total), DEFAULT_TIERS[tier] if tier is not None else None)
    assert (d.amount, d.to_pay) == (D(discount), D(to_pay))
    assert d.amount + d.to_pay == D(total)


def test_sale_limits_must_rise() -> None:
    with pytest.raises(ValueError, match="must rise"):
        SaleLimits(confirm_above=D(10), supervisor_above=D(5), hard_max=D(100))
