"""The typer app, shared options and output helpers for every command group.

Exit codes: 0 ok, 1 a gate or check said no, 2 bad input or configuration, 3 busy
(another run holds a lock).
``--json`` prints exactly one JSON object on stdout and nothing else there.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer import rich_utils

from ragtune.app.settings import Settings, load_settings
from ragtune.cli.temporary_server import tie_to_this_process
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
    tie_to_this_process()  # Prefect's temporary server dies with the CLI
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
    line; the traceback stays for everything else, and for all with ``--debug``
    (or ``RAGTUNE_DEBUG=1``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RagtuneError) and not _DEBUG["on"]:
            record.exc_info, record.exc_text = None, None
        return True


# --debug (or RAGTUNE_DEBUG=1) for this invocation: tracebacks for every error
_DEBUG = {"on": False}


def _quiet_expected_errors() -> None:
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        # once per logger: main() runs many times in one process under tests
        if not any(
            isinstance(f, _ExpectedErrorsWithoutTraceback) for f in logger.filters
        ):
            logger.addFilter(_ExpectedErrorsWithoutTraceback())


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: map ragtune errors to exit codes and messages.

    ``argv`` (default ``sys.argv[1:]``) lets tests run the whole entry point in
    process. Usage errors (an unknown flag, a value a flag refuses: typer's
    vendored click raises them) are caught here too, shown as typer shows them,
    so that under ``--json`` they also print the one JSON object on stdout.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    _runtime_defaults()
    _quiet_expected_errors()
    _EMITTED.clear()
    _DEBUG["on"] = bool(os.environ.get("RAGTUNE_DEBUG"))
    try:
        code = app(args=args, prog_name="ragtune", standalone_mode=False)
    except RagtuneError as exc:
        if _DEBUG["on"]:
            err_console.print_exception()
        _fail(f"[bold red]error:[/] {exc}", str(exc), exc.exit_code, args)
    except typer.TyperException as exc:  # bad flags or values: nothing ran yet
        rich_utils.rich_format_error(exc)
        _fail(None, exc.format_message(), exc.exit_code, args)
    except typer.Abort:
        rich_utils.rich_abort_error()
        sys.exit(1)
    if isinstance(code, int) and code:  # typer.Exit(n), --help and friends
        sys.exit(code)


def _fail(shown: str | None, message: str, code: int, args: list[str]) -> NoReturn:
    """Print ``shown`` on stderr (one logical line: never wrapped at the console
    width, so logs and greps see it whole), the error as JSON on stdout under
    ``--json`` when the command wrote nothing there, then exit ``code``."""
    if shown is not None:
        err_console.print(shown, highlight=False, soft_wrap=True)
    if "--json" in args and not _EMITTED:  # scripts read stdout: one JSON object
        emit_json({"error": message, "exit_code": code})
    sys.exit(code)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the traceback of every error, ragtune's own included "
        "(also RAGTUNE_DEBUG=1).",
    ),
) -> None:
    """ragtune: RAG or fine-tune, decided by evidence and run as Prefect flows."""
    if debug:
        _DEBUG["on"] = True
