"""Timestamps as reader vendors write them, to epoch seconds (pure)."""

from __future__ import annotations

import re
from datetime import datetime

_FRACTION = re.compile(r"(\.\d+)")
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_SECOND_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", re.ASCII)
_SECONDS_CACHE_MAX = 4096
# ``YYYY-MM-DDTHH:MM:SS`` -> its epoch seconds (UTC), for the stamps readers send many a second.
_seconds: dict[str, float | None] = {}


def parse_timestamp(text: str) -> float | None:
    """RFC 3339 with up to nanoseconds, ``Z`` or ``+hh:mm`` or ``+hhmm``; None if unparseable."""
    if len(text) == 30 and text[29] == "Z" and text[19] == ".":
        # The R700's form, ``2026-11-02T10:00:00.123456789Z``: the second's epoch is kept, the
        # nanoseconds added (the same sum as below).
        nanos = text[20:29]
        if nanos.isascii() and nanos.isdigit():
            second = text[:19]
            try:
                base = _seconds[second]
            except KeyError:
                if len(_seconds) >= _SECONDS_CACHE_MAX:
                    _seconds.clear()
                base = _seconds[second] = (
                    _parse(second + "Z") if _SECOND_UTC.fullmatch(second) else None
                )
            if base is not None:
                return base + int(nanos) / 1e9
    return _parse(text)


def _parse(text: str) -> float | None:
    s = text.strip()
    if not s:
        return None
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    s = _OFFSET_NO_COLON.sub(r"\1:\2", s)
    nanos = 0.0
    m = _FRACTION.search(s)
    if m:
        digits = m.group(1)[1:]
        nanos = int(digits[:9].ljust(9, "0")) / 1e9
        s = s[: m.start()] + s[m.end() :]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return dt.timestamp() + nanos
