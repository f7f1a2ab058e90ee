"""``ragtune server up``: a local Prefect server and process worker, no Docker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer

from ragtune.cli.app import PARAMS_OPTION, app, console, load
from ragtune.errors import ConfigError

server_app = typer.Typer(help="A local Prefect server and worker for ragtune.")
app.add_typer(server_app, name="server")


def _prefect() -> str:
    return str(Path(sys.executable).with_name("prefect"))


def wait_healthy(api: str, proc: subprocess.Popen, timeout: float) -> None:
    """Until ``api/health`` answers 200; ConfigError if the server dies or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"prefect server exited with code {proc.returncode}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise ConfigError(f"prefect server at {api} not healthy after {timeout:g}s")


@server_app.command("up")
def up(
    port: int = typer.Option(4200, help="Port of the API and the UI."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    params: Path | None = PARAMS_OPTION,
    worker: bool = typer.Option(True, help="Also start a process worker."),
) -> None:
    """Start ``prefect server start`` and a worker; stop both with Ctrl-C.

    ``PREFECT_UI_API_URL`` is set so the UI talks to this API on any port, and
    ``PREFECT_UI_URL`` so failure notifications link to the run.
    """
    settings = load(params)
    api = f"http://{host}:{port}/api"
    env = os.environ | {
        "PREFECT_UI_API_URL": api,
        "PREFECT_API_URL": api,
        "PREFECT_UI_URL": api.removesuffix("/api"),
    }
    cmd = [_prefect(), "server", "start", "--host", host, "--port", str(port)]
    procs = [subprocess.Popen(cmd, env=env)]
    try:
        wait_healthy(api, procs[0], timeout=180)
        if worker:
            pool = settings.operations.process_pool
            procs.append(
                subprocess.Popen(
                    [
                        _prefect(),
                        "worker",
                        "start",
                        "--pool",
                        pool,
                        "--type",
                        "process",
                    ],
                    env=env,
                    cwd=settings.root,
                )
            )
        console.print(f"Prefect UI: http://{host}:{port}  (API {api})")
        console.print(f"export PREFECT_API_URL={api}; then `ragtune deploy`")
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
