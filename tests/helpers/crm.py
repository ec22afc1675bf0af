"""Customer care helpers: a crm credential, complaints made and resolved through the API."""

from __future__ import annotations

from typing import Any

from tests.fix_db import Api
from tests.helpers.membership import client


def crm(api: Api) -> dict[str, str]:
    return api.headers("crm")


def complaint(api: Api, headers: dict[str, str], **fields: object) -> dict[str, Any]:
    body: dict[str, object] = {
        "store_id": "demo",
        "channel": "in_store",
        "category": "service",
        "counter": "C01",
        "severity": "medium",
        "text": "Waited twenty minutes at the fish counter",
        **fields,
    }
    r = client(api).post("/api/v1/complaints", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def resolve(
    api: Api, headers: dict[str, str], complaint_id: int, *, at: str, on_the_spot: bool = False
) -> dict[str, Any]:
    r = client(api).post(
        f"/api/v1/complaints/{complaint_id}/resolve",
        json={"resolution": "Refunded and apologised", "on_the_spot": on_the_spot, "at": at},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out
