"""The retrieval benchmark on a tiny sample-like index and a tiny synthetic one, so
it cannot rot unnoticed: both paths run every case and return the same results."""

from __future__ import annotations

import json

from ragtune.tasks.embedding.hashed import HashEmbedder

DOCS = {
    "compliance/complaints.md": (
        "regulatory",
        "2024-01-01",
        "# Complaints\n\nA final response is sent within eight weeks.\n\n"
        "## Clause 2.1\n\nComplaints are acknowledged within three business days.",
    ),
    "products/fees.md": (
        "product-pricing",
        "2026-01-01",
        "# Fees\n\nThe overdraft fee is 5 EUR a month.\n\n## Cards\n\n"
        "A replacement card costs 10 EUR.",
    ),
    "guides/deposits.md": (
        "domain-concept",
        None,
        "# Deposit guarantee\n\nDeposits are protected up to 100,000 EUR per person.",
    ),
}


def _kb(root):  # noqa: ANN001, ANN202
    for path, (category, day, body) in DOCS.items():
        name = path.rsplit("/", 1)[-1].removesuffix(".md")
        front = f"id: {name}\ntitle: {name.title()}\ncategory: {category}\n"
        front += f"effective_date: {day}\n" if day else ""
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"---\n{front}---\n\n{body}\n", encoding="utf-8")
    return root


def test_both_paths_agree_on_every_case_of_both_sizes(bench, tmp_path, capsys):
    retrieval = bench.retrieval
    embedder = HashEmbedder(dim=32, name="hash-bench-32")
    sample = retrieval.build_sample(
        tmp_path / "sample-index", embedder, kb=_kb(tmp_path / "kb")
    )
    report = retrieval.run_benchmark(
        tmp_path / "work",
        sample=sample,
        sample_embedder=embedder,
        synthetic=300,
        queries=4,
        rounds=1,
    )

    assert list(report["sizes"]) == ["sample", "synthetic-300"]
    assert report["sizes"]["synthetic-300"]["rows"] == 300
    assert report["sizes"]["sample"]["rows"] == sample.count_rows() > 3
    for size, result in report["sizes"].items():
        assert list(result["cases"]) == list(retrieval.CASES), size
        assert {"category_idx", "effective_date_idx", "valid_until_idx"} <= set(
            result["indexes"]
        )
        for case, row in result["cases"].items():
            where = f"{size}/{case}"
            assert row["mismatches"] == 0, where
            assert row["before"]["n"] == row["after"]["n"] == 4, where
            for side in ("before", "after"):
                assert 0 < row[side]["p50_ms"] <= row[side]["p95_ms"], where
            assert row["p50_ratio"] > 0 and row["p95_ratio"] > 0, where
    plain = retrieval.plain_copy(sample, tmp_path / "plain")
    assert not {ix.name for ix in plain.list_indices()} & {"category_idx"}

    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report, default=str))
    assert retrieval.main(["--from-json", str(saved)]) == 0
    table = capsys.readouterr().out
    assert table.count("| synthetic-300 (300 rows) |") == len(retrieval.CASES)
    assert "| sample (" in table and "0 of 4 |" in table
