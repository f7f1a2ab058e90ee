"""``ragtune refresh``, ``query`` and ``index tags|rollback``: the RAG index."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from ragtune.app.catalog import Catalog
from ragtune.cli.app import JSON_OPTION, PARAMS_OPTION, app, console, emit_json, load
from ragtune.errors import InputError

index_app = typer.Typer(help="Published index versions.", no_args_is_help=True)
app.add_typer(index_app, name="index")


@app.command()
def refresh(
    params: Path | None = PARAMS_OPTION,
    kb: Path | None = typer.Option(None, "--kb", help="Knowledge-base folder."),
    rev: str | None = typer.Option(None, "--rev", help="Git revision of the data."),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Full rebuild (new embedder)."
    ),
    classes: list[str] = typer.Option(
        None, "--class", help="Refresh only documents of this freshness class."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the knowledge-refresh flow: validate, classify, index, check, publish."""
    from ragtune.app.index import check_refresh_request
    from ragtune.flows.knowledge_refresh import knowledge_refresh

    settings = load(params)  # fail fast, with exit 2, before Prefect starts
    check_refresh_request(settings, kb, classes or None, rebuild, rev)
    with console.status("running the knowledge-refresh flow", spinner="dots"):
        summary = knowledge_refresh(
            params_path=str(params) if params else None,
            kb=str(kb) if kb else None,
            rev=rev,
            rebuild=rebuild,
            classes=classes or None,
        )
    if as_json:
        emit_json(summary)
        return
    print_refresh(summary)


def print_refresh(summary: dict) -> None:
    """Human summary of a refresh run."""
    state = (
        f"published [bold]{summary['tag']}[/] (version {summary['index_version']})"
        if summary["published"]
        else f"no change to publish; live version {summary['index_version']}"
    )
    console.print(f"index: {state}")
    console.print(
        f"documents: +{summary['added']} ~{summary['changed']} -{summary['removed']} "
        f"={summary['unchanged']}; quarantined {summary['quarantined']}; "
        f"chunks embedded {summary['chunks_embedded']} of {summary['chunks_total']}"
    )
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in summary["metrics"].items())
    unmeasured = "not evaluated (the eval set judges none of these documents)"
    console.print(f"retrieval: {metrics or unmeasured}")
    if summary.get("evaluation", "").startswith("not repeated"):
        console.print(f"[dim]evaluation {summary['evaluation']}[/]")
    if summary["stale"]:
        console.print(
            f"stale: {len(summary['stale'])} of {summary['documents']} documents; "
            "each with its rule and next step in `ragtune classify` and the "
            "freshness-report artifact"
        )
    for item in summary["quarantined_files"]:
        console.print(
            f"  [yellow]quarantined[/] {item['source_path']}: "
            + "; ".join(item["reasons"])
        )


