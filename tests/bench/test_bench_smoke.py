"""The refresh benchmark harness on a tiny corpus, so it cannot rot unnoticed.

ragtune alone runs on every test run (no optional packages); the peers' run is
slow and skipped when the ``bench`` extra (bench/requirements.txt) is missing.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

SCENARIOS = ["full-build", "edit-1pct", "delete-1pct", "add-1pct", "no-change"]


def _installed(*modules: str) -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except ModuleNotFoundError:
        return False


def test_ragtune_embeds_the_minimum_and_matches_a_rebuild(
    bench, tiny_embedder, tmp_path, monkeypatch
):
    monkeypatch.setattr(bench.refresh, "SETTLE_S", 0.0)
    report = bench.refresh.run_benchmark(
        tmp_path,
        tiny_embedder,
        chunks=60,
        systems=["ragtune", "ragtune-full"],
        rounds=2,
    )

    assert [s["name"] for s in report["scenarios"]] == SCENARIOS
    assert report["systems"] == ["ragtune", "ragtune-full"]
    steps = {s["name"]: s for s in report["scenarios"]}
    # The corpus generator stops at the first document that reaches the target.
    assert 60 <= report["corpus"]["chunks"] < 75
    assert steps["full-build"]["minimum"] == report["corpus"]["distinct_texts"]
    # Editing a paragraph or adding a document brings new texts; deleting or
    # changing nothing brings none.
    assert steps["edit-1pct"]["minimum"] >= 2
    assert steps["add-1pct"]["minimum"] >= 2
    assert steps["delete-1pct"]["minimum"] == 0
    assert steps["no-change"]["minimum"] == 0
    assert len(steps["delete-1pct"]["mutation"]["doc_ids"]) == 1
    for step in report["scenarios"]:
        for system, result in step["results"].items():
            where = f"{step['name']}/{system}"
            assert result["embedded"] == result["minimum"], where
            assert (result["stale"], result["missing"]) == (0, 0), where
            assert result["rows"] == result["expected_rows"], where
            assert result["py_peak_mb"] is not None, where
    assert report["memory_pass_mismatches"] == []
    verdicts = {t["target"]: t["met"] for t in report["targets"]}
    assert verdicts["embeds exactly the minimum"] is True
    assert verdicts["0 stale, 0 missing"] is True
    json.dumps(report)  # what --json writes
    _rounds_are_rotated_and_summarised(report)


def _rounds_are_rotated_and_summarised(report: dict) -> None:
    steps = report["steps"]
    assert [s["name"] for s in steps] == SCENARIOS[:1] + SCENARIOS[1:] * 2
    assert [s["round"] for s in steps if s["name"] == "edit-1pct"] == [0, 1]
    orders = [s["order"] for s in steps if s["name"] == "edit-1pct"]
    assert orders == [["ragtune", "ragtune-full"], ["ragtune-full", "ragtune"]]
    # each round deletes another document
    deleted = [s["mutation"]["doc_ids"] for s in steps if s["name"] == "delete-1pct"]
    assert deleted[0] != deleted[1]
    for merged in report["scenarios"][1:]:
        rounds = [s for s in steps if s["name"] == merged["name"]]
        assert merged["rounds"] == 2
        assert merged["minimum"] == sum(s["minimum"] for s in rounds)
        for system, result in merged["results"].items():
            walls = [s["results"][system]["wall_s"] for s in rounds]
            assert result["wall_s_rounds"] == walls
            assert result["wall_s"] == pytest.approx(sum(walls) / 2)  # median of 2
            assert result["embedded"] == sum(
                s["results"][system]["embedded"] for s in rounds
            )
            assert result["exact_rounds"] == 2


def test_corpus_and_mutations_are_deterministic(bench, tmp_path):
    Corpus = bench.corpus.Corpus

    def run(folder: str, seed: int) -> tuple[dict[str, str], list]:
        corpus = Corpus.generate(tmp_path / folder, 40, seed=seed)
        steps = [corpus.edit(0.01), corpus.delete(0.01), corpus.add(0.01)]
        files = {p.name: p.read_text() for p in corpus.files()}
        return files, steps

    first, steps = run("a", 13)
    again, steps_again = run("b", 13)
    other, _ = run("c", 14)

    assert first == again and steps == steps_again
    assert first != other
    edited, deleted, added = steps
    assert [s.kind for s in steps] == ["edit", "delete", "add"]
    assert len(edited.doc_ids) == len(deleted.doc_ids) == len(added.doc_ids) == 1
    ids = {text.split("\n")[1].removeprefix("id: ") for text in first.values()}
    assert not ids & set(deleted.doc_ids)
    assert set(added.doc_ids) <= ids
    assert any("Restated in revision" in t for t in first.values())


def test_unknown_or_missing_peer_is_reported(bench, tiny_embedder, tmp_path):
    with pytest.raises(KeyError, match="unknown system"):
        bench.peers.build_peer("haystack", tmp_path, tiny_embedder, None)
    assert bench.peers.missing_packages("ragtune") == []


@pytest.mark.slow
@pytest.mark.skipif(
    not _installed("langchain_classic", "llama_index.core"),
    reason="bench extra not installed (pip install -r bench/requirements.txt)",
)
def test_peers_show_their_known_behaviour(bench, tiny_embedder, tmp_path):
    # 260 chunks: several LangChain index() batches of 100, so documents cross them.
    report = bench.refresh.run_benchmark(
        tmp_path,
        tiny_embedder,
        chunks=260,
        systems=["ragtune", "langchain", "llamaindex"],
        memory_pass=False,
    )

    steps = {s["name"]: s["results"] for s in report["scenarios"]}
    langchain = {name: r["langchain"] for name, r in steps.items()}
    llamaindex = {name: r["llamaindex"] for name, r in steps.items()}
    assert langchain["no-change"]["embedded"] > 0  # batch-boundary re-embedding
    assert langchain["delete-1pct"]["stale"] > 0  # deleted documents kept
    assert llamaindex["edit-1pct"]["embedded"] > llamaindex["edit-1pct"]["minimum"]
    assert all(r["missing"] == 0 for r in [*langchain.values(), *llamaindex.values()])
    assert all(r["stale"] == 0 for r in llamaindex.values())
    workarounds = [i for i in report["issues"] if i["kind"] == "workaround"]
    assert {i["system"] for i in workarounds} == {"langchain", "llamaindex"}
    assert all(i["reproduced"] for i in workarounds)
