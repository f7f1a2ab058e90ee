"""Is the data ready for a fine-tune, and what should happen next?

A recommendation to fine-tune is only as good as the data set behind it: the
framework asks for at least 1,000 representative, expert-labelled examples and
no personal data without a legal basis. These checks run for every gap, so a
record shows what a fine-tune would need even where RAG suffices today; where
the evidence asks for a fine-tune, they decide whether it can start: ``ready``,
``not-yet`` (too few or unlabelled examples: collect them) or ``blocked``
(personal data without a legal basis: a legal question before a technical
one). The retrain flow's dataset gates enforce the same rules later.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.decision.gaps import Gap
from ragtune.tasks.decision.models import FineTuneReadiness, ReadinessGap, RuleResult

BLOCKING = frozenset({"personal-data-without-legal-basis"})


def dataset_readiness(gap: Gap, cfg: DecisionConfig) -> tuple[ReadinessGap, ...]:
    """What the gap's fine-tune data set still lacks (empty: ready)."""
    found = []
    if gap.labelled_examples == 0:
        found.append(
            ReadinessGap(
                "unlabelled-data",
                "no labelled examples: answers need expert labels before training",
            )
        )
    if gap.labelled_examples < cfg.min_examples:
        short = cfg.min_examples - gap.labelled_examples
        found.append(
            ReadinessGap(
                "too-few-examples",
                f"{gap.labelled_examples:,} labelled examples, at least "
                f"{cfg.min_examples:,} needed ({short:,} more)",
            )
        )
    if gap.personal_data and not gap.legal_basis:
        found.append(
            ReadinessGap(
                "personal-data-without-legal-basis",
                "the data holds personal information and no legal basis is "
                "recorded: remove it or record the basis and processing agreement",
            )
        )
    return tuple(found)


def fine_tune_readiness(
    recommendation: str, readiness: Sequence[ReadinessGap]
) -> FineTuneReadiness:
    """Whether the fine-tune the evidence asks for can start."""
    if recommendation not in ("fine-tune", "both"):
        return "not-needed"
    if any(g.kind in BLOCKING for g in readiness):
        return "blocked"
    return "not-yet" if readiness else "ready"


def outcome(recommendation: str, status: FineTuneReadiness) -> str:
    """What happens now: the recommendation, qualified when its fine-tune cannot
    start (never silently downgraded to RAG)."""
    if status not in ("not-yet", "blocked"):
        return recommendation
    words = status.replace("-", " ")
    if recommendation == "fine-tune":
        return f"fine-tune ({words})"
    return f"{recommendation} (fine-tune {words})"


def next_steps(
    recommendation: str,
    rules: Sequence[RuleResult],
    readiness: Sequence[ReadinessGap],
) -> tuple[str, ...]:
    """Short actions that follow from the decision, for the record's reader."""
    fired = {r.rule: r for r in rules if r.fired}
    steps = []
    if "accuracy-not-measured" in fired:
        steps.append("measure the target metric on the slice (ragtune eval)")
    miss = fired.get("accuracy-below-target")
    if miss is not None and miss.effect == "rag":
        steps.append("improve retrieval or the documents; re-run ragtune decide")
    if recommendation in ("fine-tune", "both"):
        steps += [f"before training: {g.detail}" for g in readiness]
        steps.append(
            "after training: keep the model only if it beats base + RAG "
            "by a meaningful margin (eval gate)"
        )
    if recommendation in ("rag", "both"):
        steps.append("keep the documents current in the index (knowledge refresh)")
    if recommendation == "neither":
        steps.append("no change: monitor the gap's slice for drift")
    return tuple(steps)
