"""ASGI middleware of the app: a request body size limit, security headers, request metrics.

Pure ASGI (no ``BaseHTTPMiddleware``), so streams (the cashier's server-sent events) pass
through untouched and nothing is buffered but a request body within the limit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from functools import cache
from importlib import resources
from typing import Any

from server.metrics import Metrics

logger = logging.getLogger(__name__)

# the ASGI types (as Starlette spells them)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

# Pages of our own (the cashier's): scripts only by the hashes the page handler adds.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's interactive docs load Swagger UI / ReDoc from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})

COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *COMMON_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413: by its Content-Length before a byte is
    read, or once the bytes streamed in pass the limit (chunked bodies)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await _answer(send, 413, f"the body is over {self.max_bytes} bytes")
                return
        if scope["method"] in BODYLESS and declared is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _answer(send, 413, f"the body is over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/members/{member_id}/redemptions``): the path with
    each path parameter's segment named back; ``unmatched`` when no route matched."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    path = str(scope.get("path", ""))
    return "/".join(f"{{{names[seg]}}}" if seg in names else seg for seg in path.split("/"))


class SecurityHeadersAndMetrics:
    """Adds the security headers every answer carries (a CSP on HTML pages, ``no-store`` on API
    answers, which may hold personal data) and counts and times each request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope.get("path", "")
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = _secured(path, list(message.get("headers", ())))
                self._record(scope, status, started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            self._record(scope, 500, started)
            raise

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = _route_template(scope)
        method = str(scope.get("method", ""))
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _secured(path: str, headers: list[Any]) -> list[tuple[bytes, bytes]]:
    have = {bytes(k).lower() for k, _ in headers}
    out: list[tuple[bytes, bytes]] = [(bytes(k), bytes(v)) for k, v in headers]
    out.extend(h for h in COMMON_HEADERS if h[0] not in have)
    content_type = next((bytes(v) for k, v in headers if bytes(k).lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html") and b"content-security-policy" not in have:
        csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP.format(hashes="")
        out.append((b"content-security-policy", csp.encode()))
    if path.startswith("/api/") and b"cache-control" not in have:
        out.append((b"cache-control", b"no-store"))
    return out


def page_csp(script_hashes: Iterable[str]) -> str:
    """The CSP of one of our pages whose inline scripts have these ``sha256-...`` hashes."""
    return PAGE_CSP.format(hashes="".join(f" '{h}'" for h in script_hashes))


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@cache
def static_page(filename: str) -> tuple[str, str]:
    """One of our pages in ``server/static`` and its CSP: its inline scripts run by their hashes,
    nothing else does."""
    html = resources.files("server").joinpath("static", filename).read_text("utf-8")
    hashes = [
        "sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        for s in _SCRIPT.findall(html)
    ]
    return html, page_csp(hashes)
