"""Promotion gates of the retrain flow, after the candidate is registered.

Steps (each a Prefect task; domain code lives in ``ragtune.tasks.promotion``):
1. evaluation gate: base, base + RAG, the candidate with and without RAG and the
   champion + RAG on the eval set and, with a knowledge gap, on its slice;
2. privacy gate: membership inference, Min-K%, canaries, PII extraction;
3. gate figures into the registry entry, ``eval-report`` and
   ``promotion-report`` artifacts; any failure rejects the version;
4. approval: a typed form in the Prefect UI (``pause_flow_run``), or
   ``promotion.auto_approve`` unless the privacy gate found insufficient
   evidence; a timeout rejects;
5. promotion as one Prefect ``transaction()``: alias move and index publish are
   tasks whose ``on_rollback`` hooks undo them, the promotion log append commits.

Why a Prefect transaction and not ``registry.execute``: the two moves show up as
their own task runs in the UI, and a failure anywhere in the block (the log
append included) rolls back every completed move. A failed task stages its hooks
too, and every undo sets the recorded previous state (idempotent), so the failed
step is undone as well; ``_verify_restored`` then checks both by reading them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, pause_flow_run, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.transactions import transaction
from pydantic import Field

from ragtune.app.catalog import Catalog
from ragtune.app.promotion import evaluate_candidate
from ragtune.app.settings import Settings
from ragtune.audit import AuditLog
from ragtune.errors import GateFailed
from ragtune.flows._wiring import record
from ragtune.tasks.promotion import approval as ap
from ragtune.tasks.promotion.eval_gate import GateDecision, evaluation_gate
from ragtune.tasks.promotion.evaluate import KnowledgeGap
from ragtune.tasks.promotion.report import promotion_markdown, rejection_reason
from ragtune.tasks.registry.lookup import local_adapter
from ragtune.tasks.registry.models import TransitionOutcome, TransitionPlan
from ragtune.tasks.registry.registry import ModelRegistry
from ragtune.tasks.registry.transaction import TransitionFailed, live_tag


class ApprovalInput(RunInput):
    """The form the Prefect UI shows an approver."""

    approve: bool = Field(False, description="Promote this version to champion.")
    reason: str = Field("", description="Why (recorded in the promotion log).")
    approver: str = Field("", description="Your name (recorded as the approver).")


class PromotionRejected(GateFailed):
    """A promotion gate or the approver said no; ``summary`` has the figures."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary or {}


@task(name="evaluation-gate", cache_policy=NO_CACHE)
def evaluation_task(
    settings: Settings,
    catalog: Catalog,
    registry: ModelRegistry,
    adapter: Path,
    gap: KnowledgeGap | None,
) -> list[GateDecision]:
    """Evaluate against base + RAG and the champion; one decision per scope."""
    champion = registry.champion()
    champion_dir = None
    if champion is not None:
        champion_dir = local_adapter(registry, champion, catalog.adapter_cache)
    cfg = settings.promotion
    reports = evaluate_candidate(settings, adapter, champion_dir, cfg.eval_limit, gap)
    create_markdown_artifact(
        key="eval-report",
        markdown=reports.full.to_markdown(),
        description="Candidate, base, base + RAG and champion on the eval set",
    )
    full_cfg = cfg
    if gap is not None:  # trained for the gap: non-inferior elsewhere is enough
        full_cfg = cfg.model_copy(
            update={
                "margin_over_base_rag": cfg.gap_candidate_margin,
                "margin_over_champion": cfg.gap_candidate_margin,
            }
        )
    decisions = [evaluation_gate(reports.full, full_cfg, champion is not None)]
    if reports.gap is not None:
        scope = f"gap:{reports.gap_name}"
        gap_cfg = cfg.model_copy(update={"metric": gap.metric or cfg.metric})
        decisions.append(
            evaluation_gate(reports.gap, gap_cfg, champion is not None, scope=scope)
        )
    return decisions


@task(name="privacy-gate", cache_policy=NO_CACHE)
def privacy_task(
    settings: Settings, adapter: Path, train_path: Path, heldout_path: Path
) -> Any:
    """Attack the candidate with the exact set it trained on (canaries included)
    against held-out records it never saw."""
    from ragtune.tasks.privacy.gate import privacy_gate_for_adapter

    return privacy_gate_for_adapter(
        settings.training, adapter, train_path, heldout_path, settings.privacy
    )


def ask_approval(
    settings: Settings, version: int, privacy: Any | None = None
) -> ap.Approval:
    """Auto-approve, or pause for the typed form; a timeout rejects.

    Insufficient privacy evidence withholds automatic approval: the run pauses
    for a person as if ``auto_approve`` were off.
    """
    cfg = settings.promotion
    withheld = ap.auto_approval_withheld(privacy)
    if cfg.auto_approve and withheld is None:
        return ap.auto_approval(cfg)
    if cfg.auto_approve:
        get_run_logger().warning("auto-approval withheld: %s", withheld)
    get_run_logger().info(
        "version %d passed the gates: waiting up to %d s for approval",
        version,
        cfg.approval_timeout_s,
    )
    try:
        answer = pause_flow_run(
            wait_for_input=ApprovalInput,
            timeout=cfg.approval_timeout_s,
            poll_interval=min(10, cfg.approval_timeout_s),
            key=f"approve-v{version}",
        )
    except FlowPauseTimeout:
        return ap.timeout_rejection(cfg)
    return ap.from_form(answer.approve, answer.approver, answer.reason)


