"""kill -9 of a real edge agent process loses no visit that was read, and duplicates none.

The agent reads a simulated R2000 reader over TCP; its open visits are checkpointed in the
outbox. It is killed with SIGKILL while every visit is still open, restarted, and the visits it
then writes are compared with what was fed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edge.zones import AntennaMap
from firmware_sim.model import SimRead
from firmware_sim.serial_emitter import R2000SocketEmitter
from storeflow.epc import classify_epc, encode_gid96
from storeflow.layout import load_layout
from tests.fix_mqtt import free_port
from tests.helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = ROOT / "firmware_sim" / "stores" / "demo.yaml"
TAGS = [encode_gid96(0x79FF, 1, 100 + i) for i in range(6)]
PROBE = encode_gid96(0x79FF, 1, 99)
READS_PER_TAG = 7


def write_config(path: Path, port: int, outbox: Path, *, exit_timeout_s: float) -> None:
    path.write_text(
        f"device_id: edge-kill\n"
        f"store_id: demo\n"
        f"layout: {LAYOUT}\n"
        f"server: {{url: 'http://127.0.0.1:{free_port()}', token: t}}\n"
        f"readers:\n"
        f"  - {{id: R1, protocol: r2000, serial: {{url: 'socket://127.0.0.1:{port}'}}}}\n"
        f"tracker: {{exit_timeout_s: {exit_timeout_s}, late_read_margin_s: 0.0}}\n"
        f"outbox: {{path: '{outbox}', checkpoint_s: 0.2}}\n"
        f"uplink: {{heartbeat_s: 3600}}\n"
    )


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "edge", "--config", str(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def query(outbox: Path, sql: str) -> list[tuple[object, ...]]:
    if not outbox.exists():
        return []
    db = sqlite3.connect(outbox, timeout=5)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the agent has not created the tables yet
        return []
    finally:
        db.close()


def wait_for(predicate: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path) -> None:
    held = wait_until(lambda: proc.poll() is not None or predicate(), timeout=30)
    assert proc.poll() is None, log.read_text()[-3000:]
    assert held, (
        log.read_text()[-3000:],
        query(log.parent / "outbox.sqlite", "SELECT body FROM outbox"),
        query(log.parent / "outbox.sqlite", "SELECT * FROM open_visit"),
    )


def test_kill_minus_9_loses_no_open_visit(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite"
    config = tmp_path / "edge.yaml"
    log = tmp_path / "edge.log"
    zone_of = AntennaMap.from_layout(load_layout(LAYOUT))
    with R2000SocketEmitter() as emitter:
        write_config(config, emitter.port, outbox, exit_timeout_s=600.0)
        agent = start_agent(config, log)
        try:
            assert emitter.wait_client(30), log.read_text()
            # pyserial discards what arrived before its port was open: probe until it reads.
            probe = [
                SimRead(t=0.0, reader_id="R1", antenna=1, epc=PROBE, rssi_dbm=-50.0, reader_t=0.0)
            ] * 3

            def probe_open() -> bool:
                emitter.emit(probe)
                return PROBE in str(query(outbox, "SELECT epc FROM open_visit"))

            wait_for(probe_open, agent, log)
            fed = [
                SimRead(t=0.0, reader_id="R1", antenna=1, epc=epc, rssi_dbm=-50.0, reader_t=0.0)
                for _ in range(READS_PER_TAG)
                for epc in TAGS
            ]
            emitter.emit(fed)

            def all_open() -> bool:
                rows = query(outbox, "SELECT state FROM open_visit")
                states = [json.loads(str(s)) for (s,) in rows]
                states = [s for s in states if s["epc"] != PROBE]
                return sorted((s["epc"], s["reads"]) for s in states) == sorted(
                    (epc, READS_PER_TAG) for epc in TAGS
                )

            wait_for(all_open, agent, log)
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait(10)
        assert query(outbox, "SELECT count(*) FROM outbox WHERE body LIKE '%zone_visit%'") == [(0,)]

        # Restart: the restored visits close by the absence rule against the restart time.
        write_config(config, emitter.port, outbox, exit_timeout_s=0.05)
        agent = start_agent(config, log)
        try:
            wait_for(
                lambda: (
                    query(outbox, "SELECT count(*) FROM outbox WHERE body LIKE '%zone_visit%'")
                    == [(len(TAGS) + 1,)]
                ),
                agent,
                log,
            )
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(30) == 0
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait(10)

    bodies = [
        json.loads(str(b))
        for (b,) in query(outbox, "SELECT body FROM outbox WHERE body LIKE '%zone_visit%'")
        if PROBE not in str(b)
    ]
    expected_zone = zone_of("R1", 1, 0.0)
    assert sorted((v["epc"], v["reads"], v["zone"]) for v in bodies) == sorted(
        (epc, READS_PER_TAG, expected_zone) for epc in TAGS
    )
    assert {v["tag_kind"] for v in bodies} == {classify_epc(TAGS[0]).kind_hint.value}
    assert len({v["event_id"] for v in bodies}) == len(TAGS)
    assert query(outbox, "SELECT count(*) FROM open_visit") == [(0,)]
