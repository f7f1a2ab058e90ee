"""The typed results the decision framework passes around: evidence in, decision out.

Plain frozen dataclasses with ``to_dict`` for the record's JSON, so rules can be
tested by building an :class:`Evidence` by hand, without an index or a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Recommendation = Literal["rag", "fine-tune", "both", "neither"]
FineTuneReadiness = Literal["ready", "not-yet", "blocked", "not-needed"]
Effect = Literal["rag", "fine-tune", "none"]


@dataclass(frozen=True)
class RetrievalSetting:
    """One retrieval configuration of the optimisation grid."""

    mode: str
    k: int
    classes: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        where = f", classes {'+'.join(self.classes)}" if self.classes else ""
        return f"{self.mode} k={self.k}{where}"


@dataclass(frozen=True)
class AnswerFigures:
    """Answer-level figures an answer harness measured for one configuration.

    ``ci`` holds each metric's bootstrap interval ``[low, high]``; ``n`` is the
    number of questions answered, ``configuration`` what answered them (closed
    book, or with which retrieval setting) and ``model`` which generator.
    """

    token_f1: float | None = None
    exact_match: float | None = None
    format_compliance: float | None = None
    latency_p95_ms: float | None = None
    tokens_in: float | None = None
    tokens_out: float | None = None
    n: int = 0
    ci: dict[str, list[float]] = field(default_factory=dict)
    configuration: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class MeasuredAnswers:
    """The configured model on a gap's slice: closed book and with retrieval, and
    the gap's fine-tuned candidate when the registry holds one.

    ``differences`` are paired bootstrap results of (with retrieval - closed
    book) per metric: ``gain``, ``ci_low``, ``ci_high``, ``p_value``, ``n``.
    ``fine_tuned`` is the candidate's better configuration (with or without
    retrieval) on the gap's metric, and ``fine_tune_gains`` its paired results
    against base + RAG, in the same form; ``fine_tuned_configs`` both of its
    configurations.
    """

    closed_book: AnswerFigures
    rag: AnswerFigures
    differences: tuple[dict[str, Any], ...] = ()
    qids: tuple[str, ...] = ()
    fine_tuned: AnswerFigures | None = None
    fine_tune_gains: tuple[dict[str, Any], ...] = ()
    fine_tuned_configs: tuple[AnswerFigures, ...] = ()


@dataclass(frozen=True)
class SettingResult:
    """What one setting scored on the gap's slice."""

    setting: RetrievalSetting
    retrieval: dict[str, float]
    metric: float | None
    context_tokens: float
    retrieval_latency_p95_ms: float
    answers: AnswerFigures | None = None


@dataclass(frozen=True)
class AlternativeFigures:
    """The fine-tuned alternative: its candidate's measured answers when the
    registry holds one for the gap, else declared figures or priced estimates."""

    metric: float | None = None
    format_compliance: float | None = None
    latency_p95_ms: float | None = None
    cost_per_1k_usd: float | None = None
    cost_with_rag_per_1k_usd: float | None = None
    model: str | None = None
    answers: AnswerFigures | None = None
    gains: tuple[dict[str, Any], ...] = ()
    configurations: tuple[AnswerFigures, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """The measured numbers a decision rests on, with where each one came from.

    ``value`` is the gap's target metric on its slice for the best retrieval
    setting tried (None: not measured). Costs are per 1,000 queries and per month
    at the gap's stated volume. ``sources`` says, per figure, whether it was
    measured, declared in GAPS.yaml, or estimated from price assumptions.
    """

    gap: str
    metric: str
    target: float
    value: float | None = None
    n_queries: int = 0
    best: SettingResult | None = None
    tried: tuple[SettingResult, ...] = ()
    format_compliance: float | None = None
    rag_cost_per_1k_usd: float | None = None
    rag_cost_per_month_usd: float | None = None
    latency_p95_ms: float | None = None
    fine_tuned: AlternativeFigures = field(default_factory=AlternativeFigures)
    closed_book: AnswerFigures | None = None
    differences: tuple[dict[str, Any], ...] = ()
    query_volume_per_month: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["best"] = None if self.best is None else _setting(self.best)
        data["tried"] = [_setting(s) for s in self.tried]
        return data


def _setting(result: SettingResult) -> dict[str, Any]:
    return {**asdict(result), "label": result.setting.label}


@dataclass(frozen=True)
class RuleResult:
    """One rule, whether it fired, what firing means, and the numbers behind it."""

    rule: str
    fired: bool
    effect: Effect
    reason: str
    measured: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class ReadinessGap:
    """Something the fine-tune data set lacks before training may start."""

    kind: str
    detail: str


@dataclass(frozen=True)
class Decision:
    """The recommendation for one gap, with every rule and the evidence used."""

    gap: str
    gap_type: str
    type_source: str
    type_reason: str
    volatile: bool
    recommendation: Recommendation
    summary: str
    rules: tuple[RuleResult, ...]
    readiness: tuple[ReadinessGap, ...]
    evidence: Evidence
    fine_tune_cost: dict[str, Any] | None = None
    missing_evidence: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    fine_tune_readiness: FineTuneReadiness = "not-needed"
    outcome: str = ""

    @property
    def fired(self) -> tuple[str, ...]:
        """Names of the rules that fired, in evaluation order."""
        return tuple(r.rule for r in self.rules if r.fired)

    def rule(self, name: str) -> RuleResult:
        """The result of one rule by name (KeyError when unknown)."""
        for result in self.rules:
            if result.rule == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = self.evidence.to_dict()
        data["fired"] = list(self.fired)
        return data
