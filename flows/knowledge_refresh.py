"""knowledge-refresh: keep the RAG index equal to the knowledge base, safely.

Steps (each a Prefect task; domain code lives in ``ragtune.tasks``):
1. pin data: the knowledge base at a git revision (or the working tree), DVC hash;
2. load: extract text and metadata, unreadable files quarantined;
3. validate: Great Expectations suites; quarantine; stop past the share limit;
4. classify: freshness class, confidence and staleness per document;
5. index: chunk, embed only new text, merge into LanceDB as a candidate version
   (a large refresh first embeds on a Dask cluster: ``embed_fanout.py``);
6. evaluate: row count, self-retrieval and eval-set recall on the candidate;
7. publish: only if every check passed, tag ``live-<timestamp>`` and serve it,
   then clean up untagged versions older than ``index.keep_versions_days``.
A failure anywhere leaves the live index as it was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from ragtune.app.catalog import Catalog, IndexLocation
from ragtune.app.index import (
    AUDITED_AS,
    check_refresh_request,
    open_store,
    unrecorded_move,
)
from ragtune.app.settings import Settings
from ragtune.audit import AuditLog
from ragtune.flows._wiring import (
    digest_of,
    record,
    rename_run,
    retrying,
    run_settings,
    step,
)
from ragtune.flows.embed_fanout import FanoutStats, fan_out_embeddings
from ragtune.gates import GateResult
from ragtune.tasks.embedding.embedder import Embedder, build_embedder
from ragtune.tasks.evaluation.beir import eval_set_digest, load_beir
from ragtune.tasks.evaluation.retrieval import RetrievalMetrics
from ragtune.tasks.freshness import FreshnessReport, classify_documents
from ragtune.tasks.index.checks import standard_checks
from ragtune.tasks.index.corpus import (
    chunk_corpus,
    class_scope,
    indexed_categories,
    plan_refresh,
)
from ragtune.tasks.index.embed_cache import in_filter
from ragtune.tasks.index.publish import (
    PublishedTag,
    cleanup,
    publish,
)
from ragtune.tasks.index.quality import (
    evaluate_table,
    in_force_check,
    recall_floor_check,
)
from ragtune.tasks.index.schema import Chunk
from ragtune.tasks.index.store import IndexStore, RefreshStats
from ragtune.tasks.index.validity import derive_validity
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.reporting.refresh import RefreshSummary, render_markdown
from ragtune.tasks.validation.documents import validate_documents
from ragtune.tasks.validation.eval_set import validate_eval_set
from ragtune.tasks.validation.models import ValidationReport
from ragtune.tasks.validation.quarantine import (
    enforce_quarantine_share,
    write_quarantine_report,
)
from ragtune.tasks.versioning import DataRevision, pin_data

pin_data_task = retrying(pin_data, "pin-data")
load_task = step(load_knowledge_base, "load-documents")
classify_task = step(classify_documents, "classify-freshness")
chunk_task = step(chunk_corpus, "chunk-documents")
plan_task = step(plan_refresh, "plan-refresh")
cleanup_task = retrying(cleanup, "cleanup-index-versions")
validate_eval_task = step(validate_eval_set, "validate-eval-set")


@task(name="validate", cache_policy=NO_CACHE)
def validate_task(
    settings: Settings, revision: DataRevision, today: date
) -> ValidationReport:
    loaded = load_task(revision.kb_path, settings.data)
    report = validate_documents(
        loaded.documents,
        loaded.rejected,
        settings.validation,
        allowed_categories=settings.freshness.classes,
        today=today,
        project_root=settings.root,
    )
    return report


@task(name="update-index", retries=1, cache_policy=NO_CACHE)
def index_task(
    store: IndexStore,
    chunks: list[Chunk],
    hashes: dict[str, str],
    data_hash: str,
    scope: set[str] | None,
) -> RefreshStats:
    return store.refresh(chunks, hashes, data_hash=data_hash, scope=scope)


@task(name="evaluate-candidate", cache_policy=NO_CACHE)
def evaluate_task(
    store: IndexStore,
    embedder: Embedder,
    settings: Settings,
    stats: RefreshStats,
    report: ValidationReport,
    scope: set[str],
) -> tuple[list, RetrievalMetrics, int]:
    table = store.candidate()  # search indexes were brought up to date by refresh
    # rows of documents this refresh did not touch must all still be there
    expected = stats.chunks_total + table.count_rows(
        f"NOT ({in_filter('doc_id', scope)})"
    )
    evalset = load_beir(settings.path(settings.data.eval_path))
    known = {d.doc_id for d in report.documents}
    metrics = evaluate_table(table, embedder, evalset, settings.index, known)
    checks = standard_checks(
        table, embedder, expected, settings.index, settings.project.seed
    )
    checks.append(
        recall_floor_check(metrics, settings.index.recall_floor, table.version)
    )
    in_force = in_force_check(metrics, settings.index.in_force_floor, table.version)
    checks += [in_force] if in_force else []
    return checks, metrics, expected


publish_task = step(publish, "publish")


def _previous_metrics(index: IndexLocation) -> dict[str, float]:
    live = index.live_tag()
    return {} if live is None else dict(live.metrics.get("retrieval", {}))


def _run_name() -> str:
    params = flow_run.parameters
    suffix = "-rebuild" if params.get("rebuild") else ""
    classes = "-".join(params.get("classes") or ["all"])
    return f"refresh-{classes}-{params.get('rev') or 'worktree'}{suffix}"


@flow(name="knowledge-refresh", flow_run_name=_run_name, log_prints=False)
def knowledge_refresh(
    params_path: str | None = None,
    kb: str | None = None,
    rev: str | None = None,
    rebuild: bool = False,
    today: date | None = None,
    classes: list[str] | None = None,
) -> dict[str, Any]:
    """Refresh the live index from the knowledge base; returns the summary JSON.

    ``classes`` limits the refresh to documents of those freshness classes (each
    class has its own schedule); documents of other classes are left as they are.
    """
    settings = run_settings(params_path)
    check_refresh_request(settings, kb, classes, rebuild, rev)
    catalog = Catalog.from_settings(settings)
    with catalog.index_lock():  # two refreshes would wipe each other's candidate
        return _refresh(
            settings, catalog, kb, rev, rebuild, today or date.today(), classes
        )


def _refresh(
    settings: Settings,
    catalog: Catalog,
    kb: str | None,
    rev: str | None,
    rebuild: bool,
    today: date,
    classes: list[str] | None,
) -> dict[str, Any]:
    logger = get_run_logger()
    audit = catalog.audit()
    _record_unrecorded_move(catalog, audit)
    kb_path = Path(kb) if kb else settings.path(settings.data.kb_path)
    workdir = catalog.state_dir / "revisions"
    revision = pin_data_task(kb_path, rev, workdir)
    logger.info(
        "data %s (%s) hash %s", revision.kb_path, rev or "worktree", revision.data_hash
    )
    rename_run(f"refresh-{'-'.join(classes or ['all'])}-{revision.data_hash[:8]}")

    report = validate_task(settings, revision, today)
    _record_validation(audit, report, revision)
    enforce_quarantine_share(report, settings.validation)
    eval_report = validate_eval_task(
        settings.path(settings.data.eval_path), {d.doc_id for d in report.documents}
    )

    embedder = build_embedder(settings.embedding)
    freshness = classify_task(report.documents, settings.freshness, embedder, today)
    store = open_store(settings, embedder, rebuild=rebuild)
    previous = _previous_metrics(catalog.index)
    labels = {c.doc_id: c.label for c in freshness.classifications}
    live = {} if rebuild else store.live_documents()
    scope = _scope(catalog.index, labels, classes)
    validity = derive_validity(report.documents)  # from the whole knowledge base
    plan = plan_task(report.documents, labels, live, scope, validity)
    chunks, hashes = chunk_task(
        plan.documents, labels, settings.chunking, revision.data_hash, validity
    )
    fanned = fan_out_embeddings(store, chunks, settings)  # Dask, if large enough
    stats = index_task(store, chunks, hashes, revision.data_hash, plan.scope)
    eval_set = _measured_on(settings)
    carried = _carried_forward(catalog.index, stats, eval_set)
    if carried is not None:  # nothing to publish, the same questions: same figures
        checks, retrieval = [], previous
        rows = store.candidate().count_rows()
        evaluation = f"not repeated: index and eval set unchanged since {carried}"
    else:
        checks, metrics, rows = evaluate_task(
            store, embedder, settings, stats, report, plan.scope
        )
        retrieval = {  # none when no eval query judges this knowledge base
            k: round(v, 4)
            for k, v in metrics.summary().items()
            if isinstance(v, float) and metrics.n_queries
        }
        evaluation = f"measured on {metrics.n_queries} queries"
    tag = None
    if stats.needs_publish:
        measured = {"retrieval": retrieval, "eval_set": eval_set}
        tag = publish_task(store, checks, measured, revision.data_hash)
        published = {
            "tag": tag.tag, "version": tag.version, "data_hash": revision.data_hash
        }  # fmt: skip
        record(
            audit, "index.published", ("index", catalog.index.table), published,
            audit_only={"metrics": retrieval},
        )  # fmt: skip
        _clean_up(catalog.index, settings.index.keep_versions_days)
    reports = {
        "quarantine": str(write_quarantine_report(report, catalog.reports_dir)),
        "data_docs": report.data_docs_path,
    }
    found = (report, freshness, stats, checks, retrieval, previous, tag, fanned)
    base = _summary(revision, *found)
    summary = replace(
        base,
        unchanged=plan.unchanged,
        chunks_total=rows,
        reports=reports,
        eval_set_problems=list(eval_report.problems),
        evaluation=evaluation,
        warnings=base.warnings
        + [{"source_path": p, "reason": why} for p, why in validity.warnings],
    )
    _publish_artifacts(summary, freshness, settings)
    return summary.to_json()


def _measured_on(settings: Settings) -> str:
    """What the retrieval figures depend on besides the index version: the eval
    set's questions and judgements, and the search and embedding settings (k,
    fusion, candidates, floors); "" when the eval set is incomplete."""
    questions = eval_set_digest(settings.path(settings.data.eval_path))
    if not questions:
        return ""
    searched = {"index": settings.index.model_dump(mode="json"),
                "embedding": settings.embedding.model_dump(mode="json")}  # fmt: skip
    return f"{questions}:{digest_of(searched)[:16]}"


def _carried_forward(
    index: IndexLocation, stats: RefreshStats, eval_set: str
) -> str | None:
    """The live tag whose figures still hold: none when this refresh made a new
    candidate, or the eval set is not the one they were measured on."""
    if stats.needs_publish or not eval_set:
        return None
    live = index.live_tag()
    if live is None or live.metrics.get("eval_set") != eval_set:
        return None
    return live.tag


def _record_unrecorded_move(catalog: Catalog, audit: AuditLog) -> None:
    """A publish or rollback that a killed run left out of the audit log is
    recorded now, marked as recovered, before anything else moves live."""
    missed = unrecorded_move(catalog)
    if missed is None:
        return
    get_run_logger().warning(
        "index %s: %s (version %d, %s) went live without an audit record; "
        "recording it",
        catalog.index.table, missed.tag, missed.version, missed.action,
    )  # fmt: skip
    moved = {"tag": missed.tag, "version": missed.version, "recovered": True}
    note = f"the run that made this {missed.action} stopped before recording it"
    record(
        audit, AUDITED_AS[missed.action], ("index", catalog.index.table), moved,
        audit_only={"moved_at": missed.created_at.isoformat(), "note": note},
    )  # fmt: skip


def _scope(
    index: IndexLocation, labels: dict[str, str], classes: list[str] | None
) -> set[str] | None:
    """Doc ids a class-scoped refresh may touch; None refreshes everything."""
    if not classes:
        return None
    return class_scope(indexed_categories(index.open_live()), labels, classes)


def _clean_up(index: IndexLocation, keep_days: float) -> None:
    """Retention after a publish; never deletes a tagged version. A failure here
    leaves the new version live, so it is logged rather than failing the run."""
    state = cleanup_task(index.uri, index.table, keep_days, return_state=True)
    if not state.is_completed():
        get_run_logger().warning("index cleanup did not complete: %s", state.message)


def _record_validation(
    audit: AuditLog, report: ValidationReport, rev: DataRevision
) -> None:
    payload = {
        "data_hash": rev.data_hash,
        "valid": len(report.documents),
        "quarantined": len(report.rejected),
        "share": report.quarantine_share,
    }
    record(audit, "data.validated", ("data", rev.data_hash), payload)
    if report.rejected:
        paths = [r.source_path for r in report.rejected]
        record(
            audit, "data.quarantined", ("data", rev.data_hash), {"files": paths},
            audit_only={"data_hash": rev.data_hash},
        )  # fmt: skip


def embedded(stats: RefreshStats, fanned: FanoutStats | None) -> tuple[int, int]:
    """(texts embedded by this run, vectors reused from earlier runs).

    Texts the Dask fan-out embedded reach the refresh through the embedding cache,
    so the refresh alone counts them as cache hits; they were embedded now.
    """
    by_fanout = fanned.cached if fanned is not None else 0
    return stats.chunks_embedded + by_fanout, max(0, stats.cache_hits - by_fanout)


def _summary(
    revision: DataRevision,
    report: ValidationReport,
    freshness: FreshnessReport,
    stats: RefreshStats,
    checks: list[GateResult],
    retrieval: dict[str, float],
    previous: dict[str, float],
    tag: PublishedTag | None,
    fanned: FanoutStats | None = None,
) -> RefreshSummary:
    n_embedded, hits = embedded(stats, fanned)
    classes: dict[str, int] = {}
    for c in freshness.classifications:
        classes[c.label] = classes.get(c.label, 0) + 1
    return RefreshSummary(
        data_hash=revision.data_hash,
        rev=revision.rev,
        git_commit=revision.git_commit,
        kb_path=str(revision.kb_path),
        documents=len(report.documents),
        added=stats.added,
        changed=stats.changed,
        removed=stats.removed,
        unchanged=len(stats.unchanged),  # of the refreshed documents; see caller
        quarantined=[
            {"source_path": r.source_path, "reasons": list(r.reasons)}
            for r in report.rejected
        ],
        chunks_total=stats.chunks_total,
        chunks_embedded=n_embedded,
        cache_hits=hits,
        index_version=tag.version if tag else stats.live_version,
        published=tag is not None and stats.needs_publish,
        tag=tag.tag if tag else None,
        checks=[c.to_dict() for c in checks],
        metrics=retrieval,
        metrics_delta={
            k: round(v - previous[k], 4) for k, v in retrieval.items() if k in previous
        },
        stale=[c.doc_id for c in freshness.classifications if c.stale],
        classes=classes,
        warnings=[{"source_path": p, "reason": why} for p, why in report.warnings],
    )


def _publish_artifacts(
    summary: RefreshSummary, freshness: FreshnessReport, settings: Settings
) -> None:
    create_markdown_artifact(
        key="refresh-summary",
        markdown=render_markdown(summary),
        description="What this knowledge refresh changed and why",
    )
    create_table_artifact(
        key="freshness-report",
        table=freshness.to_rows(),
        description="Freshness class, confidence and staleness per document",
    )
    create_markdown_artifact(key="freshness-classes", markdown=freshness.to_markdown())
