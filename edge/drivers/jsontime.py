"""Timestamps as reader vendors write them, to epoch seconds (pure)."""

from __future__ import annotations

import re
from datetime import datetime

_FRACTION = re.compile(r"(\.\d+)")
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_timestamp(text: str) -> float | None:
    """RFC 3339 with up to nanoseconds, ``Z`` or ``+hh:mm`` or ``+hhmm``; None if unparseable."""
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
