"""The row checks of ingest (server/ingest_checks.py), shared by the JSON and columnar encodings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from server.auth import Role
from server.ingest_checks import NUL, TimeWindow, scope_problem, visit_problem
from server.queries.credentials import Principal

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow(now=NOW, max_age=timedelta(days=10), max_ahead=timedelta(hours=1))
EDGE = Principal(id=1, name="e", role=Role.EDGE, store_id="demo")
TILL = Principal(id=2, name="t", role=Role.REGISTER, store_id="demo", register_id="T1")
ADMIN = Principal(id=3, name="a", role=Role.ADMIN)
PARSED = TypeAdapter(datetime)  # pydantic's own tzinfo, as the ingest models make it


@pytest.mark.parametrize(
    ("who", "store_id", "kind", "register_id", "why"),
    [
        (EDGE, "demo", "zone_visit", None, None),
        (EDGE, "north", "zone_visit", None, "store 'north' is not this credential's"),
        (
            EDGE,
            "demo",
            "card_scan",
            "T1",
            "card scans are accepted from a register's credential only",
        ),
        (TILL, "demo", "card_scan", "T1", None),
        (TILL, "demo", "card_scan", "T2", "register 'T2' is not this credential's"),
        (
            TILL,
            "demo",
            "zone_visit",
            None,
            "a register's credential sends card scans only, not zone_visit",
        ),
        (ADMIN, "north", "card_scan", "T9", None),
    ],
)
def test_scope(
    who: Principal, store_id: str, kind: str, register_id: str | None, why: str | None
) -> None:
    assert scope_problem(who, store_id=store_id, kind=kind, register_id=register_id) == why


def _check(
    enter: datetime,
    exit_: datetime | None = None,
    rssi: float = -55.0,
    texts: tuple[str, ...] = ("demo", "A1"),
) -> str | None:
    return visit_problem(
        texts=texts,
        enter_at=enter,
        exit_at=exit_ if exit_ is not None else enter + timedelta(seconds=10),
        mean_rssi_dbm=rssi,
        window=WINDOW,
    )


@pytest.mark.parametrize(
    ("enter", "exit_", "rssi", "texts", "why"),
    [
        (NOW, None, -55.0, ("demo",), None),
        (NOW - timedelta(days=11), None, -55.0, ("demo",), "older than the server accepts"),
        (NOW, NOW + timedelta(hours=2), -55.0, ("demo",), "later than the server's clock allows"),
        (NOW, NOW - timedelta(seconds=1), -55.0, ("demo",), "exit_at is before enter_at"),
        (NOW, None, math.nan, ("demo",), "mean_rssi_dbm is not a finite number"),
        (NOW, None, -math.inf, ("demo",), "mean_rssi_dbm is not a finite number"),
        (NOW, None, -55.0, ("demo", "R\x001"), NUL),
        # the first problem is the one said
        (NOW - timedelta(days=11), NOW - timedelta(days=12), math.nan, ("\x00",), "older"),
    ],
)
def test_visit_values(
    enter: datetime, exit_: datetime | None, rssi: float, texts: tuple[str, ...], why: str | None
) -> None:
    got = _check(enter, exit_, rssi, texts)
    assert got == why if why is None else why in (got or "")


@pytest.mark.parametrize(
    "tz",
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), ZoneInfo("Asia/Shanghai")],
)
@pytest.mark.parametrize(
    ("offset", "inside"),
    [
        (-timedelta(days=10) - timedelta(microseconds=1), False),
        (-timedelta(days=10), True),
        (timedelta(hours=1), True),
        (timedelta(hours=1, microseconds=1), False),
    ],
)
def test_window_edges_are_instants_whatever_the_offset(
    tz: timezone | ZoneInfo, offset: timedelta, inside: bool
) -> None:
    """The window compares in the values' own fixed offset (fast for pydantic's tzinfo): the
    same instants are in or out as in UTC, to the microsecond."""
    at = (NOW + offset).astimezone(tz)
    parsed = PARSED.validate_python(at.isoformat())
    for value in (at, parsed):
        assert (WINDOW.problem(value) is None) is inside
    if not inside:
        assert f"dated {parsed.isoformat()}" in (WINDOW.problem(parsed) or "")
