"""The API's shape from its OpenAPI document: one tag per resource, a typed answer everywhere,
and the URL paths the dashboard, the cashier page and the edge agents call."""

from __future__ import annotations

from typing import Any

import pytest

from server.app import create_app
from server.settings import Settings


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    # the document is built without starting the app: no database is needed
    doc: dict[str, Any] = create_app(Settings(), database_url="postgresql://unused").openapi()
    return doc


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path.removeprefix('/api/v1')}": op
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }


RESOURCES = [
    ("GET /health", "health"),
    ("POST /ingest", "ingest"),
    ("GET /stores", "layout"),
    ("PUT /stores/{store_id}/layout", "layout"),
    ("GET /stores/{store_id}/analytics/summary", "analytics"),
    ("GET /stores/{store_id}/analytics/counters", "analytics"),
    ("GET /stores/{store_id}/analytics/members", "member-analytics"),
    ("GET /stores/{store_id}/analytics/members/lapse", "member-analytics"),
    ("GET /stores/{store_id}/analytics/experiments/promotion", "experiments"),
    ("POST /credentials", "credentials"),
    ("POST /members", "members"),
    ("GET /members/lookup", "members"),
    ("POST /members/{member_id}/merge", "members"),
    ("POST /members/{member_id}/cards", "cards"),
    ("POST /cards/{card_number}/lost", "cards"),
    ("POST /cards/{card_number}/replace", "cards"),
    ("POST /purchases", "purchases"),
    ("POST /purchases/{purchase_id}/returns", "purchases"),
    ("POST /members/{member_id}/redemptions", "points"),
    ("POST /points/expire", "points"),
    ("POST /tiers/review", "tiers"),
    ("GET /registers/{register_id}/scans", "cashier"),
]


@pytest.mark.parametrize(("operation", "tag"), RESOURCES)
def test_each_operation_is_tagged_with_its_resource(
    openapi: dict[str, Any], operation: str, tag: str
) -> None:
    assert operations(openapi)[operation]["tags"] == [tag]


def test_every_operation_has_exactly_one_tag(openapi: dict[str, Any]) -> None:
    untidy = {k: op.get("tags") for k, op in operations(openapi).items() if len(op["tags"]) != 1}
    assert untidy == {}


def _typed(schema: dict[str, Any]) -> bool:
    """A named model, a list of typed items, or a scalar -- not a bare or open object."""
    if "$ref" in schema:
        return True
    kind = schema.get("type")
    if kind == "array":
        return _typed(schema.get("items", {}))
    return kind in {"string", "integer", "number", "boolean"}


def test_every_operation_answers_with_a_typed_schema(openapi: dict[str, Any]) -> None:
    untyped = []
    for name, op in operations(openapi).items():
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert ok, name
        for response in ok.values():
            content = response.get("content", {})
            if not content or not all(_typed(c.get("schema", {})) for c in content.values()):
                untyped.append(name)
    assert untyped == []


def test_the_paths_the_clients_call_are_all_there(openapi: dict[str, Any]) -> None:
    # the dashboard, server/static/cashier.html and the edge agents call these
    assert set(operations(openapi)) >= {op for op, _ in RESOURCES} | {
        "GET /stores/{store_id}/layout",
        "GET /stores/{store_id}/analytics/footfall",
        "GET /stores/{store_id}/analytics/zone-footfall",
        "GET /stores/{store_id}/analytics/occupancy",
        "GET /stores/{store_id}/analytics/heatmap",
        "GET /stores/{store_id}/analytics/dwell",
        "GET /stores/{store_id}/analytics/dwell-distribution",
        "GET /stores/{store_id}/analytics/zone-visits",
        "GET /stores/{store_id}/analytics/paths",
        "GET /stores/{store_id}/analytics/segments",
        "GET /stores/{store_id}/analytics/experiments/layout-change",
        "GET /stores/{store_id}/analytics/experiments/layout-changes",
    }