@app.command()
def query(
    text: str = typer.Argument(..., help="What to search for."),
    k: int = typer.Option(5, "--k", min=1, help="Number of chunks to return."),
    classes: list[str] = typer.Option(None, "--class", help="Only these classes."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        "--in-force-on",
        help="Answer with what was in force on this day (YYYY-MM-DD); default today.",
    ),
    all_dates: bool = typer.Option(
        False, "--all-dates", help="Search every version, in force or not."
    ),
    include_superseded: bool = typer.Option(
        False,
        "--include-superseded",
        help="Also show text that had stopped applying, marked with the day it "
        "stopped and what replaced it.",
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Hybrid (vector + full-text) search on the live index, as of today unless
    told otherwise: superseded text is never shown as current."""
    if all_dates and as_of is not None:
        raise typer.BadParameter("--all-dates and --as-of exclude each other")
    day = None if all_dates else (_day(as_of) or date.today())
    settings = load(params)
    settings.freshness.check_classes(classes)  # a typo is named before any search
    hits = run_query(settings, text, k, classes or None, day, include_superseded)
    if as_json:
        payload = {"query": text, "as_of": day.isoformat() if day else None}
        emit_json(payload | {"hits": [_hit_json(h, day) for h in hits]})
        return
    console.print(f"[dim]as of {day.isoformat() if day else 'any date'}[/]")
    for rank, hit in enumerate(hits, start=1):
        console.print(
            f"[bold]{rank}. {hit.title}[/] [dim]({hit.doc_id}, {hit.category}, "
            f"{hit.source_path})[/]{validity_note(hit, day)}\n   {hit.snippet}"
        )


def run_query(  # noqa: ANN201
    settings,  # noqa: ANN001
    text: str,
    k: int,
    classes,  # noqa: ANN001
    day: date | None,
    include_superseded: bool = False,
):
    """Search the live index; InputError when nothing has been published yet."""
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.index.search import hybrid_search

    table = Catalog.from_settings(settings).index.open_live()
    if table is None:
        raise InputError("no live index yet: run `ragtune refresh` (or `ragtune demo`)")
    embedder = build_embedder(settings.embedding)
    return hybrid_search(
        table,
        embedder,
        text,
        k=k,
        classes=classes,
        in_force_on=day,
        known_classes=settings.freshness.classes,
        cfg=settings.index,
        include_superseded=include_superseded,
    )


def validity_note(hit, day: date | None) -> str:  # noqa: ANN001 - SearchHit
    """`` [superseded ...]`` / `` [amended ...]`` for a hit, "" when in force as is."""
    notes = []
    if hit.valid_until is not None and (day is None or hit.valid_until < day):
        replaced = f", replaced by {hit.superseded_by}" if hit.superseded_by else ""
        notes.append(f"no longer applies after {hit.valid_until.isoformat()}{replaced}")
    from ragtune.tasks.index.validity import Amendment

    for amendment in map(Amendment.parse, hit.amended_by):
        what = f"clause {amendment.clause} " if amendment.clause else ""
        when = f" from {amendment.effective}" if amendment.effective else ""
        notes.append(f"{what}amended by {amendment.by}{when}")
    return f" [yellow][{'; '.join(notes)}][/]" if notes else ""


def _hit_json(hit, day: date | None) -> dict:  # noqa: ANN001 - SearchHit
    from dataclasses import asdict

    shown = asdict(hit)
    shown["in_force"] = None if day is None else hit.in_force_on(day)
    return shown


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date (YYYY-MM-DD)", param_hint="'--as-of'"
        ) from None


@index_app.command("tags")
def index_tags(
    params: Path | None = PARAMS_OPTION, as_json: bool = JSON_OPTION
) -> None:
    """Published index versions with their data hash and metrics."""

    settings = load(params)
    tags = Catalog.from_settings(settings).index.tags()
    if as_json:
        emit_json({"tags": [t.to_json() for t in tags]})
        return
    table = Table("tag", "version", "created", "data hash", "recall@k", "live")
    for t in tags:
        recall = t.metrics.get("retrieval", {}).get("recall_at_k")
        table.add_row(
            t.tag,
            str(t.version),
            t.created_at.isoformat(timespec="seconds"),
            t.data_hash[:16],
            "" if recall is None else f"{recall:.3f}",
            "*" if t.live else "",
        )
    console.print(table)


@index_app.command("rollback")
def index_rollback(
    tag: str = typer.Argument(..., help="A tag from `ragtune index tags`."),
    by: str = typer.Option(
        os.environ.get("USER") or "cli", "--by", help="Who rolls back (for the log)."
    ),
    params: Path | None = PARAMS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Serve a previously published index version again (the index-rollback
    flow: audited, with the ``ragtune.index.rolled-back`` event)."""
    from ragtune.app.index import check_rollback_tag
    from ragtune.flows.rollback import index_rollback as rollback_flow

    # a bad params file or an unknown tag fails here, before Prefect starts
    check_rollback_tag(load(params), tag)
    summary = rollback_flow(tag, actor=by, params_path=str(params) if params else None)
    if as_json:
        emit_json(summary)
        return
    live = summary["live"]
    state = "is now" if summary["changed"] else "already was"
    console.print(f"live index {state} {live['tag']} (version {live['version']})")
