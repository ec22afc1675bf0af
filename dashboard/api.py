"""A small typed client for the Storeflow server's HTTP API, as the planner dashboard uses it.

The dashboard never reads the database: everything it shows comes through these calls. Errors
are turned into :class:`ApiError` with a message a store planner can act on (server down, wrong
token, unknown store), so a page can show it as a plain error box instead of a stack trace.

Configuration comes from the environment (:meth:`ApiConfig.from_env`):
``STOREFLOW_API_URL`` (default ``http://127.0.0.1:8000``) and ``STOREFLOW_API_TOKEN`` (a planner
token). Results are pydantic models or pandas DataFrames with fixed columns, also when empty.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import TracebackType
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError

from storeflow.api.analytics import (
    CounterFigures,
    FootfallBucket,
    Summary,
    ZoneDwell,
    ZoneVisits,
)
from storeflow.api.calendar import EventIn, StoreEvent
from storeflow.api.campaigns import RuleUplift
from storeflow.api.chain import ChainStores, Concession, ConcessionComparison
from storeflow.api.devices import CompletenessHour, StoreAlerts, StoreDevices
from storeflow.api.health import Health
from storeflow.api.paths import Paths
from storeflow.api.stores import StoreInfo
from storeflow.api.tags import UnknownTags
from storeflow.layout import StoreLayout

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
# A first read of days whose facts are not computed yet (or a member-figure run) computes them
# before answering: on a busy server that can take tens of seconds, which beats an error.
DEFAULT_TIMEOUT_S = 60.0

Bucket = Literal["hour", "day", "week"]

FOOTFALL_COLUMNS = ("bucket_start", "entries")
DWELL_COLUMNS = (
    "zone",
    "visits",
    "median_s",
    "p90_s",
    "mean_s",
    "typical_median_s",
    "holding_power",
)
ZONE_VISIT_COLUMNS = ("zone", "visits", "visitors")
COUNTER_COLUMNS = (
    "rank",
    "code",
    "name",
    "category",
    "visitors",
    "exposure_rate",
    "conversion",
    "sales",
    "sales_per_visitor",
    "sales_per_m2",
    "median_dwell_s",
    "area_m2",
    "quadrant",
    "recommendation",
    "buyers",
    "basket_value",
    "verdict",
    "transactions",
    "units",
    "average_sale",
    "units_per_sale",
    "rent_per_m2",
    "commission_rate",
    "take_per_m2",
    "take_target_per_m2",
)


class ApiError(Exception):
    """A failed API call; ``str(error)`` is a message meant for the person using the dashboard."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ApiConfig:
    base_url: str = DEFAULT_API_URL
    token: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if environ is None else environ
        url = env.get("STOREFLOW_API_URL", "").strip() or DEFAULT_API_URL
        token = env.get("STOREFLOW_API_TOKEN", "").strip()
        return cls(base_url=url.rstrip("/"), token=token)


# Responses are parsed into the server's own models (storeflow.api), not copies of them.

RowT = TypeVar("RowT", bound=BaseModel)


# --- pure conversions (tested without a server) ----------------------------------------------


