"""The answer scorer with a gap's fine-tuned candidate: base closed book, base +
RAG, and the candidate with and without retrieval, on the same questions.

Two scripted generators on the tiny real index: the base model answers in prose
and the candidate returns the format the gap requires, so every figure and the
rule that reports the candidate can be predicted.
"""

from __future__ import annotations

from pathlib import Path

from ragtune.tasks.decision.answering import Candidate, HarnessAnswerScorer
from ragtune.tasks.decision.classify import classify_gap
from ragtune.tasks.decision.evidence import measure_rag_baseline
from ragtune.tasks.decision.retrievers import lancedb_search_factory
from ragtune.tasks.decision.rules import decide
from ragtune.tasks.evaluation.beir import load_beir
from ragtune.tasks.evaluation.config import EvaluationConfig
from ragtune.tasks.evaluation.harness import Prompts
from ragtune.tasks.generation.base import Generation, GenerationParams, Message
from ragtune.tasks.generation.prompts import PromptTemplate
from ragtune.tasks.index.config import IndexConfig
from ragtune.tasks.index.publish import open_live
from ragtune.tasks.index.retrieval import index_retriever

JSON_ONLY = r'^\{"answer": "[^"]+"\}$'


class Scripted:
    """Answers every question with the same text."""

    def __init__(self, name: str, text: str) -> None:
        self.name, self.text = name, text
        self.calls = 0

    def generate(self, messages: list[Message], params: GenerationParams) -> Generation:
        self.calls += 1
        prompt = " ".join(m.content for m in messages)
        return Generation(self.text, self.name, len(prompt.split()), 5, 0.01)

    def stream(self, messages, params):  # noqa: ANN001, ANN201
        yield self.generate(messages, params).text


def _scorer(
    repo_root: Path, live_index: str, embedder, candidate
) -> HarnessAnswerScorer:  # noqa: ANN001
    folder = repo_root / "data" / "prompts"
    table = open_live(live_index, "chunks")
    cfg = IndexConfig(uri=live_index)
    return HarnessAnswerScorer(
        generator=Scripted("base-model", "The answer is in the rulebook."),
        retriever_for=lambda classes: index_retriever(table, embedder, 5, cfg, classes),
        prompts=Prompts(
            PromptTemplate.load(folder / "answer_with_context.j2"),
            PromptTemplate.load(folder / "answer_without_context.j2"),
        ),
        params=GenerationParams(max_new_tokens=16),
        eval_cfg=EvaluationConfig(bootstrap_resamples=500),
        prices={},
        price=None,
        max_answers=12,
        candidate_for=candidate,
    )


def test_a_measured_candidate_beats_base_rag_on_the_gaps_format(
    tmp_path: Path,
    repo_root: Path,
    kit,
    live_index: str,
    embedder,  # noqa: ANN001
) -> None:
    evalset = load_beir(kit.write_evalset(tmp_path / "eval"))
    gap = kit.make_gap(
        name="json-answers",
        gap_type="style-format",
        accuracy_target={"metric": "format_compliance", "target": 0.98},
        format={"regex": JSON_ONLY},
        eval_slice={"classes": ["regulatory", "product-pricing", "historical"]},
    )
    tuned = Scripted("tuned-model", '{"answer": "see clause 2.1"}')
    asked: list[str] = []

    def candidate_for(g):  # noqa: ANN001, ANN202
        asked.append(g.name)
        return Candidate(tuned, "registry v7")

    scorer = _scorer(repo_root, live_index, embedder, candidate_for)
    factory = lancedb_search_factory(
        open_live(live_index, "chunks"), embedder, IndexConfig(uri=live_index)
    )
    evidence = measure_rag_baseline(
        gap, evalset, factory, cfg=kit.cfg, chunk_tokens=50.0, answer_scorer=scorer
    )
    assert asked == ["json-answers"]
    assert tuned.calls == 2 * 5  # with and without retrieval, five questions
    assert evidence.format_compliance == 0.0  # base + RAG answers in prose
    alt = evidence.fine_tuned
    assert alt.metric == alt.format_compliance == 1.0
    assert evidence.sources["fine_tuned"] == "measured"
    assert alt.answers.n == 5 and "registry v7" in alt.answers.configuration
    assert [c.configuration.split(" ")[0] for c in alt.configurations] == [
        "fine-tuned",
        "fine-tuned+rag",
    ]
    (gain,) = [g for g in alt.gains if g["metric"] == "format_compliance"]
    assert gain["gain"] == 1.0 and gain["ci_low"] == 1.0 and gain["significant"]

    decision = decide(gap, evidence, classify_gap(gap), kit.cfg)
    rules = {r.rule: r for r in decision.rules}
    assert rules["format-not-met"].fired  # the base pipeline breaks the format
    assert decision.recommendation == "fine-tune"
    candidate = rules["fine-tuned-candidate"]
    assert candidate.fired and candidate.effect == "none"
    assert "beats base + RAG by +1.000" in candidate.reason


def test_without_a_candidate_only_the_base_model_answers(
    tmp_path: Path,
    repo_root: Path,
    kit,
    live_index: str,
    embedder,  # noqa: ANN001
) -> None:
    evalset = load_beir(kit.write_evalset(tmp_path / "eval"))
    gap = kit.make_gap(
        accuracy_target={"metric": "format_compliance", "target": 0.98},
        format={"regex": JSON_ONLY},
    )
    scorer = _scorer(repo_root, live_index, embedder, lambda g: None)
    factory = lancedb_search_factory(
        open_live(live_index, "chunks"), embedder, IndexConfig(uri=live_index)
    )
    evidence = measure_rag_baseline(
        gap, evalset, factory, cfg=kit.cfg, chunk_tokens=50.0, answer_scorer=scorer
    )
    assert evidence.fine_tuned.answers is None and evidence.fine_tuned.gains == ()
    assert "fine_tuned" not in evidence.sources
    rule = next(
        r
        for r in decide(gap, evidence, classify_gap(gap), kit.cfg).rules
        if r.rule == "fine-tuned-candidate"
    )
    assert not rule.fired and "no fine-tuned candidate" in rule.reason


def test_the_record_shows_both_gains_with_their_intervals() -> None:
    from ragtune.tasks.decision.render import answers_table

    def fig(name: str, fmt: float) -> dict:
        return {"configuration": name, "n": 4, "format_compliance": fmt,
                "latency_p95_ms": 900.0}  # fmt: skip

    def gain(value: float, low: float, high: float) -> dict:
        return {"metric": "format_compliance", "gain": value, "ci_low": low,
                "ci_high": high, "significant": low > 0, "n": 4}  # fmt: skip

    evidence = {
        "closed_book": fig("base, closed book", 0.0),
        "best": {"answers": fig("base+rag (hybrid k=5)", 0.0)},
        "differences": [gain(0.0, 0.0, 0.0)],
        "fine_tuned": {
            "configurations": [fig("fine-tuned (registry v1, closed book)", 1.0)],
            "gains": [gain(1.0, 1.0, 1.0)],
        },
    }
    text = "\n".join(answers_table(evidence))
    assert "| fine-tuned (registry v1, closed book) | n/a | n/a | 1.000 |" in text
    assert (
        "Retrieval gain on format_compliance: +0.000 [+0.000, +0.000] "
        "(not significant, n=4)" in text
    )
    assert (
        "Fine-tuned over base + RAG on format_compliance: +1.000 [+1.000, +1.000] "
        "(significant, n=4)" in text
    )
