"""One real ``prefect server`` process per test session, started on first use.

CLI tests run the console script in subprocesses; without an API each of those
starts its own ephemeral Prefect server (about 13 s on 2 cores) before running a
flow. Pointing them at one shared server costs that once. The end-to-end tests
use the same server, on ``RAGTUNE_E2E_PREFECT_DB`` when set (``.ci/run``'s
Postgres), so the suite starts exactly one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from ragtune.cli.server_cmds import wait_healthy
from ragtune.errors import ConfigError

_API: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_api() -> str:
    """The session's server API URL, starting the server the first time."""
    global _API
    if _API is None:
        home = Path(tempfile.mkdtemp(prefix="ragtune-prefect-server-"))
        _API, proc = start_server(home)
        atexit.register(_stop, proc, home)
    return _API


def start_server(home: Path) -> tuple[str, subprocess.Popen]:
    """``prefect server start`` on a free loopback port; its API URL and process.

    Its database is ``RAGTUNE_E2E_PREFECT_DB`` when set (a SQLAlchemy URL),
    SQLite in ``home`` otherwise.
    """
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": api,
        "PREFECT_UI_URL": api.removesuffix("/api"),  # links in notifications
    }
    env.pop("PREFECT_API_URL", None)
    database = os.environ.get("RAGTUNE_E2E_PREFECT_DB")
    if database:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = worker_database(database)
    exe = Path(sys.executable).with_name("prefect")
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(api, proc, timeout=180)
    except ConfigError as exc:
        _stop(proc)
        tail = (home / "server.log").read_text()[-2000:]
        raise RuntimeError(f"{exc}: {tail}") from exc
    return api, proc


def worker_database(url: str) -> str:
    """``url`` with the database ``<name>_<worker>`` under pytest-xdist.

    Each xdist worker starts its own server, and two servers must not migrate and
    schedule on one database. ``scripts/ci-services.sh`` creates ``_gw0`` and
    ``_gw1`` beside the plain name.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, sep, query = url.partition("?")  # .../<name>?host=...
    return f"{base}_{worker}{sep}{query}"


def _stop(proc: subprocess.Popen, home: Path | None = None) -> None:
    """Stop the server; with ``home``, remove its database and log too."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)
