"""One progress line on the terminal: redrawn in place on a TTY, an occasional line otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def progress_bar(fraction: float, width: int = 24) -> str:
    """``[#########---------------]`` for ``fraction`` of the way (clamped to 0..1)."""
    done = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * done + "-" * (width - done) + "]"


def eta_text(fraction: float, elapsed_s: float) -> str:
    """Time left at the pace so far, as ``3 min 20 s`` (``?`` before there is a pace)."""
    if fraction <= 0.01 or elapsed_s <= 0:
        return "?"
    left = round(elapsed_s * (1 - fraction) / fraction)
    minutes, seconds = divmod(max(left, 0), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


class ProgressLine:
    """Shows the latest state of a long task on one line.

    On a terminal the line is redrawn in place (``\\r``); into a log file a line is written at
    most every ``every_s`` seconds, so a long task leaves a handful of lines, not thousands."""

    def __init__(self, stream: TextIO | None = None, *, every_s: float = 30.0) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every_s = every_s
        self._last = float("-inf")
        self._width = 0

    def update(self, text: str) -> None:
        now = time.monotonic()
        if self._tty:
            pad = " " * max(0, self._width - len(text))
            self._stream.write("\r" + text + pad)
            self._width = len(text)
            self._stream.flush()
        elif now - self._last >= self._every_s:
            self._stream.write(text + "\n")
            self._stream.flush()
        else:
            return
        self._last = now

    def done(self, text: str) -> None:
        """The final state, on its own line."""
        if self._tty:
            pad = " " * max(0, self._width - len(text))
            self._stream.write("\r" + text + pad + "\n")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
        self._width = 0
