"""Every branch of the decision table, with the numbers each rule reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.tasks.decision import costing
from ragtune.tasks.decision.classify import classify_gap
from ragtune.tasks.decision.evidence import build_evidence
from ragtune.tasks.decision.gaps import load_gaps
from ragtune.tasks.decision.models import (
    AlternativeFigures,
    AnswerFigures,
    RetrievalSetting,
    SettingResult,
)
from ragtune.tasks.decision.rules import decide
from ragtune.tasks.freshness.config import FreshnessConfig

CLASSES = FreshnessConfig().classes
VOLATILE = {name for name, c in CLASSES.items() if c.volatile}


def run(kit, gap, **evidence):  # noqa: ANN001, ANN003, ANN201
    return decide(
        gap,
        kit.make_evidence(gap, **evidence),
        classify_gap(gap),
        kit.cfg,
        volatile_classes=VOLATILE,
    )


def test_rag_for_current_facts_that_retrieval_answers(kit) -> None:
    gap = kit.make_gap(gap_type="current-facts", change_frequency="weekly")
    d = run(kit, gap, value=0.92)
    assert d.recommendation == "rag"
    assert d.fired == ("knowledge-gap", "volatile-knowledge", "target-met")
    met = d.rule("target-met")
    assert (met.measured, met.threshold) == (0.92, 0.8)
    assert "recall_at_k 0.920 (hybrid k=5) vs target 0.800" in met.reason
    assert d.readiness == ()  # no fine-tune, so no dataset check


def test_fine_tune_when_stable_gap_misses_target_after_optimisation(kit) -> None:
    gap = kit.make_gap(gap_type="vocabulary")
    d = run(kit, gap, value=0.61)
    assert d.recommendation == "fine-tune"
    assert d.fired == ("skill-gap", "accuracy-below-target")
    miss = d.rule("accuracy-below-target")
    assert (miss.effect, miss.measured, miss.threshold) == ("fine-tune", 0.61, 0.8)
    assert "0.610" in miss.reason and "after optimisation" in miss.reason
    assert d.summary.startswith("fine-tune: recall_at_k 0.610")


def test_fine_tune_for_inference_cost_at_volume(kit) -> None:
    gap = kit.make_gap(gap_type="capability", query_volume_per_month=4_000_000)
    d = run(kit, gap, rag_cost_per_month_usd=3200.0)
    assert d.recommendation == "fine-tune"
    cost = d.rule("inference-cost-too-high")
    assert cost.fired and (cost.measured, cost.threshold) == (3200.0, 1500.0)
    # fine-tuned model without context: 0.06 per 1k x 4,000 = $240, 92% saving
    assert "$3,200.00/month at 4,000,000 queries vs budget $1,500.00" in cost.reason
    assert "fine-tuned path $240.00/month (92% saving)" in cost.reason


@pytest.mark.parametrize(
    ("alternative", "blocker"),
    [
        (AlternativeFigures(cost_per_1k_usd=0.7), "saving below 25%"),
        (
            AlternativeFigures(cost_per_1k_usd=0.06, metric=0.5),
            "fine-tuned recall_at_k 0.500 misses the target",
        ),
    ],
)
def test_cost_rule_needs_a_cheaper_path_that_meets_the_target(
    kit, alternative: AlternativeFigures, blocker: str
) -> None:
    gap = kit.make_gap(gap_type="capability", query_volume_per_month=4_000_000)
    d = run(kit, gap, rag_cost_per_month_usd=3200.0, fine_tuned=alternative)
    cost = d.rule("inference-cost-too-high")
    assert not cost.fired and blocker in cost.reason
    assert d.recommendation == "neither"


def test_per_gap_budget_overrides_params(kit) -> None:
    gap = kit.make_gap(
        gap_type="capability", assumptions={"max_inference_usd_per_month": 5000.0}
    )
    d = run(kit, gap, rag_cost_per_month_usd=3200.0)
    assert not d.rule("inference-cost-too-high").fired
    assert d.rule("inference-cost-too-high").threshold == 5000.0


def test_fine_tune_for_format_not_met(kit) -> None:
    gap = kit.make_gap(gap_type="style-format", format={"regex": r"^\{.*\}$"})
    d = run(kit, gap, format_compliance=0.7)
    assert d.recommendation == "fine-tune"
    fmt = d.rule("format-not-met")
    assert fmt.fired and (fmt.measured, fmt.threshold) == (0.7, 0.95)
    assert fmt.reason == "format compliance 0.700 < 0.950"


def test_format_target_on_the_gap_replaces_the_default(kit) -> None:
    gap = kit.make_gap(
        gap_type="style-format",
        format={"regex": "^ok$"},
        accuracy_target={"metric": "format_compliance", "target": 0.6},
    )
    d = run(kit, gap, value=0.7, format_compliance=0.7)
    assert not d.rule("format-not-met").fired
    assert d.rule("format-not-met").threshold == 0.6
    assert d.recommendation == "neither"


def test_both_for_volatile_facts_in_a_required_format(kit) -> None:
    gap = kit.make_gap(change_frequency="weekly", format={"regex": "^Northwind: .+$"})
    d = run(kit, gap, format_compliance=0.55)
    assert d.recommendation == "both"
    assert {"volatile-knowledge", "format-not-met"} <= set(d.fired)
    assert "format compliance 0.550 < 0.950" in d.summary


def test_both_for_stable_documents_that_retrieval_misses(kit) -> None:
    gap = kit.make_gap(gap_type="document-retrieval", change_frequency="historical")
    d = run(kit, gap, value=0.5)
    assert d.recommendation == "both"
    assert d.rule("accuracy-below-target").effect == "fine-tune"
    assert d.rule("knowledge-gap").fired and not d.rule("volatile-knowledge").fired


def test_neither_when_pipeline_already_closes_a_stable_skill_gap(kit) -> None:
    gap = kit.make_gap(gap_type="vocabulary", change_frequency="domain-concept")
    d = run(kit, gap, value=0.85)
    assert d.recommendation == "neither"
    assert d.fired == ("skill-gap", "target-met")
    assert d.summary == (
        "neither: RAG meets it: recall_at_k 0.850 (hybrid k=5) vs target 0.800"
    )
    assert d.next_steps == ("no change: monitor the gap's slice for drift",)


@pytest.mark.parametrize(
    ("gap_type", "frequency"),
    [
        ("current-facts", "stable"),  # current facts are volatile by nature
        ("vocabulary", "monthly"),  # faster than quarterly
        ("capability", "regulatory"),  # a volatile freshness class
    ],
)
def test_volatile_knowledge_stays_in_rag_even_when_it_misses(
    kit, gap_type: str, frequency: str
) -> None:
    gap = kit.make_gap(gap_type=gap_type, change_frequency=frequency)
    d = run(kit, gap, value=0.55)
    assert d.recommendation == "rag"
    assert d.volatile
    miss = d.rule("accuracy-below-target")
    assert miss.fired and miss.effect == "rag" and miss.measured == 0.55
    assert "volatile knowledge: fix retrieval or documents" in miss.reason
    assert "improve retrieval or the documents; re-run ragtune decide" in d.next_steps


def test_quarterly_change_is_stable_enough_to_train(kit) -> None:
    gap = kit.make_gap(gap_type="capability", change_frequency="quarterly")
    d = run(kit, gap, value=0.55)
    assert not d.volatile and d.recommendation == "fine-tune"


def test_readiness_gaps_on_the_fine_tune_path(kit) -> None:
    gap = kit.make_gap(gap_type="vocabulary", labelled_examples=350, personal_data=True)
    d = run(kit, gap, value=0.5)
    assert d.recommendation == "fine-tune"
    kinds = {g.kind: g.detail for g in d.readiness}
    assert set(kinds) == {"too-few-examples", "personal-data-without-legal-basis"}
    assert kinds["too-few-examples"] == (
        "350 labelled examples, at least 1,000 needed (650 more)"
    )
    assert any(s.startswith("before training: 350 labelled") for s in d.next_steps)


def test_unlabelled_data_and_legal_basis(kit) -> None:
    gap = kit.make_gap(
        gap_type="vocabulary",
        labelled_examples=0,
        personal_data=True,
        legal_basis="GDPR Art. 6(1)(b), DPA signed",
    )
    d = run(kit, gap, value=0.5)
    assert {g.kind for g in d.readiness} == {"unlabelled-data", "too-few-examples"}


def test_latency_over_budget_asks_for_a_smaller_model(kit) -> None:
    gap = kit.make_gap(gap_type="capability", latency_budget_ms=800)
    d = run(kit, gap, latency_p95_ms=2300.0)
    lat = d.rule("latency-over-budget")
    assert lat.fired and (lat.measured, lat.threshold) == (2300.0, 800)
    assert lat.reason == "p95 2,300 ms vs budget 800 ms"
    assert d.recommendation == "fine-tune"
    slower = AlternativeFigures(latency_p95_ms=2500.0)
    d = run(kit, gap, latency_p95_ms=2300.0, fine_tuned=slower)
    assert not d.rule("latency-over-budget").fired
    assert (
        "fine-tuned path is not faster (2,500 ms)"
        in d.rule("latency-over-budget").reason
    )


def test_latency_rule_does_not_presume_a_faster_model_that_keeps_rag(kit) -> None:
    # volatile knowledge: a fine-tuned model would still read the retrieved
    # context, so only a measured faster fine-tune counts
    gap = kit.make_gap(change_frequency="weekly", latency_budget_ms=800)
    d = run(kit, gap, latency_p95_ms=2300.0)
    assert not d.rule("latency-over-budget").fired
    assert "keeps the retrieved context" in d.rule("latency-over-budget").reason
    faster = AlternativeFigures(latency_p95_ms=700.0)
    assert (
        run(kit, gap, latency_p95_ms=2300.0, fine_tuned=faster)
        .rule("latency-over-budget")
        .fired
    )


def test_unmeasured_accuracy_keeps_rag_first(kit) -> None:
    gap = kit.make_gap(
        gap_type="vocabulary", accuracy_target={"metric": "token_f1", "target": 0.7}
    )
    d = run(kit, gap, value=None)
    assert d.recommendation == "rag"
    assert d.fired == ("skill-gap", "accuracy-not-measured")
    assert d.missing_evidence == ("token_f1",)
    # a failed format is evidence enough for a fine-tune without the F1 figure
    gap = gap.model_copy(update={"format": kit.make_gap(format={"regex": "x"}).format})
    d = run(kit, gap, value=None, format_compliance=0.4)
    assert d.recommendation == "fine-tune"
    assert d.rule("accuracy-not-measured").effect == "none"


def test_format_required_but_not_measured_is_reported(kit) -> None:
    gap = kit.make_gap(gap_type="style-format", format={"regex": "^x$"})
    d = run(kit, gap)
    assert not d.rule("format-not-met").fired
    assert d.missing_evidence == ("format_compliance",)


def test_fine_tune_cost_from_the_estimator(kit) -> None:
    gap = kit.make_gap(labelled_examples=350)
    cost = costing.fine_tune_cost(gap, kit.cfg)
    assert cost["examples_priced"] == 1000 and cost["needs_labels"] is True
    assert (cost["model_size"], cost["method"]) == ("7B", "qlora")
    assert cost["gpu_count"] >= 1 and cost["hours"] > 0 and cost["compute_usd"] > 0
    # labelling 1,000 examples at $0.10-1.00 dominates a QLoRA run's compute
    assert cost["data_prep_usd"] == {"low": 100.0, "high": 1000.0}
    big = costing.fine_tune_cost(kit.make_gap(labelled_examples=20_000), kit.cfg)
    assert big["examples_priced"] == 20_000 and big["needs_labels"] is False
    assert big["hours"] > cost["hours"]


def test_serving_cost_arithmetic(kit) -> None:
    price = kit.cfg.rag_model  # $0.90 per 1M tokens in and out
    assert costing.cost_per_1k(1000, 0, price) == pytest.approx(0.9)
    assert costing.per_month(0.9, 2_000_000) == pytest.approx(1800.0)


def test_sample_gaps_reach_every_branch(kit, repo_root: Path) -> None:
    gaps = load_gaps(repo_root / "data/gaps/sample-gaps.yaml", CLASSES)
    # Answer figures as a model could measure them (the file declares none): the
    # regulatory and vocabulary answers miss their F1 targets, the formats fail.
    answers = {
        "regulatory-obligations": AnswerFigures(token_f1=0.62),
        "complaint-case-updates": AnswerFigures(format_compliance=0.0),
        "rate-change-sms": AnswerFigures(format_compliance=0.0),
        "mutual-society-vocabulary": AnswerFigures(token_f1=0.58),
    }
    got = {}
    for gap in gaps.gaps:
        assert gap.measured is None  # nothing typed in
        figures = answers.get(gap.name)
        metric = (
            0.9
            if gap.accuracy_target.metric == "recall_at_k"
            else getattr(figures, gap.accuracy_target.metric)
        )
        best = SettingResult(
            RetrievalSetting("hybrid", 3),
            {"recall_at_k": 0.9},
            metric,
            400.0,
            30.0,
            answers=figures,
        )
        evidence = build_evidence(gap, best, (best,), 20, kit.cfg)
        got[gap.name] = decide(
            gap, evidence, classify_gap(gap), kit.cfg, volatile_classes=VOLATILE
        )
    rec = {name: d.recommendation for name, d in got.items()}
    assert set(rec.values()) == {"rag", "fine-tune", "both", "neither"}
    assert rec["member-rates-and-fees"] == "rag"
    assert rec["regulatory-obligations"] == "rag"  # misses, but volatile
    assert got["regulatory-obligations"].rule("accuracy-below-target").effect == "rag"
    assert "format-not-met" in got["complaint-case-updates"].fired
    assert rec["complaint-case-updates"] == "fine-tune"
    assert rec["rate-change-sms"] == "both"
    assert rec["mutual-society-vocabulary"] == "fine-tune"
    assert rec["banking-concept-explainers"] == "neither"
    assert rec["contact-centre-triage"] == "fine-tune"
    assert got["contact-centre-triage"].fired[-1] == "inference-cost-too-high"
    assert {g.kind for g in got["contact-centre-triage"].readiness} == {
        "unlabelled-data",
        "too-few-examples",
        "personal-data-without-legal-basis",
    }
    assert rec["society-history-lookup"] == "rag"
    outcome = {name: d.outcome for name, d in got.items()}
    assert outcome["complaint-case-updates"] == "fine-tune"  # 2,400 with a basis
    assert outcome["rate-change-sms"] == "both"
    # personal data and no legal basis: a fine-tune is wanted but cannot start
    assert outcome["mutual-society-vocabulary"] == "fine-tune (blocked)"
    assert outcome["contact-centre-triage"] == "fine-tune (blocked)"
    # readiness is checked for every gap, recorded without blocking RAG-only ones
    assert got["member-rates-and-fees"].fine_tune_readiness == "not-needed"
    assert got["member-rates-and-fees"].readiness
