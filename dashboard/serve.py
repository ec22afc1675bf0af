"""Run Streamlit, faster to a first page: ``python -m dashboard.serve run app.py ...``.

``storeflow dashboard`` starts Streamlit through this module, which changes four things and
leaves everything else to ``streamlit``'s own command line:

* **No delayed ACKs.** Streamlit (on Starlette/uvicorn) binds its socket itself with
  ``socket.socket(family)``: the socket's protocol reads 0 rather than ``IPPROTO_TCP``, so asyncio
  does not set ``TCP_NODELAY`` on the connections it accepts, and every response after the first
  on a kept-alive connection waits for the browser's delayed ACK, about 40 ms. A page fetches
  some 130 script files over six connections: close to a second of every cold load. The
  listening socket here gets ``TCP_NODELAY`` (accepted connections inherit it) and the protocol.
* **The widgets' scripts fetched with the page.** Streamlit's front end loads each element's
  code when the first such element arrives, after the page has connected and the script has run:
  a second wave of about 80 files, fetched in chains, while the server is busy running the page.
  Every page of the dashboard uses the same widgets (:data:`WIDGETS`), so the page's HTML names
  their scripts and everything those import (``<link rel="modulepreload">``) and the browser
  fetches and compiles them while the main bundle starts.
* **The front end's files from memory.** They are named by their content's hash and do not change
  while Streamlit runs: read once at start, each is answered without a file system round (a cold
  page fetches ~150 of them; Starlette's file responses cost ~3 ms of CPU each).
* **No source watcher, no forced collection** (``server.fileWatcherType`` ``none`` and
  ``runner.postScriptGC`` false unless set otherwise): after every run of a page Streamlit would
  otherwise resolve the path of every imported module on its event loop and run a full garbage
  collection, which held back the page's static files and the end of its run.
"""

from __future__ import annotations

import mimetypes
import os
import re
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

Bind = Callable[[str, int, int], socket.socket]
ASGIApp = Callable[[dict[str, Any], Any, Any], Any]

# The element scripts of Streamlit's front end the dashboard's pages draw with (file names less
# the content hash): the charts, tables, the sidebar's pickers, toggles, buttons and the download
# buttons.
WIDGETS = (
    "ArrowVegaLiteChart",
    "DataFrame",
    "Selectbox",
    "DateInput",
    "Radio",
    "Multiselect",
    "DownloadButton",
    "Metric",
    "Checkbox",  # st.toggle
    "TextInput",
    "Button",
    "Slider",
)
_IMPORT = re.compile(r'(?:from|import)\s*"\./([^"/]+\.js)"')


def without_delayed_acks(bind: Bind) -> Bind:
    """``bind`` (Streamlit's ``_bind_socket``) returning a socket whose connections send each
    write at once (``TCP_NODELAY``)."""

    def bound(address: str, port: int, backlog: int) -> socket.socket:
        sock = bind(address, port, backlog)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        fixed.setblocking(False)
        return fixed

    return bound


def scripts_of(widgets: Iterable[str], sources: Mapping[str, str]) -> list[str]:
    """The script files of ``widgets`` and every file they import, transitively, sorted.

    ``sources`` maps the front end's script file names (``Name.HASH.js``) to their text. A widget
    with no file (a Streamlit release that renamed it) is skipped."""
    todo = [name for name in sources if name.split(".", 1)[0] in set(widgets)]
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name in found or name not in sources:
            continue
        found.add(name)
        todo.extend(_IMPORT.findall(sources[name]))
    return sorted(found)


def preload_tags(scripts: Iterable[str]) -> bytes:
    return "".join(
        f'<link rel="modulepreload" href="./static/js/{name}" />' for name in scripts
    ).encode()


