"""The typer app, shared options and output helpers for every command group.

Exit codes: 0 ok, 1 a gate or check said no, 2 bad input or configuration.
``--json`` prints exactly one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ragtune.app.settings import Settings, load_settings
from ragtune.errors import RagtuneError

app = typer.Typer(
    name="ragtune",
    help="Keep a language model's knowledge correct as documents change.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object on stdout.")
PARAMS_OPTION = typer.Option(
    None, "--params", "-p", help="params.yaml to use (default: ./params.yaml)."
)


_EMITTED: list[bool] = []  # set once a command has written its JSON object


def emit_json(payload: dict[str, Any]) -> None:
    """The only way a command writes JSON: one object, one line, stdout."""
    sys.stdout.write(json.dumps(payload, default=str, sort_keys=True) + "\n")
    _EMITTED.append(True)


def load(params: Path | None) -> Settings:
    """Settings from ``--params`` (or RAGTUNE_PARAMS / ./params.yaml)."""
    return load_settings(params)


def _runtime_defaults() -> None:
    # Prefect's temporary server gets 20 s to start by default, which a busy
    # 2-core machine can miss; give it more before the first flow runs.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Lance logs expected events ("no existing dataset, it will be created") as WARN,
    # and bitsandbytes warns at import that an optional kernel package is missing
    # before falling back to its built-in CPU path. Neither is actionable here.
    os.environ.setdefault("LANCE_LOG", "error")
    os.environ.setdefault("LANCEDB_LOG", "error")  # the lancedb wheel's own Lance
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


class _ExpectedErrorsWithoutTraceback(logging.Filter):
    """Prefect logs every exception that ends a flow or task run with its
    traceback. For ragtune's own errors (bad input, a gate, a busy lock) the
    message says all an operator needs and the CLI prints it again as its last
    line; the traceback stays for everything else, and for all with
    ``RAGTUNE_DEBUG=1``."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RagtuneError):
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_expected_errors() -> None:
    if os.environ.get("RAGTUNE_DEBUG"):
        return
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).addFilter(_ExpectedErrorsWithoutTraceback())


def main() -> None:
    """Console-script entry point: map ragtune errors to exit codes and messages."""
    _runtime_defaults()
    _quiet_expected_errors()
    _EMITTED.clear()
    try:
        app()
    except RagtuneError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        # scripts read stdout: one JSON object, the error when nothing else came
        if "--json" in sys.argv[1:] and not _EMITTED:
            emit_json({"error": str(exc), "exit_code": exc.exit_code})
        sys.exit(exc.exit_code)


@app.callback()
def _root() -> None:
    """ragtune: RAG or fine-tune, decided by evidence and run as Prefect flows."""
