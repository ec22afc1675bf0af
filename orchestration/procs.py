"""Child processes of the demo: start them, wait until they answer, stop them all on the way out."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)


def storeflow_command(*args: str) -> list[str]:
    """The ``storeflow`` CLI run by this same interpreter (works without the console script)."""
    return [sys.executable, "-m", "orchestration.cli", *args]


@dataclass
class ProcessGroup:
    """Processes started by the demo; :meth:`stop_all` ends every one, newest first."""

    log_dir: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        logger.info("started %s (pid %d), log %s", name, proc.pid, self.log_dir / f"{name}.log")

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{tail}")

    def stop(self, name: str, timeout: float = 15.0) -> None:
        for n, proc in list(self.procs):
            if n == name:
                _terminate(n, proc, timeout)
                self.procs.remove((n, proc))

    def stop_all(self, timeout: float = 15.0) -> None:
        for name, proc in reversed(self.procs):
            _terminate(name, proc, timeout)
        self.procs.clear()


def _terminate(name: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.warning("%s did not stop in %.0f s; killing it", name, timeout)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    logger.info("stopped %s", name)


def wait_http(
    url: str,
    *,
    timeout_s: float = 60.0,
    group: ProcessGroup | None = None,
    check: Callable[[], None] | None = None,
) -> None:
    """Wait until ``url`` answers 200 (checking the children are still alive meanwhile:
    ``group``'s, or ``check`` raising when the process that should answer has exited)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if group is not None:
            group.check_alive()
        if check is not None:
            check()
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s ({last})")
