"""nginx in front of several ``storeflow server`` processes: the configuration and a private run.

The configuration is the production one of ``deploy/nginx.conf`` with local ports: requests go
round-robin to the servers; a server that refuses or drops a connection is taken out for a few
seconds and the request is passed to the next one, POSTs included (ingest, purchases, returns
and redemptions are idempotent, so a request that reached a server which died before answering
can safely be repeated on another). Bodies are buffered in memory, so a private run needs no
writable system directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from storeflow.net import free_port

NGINX = "/usr/sbin/nginx"


def find_nginx() -> str | None:
    """The nginx binary (Debian's ``nginx`` package), or None when it is not installed."""
    return shutil.which("nginx") or (NGINX if Path(NGINX).exists() else None)


def nginx_config(*, listen_port: int, backends: Sequence[int], workdir: Path) -> str:
    """An nginx.conf balancing ``127.0.0.1:listen_port`` over the servers on ``backends``."""
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in backends
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    d = workdir
    return f"""{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format upstreams '$request_method|$uri|$status|$upstream_addr|$upstream_status';
    access_log {d}/access.log upstreams;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream storeflow_api {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        client_max_body_size 16m;
        client_body_buffer_size 16m;
        location / {{
            proxy_pass http://storeflow_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_buffering off;
        }}
    }}
}}
"""


def upstream_counts(access_log: Path) -> dict[str, int]:
    """Requests per server that answered them, and ``passed_on``: requests nginx passed to the
    next server because the first refused or dropped the connection (from the access log)."""
    counts: dict[str, int] = {"passed_on": 0}
    if not access_log.exists():
        return counts
    for line in access_log.read_text().splitlines():
        parts = line.split("|")
        if len(parts) < 5:
            continue
        tried = [a.strip() for a in parts[3].split(",")]
        if len(tried) > 1:
            counts["passed_on"] += 1
        counts[tried[-1]] = counts.get(tried[-1], 0) + 1
    return counts


@contextmanager
def nginx_balancer(
    backends: Sequence[int], *, workdir: Path, binary: str | None = None
) -> Iterator[str]:
    """Run a private nginx over ``backends`` until the block ends; yields its base URL."""
    nginx = binary or find_nginx()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (apt-get install -y nginx)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_config(listen_port=port, backends=backends, workdir=workdir))
    log = (workdir / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"nginx exited with code {proc.returncode}: "
                    + (workdir / "stderr.log").read_text(errors="replace")[-2000:]
                    + (workdir / "error.log").read_text(errors="replace")[-2000:]
                )
            try:
                httpx.get(f"{url}/api/v1/health", timeout=2.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
