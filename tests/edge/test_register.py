"""Register agent: an RDM6300 on a serial socket -> card-scan events stored by the real server."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest

from edge.register import ScanPoster, make_decoder, run_scanner, scan_event
from firmware_sim.encoders import rdm6300_frame
from server.threaded import serve_in_thread
from tests.fix_db import make_token
from tests.helpers.waiting import wait_until


@pytest.fixture
def api_url(db_url: str) -> Iterator[str]:
    with serve_in_thread(db_url) as url:
        yield url


def test_card_presented_once_is_posted_once(
    db_url: str, api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    token = make_token(db_url, "register", store_id="demo", register_id="T1")
    poster = ScanPoster(server_url=api_url, token=token, device_id="register-T1")
    stop = threading.Event()

    def on_read(read):  # type: ignore[no-untyped-def]
        poster.post(scan_event(read, store_id="demo", register_id="T1"))

    agent = threading.Thread(
        target=run_scanner,
        kwargs={
            "url": f"socket://127.0.0.1:{port}",
            "baudrate": 9600,
            "decoder": make_decoder("rdm6300"),
            "on_read": on_read,
            "stop": stop,
        },
        daemon=True,
    )
    with caplog.at_level(logging.INFO, logger="edge.register"):
        agent.start()
        conn, _ = listener.accept()
        # opening the port flushes its input, as a UART driver does: send only once it is open
        assert wait_until(lambda: f":{port} open" in caplog.text)
    frame = rdm6300_frame("14008EC793")
    conn.sendall(frame * 8)  # the card lies on the reader: the frame repeats
    conn.sendall(b"\x02garbage\x03" + rdm6300_frame("0A0B0C0D0E"))
    rows: list[tuple[str, str]] = []

    def scanned_twice() -> bool:
        nonlocal rows
        with psycopg.connect(db_url) as c:
            rows = c.execute(
                "SELECT register_id, card_number FROM card_scan ORDER BY scanned_at"
            ).fetchall()
        return len(rows) >= 2

    wait_until(scanned_twice, timeout=10)
    stop.set()
    conn.close()
    listener.close()
    agent.join(5)
    poster.close()
    assert rows == [("T1", "14008EC793"), ("T1", "0A0B0C0D0E")]
