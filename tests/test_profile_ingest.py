"""``storeflow bench ingest --steps``: the statement log summed by kind, and a short run."""

from __future__ import annotations

import json

import pytest

from orchestration.profile_ingest import _statements, run_ingest_profile

LOG = """\
2026-11-29 05:19:56.742 UTC [2206] LOG:  duration: 12.500 ms  statement: COPY zone_visit (a, b)
2026-11-29 05:19:56.743 UTC [2206] LOG:  duration: 0.530 ms  execute <unnamed>: INSERT INTO rollup_day AS r (store_id)
2026-11-29 05:19:56.744 UTC [2206] LOG:  duration: 0.100 ms  parse <unnamed>: INSERT INTO rollup_day AS r (store_id)
2026-11-29 05:19:56.745 UTC [2206] LOG:  duration: 7.500 ms  statement: COPY zone_visit (a, b)
2026-11-29 05:19:56.746 UTC [2206] LOG:  duration: 1.000 ms  statement: COMMIT
"""  # noqa: E501


def test_statements_are_summed_by_kind_per_batch() -> None:
    assert _statements(LOG, batches=2) == [
        ("COPY zone_visit (a, b)", 10.0),
        ("COMMIT", 0.5),
        ("INSERT INTO rollup_day AS", 0.265),
    ]


@pytest.mark.slow
def test_a_short_run_times_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_ingest_profile(visits=600, batch=200, as_json=True) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    steps = out["steps_ms"]
    for step in (
        "decode (JSON bytes to the batch)",
        "tag classification (registry look-up)",
        "COPY straight into zone_visit (savepoint)",
        "trip assembly (worker thread, during the COPY)",
        "commit",
    ):
        assert steps[step] > 0
    assert any(k.startswith("COPY zone_visit") for k in out["server_ms"])
    assert out["in_process_ratio"] > 0
