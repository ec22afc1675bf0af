"""``dashboard/serve.py``: Streamlit's socket without delayed ACKs, the widgets' scripts named in
the page, and the source watcher off."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

from streamlit.web.server.starlette import starlette_server

from dashboard.serve import (
    WIDGETS,
    PreloadScripts,
    StaticFromMemory,
    _sources,
    _static_root,
    preload_tags,
    scripts_of,
    static_files,
    with_settings,
    without_delayed_acks,
)


def test_accepted_connections_send_at_once() -> None:
    """Streamlit's own bind leaves TCP_NODELAY off on accepted connections (the old behaviour,
    a ~40 ms stall per kept-alive response); the fixed bind turns it on, and asyncio sees the
    protocol it needs."""
    for bind, nodelay in (
        (starlette_server._bind_socket, 0),
        (without_delayed_acks(starlette_server._bind_socket), 1),
    ):
        listener = bind("127.0.0.1", 0, 8)
        try:
            listener.setblocking(True)
            client = socket.create_connection(listener.getsockname())
            accepted, _ = listener.accept()
            with client, accepted:
                assert bool(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)) == bool(
                    nodelay
                )
                if nodelay:
                    assert accepted.proto == socket.IPPROTO_TCP
        finally:
            listener.close()


def test_the_widgets_scripts_are_the_closure_of_their_imports() -> None:
    sources = {
        "Selectbox.AAA.js": 'import{a}from"./useMenu.BBB.js";import"./styles.CCC.js";',
        "useMenu.BBB.js": 'import{b}from"./shared.DDD.js";',
        "shared.DDD.js": "export const b=1;",
        "styles.CCC.js": "",
        "Unused.EEE.js": 'import{b}from"./shared.DDD.js";',
        "DataFrame.FFF.js": 'import{x}from"./gone.GGG.js";',  # a file not shipped: skipped
    }
    assert scripts_of(["Selectbox", "DataFrame", "Renamed"], sources) == [
        "DataFrame.FFF.js",
        "Selectbox.AAA.js",
        "shared.DDD.js",
        "styles.CCC.js",
        "useMenu.BBB.js",
    ]


def test_every_widget_the_dashboard_draws_with_ships_in_this_streamlit() -> None:
    """A Streamlit upgrade that renames a widget's script fails here, not silently."""
    sources = _sources(static_files(_static_root()))
    stems = {name.split(".", 1)[0] for name in sources}
    assert set(WIDGETS) <= stems
    scripts = scripts_of(WIDGETS, sources)
    assert len(scripts) > len(WIDGETS)  # their imports come along
    assert all(name in sources for name in scripts)


def _run(app: Any, path: str, method: str = "GET") -> tuple[dict[str, Any], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "http", "path": path, "method": method}, receive, send))
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:])


def _app(content_type: bytes, chunks: list[bytes], encoding: bytes | None = None) -> Any:
    async def app(_scope: dict[str, Any], _receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type), (b"content-length", b"999")]
        if encoding:
            headers.append((b"content-encoding", encoding))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )

    return app


def test_the_page_names_the_scripts_before_its_head_ends() -> None:
    tags = preload_tags(["A.1.js", "B.2.js"])
    app = PreloadScripts(
        _app(b"text/html; charset=utf-8", [b"<html><head><ti", b"tle/></head>x"]), tags
    )
    start, body = _run(app, "/counters")
    assert body == (
        b'<html><head><title/><link rel="modulepreload" href="./static/js/A.1.js" />'
        b'<link rel="modulepreload" href="./static/js/B.2.js" /></head>x'
    )
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()


def test_scripts_and_compressed_pages_pass_untouched() -> None:
    tags = preload_tags(["A.1.js"])
    for content_type, encoding in ((b"text/javascript", None), (b"text/html", b"gzip")):
        app = PreloadScripts(_app(content_type, [b"</head>", b"rest"], encoding), tags)
        start, body = _run(app, "/static/js/x.js")
        assert body == b"</head>rest"
        assert dict(start["headers"])[b"content-length"] == b"999"


def test_the_served_dashboard_answers_kept_alive_requests_and_names_the_scripts(
    tmp_path: Path,
) -> None:
    """``python -m dashboard.serve`` as ``storeflow dashboard`` runs it: several requests on one
    kept-alive connection all answered, the page with its preload links."""
    import httpx

    from tests.helpers.browser import streamlit_app

    with streamlit_app(api_url="http://127.0.0.1:9", token="t", log=tmp_path / "d.log") as url:
        with httpx.Client() as client:
            pages = [client.get(f"{url}/counters") for _ in range(3)]
            config = client.get(f"{url}/_stcore/host-config")
        assert all(p.status_code == 200 for p in pages)
        assert config.status_code == 200
        assert pages[0].text.count('rel="modulepreload" href="./static/js/ArrowVegaLiteChart.') == 1
    log = (tmp_path / "d.log").read_text()
    assert "Traceback" not in log


def test_the_front_ends_files_are_served_from_memory_and_other_paths_pass_on() -> None:
    files = static_files(_static_root())
    some_script = next(p for p in files if p.startswith("/static/js/") and p.endswith(".js"))
    assert files[some_script][1] == "text/javascript; charset=utf-8"
    assert "/index.html" not in files  # the page itself stays Streamlit's (and gets its links)
    app = StaticFromMemory(_app(b"text/html", [b"from Streamlit"]), files)
    start, body = _run(app, some_script)
    headers = dict(start["headers"])
    assert (start["status"], body) == (200, files[some_script][0])
    assert headers[b"content-length"] == str(len(body)).encode()
    assert b"immutable" in headers[b"cache-control"]
    start, body = _run(app, some_script, method="HEAD")
    assert (
        body == b""
        and dict(start["headers"])[b"content-length"] == str(len(files[some_script][0])).encode()
    )
    for passed_on in ("/counters", "/static/js/no-such-file.js", "/_stcore/health"):
        assert _run(app, passed_on)[1] == b"from Streamlit"
    assert _run(app, some_script, method="POST")[1] == b"from Streamlit"


def test_the_watcher_and_the_forced_collection_are_off_unless_the_environment_says_otherwise() -> (
    None
):
    assert with_settings({"PATH": "/bin"}) == {
        "PATH": "/bin",
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "STREAMLIT_RUNNER_POST_SCRIPT_GC": "false",
    }
    mine = with_settings({"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "poll"})
    assert mine["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] == "poll"