def reject(
    catalog: Catalog,
    registry: ModelRegistry,
    version: int,
    gate: str,
    reason: str,
    summary: dict,
) -> PromotionRejected:
    """Mark the version rejected, audit and emit it; the caller raises the result."""
    registry.record_rejection(version, reason)
    record(
        catalog.audit(), "model.rejected", ("model", registry.cfg.model_name),
        {"version": version, "gate": gate, "reason": reason},
        actor=summary.get("approver") or "ragtune",
    )  # fmt: skip
    summary.update(status="rejected", gate=gate, reason=reason)
    return PromotionRejected(f"version {version} rejected by {gate}: {reason}", summary)


def run_gates(
    settings: Settings,
    catalog: Catalog,
    version: int,
    adapter: Path,
    train_path: Path,
    heldout_path: Path,
    gap: KnowledgeGap | None = None,
) -> dict[str, Any]:
    """Evaluation and privacy gates, approval, then the promotion transaction.

    ``train_path`` is the set the adapter trained on (canaries planted in it when
    enabled) and ``heldout_path`` the held-out split: the privacy gate's members
    and non-members.

    Returns:
        The promotion summary (gate figures, approver, outcome).

    Raises:
        PromotionRejected: a gate or the approver rejected the version.
    """
    registry = catalog.registry()
    info = registry.get(version)
    if registry.cfg.champion_alias in info.aliases:
        return {"version": version, "status": "champion", "index_tag": info.index_tag}
    if info.status == "rejected":
        raise PromotionRejected(f"version {version} was rejected before")
    decisions = evaluation_task(settings, catalog, registry, adapter, gap)
    # privacy costs minutes on a real model: only worth it for a contender
    privacy = (
        privacy_task(settings, adapter, train_path, heldout_path)
        if all(d.passed for d in decisions)
        else None
    )
    summary = _record_gates(settings, registry, version, decisions, privacy)
    reason = rejection_reason(decisions, privacy)
    if reason:
        failed = next((d.scope for d in decisions if not d.passed), "privacy")
        gate = "evaluation" if failed == "eval" else failed
        raise reject(catalog, registry, version, gate, reason, summary)
    decision = ask_approval(settings, version, privacy)
    summary.update(approver=decision.approver, approval=decision.how)
    catalog.audit().append(
        decision.audit_action, actor=decision.approver,
        version=version, how=decision.how, reason=decision.reason,
    )  # fmt: skip
    if not decision.approve:
        raise reject(catalog, registry, version, "approval", decision.reason, summary)
    registry.record_approval(version, decision.approver)
    plan = registry.plan_promotion(
        version, info.index_tag, decision.approver, decision.reason
    )
    publish_outcome(catalog.audit(), promote_in_transaction(registry, plan))
    summary.update(status="promoted", champion=version)
    return summary


def _record_gates(
    settings: Settings,
    registry: ModelRegistry,
    version: int,
    decisions: list[GateDecision],
    privacy: Any | None,
) -> dict[str, Any]:
    """Gate figures into the registry entry and the promotion-report artifact."""
    figures: dict[str, Any] = {
        "evaluation" if d.scope == "eval" else f"evaluation_{d.scope}": d.figures
        for d in decisions
    }
    if privacy is not None:
        figures["privacy"] = {**privacy.to_dict(), "passed": privacy.passed}
    info = registry.record_gate_figures(version, figures)
    champion = registry.champion()
    create_markdown_artifact(
        key="promotion-report",
        markdown=promotion_markdown(
            version, info.index_tag, champion and champion.version, decisions, privacy
        ),
        description="Every gate's verdict on this candidate",
    )
    return {
        "version": version,
        "index_tag": info.index_tag,
        "gates": {d.scope: d.to_dict() for d in decisions},
        "privacy": None
        if privacy is None
        else {
            "passed": privacy.passed,
            "failures": [f"{g.name}: {g.reason}" for g in privacy.failures],
            "insufficient_evidence": [g.name for g in privacy.insufficient],
        },
    }


def _undo_hook(undo: Any, plan: TransitionPlan) -> Any:
    def hook(_txn: object) -> None:
        undo(plan)

    return hook


def promote_in_transaction(
    registry: ModelRegistry, plan: TransitionPlan
) -> TransitionOutcome:
    """Alias move, index publish and log append in one Prefect transaction.

    Raises:
        TransitionFailed: a step failed; the message says whether both were
            found restored afterwards.
    """
    if plan.is_noop:
        return TransitionOutcome(plan=plan, changed=False)
    steps = [
        ("move-champion-alias", registry.apply_alias, registry.undo_alias),
        ("publish-index-tag", registry.apply_index, registry.undo_index),
    ]
    try:
        with transaction():
            for name, apply, undo in steps:
                step_task = task(name=name, cache_policy=NO_CACHE)(apply)
                step_task.on_rollback(_undo_hook(undo, plan))
                step_task(plan)
            return task(name="append-promotion-log", cache_policy=NO_CACHE)(
                registry.commit
            )(plan)
    except Exception as exc:
        state = _verify_restored(registry, plan)
        raise TransitionFailed(
            f"{plan.kind} of v{plan.to_version} with {plan.index_tag} failed: "
            f"{exc}; {state}"
        ) from exc


def _verify_restored(registry: ModelRegistry, plan: TransitionPlan) -> str:
    champion = registry.store.aliases().get(registry.cfg.champion_alias)
    live = live_tag(*registry.index)
    if (champion, live) == (plan.from_version, plan.from_index_tag):
        return "previous champion and live index tag restored"
    return (
        f"UNDO INCOMPLETE, check by hand: champion v{champion} (was "
        f"v{plan.from_version}), live tag {live} (was {plan.from_index_tag})"
    )


def publish_outcome(audit: AuditLog, outcome: TransitionOutcome) -> None:
    """Audit record and Prefect event of a committed move (none for a no-op)."""
    entry = outcome.audit
    if entry is not None:
        model = ("model", outcome.plan.model_name)
        record(audit, entry.action, model, entry.details, actor=entry.actor)
