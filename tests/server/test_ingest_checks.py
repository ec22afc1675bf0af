"""The row checks of ingest (server/ingest_checks.py), shared by the JSON and columnar encodings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from server.auth import Role
from server.ingest_checks import (
    NUL,
    REAL_RANGE,
    TimeWindow,
    fits_real,
    scope_problem,
    visit_problem,
    visits_pass,
)
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
        (NOW, None, 0.0, ("demo",), None),
        (NOW, None, -1e300, ("demo",), REAL_RANGE),  # stored as a real: it would overflow
        (NOW, None, 1e-300, ("demo",), REAL_RANGE),  # ... or become 0
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


# values a real holds and does not, at the edges of its range and in between
EDGES = [
    0.0,
    -0.0,
    -55.5,
    1e-30,
    1e-38,
    1.1754943508222875e-38,  # the smallest normal real
    1.401298464324817e-45,  # the smallest subnormal real
    7.006492321624085e-46,  # half of it: rounds to zero
    7.1e-46,  # just over half: rounds up to it
    1e-46,
    3.4028234663852886e38,  # the largest real
    3.4028235677973362e38,  # just under half an ulp above it: rounds down to it
    3.4028235677973366e38,  # half an ulp above it: rounds to infinity
    3.5e38,
    1e300,
]


def test_fits_real_answers_as_postgresql_casts(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """``fits_real`` says what PostgreSQL's cast of a double precision to real (the column's
    type) does: keeps it, or refuses it (overflow, or a non-zero value underflowing to 0)."""
    for value in EDGES + [-v for v in EDGES]:
        try:
            with conn.transaction():
                conn.execute("SELECT %s::float8::real", (value,))
            held = True
        except psycopg.errors.NumericValueOutOfRange:
            held = False
        assert fits_real(value) is held, value


_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-55.0, 0.0, 1e-31, 1e31, 3.5e38, 1e-46]),
)
_TIMES = st.datetimes(
    min_value=NOW.replace(tzinfo=None) - timedelta(days=12),
    max_value=NOW.replace(tzinfo=None) + timedelta(hours=2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), ZoneInfo("Asia/Shanghai")]),
)
_TEXTS = st.text(alphabet=st.sampled_from("A1\x00-"), max_size=3)
_VISIT = st.tuples(_TIMES, st.timedeltas(timedelta(hours=-1), timedelta(hours=3)), _FLOATS, _TEXTS)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_VISIT, max_size=8))
def test_a_batch_passes_whole_only_if_no_visit_has_a_problem(
    visits: list[tuple[datetime, timedelta, float, str]],
) -> None:
    """``visits_pass`` decides a batch a column at a time; when it says the batch passes, no
    visit of it has a problem (when it does not, each visit is checked for its reason)."""
    enter = [at for at, _, _, _ in visits]
    exit_ = [at + dwell for at, dwell, _, _ in visits]
    rssi = [r for _, _, r, _ in visits]
    texts = [t for _, _, _, t in visits]
    passed = visits_pass(
        texts=(texts, ["demo"] * len(visits)),
        enter_at=enter,
        exit_at=exit_,
        mean_rssi_dbm=rssi,
        window=WINDOW,
    )
    problems = [
        visit_problem(texts=(t, "demo"), enter_at=a, exit_at=b, mean_rssi_dbm=r, window=WINDOW)
        for a, b, r, t in zip(enter, exit_, rssi, texts, strict=True)
    ]
    if passed:
        assert problems == [None] * len(visits)


def test_a_batch_from_a_working_edge_passes_whole() -> None:
    enter = [NOW - timedelta(minutes=m) for m in range(50)]
    assert visits_pass(
        texts=(["A1"] * 50, ["R1"] * 50),
        enter_at=enter,
        exit_at=[at + timedelta(seconds=30) for at in enter],
        mean_rssi_dbm=[-55.5] * 50,
        window=WINDOW,
    )
