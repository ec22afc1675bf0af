"""Two ``storeflow server`` processes behind nginx (Debian's package), an edge's outbox and
uplink sending through it, one server killed with SIGKILL mid-run: every visit is stored exactly
once (orchestration/bench_balancer.py is the scenario; ``storeflow bench balancer`` prints it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.balancer import find_nginx, nginx_config, upstream_counts
from orchestration.bench_balancer import run_balanced


def test_the_config_balances_over_every_backend_and_passes_failed_posts_on(
    tmp_path: Path,
) -> None:
    conf = nginx_config(listen_port=9000, backends=[9001, 9002], workdir=tmp_path)
    assert "server 127.0.0.1:9001" in conf and "server 127.0.0.1:9002" in conf
    assert "listen 127.0.0.1:9000;" in conf
    assert "non_idempotent" in conf  # ingest is idempotent: a dropped POST may go to the next


def test_upstream_counts_reads_which_server_answered(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "POST|/api/v1/ingest|200|127.0.0.1:1|200\n"
        "POST|/api/v1/ingest|200|127.0.0.1:1, 127.0.0.1:2|502, 200\n"
        "GET|/api/v1/health|200|127.0.0.1:2|200\n"
    )
    assert upstream_counts(log) == {"passed_on": 1, "127.0.0.1:1": 1, "127.0.0.1:2": 2}


@pytest.mark.slow
def test_one_server_killed_behind_nginx_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    if find_nginx() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (apt-get install -y nginx)")
        pytest.skip("nginx is missing")
    result = run_balanced(db_url, tmp_path, visits=2400, batch=100)
    assert (result["stored"], result["lost"], result["duplicated"]) == (2400, 0, 0), result
    assert len(result["answered_by"]) == 2, result  # both servers served before the kill
