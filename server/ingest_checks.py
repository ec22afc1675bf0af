"""The row checks of ingest: why an event of a batch cannot be stored. Pure, one definition of
each, shared by the JSON batch and the columnar encoding (``server/queries/ingest.py``); a
rejected row is counted in the answer with its reason.

* scope: the store of the credential, and who sends card scans (a till's credential only);
* time: within the window the server accepts (:class:`TimeWindow`), a visit's exit not before
  its enter;
* values PostgreSQL and the analyses can hold: a finite mean RSSI, text without NUL characters.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from pydantic import BaseModel

from server.auth import REGISTER_SCOPED, Role
from server.queries.credentials import Principal
from storeflow.wire import CardScan, Heartbeat, RawRead, ZoneVisit

WireEvent = RawRead | ZoneVisit | Heartbeat | CardScan
NUL = "a text field holds a NUL character"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Event times the server accepts: from ``max_age`` before its clock to ``max_ahead``
    after (a reader clock set to year 1 or 2099 is a fault, not a visit)."""

    now: datetime
    max_age: timedelta
    max_ahead: timedelta
    _bounds: dict[tzinfo | None, tuple[datetime, datetime]] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def problem(self, at: datetime) -> str | None:
        earliest, latest = self._bounds_for(at.tzinfo)
        if at < earliest:
            return f"dated {at.isoformat()}: older than the server accepts"
        if at > latest:
            return f"dated {at.isoformat()}: later than the server's clock allows"
        return None

    def _bounds_for(self, tz: tzinfo | None) -> tuple[datetime, datetime]:
        """The bounds in ``tz`` when it is a fixed offset (the same instants: comparing two
        times of one tzinfo object then skips the offset look-ups, which are slow for
        pydantic's), else in the window's own zone."""
        bounds = self._bounds.get(tz)
        if bounds is None:
            earliest, latest = self.now - self.max_age, self.now + self.max_ahead
            if tz is not None and tz.utcoffset(None) is not None:
                with contextlib.suppress(OverflowError):  # a bound next to year 1 or 9999
                    earliest, latest = earliest.astimezone(tz), latest.astimezone(tz)
            bounds = self._bounds[tz] = (earliest, latest)
        return bounds


def scope_problem(
    principal: Principal, *, store_id: str, kind: str, register_id: str | None = None
) -> str | None:
    """Whether the credential may send this event: its store, and who sends card scans (a
    till's credential, never an edge device; ``register_id`` is the scan's register)."""
    if principal.store_id is not None and store_id != principal.store_id:
        return f"store {store_id!r} is not this credential's"
    at_register = principal.role in REGISTER_SCOPED
    if kind == "card_scan":
        if not at_register and principal.role is not Role.ADMIN:
            return "card scans are accepted from a register's credential only"
        if principal.register_id is not None and register_id != principal.register_id:
            return f"register {register_id!r} is not this credential's"
    elif at_register:
        return f"a register's credential sends card scans only, not {kind}"
    return None


def visit_problem(
    *,
    texts: tuple[str, ...],
    enter_at: datetime,
    exit_at: datetime,
    mean_rssi_dbm: float,
    window: TimeWindow,
) -> str | None:
    """What is wrong with a zone visit's values, after its scope: times within the window and
    in order, a finite RSSI, and ``texts`` (its text fields) free of NUL characters."""
    if (why := window.problem(enter_at)) is not None:
        return why
    if (why := window.problem(exit_at)) is not None:
        return why
    if exit_at < enter_at:
        return "exit_at is before enter_at"
    if not math.isfinite(mean_rssi_dbm):
        return "mean_rssi_dbm is not a finite number"
    for text in texts:
        if "\x00" in text:
            return NUL
    return None


def _times(event: WireEvent) -> tuple[datetime, ...]:
    if isinstance(event, Heartbeat):
        return (event.sent_at,)
    if isinstance(event, CardScan):
        return (event.scanned_at,)
    if isinstance(event, RawRead):
        return (event.read_at,)
    return (event.enter_at, event.exit_at)


def has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    if isinstance(value, BaseModel):
        return has_nul(value.model_dump())
    return False


def row_problem(event: WireEvent, *, principal: Principal, window: TimeWindow) -> str | None:
    """Why this event of a batch cannot be stored, or None: the store and register scope of the
    credential, who may send card scans (a till's credential, never an edge device), times
    within the window, and values PostgreSQL can hold."""
    why = scope_problem(
        principal,
        store_id=event.store_id,
        kind=event.kind,
        register_id=event.register_id if isinstance(event, CardScan) else None,
    )
    if why is not None:
        return why
    if isinstance(event, ZoneVisit):
        return visit_problem(
            texts=(event.store_id, event.zone, event.epc, event.reader_id),
            enter_at=event.enter_at,
            exit_at=event.exit_at,
            mean_rssi_dbm=event.mean_rssi_dbm,
            window=window,
        )
    for at in _times(event):
        if (why := window.problem(at)) is not None:
            return why
    if has_nul(event):
        return NUL
    return None
