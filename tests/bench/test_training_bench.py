"""The training benchmark on the tiny model, so it cannot rot unnoticed (the figure
itself comes from ``python -m bench.training`` on SmolLM2 and the sample SFT set,
a DVC output; the test writes its own records)."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest
import torch

from ragtune.tasks.training.data import Example


def _chat_records(path: Path, count: int) -> Path:
    """``count`` conversations of differing lengths (so batches are padded)."""
    lines = []
    for i in range(count):
        messages = [
            {"role": "user", "content": f"Question {i}: what is the fee?"},
            {"role": "assistant", "content": "It is EUR 12." + " Really." * (i % 5)},
        ]
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def training(bench):
    return importlib.import_module("bench.training")


@pytest.fixture
def _threads_restored():
    # main() sets params.yaml's one torch thread; the worker's other tests keep theirs.
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("_threads_restored")
def test_both_sides_train_the_same_tokens_in_the_same_batches(
    training, tmp_path, capsys
):
    out = tmp_path / "training.json"
    data = _chat_records(tmp_path / "train.jsonl", 16)

    code = training.main(
        ["--model", "tiny", "--steps", "2", "--rounds", "2", "--data", str(data)]
        + ["--out", str(out)]
    )

    assert code == 0
    report = json.loads(out.read_text())
    runs = report["runs"]
    assert set(runs) == {"ragtune", "trainer"}
    assert all(len(rs) == 2 for rs in runs.values())
    every = [r for rs in runs.values() for r in rs]
    assert all(r["steps"] == 2 and len(r["step_s"]) == 2 for r in every)
    # Counted by each side itself (ragtune's TrainState, the Trainer's
    # num_input_tokens_seen over attention masks): the same non-padding tokens.
    assert len({r["tokens"] for r in every}) == 1 and every[0]["tokens"] > 0
    # LoRA B starts at zero, so the first step's loss depends on the weights and
    # the batch only: equal losses mean the same examples, padded alike.
    first = [r["losses"][0] for r in every]
    assert all(math.isclose(loss, first[0], rel_tol=1e-4) for loss in first)
    rates = report["tokens_per_s"]
    assert all(rate > 0 for rate in rates.values())
    assert rates["ragtune"] == pytest.approx(
        (runs["ragtune"][0]["tokens_per_s"] + runs["ragtune"][1]["tokens_per_s"]) / 2
    )
    assert report["ragtune_vs_trainer"] == rates["ragtune"] / rates["trainer"]
    assert len(report["round_ratios"]) == 2
    assert all(r["outside_steps_s"] >= 0 for r in every)
    assert report["settings"]["optim"] == "adamw_torch"
    assert report["examples"] == 16 and len(report["data_sha256"]) == 64
    assert all(mib > 0 for mib in report["peak_rss_mib"].values())
    assert "ragtune / trainer" in capsys.readouterr().out


def test_a_short_batch_inside_the_run_is_refused(training):
    cfg = training.config("tiny", steps=2)
    five = [Example((1, 2, 3), (1, 2, 3))] * (cfg.batch_size + 1)

    with pytest.raises(ValueError, match="choose another --steps"):
        training.batch_order(cfg, five)  # one batch of 4, one of 1