class PreloadScripts:
    """ASGI middleware: ``tags`` inserted before ``</head>`` of every HTML response."""

    def __init__(self, app: ASGIApp, tags: bytes) -> None:
        self.app = app
        self.tags = tags

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def send_edited(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                given = dict(message.get("headers", []))
                if given.get(b"content-type", b"").startswith(b"text/html") and not given.get(
                    b"content-encoding"
                ):
                    start.update(message)  # held until the body is complete
                    return
            elif message["type"] == "http.response.body" and start:
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                edited = bytes(body).replace(b"</head>", self.tags + b"</head>", 1)
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                headers.append((b"content-length", str(len(edited)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": edited})
                return
            await send(message)

        await self.app(scope, receive, send_edited)


class StaticFromMemory:
    """ASGI middleware: GET and HEAD of ``/static/...`` answered from ``files`` (path -> (bytes,
    content type)), read once at start; other paths pass on. Streamlit's front-end files are
    named by their content's hash and never change while it runs; a cold page fetches ~150 of
    them, and Starlette's file responses (a stat, an ETag, the read in a worker thread) spent
    about 3 ms of the server's CPU on each, on the same cores as the page's other work."""

    def __init__(self, app: ASGIApp, files: Mapping[str, tuple[bytes, str]]) -> None:
        self.app = app
        self.files = files

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = (
            self.files.get(scope["path"])
            if scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        body, content_type = found
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, immutable, max-age=31536000"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body if scope["method"] == "GET" else b""}
        )


def static_files(root: Path) -> dict[str, tuple[bytes, str]]:
    """The files under ``root``/static by URL path (``/static/js/x.js``), with their types."""
    out: dict[str, tuple[bytes, str]] = {}
    for path in sorted((root / "static").rglob("*")):
        if path.is_file():
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith("javascript"):
                kind += "; charset=utf-8"
            out["/" + path.relative_to(root).as_posix()] = (path.read_bytes(), kind)
    return out


def _static_root() -> Path:
    import streamlit

    return Path(streamlit.__file__).parent / "static"


def _sources(files: Mapping[str, tuple[bytes, str]]) -> dict[str, str]:
    """The front end's script files (:func:`static_files`) by file name, as text."""
    prefix = "/static/js/"
    return {
        path.removeprefix(prefix): body.decode("utf-8")
        for path, (body, _) in files.items()
        if path.startswith(prefix) and path.endswith(".js") and "/" not in path[len(prefix) :]
    }


def patch_streamlit() -> None:
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app, starlette_server

    fixed_bind = without_delayed_acks(starlette_server._bind_socket)
    starlette_server._bind_socket = fixed_bind  # type: ignore[assignment]
    files = static_files(_static_root())  # read once: served, and scanned for the preloads
    tags = preload_tags(scripts_of(WIDGETS, _sources(files)))
    own = starlette_app.create_streamlit_middleware

    def middleware() -> list[Middleware]:
        # innermost: it sees the page's HTML before Streamlit's gzip does
        return [
            *own(),
            Middleware(PreloadScripts, tags=tags),
            Middleware(StaticFromMemory, files=files),
        ]

    starlette_app.create_streamlit_middleware = middleware


# Streamlit settings a served dashboard starts with, unless the environment sets them:
SETTINGS = {
    # it does not reload its source: without the watcher, Streamlit does not walk every
    # imported module's path after each run of a page (half its work per page load)
    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
    # nor run a full garbage collection after every run of a page (~60 ms with the GIL held
    # before the run is reported done); Python's own collector still runs
    "STREAMLIT_RUNNER_POST_SCRIPT_GC": "false",
}


def command(script: Path, *, port: int, host: str | None = None) -> list[str]:
    """The command that serves the Streamlit ``script`` through this module on ``port`` (and
    ``host``, else Streamlit's default), headless, without usage statistics."""
    argv = [sys.executable, "-m", "dashboard.serve", "run", str(script), "--server.headless"]
    argv += ["true", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    return argv if host is None else [*argv, "--server.address", host]


def with_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with :data:`SETTINGS` added where it does not set them itself."""
    return {**SETTINGS, **environ}


def main() -> None:
    os.environ.update(with_settings(os.environ))
    patch_streamlit()
    from streamlit.web.cli import main as streamlit_main

    sys.argv[0] = "streamlit"
    streamlit_main()


if __name__ == "__main__":
    main()
