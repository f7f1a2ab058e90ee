"""``ragtune audit verify|repair|export``: the hash-chained audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from ragtune.app.catalog import Catalog
from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import GateFailed, InputError

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _audit_log(params: Path | None, log: Path | None):  # noqa: ANN202 - AuditLog
    """``--log`` (another log of the project, e.g. the promotion log), else the
    project's audit log; keyed and anchored as params.yaml says.

    A ``--log`` that names no file is a typo, not an empty chain: checking it
    would report "0 records, chain intact" about nothing.
    """
    catalog = Catalog.from_settings(load(params))
    if log is not None and catalog.audit_backend == "file" and not log.is_file():
        raise InputError(f"--log {log}: no such audit log file")
    return catalog.audit(log)


def _chain(path: Path, result) -> dict:  # noqa: ANN001 - VerifyResult
    """The chain check as the JSON fields verify and repair share."""
    return {
        "path": str(path),
        "ok": result.ok,
        "records": result.records,
        "bad_line": result.bad_line,
        "reason": result.reason,
        "unkeyed_records": result.unkeyed,
        "anchored_records": result.anchored,
    }


def _summary(result) -> str:  # noqa: ANN001 - VerifyResult
    """What an intact log's check covered, in words."""
    parts = [f"{result.records} records, chain intact"]
    if result.unkeyed:
        parts.append(f"{result.unkeyed} written before the log was keyed")
    if result.anchored is not None:
        parts.append(f"head matches its anchor ({result.anchored} records)")
    return "; ".join(parts)


def _refuse_broken(path: Path, result) -> None:  # noqa: ANN001 - VerifyResult
    if not result.ok:
        where = "" if result.bad_line is None else f" line {result.bad_line}:"
        raise GateFailed(f"{path}:{where} {result.reason}")


@audit_app.command("verify")
def verify(
    params: Path | None = PARAMS_OPTION,
    log: Path | None = typer.Option(None, "--log", help="Audit log file to check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Detect an edited, removed, reordered or inserted record, a cut tail, an
    emptied or deleted log and a rewrite without the key (exit 1, naming where)."""
    audit = _audit_log(params, log)
    result = audit.verify()
    if as_json:
        emit_json(_chain(audit.path, result))
    elif result.ok:
        console.print(f"{audit.path}: {_summary(result)}")
    _refuse_broken(audit.path, result)


@audit_app.command("anchor")
def anchor(
    params: Path | None = PARAMS_OPTION,
    log: Path | None = typer.Option(None, "--log", help="Audit log file to anchor."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the head of a log that verifies in its anchor: once, for a log
    written before anchoring or after the anchor folder moved (exit 1, writing
    nothing, when the chain is broken)."""
    audit = _audit_log(params, log)
    if audit.anchor is None:
        raise InputError("project.audit_anchor_dir is null: anchors are switched off")
    result = audit.reanchor()
    if as_json:
        emit_json({**_chain(audit.path, result), "anchor": str(audit.anchor)})
    elif result.ok:
        console.print(
            f"{audit.path}: {result.records} records anchored in {audit.anchor}"
        )
    _refuse_broken(audit.path, result)


@audit_app.command("repair")
def repair(
    params: Path | None = PARAMS_OPTION,
    log: Path | None = typer.Option(None, "--log", help="Audit log file to repair."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Move torn lines (writes cut short by a crash) to ``<log>.torn``, then verify.

    Exit 1 when the chain is still broken afterwards: that is an edit or a
    removal, which repair never hides.
    """
    audit = _audit_log(params, log)
    moved = audit.repair()
    result = audit.verify()
    if as_json:
        emit_json({**_chain(audit.path, result), "moved_lines": moved})
    else:
        where = (
            f"line(s) {', '.join(map(str, moved))} moved to {audit.path}.torn; "
            if moved
            else "no torn line; "
        )
        console.print(f"{audit.path}: {where}{result.records} records")
    _refuse_broken(audit.path, result)


@audit_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    action: str | None = typer.Option(None, help="Only actions starting with this."),
    since: str | None = typer.Option(None, help="ISO date or time, inclusive."),
    until: str | None = typer.Option(None, help="ISO date or time, inclusive."),
    params: Path | None = PARAMS_OPTION,
) -> None:
    """Write the audit log as CSV for auditors; refuses a log whose chain is broken."""
    import csv

    from ragtune.audit import export_rows

    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    start, end = _when(since, "--since"), _when(until, "--until")
    settings = load(params)
    log = Catalog.from_settings(settings).audit()
    result = log.verify()
    _refuse_broken(log.path, result)
    rows = export_rows(log.records(), action, start, end)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["ts", "action", "actor", "details", "hash"]
        )
        writer.writeheader()
        writer.writerows(rows)
    console.print(f"{len(rows)} of {result.records} records written to {out}")


def _when(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date or time", param_hint=f"'{flag}'"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
