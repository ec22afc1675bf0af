"""The register agent: a till's member-card scanner on serial -> card-scan events to the server.

A scan is only useful to the cashier now, so it is posted at once (short timeout, a few quick
retries) rather than through the outbox; the server pushes it to the register's cashier page.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol

import httpx
import serial

from edge.drivers.cards import CardRead, LineScannerDecoder, Rdm6300Decoder
from storeflow.backoff import next_backoff
from storeflow.wire import CardScan, IngestBatch, scan_event_id

logger = logging.getLogger(__name__)

ScannerKind = Literal["rdm6300", "barcode"]


class CardDecoder(Protocol):
    def feed(self, data: bytes, host_ts: float) -> list[CardRead]: ...


def make_decoder(kind: ScannerKind) -> CardDecoder:
    if kind == "rdm6300":
        return Rdm6300Decoder()
    return LineScannerDecoder()


def scan_event(read: CardRead, *, store_id: str, register_id: str) -> CardScan:
    from edge.pipeline import to_datetime

    at = to_datetime(read.host_ts)
    return CardScan(
        event_id=scan_event_id(
            store_id=store_id, register_id=register_id, card_number=read.card_number, at=at
        ),
        store_id=store_id,
        register_id=register_id,
        card_number=read.card_number,
        scanned_at=at,
        scanner=read.scanner,
    )


class ScanPoster:
    """Posts each scan as a one-event ingest batch; retries briefly, then gives up loudly."""

    def __init__(self, *, server_url: str, token: str, device_id: str, attempts: int = 3) -> None:
        self._url = server_url.rstrip("/") + "/api/v1/ingest"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._device_id = device_id
        self._attempts = attempts
        self._client = httpx.Client(timeout=2.0)

    def post(self, scan: CardScan) -> bool:
        batch = IngestBatch(device_id=self._device_id, sent_at=scan.scanned_at, events=[scan])
        body = batch.model_dump_json()
        for attempt in range(1, self._attempts + 1):
            try:
                resp = self._client.post(self._url, content=body, headers=self._headers)
                if resp.status_code == 200:
                    return True
                logger.warning("card scan refused: HTTP %d %s", resp.status_code, resp.text[:200])
                return False
            except httpx.HTTPError as exc:
                logger.warning("card scan not sent (attempt %d): %s", attempt, exc)
                time.sleep(0.2 * attempt)
        return False

    def close(self) -> None:
        self._client.close()


def run_scanner(
    *,
    url: str,
    baudrate: int,
    decoder: CardDecoder,
    on_read: Callable[[CardRead], None],
    stop: threading.Event,
) -> None:
    """Read the scanner until ``stop``; reopen the port with back-off when it drops."""
    backoff = 0.0
    while not stop.is_set():
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.2)
        except (serial.SerialException, OSError) as exc:
            backoff = next_backoff(backoff)
            logger.warning("scanner %s unavailable: %s (retry in %.1f s)", url, exc, backoff)
            stop.wait(backoff)
            continue
        backoff = 0.0
        logger.info("scanner %s open", url)
        try:
            while not stop.is_set():
                data = port.read(port.in_waiting or 1)
                if data:
                    for read in decoder.feed(data, time.time()):
                        on_read(read)
        except (serial.SerialException, OSError) as exc:
            logger.warning("scanner %s dropped: %s", url, exc)
        finally:
            port.close()


def add_register_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "register",
        help="run a till's register agent (card scanner -> server)",
        description="Read a member-card scanner on serial and post each scan to the server, "
        "which shows it on that register's cashier page.",
    )
    p.add_argument("--store", required=True, help="store id")
    p.add_argument("--register", required=True, help="register (till) id")
    p.add_argument("--scanner-url", required=True, help="serial URL: /dev/ttyUSB0, socket://...")
    p.add_argument(
        "--scanner",
        choices=["rdm6300", "barcode"],
        default="rdm6300",
        help="scanner kind: rdm6300 (125 kHz card reader) or barcode (line per scan)",
    )
    p.add_argument("--baudrate", type=int, default=9600, help="serial speed (9600)")
    p.add_argument(
        "--server-url", default="http://127.0.0.1:8000", help="the API server (127.0.0.1:8000)"
    )
    p.add_argument(
        "--token-env",
        default="STOREFLOW_EDGE_TOKEN",
        help="environment variable holding the register's edge token (STOREFLOW_EDGE_TOKEN)",
    )
    p.set_defaults(func=run_register)


def run_register(args: argparse.Namespace) -> int:
    import os

    token = os.environ.get(args.token_env)
    if not token:
        logger.error("config error: set %s to the register's edge token", args.token_env)
        return 2
    poster = ScanPoster(
        server_url=args.server_url, token=token, device_id=f"register-{args.register}"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def on_read(read: CardRead) -> None:
        poster.post(scan_event(read, store_id=args.store, register_id=args.register))

    run_scanner(
        url=args.scanner_url,
        baudrate=args.baudrate,
        decoder=make_decoder(args.scanner),
        on_read=on_read,
        stop=stop,
    )
    poster.close()
    return 0
