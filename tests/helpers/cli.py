"""``storeflow`` commands run as a user runs them: a process of their own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def storeflow_json(
    *args: str, timeout: float = 240, exit_codes: tuple[int, ...] = (0,)
) -> dict[str, Any]:
    """Run ``storeflow --log-level WARNING ARGS`` (a command printing one JSON line last), assert
    it ended with one of ``exit_codes``, and return that line."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode in exit_codes, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
