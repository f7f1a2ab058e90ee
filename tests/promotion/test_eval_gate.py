"""The evaluation gate on hand-made harness reports: every comparison and every
tolerance, and the figures it hands the registry."""

from __future__ import annotations

import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.answers import AnswerScores
from ragtune.tasks.evaluation.config import EvaluationConfig
from ragtune.tasks.evaluation.harness_report import (
    ConfigResult,
    HarnessReport,
    ScoredAnswer,
)
from ragtune.tasks.promotion.eval_gate import PromotionConfig, evaluation_gate

EVAL = EvaluationConfig(bootstrap_resamples=200)
N = 20


def _config(name: str, f1: list[float], latency: float = 1.0, cost=0.001, fmt=None):
    records = [
        ScoredAnswer(
            qid=f"q{i}",
            answer="a",
            scores=AnswerScores(f"q{i}", float(v >= 0.5), v, fmt, None),
            sources=(),
            latency_s=latency,
            tokens_in=10,
            tokens_out=5,
            cost_usd=cost,
            finish_reason="stop",
        )
        for i, v in enumerate(f1)
    ]
    return ConfigResult.from_records(
        name, name, "tiny", records, None, EVAL, rag=name.endswith("rag")
    )


def _report(**configs: ConfigResult) -> HarnessReport:
    return HarnessReport(
        "eval", "test", tuple(f"q{i}" for i in range(N)), tuple(configs.values()), ()
    )


def _scores(base: float, gain: float) -> list[float]:
    # alternating +-0.05 noise around the mean, so intervals have width
    return [min(1.0, base + gain + (0.05 if i % 2 else -0.05)) for i in range(N)]


BASE = _scores(0.4, 0.0)
CFG = PromotionConfig(bootstrap_resamples=500)


def test_clear_gain_passes_and_records_figures() -> None:
    report = _report(
        base=_config("base", _scores(0.2, 0)),
        rag=_config("base+rag", BASE),
        ft=_config("fine-tuned", _scores(0.4, 0.01)),
        ftr=_config("fine-tuned+rag", _scores(0.4, 0.2)),
    )
    decision = evaluation_gate(report, CFG, has_champion=False)
    assert decision.passed and decision.regressions == ()
    [comp] = decision.comparisons
    assert comp.name == "fine-tuned+rag vs base+rag"
    assert comp.measured["diff"] == pytest.approx(0.2) and comp.measured["ci_low"] > 0
    figures = decision.figures
    assert figures["best"] == "fine-tuned+rag" and figures["passed"] is True
    assert figures["configs"]["base+rag"]["token_f1"] == pytest.approx(0.4)


def test_no_better_than_base_rag_is_rejected_with_the_shortfall() -> None:
    report = _report(
        rag=_config("base+rag", BASE),
        ft=_config("fine-tuned", _scores(0.2, 0)),
        ftr=_config("fine-tuned+rag", BASE),
    )
    decision = evaluation_gate(report, CFG, has_champion=False)
    assert not decision.passed
    [comp] = decision.comparisons
    assert comp.measured["diff"] == pytest.approx(0.0) and comp.blocks
    assert "short of the +0.0200 margin by 0.0200" in comp.reason
    assert "does not clear +0.0000" in comp.reason


def test_champion_must_be_beaten_too() -> None:
    report = _report(
        rag=_config("base+rag", BASE),
        ftr=_config("fine-tuned+rag", _scores(0.4, 0.2)),
        champ=_config("champion+rag", _scores(0.4, 0.25)),
    )
    decision = evaluation_gate(report, CFG, has_champion=True)
    assert [c.status for c in decision.comparisons] == ["pass", "fail"]
    assert decision.reasons[0].startswith("fine-tuned+rag vs champion+rag: gains -0.05")
    with pytest.raises(InputError, match="lacks champion\\+rag"):
        two = _report(rag=report.configs[0], ftr=report.configs[1])
        evaluation_gate(two, CFG, has_champion=True)


def test_negative_margin_is_non_inferiority() -> None:
    equal = _report(rag=_config("base+rag", BASE), ftr=_config("fine-tuned+rag", BASE))
    lenient = CFG.model_copy(update={"margin_over_base_rag": -0.1})
    assert evaluation_gate(equal, lenient, has_champion=False).passed
    worse = _report(
        rag=_config("base+rag", BASE),
        ftr=_config("fine-tuned+rag", _scores(0.4, -0.2)),
    )
    assert not evaluation_gate(worse, lenient, has_champion=False).passed


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"latency": 2.0}, "latency p95 (s) 2 vs 1: over the 25% tolerance by 0.75"),
        ({"cost": 0.01}, "cost per 1k queries (USD) 10 vs 1"),
        ({"fmt": 0.0}, "format compliance 0.000 vs 1.000: dropped 1.000"),
    ],
)
def test_regressions_beyond_tolerance_reject(kwargs: dict, needle: str) -> None:
    ref_fmt = 1.0 if "fmt" in kwargs else None
    report = _report(
        rag=_config("base+rag", BASE, fmt=ref_fmt),
        ftr=_config("fine-tuned+rag", _scores(0.4, 0.2), **kwargs),
    )
    decision = evaluation_gate(report, CFG, has_champion=False)
    assert decision.comparisons[0].met and not decision.passed
    assert any(needle in r.reason for r in decision.regressions), decision.reasons


def test_report_without_candidate_is_bad_input() -> None:
    with pytest.raises(InputError, match="no candidate configuration"):
        evaluation_gate(_report(rag=_config("base+rag", BASE)), CFG, False)
