"""``/stores/{store_id}/analytics/experiments``: did a promotion or a layout change move the
counters' traffic, dwell, conversion and sales?

The analysis code says "the data cannot support this comparison" (too few days, no control
counter, unknown counters) with ``ValueError``; on these routes that is an answer to the caller,
so the router's route class turns it into :class:`~server.errors.InvalidRequest` (422)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute

from server.api.deps import ConnDep, SettingsDep
from server.api.routes.analytics import SelectionDep
from server.api.tables import FormatQ, TableQ, respond
from server.errors import DomainError, InvalidRequest
from server.queries import experiments as qe
from storeflow.api.experiments import ExperimentOut, LayoutChangeDate


class AnalysisRoute(APIRoute):
    """A route whose ``ValueError`` (not a domain error) is the caller's request refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError:
                raise
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from exc

        return handle


router = APIRouter(
    prefix="/stores/{store_id}/analytics/experiments",
    tags=["experiments"],
    route_class=AnalysisRoute,
)

CountersQ = Annotated[list[str] | None, Query(description="counter codes (repeatable)")]


@router.get("/promotion", response_model=ExperimentOut)
async def promotion(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    first_day: Annotated[date, Query(description="first day of the promotion")],
    last_day: Annotated[date, Query(description="last day of the promotion")],
    counter: CountersQ = None,
    category: Annotated[str | None, Query(description="every counter of a category")] = None,
    control: Annotated[list[str] | None, Query(description="default: the other counters")] = None,
    before_days: Annotated[int, Query(ge=7, le=180)] = 28,
    after_days: Annotated[int, Query(ge=0, le=90)] = 14,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Did a promotion move traffic, dwell, conversion and sales of its counters, against the
    other counters (difference-in-differences, 95 % bootstrap interval)?"""
    treated = list(counter or [])
    if category:
        cur = await conn.execute(
            "SELECT code FROM counter WHERE store_id = %s AND category = %s ORDER BY code",
            (sel.store_id, category),
        )
        treated += [r[0] for r in await cur.fetchall()]
        if not treated:
            raise InvalidRequest(f"no counter has category {category!r}")
    if not treated:
        raise InvalidRequest("name a counter or a category")
    if last_day < first_day:
        raise InvalidRequest("the promotion ends before it starts")
    got = await qe.promotion(
        conn,
        store_id=sel.store_id,
        tz=sel.tz,
        treated=sorted(set(treated)),
        start=first_day,
        end=last_day,
        before_days=before_days,
        after_days=after_days,
        staleness_s=settings.rollup_staleness_s,
        control=control,
    )
    return respond(got, format, name="promotion", table=table)


@router.get("/layout-change", response_model=ExperimentOut)
async def layout_change(
    conn: ConnDep,
    settings: SettingsDep,
    sel: SelectionDep,
    day: Annotated[date, Query(description="the first day with the new layout")],
    counter: CountersQ = None,
    control: Annotated[list[str] | None, Query(description="default: the other counters")] = None,
    days: Annotated[int, Query(ge=7, le=180, description="days compared on each side")] = 28,
    format: FormatQ = "json",
    table: TableQ = None,
) -> Any:
    """Before vs after a layout change: for moved counters against the others, or for the
    whole store on the same weekdays."""
    got = await qe.layout_change(
        conn,
        store_id=sel.store_id,
        tz=sel.tz,
        day=day,
        days=days,
        counters=counter,
        control=control,
        staleness_s=settings.rollup_staleness_s,
    )
    return respond(got, format, name="layout-change", table=table)


@router.get("/layout-changes", response_model=list[LayoutChangeDate])
async def layout_changes(conn: ConnDep, sel: SelectionDep, format: FormatQ = "json") -> Any:
    """Days on which the antenna-to-zone mapping changed (the layout's validity periods)."""
    return respond(await qe.layout_changes(conn, sel.store_id, sel.tz), format, name="changes")
