"""Run the API in a background thread of this process (benchmarks and tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from server.app import create_app
from server.settings import Settings
from storeflow.net import free_port


@contextmanager
def serve_in_thread(
    database_url: str, *, port: int | None = None, settings: Settings | None = None
) -> Iterator[str]:
    """Serve the app on 127.0.0.1 until the block ends; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings or Settings(), database_url=database_url),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
