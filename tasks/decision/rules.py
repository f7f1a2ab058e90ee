"""The decision rules: RAG first, fine-tune only where measured evidence says so.

Every rule is evaluated for every gap and recorded, fired or not, with the
measured number and the threshold it was compared with. A rule that fires has
an effect: it asks for RAG (the knowledge must be retrieved), for fine-tuning
(RAG alone cannot close the gap), or nothing (it only explains). Then:

============================  ===========================  =================
any rule asks fine-tune?      any rule asks RAG?            recommendation
============================  ===========================  =================
yes                           yes                           both
yes                           no                            fine-tune
no                            yes                           rag
no                            no                            neither
============================  ===========================  =================

RAG asks: ``knowledge-gap`` (current-facts or document-retrieval type),
``volatile-knowledge`` (changes faster than quarterly, a volatile freshness
class, or current facts), ``accuracy-not-measured`` (no evidence yet: stay on the
RAG baseline), and ``accuracy-below-target`` on volatile knowledge (a fine-tuned
model would be stale, so the fix is in retrieval or the documents).
Fine-tune asks: ``accuracy-below-target`` on stable knowledge after optimisation,
``format-not-met``, ``inference-cost-too-high`` (only when the fine-tuned path is
cheaper by ``min_cost_saving`` and, if measured, meets the target) and
``latency-over-budget`` (only when the fine-tuned path, if measured, is faster).
``neither`` therefore means a stable skill gap (style, vocabulary, capability)
that the existing base model + RAG pipeline already closes: nothing to build.
See docs/decision-framework.md for the table with worked examples.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ragtune.tasks.decision import costing
from ragtune.tasks.decision.classify import GapClassification
from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.gaps import Gap
from ragtune.tasks.decision.models import (
    Decision,
    Evidence,
    ReadinessGap,
    RuleResult,
)
from ragtune.tasks.decision.readiness import (
    dataset_readiness,
    fine_tune_readiness,
    next_steps,
    outcome,
)

KNOWLEDGE_TYPES = frozenset({"current-facts", "document-retrieval"})


def is_volatile(
    gap: Gap, gap_type: str, cfg: DecisionConfig, volatile_classes: set[str]
) -> bool:
    """Current facts, a fast change frequency, or a volatile freshness class."""
    return (
        gap_type == "current-facts"
        or gap.change_frequency in cfg.volatile_frequencies
        or gap.change_frequency in volatile_classes
    )


def decide(
    gap: Gap,
    evidence: Evidence,
    kind: GapClassification,
    cfg: DecisionConfig,
    *,
    volatile_classes: set[str] | None = None,
    fine_tune_cost: dict[str, Any] | None = None,
) -> Decision:
    """Apply every rule to one gap and combine them (see the module table).

    Args:
        gap: The gap as declared.
        evidence: Measured (or declared) figures for its RAG baseline.
        kind: Its classified type.
        cfg: Thresholds.
        volatile_classes: Freshness classes marked volatile in params.yaml.
        fine_tune_cost: The fine-tune path's budget (``costing.fine_tune_cost``).
    """
    volatile = is_volatile(gap, kind.gap_type, cfg, volatile_classes or set())
    keeps_rag = volatile or kind.gap_type in KNOWLEDGE_TYPES
    rules = (
        _type_rule(kind),
        _volatile_rule(gap, kind, volatile),
        *_accuracy_rules(evidence, volatile),
        _format_rule(gap, evidence, cfg),
        _cost_rule(gap, evidence, cfg, keeps_rag),
        _latency_rule(gap, evidence, keeps_rag),
        _candidate_rule(evidence),
    )
    rules = _settle_unmeasured(rules)
    asks = {r.effect for r in rules if r.fired}
    recommendation = {
        (True, True): "both",
        (True, False): "fine-tune",
        (False, True): "rag",
        (False, False): "neither",
    }[("fine-tune" in asks, "rag" in asks)]
    readiness: tuple[ReadinessGap, ...] = dataset_readiness(gap, cfg)
    status = fine_tune_readiness(recommendation, readiness)
    return Decision(
        gap=gap.name,
        gap_type=kind.gap_type,
        type_source=kind.source,
        type_reason=kind.reason,
        volatile=volatile,
        recommendation=recommendation,
        summary=_summary(recommendation, rules),
        rules=rules,
        readiness=readiness,
        evidence=evidence,
        fine_tune_cost=fine_tune_cost,
        missing_evidence=_missing(gap, evidence),
        next_steps=next_steps(recommendation, rules, readiness),
        fine_tune_readiness=status,
        outcome=outcome(recommendation, status),
    )


def _type_rule(kind: GapClassification) -> RuleResult:
    if kind.gap_type in KNOWLEDGE_TYPES:
        return RuleResult(
            "knowledge-gap",
            True,
            "rag",
            f"{kind.gap_type} is knowledge to retrieve with its source ({kind.reason})",
        )
    return RuleResult(
        "skill-gap",
        True,
        "none",
        f"{kind.gap_type} is a fine-tuning candidate, if RAG misses ({kind.reason})",
    )


def _volatile_rule(gap: Gap, kind: GapClassification, volatile: bool) -> RuleResult:
    why = f"changes {gap.change_frequency}" + (
        ", current facts" if kind.gap_type == "current-facts" else ""
    )
    if volatile:
        return RuleResult(
            "volatile-knowledge", True, "rag", f"{why}: knowledge stays in RAG"
        )
    return RuleResult(
        "volatile-knowledge", False, "rag", f"{why}: stable enough to train on"
    )


def _accuracy_rules(evidence: Evidence, volatile: bool) -> tuple[RuleResult, ...]:
    metric, target, value = evidence.metric, evidence.target, evidence.value
    measured = evidence.sources.get(metric) == "measured" and evidence.best
    where = f" ({evidence.best.setting.label})" if measured else " (declared)"
    if value is None:
        return (
            RuleResult(
                "accuracy-not-measured",
                True,
                "rag",
                f"{metric} not measured on the slice: RAG-first until it is",
                None,
                target,
            ),
        )
    shown = f"{metric} {value:.3f}{where} vs target {target:.3f}"
    if value >= target:
        return (
            RuleResult(
                "target-met", True, "none", f"RAG meets it: {shown}", value, target
            ),
            RuleResult(
                "accuracy-below-target", False, "fine-tune", shown, value, target
            ),
        )
    effect = "rag" if volatile else "fine-tune"
    tail = " after optimisation" if measured else ""
    if volatile:
        tail = "; volatile knowledge: fix retrieval or documents, do not train on it"
    return (
        RuleResult("target-met", False, "none", shown, value, target),
        RuleResult("accuracy-below-target", True, effect, shown + tail, value, target),
    )


def _format_rule(gap: Gap, evidence: Evidence, cfg: DecisionConfig) -> RuleResult:
    if gap.format is None:
        return RuleResult("format-not-met", False, "fine-tune", "no format required")
    threshold = (
        gap.accuracy_target.target
        if gap.accuracy_target.metric == "format_compliance"
        else cfg.min_format_compliance
    )
    measured = evidence.format_compliance
    if measured is None:
        return RuleResult(
            "format-not-met",
            False,
            "fine-tune",
            "format required but compliance not measured",
            None,
            threshold,
        )
    fired = measured < threshold
    text = f"format compliance {measured:.3f} {'<' if fired else '>='} {threshold:.3f}"
    return RuleResult("format-not-met", fired, "fine-tune", text, measured, threshold)


def _cost_rule(
    gap: Gap, evidence: Evidence, cfg: DecisionConfig, keeps_rag: bool
) -> RuleResult:
    budget = costing.monthly_budget(gap, cfg)
    rag = evidence.rag_cost_per_month_usd
    if rag is None:
        return RuleResult(
            "inference-cost-too-high",
            False,
            "fine-tune",
            "cost not measured",
            None,
            budget,
        )
    text = (
        f"RAG serving ${rag:,.2f}/month at {gap.query_volume_per_month:,} queries "
        f"vs budget ${budget:,.2f}"
    )
    if rag <= budget:
        return RuleResult(
            "inference-cost-too-high", False, "fine-tune", text, rag, budget
        )
    alt = evidence.fine_tuned
    per_1k = alt.cost_with_rag_per_1k_usd if keeps_rag else alt.cost_per_1k_usd
    blocker = None
    if per_1k is not None:
        alt_month = costing.per_month(per_1k, gap.query_volume_per_month)
        saving = 1 - alt_month / rag if rag else 0.0
        text += f"; fine-tuned path ${alt_month:,.2f}/month ({saving:.0%} saving)"
        if saving < cfg.min_cost_saving:
            blocker = f"saving below {cfg.min_cost_saving:.0%}"
    if alt.metric is not None and alt.metric < evidence.target:
        blocker = f"fine-tuned {evidence.metric} {alt.metric:.3f} misses the target"
    fired = blocker is None
    text += "" if fired else f"; not a reason to fine-tune: {blocker}"
    return RuleResult("inference-cost-too-high", fired, "fine-tune", text, rag, budget)


def _latency_rule(gap: Gap, evidence: Evidence, keeps_rag: bool) -> RuleResult:
    budget, measured = gap.latency_budget_ms, evidence.latency_p95_ms
    if budget is None or measured is None:
        why = "no latency budget" if budget is None else "latency not measured"
        return RuleResult(
            "latency-over-budget", False, "fine-tune", why, measured, budget
        )
    text = f"p95 {measured:,.0f} ms vs budget {budget:,} ms"
    alt = evidence.fine_tuned.latency_p95_ms
    # Without retrieval a fine-tuned model reads a shorter prompt, so it is
    # presumed faster until measured; one that keeps the retrieved context
    # reads the same prompt and must be measured faster to count.
    fired = measured > budget and (alt < measured if alt is not None else not keeps_rag)
    if measured > budget and not fired:
        text += (
            f"; fine-tuned path is not faster ({alt:,.0f} ms)"
            if alt is not None
            else "; a fine-tune that keeps the retrieved context is not faster "
            "unless measured"
        )
    return RuleResult("latency-over-budget", fired, "fine-tune", text, measured, budget)


def _candidate_rule(evidence: Evidence) -> RuleResult:
    """Explains, never decides: how the gap's fine-tuned candidate, when one was
    measured on the slice, compares with base + RAG on the gap's metric."""
    alt = evidence.fine_tuned
    answers, metric = alt.answers, evidence.metric
    gain = next((g for g in alt.gains if g["metric"] == metric), None)
    if answers is None or gain is None or alt.metric is None:
        return RuleResult(
            "fine-tuned-candidate",
            False,
            "none",
            "no fine-tuned candidate for this gap was measured",
        )
    beats = gain["significant"] and gain["gain"] > 0
    verdict = "beats" if beats else "does not beat"
    return RuleResult(
        "fine-tuned-candidate",
        True,
        "none",
        f"{answers.configuration}: {metric} {alt.metric:.3f} {verdict} base + RAG "
        f"by {gain['gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}] "
        f"(n={gain['n']})",
        alt.metric,
        evidence.value,
    )


def _settle_unmeasured(rules: tuple[RuleResult, ...]) -> tuple[RuleResult, ...]:
    """Unmeasured accuracy keeps a gap on RAG only while nothing else justifies a
    fine-tune; a failed format, cost or latency rule is evidence enough."""
    if not any(r.fired and r.effect == "fine-tune" for r in rules):
        return rules
    return tuple(
        replace(
            r, effect="none", reason=r.reason.split(":")[0] + ": other rules decide"
        )
        if r.rule == "accuracy-not-measured"
        else r
        for r in rules
    )


def _summary(recommendation: str, rules: tuple[RuleResult, ...]) -> str:
    because = [r.reason for r in rules if r.fired and r.effect != "none"]
    if recommendation == "neither":
        because = [r.reason for r in rules if r.fired and r.rule == "target-met"]
    return f"{recommendation}: " + "; ".join(because)


def _missing(gap: Gap, evidence: Evidence) -> tuple[str, ...]:
    missing = []
    if gap.eval_slice is None:
        missing.append("eval slice: no eval-set questions cover this gap")
    if evidence.value is None:
        missing.append(evidence.metric)
    if gap.format is not None and evidence.format_compliance is None:
        missing.append("format_compliance")
    return tuple(dict.fromkeys(missing))
