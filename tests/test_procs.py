"""Waiting for a child process to answer: a child that exits is reported at once, with its log,
not after the whole timeout as "connection refused"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.procs import ProcessGroup, wait_http
from storeflow.net import free_port

DIES = [sys.executable, "-c", "print('refusing to start'); raise SystemExit(3)"]


def test_a_group_child_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    group.start("server", DIES)
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*refusing to start"):
        wait_http(f"http://127.0.0.1:{free_port()}/health", timeout_s=600, group=group)


def test_the_check_of_a_single_process_ends_the_wait(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(DIES, stdout=out, stderr=subprocess.STDOUT)

    def alive() -> None:
        if (code := proc.poll()) is not None:
            raise RuntimeError(f"exited with code {code}: {log.read_text()}")

    with pytest.raises(RuntimeError, match="exited with code 3: refusing to start"):
        wait_http(f"http://127.0.0.1:{free_port()}/health", timeout_s=600, check=alive)
