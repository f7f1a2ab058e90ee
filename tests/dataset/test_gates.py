"""The dataset gates on small built sets: each bad input named, good input passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.dataset.build import build_sft
from ragtune.tasks.dataset.coverage import LoggedQuery
from ragtune.tasks.dataset.gates import GateInputs, load_built, run_gates

from .conftest import sample_rows, write_jsonl

CLASSES_OF = lambda rows: {r["meta"]["doc_id"]: r["meta"]["class"] for r in rows}  # noqa: E731


def _gated(tmp_path: Path, cfg, rows, **inputs):
    write_jsonl(tmp_path / "curated" / "a.jsonl", rows)
    build_sft(cfg, tmp_path)
    return run_gates(load_built(tmp_path / "build"), cfg, GateInputs(**inputs))


def test_clean_set_passes_every_gate(tmp_path: Path, make_cfg) -> None:
    rows = sample_rows(40)
    report = _gated(
        tmp_path,
        make_cfg(legal_basis={"name": "published officers"}),
        rows,
        doc_classes=CLASSES_OF(rows),
        eval_queries=("How do I cancel a direct debit?",),
    )
    assert report.passed, report.to_markdown()
    names = [r.name for r in report.results]
    assert names == [
        "min_examples", "schema", "duplicates", "leakage", "label_quality",
        "representativeness", "pii",
    ]  # fmt: skip
    payload = json.loads(report.to_json())
    assert payload["dataset_hash"] == report.dataset_hash
    assert payload["gates"][0]["measured"]["train"] == 36
    assert "| min_examples | PASS |" in report.to_markdown()


def test_below_the_minimum_fails_and_names_the_setting(
    tmp_path: Path, make_cfg
) -> None:
    report = _gated(tmp_path, make_cfg(min_examples=1000), sample_rows(30))
    gate = report.get("min_examples")
    assert gate.status == "fail"
    assert gate.reason.startswith("only 27 training examples; at least 1000 needed")
    assert "dataset.min_examples" in gate.reason
    assert not report.passed


def test_duplicates_only_fails(tmp_path: Path, make_cfg) -> None:
    one = sample_rows(1)[0]
    rows = [dict(one, id=f"copy-{i}") for i in range(50)]
    report = _gated(tmp_path, make_cfg(), rows)
    dup = report.get("duplicates")
    assert dup.status == "fail"
    assert dup.measured["exact_removed"] == 49
    assert "removed 49 exact" in dup.reason and "max_duplicate_share" in dup.reason
    assert "the build removed 49 exact duplicates" in report.get("min_examples").reason


def test_wrong_schema_fails_with_file_and_line(tmp_path: Path, make_cfg) -> None:
    rows = sample_rows(25) + [{"question": "What is LTV?", "answer": "A ratio."}]
    report = _gated(tmp_path, make_cfg(), rows)
    schema = report.get("schema")
    assert schema.status == "fail"
    assert "1 input record(s) do not fit the SFT schema" in schema.reason
    assert "curated/a.jsonl:26" in schema.reason
    assert "found keys: answer, question" in schema.reason


def test_pii_without_legal_basis_fails_naming_the_kinds(
    tmp_path: Path, make_cfg
) -> None:
    rows = sample_rows(25)
    rows[3]["response"] = (
        "Call Helena Marsh on +44 20 7946 0958 or pay GB82 WEST 1234 5698 7654 32."
    )
    report = _gated(
        tmp_path, make_cfg(legal_basis={"name": "published officers"}), rows
    )
    pii = report.get("pii")
    assert pii.status == "fail"
    assert pii.reason.startswith(
        "personal data without a legal basis: iban (1), phone (1)"
    )
    assert "dataset.legal_basis" in pii.reason and "dataset.redact" in pii.reason
    assert pii.measured["found"]["name"] >= 1  # based kinds are counted, not blocking
    assert rows[3]["id"] in pii.measured["example_ids"]["iban"]


def test_leakage_across_splits_and_into_eval_queries(tmp_path: Path, make_cfg) -> None:
    rows = sample_rows(30)
    cfg = make_cfg()
    write_jsonl(tmp_path / "curated" / "a.jsonl", rows)
    build_sft(cfg, tmp_path)
    data = load_built(tmp_path / "build")
    # Copy one eval example into train, as a hand edit after the build would.
    leaked = data.eval[0]
    data = type(data)(data.train + (leaked,), data.eval, data.manifest)
    query = data.train[0].instruction.lower()
    report = run_gates(data, cfg, GateInputs(eval_queries=(query,)))
    gate = report.get("leakage")
    assert gate.status == "fail"
    assert gate.measured["train_eval_exact"] == 1
    assert gate.measured["eval_query_overlap"] == 1
    assert "repeat retrieval eval queries" in gate.reason


def test_label_problems_warn_then_fail_above_the_share(
    tmp_path: Path, make_cfg
) -> None:
    rows = sample_rows(40)
    rows[0]["response"] = (
        "I'm sorry, but as an AI language model I cannot help with that."
    )
    rows[1]["response"] = "The leverage ratio is Tier 1 capital divided by total"
    rows[2]["response"] = (
        "Le ratio de levier est le capital de base divisé par les expositions."
    )
    report = _gated(tmp_path, make_cfg(max_label_issue_share=0.2), rows)
    gate = report.get("label_quality")
    assert gate.status == "warn"
    assert gate.measured["counts"] == {
        "empty": 0, "truncated": 1, "refusal": 1, "language_mismatch": 1,
    }  # fmt: skip
    strict = run_gates(
        load_built(tmp_path / "build"), make_cfg(max_label_issue_share=0.01)
    )
    assert strict.get("label_quality").status == "fail"


def test_representativeness_counts_classes_and_query_log(
    tmp_path: Path, make_cfg
) -> None:
    rows = sample_rows(40)
    classes = CLASSES_OF(rows) | {
        "never-cited-guide": "domain-concept",
        "rates": "product-pricing",
    }
    log = (
        LoggedQuery(rows[0]["instruction"], (rows[0]["meta"]["doc_id"],)),
        LoggedQuery(
            "completely unrelated travel insurance cover", ("never-cited-guide",)
        ),
        LoggedQuery("current savings rates", ("rates",)),  # volatile: not counted
    )
    report = _gated(
        tmp_path,
        make_cfg(min_query_coverage=0.9),
        rows,
        doc_classes=classes,
        query_log=log,
    )
    gate = report.get("representativeness")
    assert (
        gate.measured["classes"]["domain-concept"]["covered"]
        < (gate.measured["classes"]["domain-concept"]["documents"])
    )
    assert gate.measured["query_log"]["stable_queries"] == 2
    assert gate.measured["query_log"]["covered"] >= 1
    assert gate.status == "warn" and "logged stable-topic queries" in gate.reason


def test_unbuilt_folder_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run `ragtune dataset build`"):
        load_built(tmp_path / "nothing")
