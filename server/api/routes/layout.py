"""Store layouts: import (admin) and read (planner)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from server.api.deps import AdminDep, ConnDep, PlannerDep
from server.queries import layout as q
from storeflow.layout import StoreLayout
from storeflow.yamlconf import ConfigError, parse_yaml

router = APIRouter(prefix="/stores", tags=["layout"])


@router.get("")
async def stores(conn: ConnDep, _: PlannerDep) -> list[dict[str, str]]:
    """Stores with a layout."""
    return await q.list_stores(conn)


@router.get("/{store_id}/layout", response_model=StoreLayout)
async def get_layout(store_id: str, conn: ConnDep, _: PlannerDep) -> StoreLayout:
    """The store's floors, zones (polygons, kinds, adjacency), counters and readers."""
    layout = await q.load_layout(conn, store_id)
    if layout is None:
        raise HTTPException(404, f"store {store_id!r} not found")
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
async def put_layout(
    store_id: str, request: Request, conn: ConnDep, _: AdminDep
) -> dict[str, object]:
    """Replace the store's layout from the layout YAML (or the same as JSON)."""
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    try:
        if "yaml" in ctype:
            layout = parse_yaml(body.decode("utf-8"), StoreLayout, source="layout")
        else:
            layout = StoreLayout.model_validate_json(body)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    if layout.store.id != store_id:
        raise HTTPException(422, f"the layout is for store {layout.store.id!r}, not {store_id!r}")
    await q.import_layout(conn, layout)
    return {
        "store": store_id,
        "zones": len(layout.zones),
        "counters": len(layout.counters),
        "readers": len(layout.readers),
    }
