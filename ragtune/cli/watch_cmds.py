"""``ragtune watch``: the regulatory source watcher, once or in a loop."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ragtune.cli.app import PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import ConfigError, InputError


@app.command()
def watch(
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object (needs --once)."
    ),
) -> None:
    """Watch regulatory sources; on a change, update the KB and emit events.

    Without --once, a pass runs every watch.interval_s seconds until Ctrl-C.
    """
    settings = load(params)  # fail fast, with exit 2, before Prefect starts
    if not settings.watch.sources:
        raise ConfigError(
            "watch.sources in params.yaml is empty: nothing to watch (add a folder, "
            "git or http source)"
        )
    if as_json and not once:
        raise InputError("--json needs --once: a watch loop has no single result")
    from ragtune.flows.regulatory_watch import regulatory_watch

    path = str(params) if params else None
    if once:
        summary = _one_pass(regulatory_watch, path, quiet=as_json)
        if as_json:
            emit_json(summary)
        return
    interval = settings.watch.interval_s
    console.print(
        f"watching {len(settings.watch.sources)} source(s) every {interval:g} s; "
        "Ctrl-C stops"
    )
    try:
        while True:
            _one_pass(regulatory_watch, path, quiet=False)
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")


def _one_pass(flow, params_path: str | None, quiet: bool) -> dict:  # noqa: ANN001
    with console.status("checking watched sources", spinner="dots"):
        summary = flow(params_path=params_path)
    if not quiet:
        _print(summary)
    return summary


def _print(summary: dict) -> None:
    stamp = summary["checked_at"][:19]
    if not summary["changed"]:
        console.print(f"{stamp} no change in {len(summary['unchanged'])} source(s)")
    for change in summary["changed"]:
        flag = (
            "[bold red]significant[/]"
            if change["source"] in summary["significant"]
            else "minor"
        )
        console.print(
            f"{stamp} {change['source']}: {flag} change, score {change['score']:.2f}; "
            f"documents {', '.join(change['doc_ids'])}"
            + (
                f"; effective {change['effective_date']}"
                if change["effective_date"]
                else ""
            )
        )
        for item in change["files"]:
            diff = item["diff"]
            console.print(
                f"  {item['status']} {item['kb_rel']}: +{diff['lines_added']} "
                f"-{diff['lines_removed']} lines, sections: "
                f"{'; '.join(diff['sections_touched']) or '-'}",
                highlight=False,
            )
    for error in summary["errors"]:
        console.print(f"  [yellow]{error['source']} not read:[/] {error['message']}")
    if summary["data_hash"]:
        console.print(
            f"  knowledge base {summary['data_hash']} ({summary['tracked_by']})"
        )
