"""``ragtune audit verify``: check the hash chain of the audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from ragtune.cli.app import PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import GateFailed

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    params: Path | None = PARAMS_OPTION,
    log: Path | None = typer.Option(None, "--log", help="Audit log file to check."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Detect any edited, removed or reordered record (exit 1 when the chain breaks)."""
    from ragtune.audit import AuditLog

    if log is None:
        settings = load(params)
        log = settings.path(settings.project.audit_log)
    path = log
    result = AuditLog(path).verify()
    if as_json:
        emit_json(
            {
                "path": str(path),
                "ok": result.ok,
                "records": result.records,
                "bad_line": result.bad_line,
                "reason": result.reason,
            }
        )
    elif result.ok:
        console.print(f"{path}: {result.records} records, chain intact")
    if not result.ok:
        raise GateFailed(f"{path}: line {result.bad_line}: {result.reason}")
