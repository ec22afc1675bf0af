"""Triggered-contact helpers: members and sales written straight into the database in bulk (for
lists of hundreds), and rules and runs made through the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from tests.fix_db import Api
from tests.helpers.membership import client


def add_members(
    db_url: str,
    n: int,
    *,
    prefix: str,
    birth_date: date | None = None,
    marketing: Sequence[bool] | bool = True,
    tracking: Sequence[bool] | bool = True,
    phone: bool = True,
    joined_at: datetime | None = None,
) -> list[int]:
    """``n`` members ``{prefix}0000 ..``, each with recorded marketing and tracking choices."""

    def flags(v: Sequence[bool] | bool) -> list[bool]:
        return [v] * n if isinstance(v, bool) else list(v)

    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "INSERT INTO member (member_no, name, phone, birth_date, joined_at) "
            "SELECT %(p)s || lpad(i::text, 4, '0'), 'Member ' || i, "
            "CASE WHEN %(phone)s THEN '+86 139 ' || %(p)s || lpad(i::text, 4, '0') END, "
            "%(birth)s, coalesce(%(joined)s, now() - interval '3 years') "
            "FROM generate_series(0, %(n)s - 1) AS i ORDER BY i RETURNING id",
            {
                "p": prefix,
                "phone": phone,
                "birth": birth_date,
                "joined": joined_at,
                "n": n,
            },
        ).fetchall()
        ids = [int(r[0]) for r in rows]
        for purpose, granted in (
            ("marketing", flags(marketing)),
            ("in_store_tracking", flags(tracking)),
        ):
            c.execute(
                "INSERT INTO consent (member_id, purpose, granted, source) "
                "SELECT m, %s, g, 'test' FROM unnest(%s::bigint[], %s::boolean[]) AS x(m, g)",
                (purpose, ids, granted),
            )
    return ids


def add_sales(
    db_url: str, sales: Sequence[tuple[int, datetime, Decimal | float]], *, store_id: str = "demo"
) -> None:
    """Sales (member, time, total) with one line at counter C01, straight into the tables."""
    with psycopg.connect(db_url) as c:
        start = c.execute("SELECT coalesce(max(id), 0) FROM purchase").fetchone()
        assert start is not None
        c.execute(
            "INSERT INTO purchase (store_id, register_id, pos_id, at, member_id, total, "
            "recorded_by) SELECT %s, 'T9', 'bulk-' || (%s + n), at, m, t, 'test' "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[]) WITH ORDINALITY "
            "AS x(m, at, t, n)",
            (
                store_id,
                start[0],
                [s[0] for s in sales],
                [s[1] for s in sales],
                [Decimal(str(s[2])) for s in sales],
            ),
        )


def put_rule(api: Api, headers: dict[str, str], **rule: Any) -> int:
    body = {"message": "Hello from the store", **rule}
    r = client(api).put("/api/v1/campaigns/rules", json=body, headers=headers)
    assert r.status_code == 200, r.text
    rule_id: int = r.json()["rule_id"]
    return rule_id


def run(api: Api, headers: dict[str, str], rule_id: int, as_of: date, **extra: Any) -> Any:
    r = client(api).post(
        "/api/v1/campaigns/runs",
        json={"rule_id": rule_id, "as_of": as_of.isoformat(), **extra},
        headers=headers,
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def listed(api: Api, headers: dict[str, str], run_id: int, group: str = "all") -> Any:
    r = client(api).get(
        f"/api/v1/campaigns/runs/{run_id}/contacts", params={"group": group}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()
