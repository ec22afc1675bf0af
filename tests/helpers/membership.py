"""Membership API helpers: enrol a member with a card, build sales and redemptions, read the
database back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.fix_db import Api

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC).isoformat()
CARD = "6001000001"
EPC = "3500079FF000000400000001"


def client(api: Api) -> TestClient:
    c: TestClient = api.client  # type: ignore[assignment]
    return c


def till(api: Api, register_id: str = "T1", store_id: str = "demo") -> dict[str, str]:
    return api.headers("cashier", store_id=store_id, register_id=register_id)


def enrol(
    api: Api,
    admin: dict[str, str],
    *,
    card: str | None = CARD,
    epc: str | None = EPC,
    **fields: object,
) -> int:
    body: dict[str, object] = {
        "name": "Li Wei",
        "phone": "+86 138 0000 0001",
        "email": "li@example.com",
        "consents": {"marketing": True, "in_store_tracking": True},
        **fields,
    }
    r = client(api).post("/api/v1/members", json=body, headers=admin)
    assert r.status_code == 201, r.text
    member_id: int = r.json()["member_id"]
    if card is not None:
        r = client(api).post(
            f"/api/v1/members/{member_id}/cards",
            json={"card_number": card, "epc": epc},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    return member_id


def sale(
    pos_id: str, amount: str, card: str | None = CARD, *, at: str = AT, register_id: str = "T1"
) -> dict[str, object]:
    return {
        "store_id": "demo",
        "register_id": register_id,
        "pos_id": pos_id,
        "at": at,
        "card_number": card,
        "lines": [
            {"sku": "SKU1", "counter": "C01", "category": "food", "quantity": 1, "amount": amount}
        ],
    }


def redemption(points: int, key: str, register_id: str = "T1") -> dict[str, object]:
    return {
        "points": points,
        "reason": "voucher",
        "store_id": "demo",
        "register_id": register_id,
        "idempotency_key": key,
    }


def one(db_url: str, query: str, *params: object) -> Any:
    with psycopg.connect(db_url) as c:
        row = c.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def ledger_sum(db_url: str, member_id: int) -> int:
    return int(
        one(
            db_url,
            "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE member_id IN "
            "(SELECT id FROM member WHERE id = %s OR merged_into = %s)",
            member_id,
            member_id,
        )
    )


def add_trip(db_url: str, epc: str, start: datetime, end: datetime) -> str:
    trip_id = str(uuid.uuid4())
    with psycopg.connect(db_url) as c:
        c.execute(
            "INSERT INTO trip (trip_id, store_id, epc, tag_kind, start_at, end_at, zones, "
            "visit_count) VALUES (%s, 'demo', %s, 'member_card', %s, %s, '{ENT,CHK}', 2)",
            (trip_id, epc, start, end),
        )
    return trip_id


def linked_trip(db_url: str, purchase_id: int) -> str | None:
    value = one(db_url, "SELECT trip_id::text FROM purchase WHERE id = %s", purchase_id)
    return None if value is None else str(value)
