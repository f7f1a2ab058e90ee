"""``ragtune serve``: the OpenAI-compatible endpoint, run by uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import typer

from ragtune.app.catalog import Catalog
from ragtune.cli.app import PARAMS_OPTION, app, err_console, load
from ragtune.errors import ConfigError

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
GRACEFUL_STOP_S = 10


@app.command()
def serve(
    params: Path | None = PARAMS_OPTION,
    host: str | None = typer.Option(
        None, "--host", help="Interface to bind (default: serving.host)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port (default: serving.port)."
    ),
    log_level: LogLevel = typer.Option(
        "info", "--log-level", help="Log level of the server and of ragtune."
    ),
    insecure_local: bool = typer.Option(
        False,
        "--insecure-local",
        help="Serve without API keys (admin endpoints open too); loopback only.",
    ),
) -> None:
    """OpenAI-compatible chat endpoint over the live index and champion model, with
    output filtering and audit."""
    import uvicorn

    from ragtune.app.serving import create_app
    from ragtune.flows._wiring import prefect_secret

    settings = load(params)
    check_exposure(host or settings.serving.host, insecure_local)  # before loading
    _configure_logging(log_level)
    resolver = prefect_secret if settings.generation.secret_block else None
    server_app = create_app(
        settings, secret_resolver=resolver, insecure_local=insecure_local
    )
    bind_host = host or settings.serving.host
    bind_port = port or settings.serving.port
    err_console.print(
        f"ragtune serve on http://{bind_host}:{bind_port}/v1 "
        f"(index {Catalog.from_settings(settings).index.uri}, "
        f"audit {settings.path(settings.project.audit_log)})",
        highlight=False,
    )
    # SIGTERM (a deploy, a container stop) waits this long for answers being
    # generated, then closes their connections: a stop never hangs on a long one
    uvicorn.run(
        server_app,
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )


def check_exposure(host: str, insecure_local: bool) -> None:
    """``--insecure-local`` serves without keys, so only on loopback.

    Raises:
        ConfigError: ``--insecure-local`` with a host other than loopback.
    """
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if insecure_local and not loopback:
        raise ConfigError(
            f"--insecure-local serves without API keys, so only on loopback, not "
            f"on {host}: bind 127.0.0.1, or drop --insecure-local and set the keys "
            "(serving.api_keys_env)"
        )


def _configure_logging(level: str) -> None:
    """ragtune's own records (model and index switches, rejections, failures) at
    ``level``; other libraries only from WARNING (httpx logs every request)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("ragtune").setLevel(level.upper())
