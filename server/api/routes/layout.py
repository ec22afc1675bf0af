"""Store layouts: import (admin) and read (planner)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from server.api.deps import AdminDep, ConnDep, PlannerDep
from server.errors import InvalidRequest, NotFound
from server.queries import layout as q
from storeflow.api.stores import LayoutImported, StoreInfo
from storeflow.layout import StoreLayout
from storeflow.yamlconf import parse_yaml

router = APIRouter(prefix="/stores", tags=["layout"])


@router.get("")
async def stores(conn: ConnDep, _: PlannerDep) -> list[StoreInfo]:
    """Stores with a layout."""
    return [StoreInfo.model_validate(s) for s in await q.list_stores(conn)]


@router.get("/{store_id}/layout")
async def get_layout(store_id: str, conn: ConnDep, _: PlannerDep) -> StoreLayout:
    """The store's floors, zones (polygons, kinds, adjacency), counters and readers."""
    layout = await q.load_layout(conn, store_id)
    if layout is None:
        raise NotFound(f"store {store_id!r} not found")
    return layout


@router.put(
    "/{store_id}/layout",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": StoreLayout.model_json_schema()},
            },
            "required": True,
        }
    },
)
async def put_layout(store_id: str, request: Request, conn: ConnDep, _: AdminDep) -> LayoutImported:
    """Replace the store's layout from the layout YAML (or the same as JSON)."""
    layout = parse_layout(await request.body(), request.headers.get("content-type", ""))
    if layout.store.id != store_id:
        raise InvalidRequest(f"the layout is for store {layout.store.id!r}, not {store_id!r}")
    await q.import_layout(conn, layout)
    return LayoutImported(
        store=store_id,
        zones=len(layout.zones),
        counters=len(layout.counters),
        readers=len(layout.readers),
    )


def parse_layout(body: bytes, content_type: str) -> StoreLayout:
    """The layout YAML (a ``yaml`` content type) or JSON; what is wrong with it, as a 422."""
    try:
        if "yaml" in content_type:
            return parse_yaml(body.decode("utf-8"), StoreLayout, source="layout")
        return StoreLayout.model_validate_json(body)
    except ValueError as exc:  # ConfigError and pydantic's ValidationError are ValueErrors
        raise InvalidRequest(str(exc)) from exc
