"""``ragtune serve``: the OpenAI-compatible endpoint, run by uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import typer

from ragtune.app.catalog import Catalog
from ragtune.cli.app import PARAMS_OPTION, app, err_console, load
from ragtune.errors import ConfigError
from ragtune.tasks.serving.config import ServingConfig

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
) -> None:
    """OpenAI-compatible chat endpoint over the live index and champion model, with
    output filtering and audit."""
    import uvicorn

    from ragtune.app.serving import create_app
    from ragtune.flows._wiring import prefect_secret

    settings = load(params)
    check_exposure(host or settings.serving.host, settings.serving)  # before loading
    _configure_logging(log_level)
    resolver = prefect_secret if settings.generation.secret_block else None
    server_app = create_app(settings, secret_resolver=resolver)
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


def check_exposure(host: str, cfg: ServingConfig) -> None:
    """Refuse to serve beyond loopback without keys unless told to.

    Raises:
        ConfigError: ``host`` is not a loopback address, no API keys are
            configured and ``serving.allow_open_network`` is off.
    """
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if loopback or cfg.api_keys_env or cfg.allow_open_network:
        return
    raise ConfigError(
        f"refusing to serve on {host} without API keys: anyone who can reach it "
        "could query the knowledge base and reload the model. Set "
        "serving.api_keys_env to a variable holding keys, bind 127.0.0.1, or set "
        "serving.allow_open_network: true"
    )


def _configure_logging(level: str) -> None:
    """ragtune's own records (model and index switches, rejections, failures) at
    ``level``; other libraries only from WARNING (httpx logs every request)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("ragtune").setLevel(level.upper())
