"""The evaluation gate: the candidate's best configuration must beat base + RAG and
the champion + RAG, and be no slower, dearer or sloppier beyond tolerance.

Comparisons are paired bootstraps on the same queries (see
``tasks/evaluation/bootstrap.py``): per-question difficulty cancels, so a small
real gain is told apart from noise on a short eval set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ragtune.errors import InputError
from ragtune.gates import GateResult, Verdicts
from ragtune.tasks.evaluation.bootstrap import paired_bootstrap
from ragtune.tasks.evaluation.harness_report import ConfigResult, HarnessReport
from ragtune.tasks.promotion.config import PromotionConfig

__all__ = [
    "BASE_RAG",
    "CANDIDATES",
    "CHAMPION_RAG",
    "GateDecision",
    "PromotionConfig",
    "evaluation_gate",
]

BASE_RAG = "base+rag"
CHAMPION_RAG = "champion+rag"
CANDIDATES = ("fine-tuned", "fine-tuned+rag")


@dataclass(frozen=True)
class GateDecision(Verdicts):
    """The gate's verdict: one result per comparison (the candidate's best
    configuration against a reference on the gate's metric: ``measured`` holds
    ``metric``, ``diff`` = best minus reference, its paired bootstrap interval
    ``ci_low``/``ci_high`` and the ``margin``) and one failed result per
    regression, with the figures that go into the registry entry whatever the
    verdict."""

    comparisons: tuple[GateResult, ...]
    regressions: tuple[GateResult, ...]
    figures: dict[str, Any] = field(default_factory=dict)
    scope: str = "eval"

    @property
    def results(self) -> tuple[GateResult, ...]:  # type: ignore[override]
        return self.comparisons + self.regressions

    @property
    def reasons(self) -> list[str]:
        """Every failed comparison and regression, one line each."""
        return [r.reason for r in self.failures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "scope": self.scope,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "regressions": [r.reason for r in self.regressions],
            "figures": self.figures,
        }

    def to_markdown(self) -> str:
        verdict = "PASSED" if self.passed else "REJECTED"
        best = self.figures.get("best", "?")
        lines = [
            f"### Evaluation gate ({self.scope}): {verdict}",
            f"Best candidate configuration: `{best}`",
            "",
            "| comparison | metric | diff | CI | margin | result |",
            "|---|---|---|---|---|---|",
        ]
        for c in self.comparisons:
            m = c.measured
            lines.append(
                f"| {c.name} | {m['metric']} | {m['diff']:+.4f} | "
                f"[{m['ci_low']:+.4f}, {m['ci_high']:+.4f}] | {m['margin']:+.4f} | "
                f"{'pass' if c.met else 'FAIL'} |"
            )
        lines += [f"- {r}" for r in self.reasons] or ["- no failure"]
        return "\n".join(lines)


def _mean(result: ConfigResult, metric: str) -> float:
    value = result.value(metric)
    return float("-inf") if value is None else value


def best_candidate(report: HarnessReport, metric: str) -> ConfigResult:
    """The candidate configuration (with or without RAG) scoring highest."""
    found = [c for c in report.configs if c.name in CANDIDATES]
    if not found:
        raise InputError(
            f"the report has no candidate configuration ({', '.join(CANDIDATES)})"
        )
    return max(found, key=lambda c: _mean(c, metric))


def _compare(
    best: ConfigResult, ref: ConfigResult, margin: float, cfg: PromotionConfig
) -> GateResult:
    diff = paired_bootstrap(
        best.per_query(cfg.metric),
        ref.per_query(cfg.metric),
        metric=cfg.metric,
        names=(best.name, ref.name),
        n_resamples=cfg.bootstrap_resamples,
        confidence=cfg.ci_level,
    )
    # margin >= 0: beat it, and the interval must exclude zero; margin < 0:
    # non-inferiority, the interval's lower bound must clear the margin.
    floor = 0.0 if margin >= 0 else margin
    name = f"{best.name} vs {ref.name}"
    problems = []
    if diff.mean_diff < margin:
        problems.append(
            f"gains {diff.mean_diff:+.4f} {cfg.metric}, short of the "
            f"{margin:+.4f} margin by {margin - diff.mean_diff:.4f}"
        )
    if not diff.ci_low > floor:
        problems.append(
            f"{cfg.ci_level:.0%} interval [{diff.ci_low:+.4f}, {diff.ci_high:+.4f}] "
            f"does not clear {floor:+.4f}"
        )
    measured = {
        "metric": cfg.metric, "diff": diff.mean_diff, "ci_low": diff.ci_low,
        "ci_high": diff.ci_high, "margin": margin,
    }  # fmt: skip
    if problems:
        return GateResult(name, "fail", f"{name}: " + "; ".join(problems), measured)
    reason = (
        f"{name}: gains {diff.mean_diff:+.4f} {cfg.metric}, {cfg.ci_level:.0%} "
        f"interval [{diff.ci_low:+.4f}, {diff.ci_high:+.4f}] clears {floor:+.4f}"
    )
    return GateResult(name, "pass", reason, measured)


def _rise(name: str, new: float | None, old: float | None, tol: float) -> str | None:
    """A regression message when ``new`` exceeds ``old`` by more than ``tol``."""
    if new is None or old is None or math.isnan(new) or math.isnan(old):
        return None
    limit = old * (1 + tol)
    if new <= limit:
        return None
    over = new - limit
    return f"{name} {new:.4g} vs {old:.4g}: over the {tol:.0%} tolerance by {over:.4g}"


def regressions(
    best: ConfigResult, ref: ConfigResult, cfg: PromotionConfig
) -> list[GateResult]:
    """Latency p95, cost per 1,000 queries and format compliance against ``ref``."""
    found = [
        _rise("latency p95 (s)", best.latency_p95_s, ref.latency_p95_s,
              cfg.latency_p95_tolerance),
        _rise("cost per 1k queries (USD)", best.cost_per_1k_queries,
              ref.cost_per_1k_queries, cfg.cost_tolerance),
    ]  # fmt: skip
    new, old = best.value("format_ok"), ref.value("format_ok")
    if new is not None and old is not None and new < old - cfg.format_tolerance:
        found.append(
            f"format compliance {new:.3f} vs {old:.3f}: dropped "
            f"{old - new:.3f}, over the {cfg.format_tolerance:.3f} tolerance"
        )
    name = f"{best.name} vs {ref.name}"
    return [
        GateResult(f"{name}: regression", "fail", f"{name}: {r}") for r in found if r
    ]


def _config_figures(result: ConfigResult, metric: str) -> dict[str, Any]:
    value = result.value(metric)
    return {
        metric: value,
        "format_ok": result.value("format_ok"),
        "latency_p95_s": result.latency_p95_s,
        "cost_per_1k_queries": result.cost_per_1k_queries,
    }


def evaluation_gate(
    report: HarnessReport,
    cfg: PromotionConfig,
    has_champion: bool,
    scope: str = "eval",
) -> GateDecision:
    """Judge a harness report holding base+rag, the candidate configurations and,
    with a champion, ``champion+rag``.

    Raises:
        InputError: a configuration the gate needs is missing from the report.
    """
    names = {c.name for c in report.configs}
    refs = [(BASE_RAG, cfg.margin_over_base_rag)]
    if has_champion:
        refs.append((CHAMPION_RAG, cfg.margin_over_champion))
    missing = [n for n, _ in refs if n not in names]
    if missing:
        raise InputError(f"the report lacks {', '.join(missing)}: cannot judge")
    best = best_candidate(report, cfg.metric)
    comparisons, regressed = [], []
    for name, margin in refs:
        ref = report.config(name)
        comparisons.append(_compare(best, ref, margin, cfg))
        regressed += regressions(best, ref, cfg)
    decision = GateDecision(tuple(comparisons), tuple(regressed), {}, scope)
    figures = {
        "passed": decision.passed,
        "scope": scope,
        "metric": cfg.metric,
        "best": best.name,
        "n_queries": len(report.qids),
        "configs": {c.name: _config_figures(c, cfg.metric) for c in report.configs},
        "comparisons": [c.to_dict() for c in comparisons],
        "regressions": [r.reason for r in regressed],
    }
    return replace(decision, figures=figures)