def rows_frame(rows: list[RowT], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows -> DataFrame with exactly ``columns`` (an empty list gives an empty, typed frame)."""
    frame = pd.DataFrame([r.model_dump() for r in rows], columns=list(columns))
    return frame


def footfall_frame(rows: list[FootfallBucket]) -> pd.DataFrame:
    frame = rows_frame(rows, FOOTFALL_COLUMNS)
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    frame["entries"] = frame["entries"].astype("int64")
    return frame.sort_values("bucket_start", ignore_index=True)


def dwell_frame(rows: list[ZoneDwell]) -> pd.DataFrame:
    frame = rows_frame(rows, DWELL_COLUMNS)
    frame["zone"] = frame["zone"].astype("string")
    frame["visits"] = frame["visits"].astype("int64")
    for col in ("median_s", "p90_s", "mean_s", "typical_median_s", "holding_power"):
        frame[col] = frame[col].astype("float64")
    return frame


def zone_visits_frame(rows: list[ZoneVisits]) -> pd.DataFrame:
    frame = rows_frame(rows, ZONE_VISIT_COLUMNS)
    frame["zone"] = frame["zone"].astype("string")
    frame["visits"] = frame["visits"].astype("int64")
    frame["visitors"] = frame["visitors"].astype("int64")
    return frame


def error_message(status: int, detail: str, *, url: str) -> str:
    """What to tell the planner about an HTTP error status."""
    if status == 401:
        return (
            "The server rejected the API token (HTTP 401). Set STOREFLOW_API_TOKEN (or pass "
            "--token) to a valid planner token, e.g. from "
            "`storeflow db create-token --role planner`."
        )
    if status == 403:
        return (
            "The API token is not allowed to read this (HTTP 403): the dashboard needs a "
            f"planner token. Server said: {detail}"
        )
    if status == 404:
        return f"Not found on the server (HTTP 404): {url}. Server said: {detail}"
    if status == 422:
        return f"This question cannot be answered: {detail}"
    if status >= 500:
        return f"The server had a problem (HTTP {status}): {detail}"
    return f"Unexpected answer from the server (HTTP {status}): {detail}"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:200]


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range [start, end) sent as ``start``/``end`` query parameters, with the
    optional segment (member tiers, ``non-member``) and floor filters."""

    start: datetime
    end: datetime
    segments: tuple[str, ...] = ()
    floor: str | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.segments:
            out["segment"] = list(self.segments)
        if self.floor:
            out["floor"] = self.floor
        return out


def store_zone(timezone: str) -> ZoneInfo:
    """The store's time zone, UTC when the name is unknown."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown store time zone %r, using UTC", timezone)
        return ZoneInfo("UTC")


def period_for_dates(first: date, last: date, timezone: str) -> Period:
    """Whole local days ``first`` .. ``last`` (inclusive) in the store's time zone."""
    if last < first:
        first, last = last, first
    tz = store_zone(timezone)
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return Period(start=start, end=end)


def default_dates(
    last_at: datetime | None, timezone: str, *, days: int = 7, today: date | None = None
) -> tuple[date, date]:
    """The last ``days`` whole local days up to the day of the latest data.

    Today is not over, so it is never part of the default: a partial day against whole days
    would read as a drop. ``today`` is the store's local day now (for tests)."""
    tz = store_zone(timezone)
    now = today or datetime.now(tz).date()
    last = last_at.astimezone(tz).date() if last_at is not None else now
    last = min(last, now - timedelta(days=1))
    return last - timedelta(days=days - 1), last


# --- the client ------------------------------------------------------------------------------


class StoreflowClient:
    """Blocking client; one per dashboard process is enough (httpx pools the connections)."""

    def __init__(self, config: ApiConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._http = httpx.Client(
            base_url=config.base_url + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 5.0)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StoreflowClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def analytics(
        self, store_id: str, name: str, period: Period | None = None, **extra: Any
    ) -> Any:
        """The JSON answer of ``/stores/{store_id}/analytics/{name}`` for ``period``."""
        params = {**(period.params() if period else {}), **extra}
        return self._get(f"/stores/{store_id}/analytics/{name}", params)

    def chain_stores(
        self, first: date, last: date, *, rank_by: str = "sales_per_visitor", order: str = "desc"
    ) -> ChainStores:
        """Every store's figures for the local days ``first`` .. ``last``, ranked."""
        params = {**_days(first, last), "rank_by": rank_by, "order": order}
        result: ChainStores = self._typed(_CHAIN_STORES, "/chain/stores", params)
        return result

    def concessions(self) -> list[Concession]:
        result: list[Concession] = self._typed(_CONCESSIONS, "/chain/concessions", None)
        return result

    def concession(
        self, brand: str, first: date, last: date, *, rank_by: str = "sales_per_visitor"
    ) -> ConcessionComparison:
        """One brand's counter in every store that hosts it."""
        params = {**_days(first, last), "brand": brand, "rank_by": rank_by}
        result: ConcessionComparison = self._typed(
            _CONCESSION, "/chain/concessions/compare", params
        )
        return result

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        url = self.config.base_url + API_PREFIX + path
        if not self.config.token and path != "/health":
            raise ApiError(
                "No API token configured. Set STOREFLOW_API_TOKEN (or pass --token) to a planner "
                "token, e.g. from `storeflow db create-token --role planner`."
            )
        try:
            response = self._http.request(method, path, params=dict(params or {}), json=body)
        except httpx.TimeoutException as exc:
            logger.warning("%s %s timed out: %s", method, url, exc)
            raise ApiError(
                f"The Storeflow server at {self.config.base_url} did not answer within "
                f"{self.config.timeout_s:g} s."
            ) from exc
        except httpx.TransportError as exc:
            logger.warning("%s %s failed: %s", method, url, exc)
            raise ApiError(
                f"Cannot reach the Storeflow server at {self.config.base_url} ({exc}). Is it "
                "running? Set STOREFLOW_API_URL (or --api-url) to its address."
            ) from exc
        if response.status_code >= 400:
            detail = _detail(response)
            logger.warning("%s %s -> HTTP %s: %s", method, url, response.status_code, detail)
            raise ApiError(
                error_message(response.status_code, detail, url=url), status=response.status_code
            )
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(f"The server at {url} did not answer with JSON.") from exc

    def _typed(self, adapter: TypeAdapter[Any], path: str, params: Mapping[str, Any] | None) -> Any:
        body = self._get(path, params)
        try:
            return adapter.validate_python(body)
        except ValidationError as exc:
            logger.warning("unexpected response from %s: %s", path, exc)
            raise ApiError(
                f"The server's answer to {path} has an unexpected shape "
                f"({exc.error_count()} problems); is the server a compatible version?"
            ) from exc

    def health(self) -> Health:
        result: Health = self._typed(_HEALTH, "/health", None)
        return result

    # Store health (devices, alerts, completeness): never cached, the state changes by the beat.
    def devices(self, store_id: str) -> StoreDevices:
        return StoreDevices.model_validate(self._get(f"/stores/{store_id}/devices"))

    def alerts(self, store_id: str) -> StoreAlerts:
        return StoreAlerts.model_validate(self._get(f"/stores/{store_id}/alerts"))

    def unknown_tags(self, store_id: str, *, since: datetime | None = None) -> UnknownTags:
        params = {"start": since.isoformat()} if since is not None else None
        return UnknownTags.model_validate(self._get(f"/stores/{store_id}/unknown-tags", params))

    def completeness(self, store_id: str) -> list[CompletenessHour]:
        body = self._get(f"/stores/{store_id}/completeness")
        return [CompletenessHour.model_validate(h) for h in body]

    def campaign_uplift(self, store_id: str) -> list[RuleUplift]:
        """Per trigger rule of the store (and of the chain): contacted against held out."""
        body = self._get("/campaigns/uplift", {"store_id": store_id})
        return [RuleUplift.model_validate(r) for r in body]

    def calendar(self, store_id: str, period: Period | None = None) -> list[StoreEvent]:
        """The store's promotions, layout changes and other events overlapping ``period``."""
        params = period.params() if period else None
        result: list[StoreEvent] = self._typed(_CALENDAR, f"/stores/{store_id}/calendar", params)
        return result

    def add_event(self, store_id: str, event: EventIn) -> StoreEvent:
        """Record an event in the store's calendar."""
        body = self._send(
            "POST", f"/stores/{store_id}/calendar", body=event.model_dump(mode="json")
        )
        return StoreEvent.model_validate(body)

    def stores(self) -> list[StoreInfo]:
        result: list[StoreInfo] = self._typed(_STORES, "/stores", None)
        return result

    def layout(self, store_id: str) -> StoreLayout:
        result: StoreLayout = self._typed(_LAYOUT, f"/stores/{store_id}/layout", None)
        return result

    def summary(
        self, store_id: str, period: Period | None = None, *, compare: str = "previous"
    ) -> Summary:
        params = {**period.params(), "compare": compare} if period else None
        result: Summary = self._typed(_SUMMARY, f"/stores/{store_id}/analytics/summary", params)
        return result

    def footfall(
        self, store_id: str, period: Period | None = None, *, bucket: Bucket = "day"
    ) -> pd.DataFrame:
        params = {**(period.params() if period else {}), "bucket": bucket}
        rows = self._typed(_FOOTFALL, f"/stores/{store_id}/analytics/footfall", params)
        return footfall_frame(rows)

    def dwell(self, store_id: str, period: Period | None = None) -> pd.DataFrame:
        params = period.params() if period else None
        rows = self._typed(_DWELL, f"/stores/{store_id}/analytics/dwell", params)
        return dwell_frame(rows)

    def paths(self, store_id: str, period: Period | None = None) -> Paths:
        params = period.params() if period else None
        result: Paths = self._typed(_PATHS, f"/stores/{store_id}/analytics/paths", params)
        return result

    def counter_figures(self, store_id: str, period: Period | None = None) -> list[CounterFigures]:
        params = period.params() if period else None
        rows: list[CounterFigures] = self._typed(
            _COUNTERS, f"/stores/{store_id}/analytics/counters", params
        )
        return rows

    def counters(self, store_id: str, period: Period | None = None) -> pd.DataFrame:
        return rows_frame(self.counter_figures(store_id, period), COUNTER_COLUMNS)

    def zone_visits(self, store_id: str, period: Period | None = None) -> pd.DataFrame:
        params = period.params() if period else None
        rows = self._typed(_ZONE_VISITS, f"/stores/{store_id}/analytics/zone-visits", params)
        return zone_visits_frame(rows)


_HEALTH: TypeAdapter[Health] = TypeAdapter(Health)
_STORES: TypeAdapter[list[StoreInfo]] = TypeAdapter(list[StoreInfo])
_LAYOUT: TypeAdapter[StoreLayout] = TypeAdapter(StoreLayout)
_SUMMARY: TypeAdapter[Summary] = TypeAdapter(Summary)
_FOOTFALL: TypeAdapter[list[FootfallBucket]] = TypeAdapter(list[FootfallBucket])
_DWELL: TypeAdapter[list[ZoneDwell]] = TypeAdapter(list[ZoneDwell])
_ZONE_VISITS: TypeAdapter[list[ZoneVisits]] = TypeAdapter(list[ZoneVisits])
_PATHS: TypeAdapter[Paths] = TypeAdapter(Paths)
_COUNTERS: TypeAdapter[list[CounterFigures]] = TypeAdapter(list[CounterFigures])
_CALENDAR: TypeAdapter[list[StoreEvent]] = TypeAdapter(list[StoreEvent])
_CHAIN_STORES: TypeAdapter[ChainStores] = TypeAdapter(ChainStores)
_CONCESSIONS: TypeAdapter[list[Concession]] = TypeAdapter(list[Concession])
_CONCESSION: TypeAdapter[ConcessionComparison] = TypeAdapter(ConcessionComparison)


def _days(first: date, last: date) -> dict[str, str]:
    """Local days ``first`` .. ``last`` as the chain endpoints take them (end exclusive)."""
    return {"start": first.isoformat(), "end": (last + timedelta(days=1)).isoformat()}
