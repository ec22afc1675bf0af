"""The row checks of ingest: why an event of a batch cannot be stored. Pure, one definition of
each, shared by the JSON batch and the columnar encoding (``server/queries/ingest.py``); a
rejected row is counted in the answer with its reason.

* scope: the store of the credential, and who sends card scans (a till's credential only);
* time: within the window the server accepts (:class:`TimeWindow`), a visit's exit not before
  its enter;
* values PostgreSQL and the analyses can hold: a finite mean RSSI within the range of a
  ``real``, text without NUL characters.
"""

from __future__ import annotations

import contextlib
import math
import operator
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from pydantic import BaseModel

from server.auth import REGISTER_SCOPED, Role
from server.queries.credentials import Principal
from storeflow.wire import CardScan, Heartbeat, RawRead, ZoneVisit

WireEvent = RawRead | ZoneVisit | Heartbeat | CardScan
NUL = "a text field holds a NUL character"
REAL_RANGE = "mean_rssi_dbm is out of the range it is stored in (real)"
_TINY, _HUGE = 1e-30, 1e30  # a double whose size is between these fits a real


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
    if not _TINY < abs(mean_rssi_dbm) < _HUGE and mean_rssi_dbm != 0.0:  # else fits a real
        if not math.isfinite(mean_rssi_dbm):
            return "mean_rssi_dbm is not a finite number"
        if not fits_real(mean_rssi_dbm):
            return REAL_RANGE
    for text in texts:
        if "\x00" in text:
            return NUL
    return None


def visits_pass(
    *,
    texts: Sequence[Sequence[str]],
    enter_at: Sequence[datetime],
    exit_at: Sequence[datetime],
    mean_rssi_dbm: Sequence[float],
    window: TimeWindow,
) -> bool:
    """Whether :func:`visit_problem` finds nothing in any of these visits, given as columns
    (``texts``: one column per text field), decided a column at a time: True only if so; False
    when some visit may have a problem (then each one is checked, for its reason). A batch from
    a working edge passes, in far less time than checking each visit."""
    if not enter_at:
        return True
    rssi_total = sum(mean_rssi_dbm)  # NaN or infinite if any value is (or if the sum overflows)
    return (
        window.problem(min(enter_at)) is None
        and window.problem(max(enter_at)) is None
        and window.problem(min(exit_at)) is None
        and window.problem(max(exit_at)) is None
        and all(map(operator.le, enter_at, exit_at))
        and math.isfinite(rssi_total)
        and _TINY < min(map(abs, mean_rssi_dbm))
        and max(map(abs, mean_rssi_dbm)) < _HUGE
        and not any("\x00" in "".join(column) for column in texts)
    )


def fits_real(value: float) -> bool:
    """Whether a finite ``value`` can be stored as PostgreSQL's ``real`` (the column's type) as
    its cast from double precision does it: rounded to the nearest, neither overflowing to
    infinity nor a non-zero value underflowing to zero."""
    try:
        (stored,) = _REAL.unpack(_REAL.pack(value))
    except OverflowError:
        return False
    return math.isfinite(stored) and (stored != 0.0 or value == 0.0)


_REAL = struct.Struct("<f")  # IEEE binary32, rounded to the nearest (native "f" does not check)


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
