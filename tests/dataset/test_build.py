"""build_sft: deterministic files, dedup and rejections kept on record, group split,
redaction, and template generation from stable documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.dataset.build import build_sft, sha256_file
from ragtune.tasks.dataset.config import GenerationConfig
from ragtune.tasks.dataset.generate import generate_from_documents
from ragtune.tasks.dataset.records import SFTExample
from ragtune.tasks.ingest.models import Document

from .conftest import REPO, sample_rows, write_jsonl


def _read(path: Path) -> list[SFTExample]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [SFTExample.model_validate_json(line) for line in lines]


def test_build_is_deterministic_and_the_manifest_pins_the_files(
    tmp_path: Path, make_cfg
) -> None:
    write_jsonl(tmp_path / "curated" / "a.jsonl", sample_rows(40))
    cfg = make_cfg()
    first = build_sft(cfg, tmp_path)
    train_bytes = (tmp_path / "build" / "train.jsonl").read_bytes()
    second = build_sft(cfg, tmp_path)
    assert first.dataset_hash == second.dataset_hash
    assert (tmp_path / "build" / "train.jsonl").read_bytes() == train_bytes
    files = second.manifest["files"]
    for name in ("train.jsonl", "eval.jsonl", "removed.jsonl"):
        assert files[name]["sha256"] == sha256_file(tmp_path / "build" / name)
    assert second.counts == {
        "curated": 40, "generated": 0, "rejected": 0, "id_clashes": 0,
        "exact_duplicates": 0, "near_duplicates": 0, "train": 36, "eval": 4,
    }  # fmt: skip
    assert second.manifest["sources"] == {"curated/a.jsonl": 40}
    # A different seed gives a different split of the same examples.
    other = build_sft(make_cfg(seed=99), tmp_path)
    assert other.dataset_hash != first.dataset_hash
    assert other.counts["train"] + other.counts["eval"] == 40


def test_duplicates_and_bad_lines_are_removed_but_recorded(
    tmp_path: Path, make_cfg
) -> None:
    rows = sample_rows(30)
    copy = dict(rows[0], id="copy", instruction=rows[0]["instruction"].upper())
    write_jsonl(tmp_path / "curated" / "a.jsonl", [*rows, copy, {"question": "?"}])
    report = build_sft(make_cfg(), tmp_path)
    assert report.counts["exact_duplicates"] == 1
    assert report.counts["rejected"] == 1
    assert report.counts["train"] + report.counts["eval"] == 30
    removed = [
        json.loads(line)
        for line in (tmp_path / "build" / "removed.jsonl").read_text().splitlines()
    ]
    reasons = sorted(r["reason"].split(":")[0] for r in removed)
    assert reasons == ["exact duplicate", "rejected"]
    dup = next(r for r in removed if r["reason"] == "exact duplicate")
    assert dup["example"]["id"] == "copy" and dup["of"] == rows[0]["id"]


def test_paraphrases_of_one_fact_stay_in_one_split(tmp_path: Path, make_cfg) -> None:
    rows = sample_rows(40)
    for index, row in enumerate(rows):
        row["meta"]["group"] = f"fact-{index // 4}"  # ten groups of four
    write_jsonl(tmp_path / "curated" / "a.jsonl", rows)
    build_sft(make_cfg(eval_share=0.2), tmp_path)
    train = {e.group for e in _read(tmp_path / "build" / "train.jsonl")}
    held = {e.group for e in _read(tmp_path / "build" / "eval.jsonl")}
    assert train and held and not train & held
    assert len(held) == 2  # 20% of 40 examples = 8 = two whole groups


def test_redact_replaces_pii_without_basis_and_keeps_based_kinds(
    tmp_path: Path, make_cfg
) -> None:
    rows = sample_rows(25)
    rows[0]["response"] = "Write to helena.marsh@example.com, Helena Marsh."
    write_jsonl(tmp_path / "curated" / "a.jsonl", rows)
    cfg = make_cfg(redact=True, legal_basis={"name": "published officers"})
    report = build_sft(cfg, tmp_path)
    assert report.manifest["redactions"] == {"email": 1}
    built = _read(tmp_path / "build" / "train.jsonl") + _read(
        tmp_path / "build" / "eval.jsonl"
    )
    changed = next(e for e in built if e.id == rows[0]["id"])
    assert changed.response == "Write to [email], Helena Marsh."
    assert changed.meta["redacted"] == {"email": 1}
    # The curated input is never rewritten.
    assert "helena.marsh@example.com" in (tmp_path / "curated" / "a.jsonl").read_text()


def test_missing_folder_and_empty_input_are_input_errors(
    tmp_path: Path, make_cfg
) -> None:
    with pytest.raises(InputError, match="curated SFT folder .* does not exist"):
        build_sft(make_cfg(), tmp_path)
    (tmp_path / "curated").mkdir()
    with pytest.raises(InputError, match="no SFT examples"):
        build_sft(make_cfg(), tmp_path)


DOC_TEXT = """# Loan-to-value (LTV) explained

## How to work it out

Divide the mortgage by the value of the home and multiply by 100. A EUR 180,000
mortgage on a EUR 240,000 home is 75% LTV. Lower LTV usually means a lower rate.

## Negative equity

When the home is worth less than the mortgage, LTV is above 100%. That is called
negative equity, and it makes moving or remortgaging hard until prices recover.
"""


def _doc(doc_id: str, category: str) -> Document:
    return Document(
        doc_id=doc_id, source_path=f"guides/{doc_id}.md", format="markdown",
        title="Loan-to-value (LTV) explained", text=DOC_TEXT, content_hash="x",
        size_bytes=len(DOC_TEXT), category=category,
    )  # fmt: skip


def test_generation_uses_only_stable_documents_and_is_seeded() -> None:
    docs = [_doc("ltv", "domain-concept"), _doc("rates", "product-pricing")]
    classes = {"ltv": "domain-concept", "rates": "product-pricing"}
    cfg = GenerationConfig(enabled=True, min_section_chars=60)
    template = REPO / "data" / "prompts" / "sft_from_doc.j2"
    first = generate_from_documents(docs, classes, cfg, template, seed=13)
    again = generate_from_documents(docs, classes, cfg, template, seed=13)
    assert first.examples == again.examples
    assert {e.meta["doc_id"] for e in first.examples} == {"ltv"}
    assert first.skipped == (
        ("rates", "class 'product-pricing' is not a generation class"),
    )
    assert len(first.examples) == 2  # both sections are long enough
    for example in first.examples:
        assert example.response.endswith("Source: Loan-to-value (LTV) explained [ltv]")
        assert "LTV" in example.response or "equity" in example.response


def test_template_without_required_block_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.j2"
    bad.write_text("{% block instruction %}Q{% endblock %}")
    with pytest.raises(ConfigError, match="missing block.*response"):
        generate_from_documents(
            [_doc("ltv", "domain-concept")], {"ltv": "domain-concept"},
            GenerationConfig(enabled=True), bad, seed=1,
        )  # fmt: skip


def test_reused_ids_are_recorded_not_lost(tmp_path: Path, make_cfg) -> None:
    rows = sample_rows(25)
    clash = dict(rows[1], id=rows[0]["id"])  # other content under a used id
    same = dict(rows[2])  # the very same record twice
    write_jsonl(tmp_path / "curated" / "a.jsonl", [*rows, clash, same])
    report = build_sft(make_cfg(), tmp_path)
    assert report.counts["id_clashes"] == 1
    assert report.counts["exact_duplicates"] == 1  # the second copy of rows[2]
    assert report.counts["train"] + report.counts["eval"] == 25
