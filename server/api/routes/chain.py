"""The chain view (planner): every store side by side for a period, ranked by a chosen figure,
and one concession (a counter brand) compared across the stores that host it. Each row links to
the store's own analytics endpoints for the same period (the drill-down).

Only a chain-wide credential reads it: a planner (or admin) credential without a store. A
planner credential scoped to one store gets 403 here, as it does on other stores' analytics.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from server.api.deps import ConnDep, PlannerDep, SettingsDep
from server.errors import NotFound
from server.queries import chain as q
from server.queries.credentials import Principal
from storeflow.api.chain import (
    ChainStores,
    Concession,
    ConcessionComparison,
    ConcessionMetric,
    Order,
    StoreMetric,
)

router = APIRouter(prefix="/chain", tags=["chain"])


async def chain_principal(principal: PlannerDep) -> Principal:
    """A planner or admin credential that is not scoped to one store."""
    if principal.store_id is not None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this credential is for store {principal.store_id!r}; the chain view needs a "
            "planner credential without a store",
        )
    return principal


ChainDep = Annotated[Principal, Depends(chain_principal)]


async def chain_period(
    conn: ConnDep,
    settings: SettingsDep,
    _: ChainDep,
    start: Annotated[date | None, Query(description="first local day (default: 7 days)")] = None,
    end: Annotated[
        date | None, Query(description="the day after the last (default: the latest data)")
    ] = None,
) -> q.Period:
    return await q.period(conn, start, end, staleness_s=settings.rollup_staleness_s)


PeriodDep = Annotated[q.Period, Depends(chain_period)]


@router.get("/stores", response_model=ChainStores)
async def stores(
    conn: ConnDep,
    p: PeriodDep,
    rank_by: StoreMetric = "sales_per_visitor",
    order: Order = "desc",
) -> ChainStores:
    """Every store's entries, conversion, sales per visitor, ATV, time in store, zone dwell,
    member share and data health (days with data, last heartbeat), ranked by ``rank_by``."""
    return await q.stores(conn, p, rank_by=rank_by, order=order)


@router.get("/concessions", response_model=list[Concession])
async def concessions(conn: ConnDep, _: ChainDep) -> list[Concession]:
    """The concessions (counter brands) of the chain and how many stores host each."""
    return await q.concessions(conn)


@router.get("/concessions/compare", response_model=ConcessionComparison)
async def compare(
    conn: ConnDep,
    p: PeriodDep,
    brand: Annotated[str, Query(min_length=1, description="the counter's brand")],
    rank_by: ConcessionMetric = "sales_per_visitor",
    order: Order = "desc",
) -> ConcessionComparison:
    """One brand's counter in every store that hosts it: visitors, exposure, conversion, sales
    per visitor, ATV and sales per m², ranked by ``rank_by``."""
    got = await q.concession(conn, p, brand, rank_by=rank_by, order=order)
    if got is None:
        raise NotFound(f"no store hosts a counter of brand {brand!r}")
    return got
