"""A retrain aimed at one gap: the gap's records, its gate slice, its training
settings, and clear refusals for gaps no fine-tune can serve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.app.settings import load_settings
from ragtune.errors import InputError
from ragtune.tasks.retrain.gaps import gap_target, write_gap_slice

GAP = "complaint-case-updates"


@pytest.fixture(scope="module")
def settings(repo_root: Path):  # noqa: ANN201
    return load_settings(repo_root / "params.yaml")


def _target(settings, name: str, overrides: dict | None = None):  # noqa: ANN001, ANN202
    return gap_target(
        settings.path(settings.retrain.gaps_file),
        name,
        settings.freshness.classes,
        settings.training,
        settings.retrain.gap_training.get(name, {}) if overrides is None else overrides,
    )


def test_the_sample_format_gap_trains_on_its_records_and_is_judged_on_format(
    settings, repo_root: Path
) -> None:
    target = _target(settings, GAP)
    assert target.gate.metric == "format_ok"
    assert target.gate.eval_set == repo_root / "data/gaps" / GAP
    # the shipped overrides apply on top of `training:`, the rest unchanged
    shipped = settings.retrain.gap_training[GAP]
    assert target.training.learning_rate == shipped["learning_rate"]
    assert target.training.max_steps == shipped["max_steps"]
    assert target.training.lora_r == settings.training.lora_r


def test_gaps_no_fine_tune_can_serve_are_refused_by_name(settings) -> None:
    with pytest.raises(InputError, match="targets recall_at_k"):
        _target(settings, "member-rates-and-fees")
    with pytest.raises(InputError, match="has no gap 'nope'; it has: member-rates"):
        _target(settings, "nope")
    with pytest.raises(InputError, match=r"gap_training.complaint-case-updates .*lr"):
        _target(settings, GAP, {"lr": 0.1})


def _record(i: int, gap: str | None) -> str:
    meta = {"class": "regulatory"} | ({"gap": gap} if gap else {})
    messages = [{"role": "user", "content": f"q{i}"}]
    messages.append({"role": "assistant", "content": f"a{i}"})
    return json.dumps({"id": f"r{i}", "messages": messages, "meta": meta})


def test_the_slice_keeps_only_the_gaps_records_of_each_split(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    rows = [_record(i, GAP if i % 3 == 0 else None) for i in range(12)]
    (build / "train.jsonl").write_text("\n".join(rows[:9]) + "\n")
    (build / "eval.jsonl").write_text("\n".join(rows[9:]) + "\n")
    part = write_gap_slice(build, GAP, tmp_path / "slice")
    assert (part.train_records, part.heldout_records) == (3, 1)
    ids = [json.loads(x)["id"] for x in part.train.read_text().splitlines()]
    assert ids == ["r0", "r3", "r6"]
    assert json.loads(part.heldout.read_text())["id"] == "r9"
    with pytest.raises(InputError, match="no SFT record .* tagged meta.gap: 'other'"):
        write_gap_slice(build, "other", tmp_path / "other")


def test_a_misspelt_override_is_refused_when_params_load(
    tmp_path: Path, repo_root: Path
) -> None:
    from ragtune.errors import ConfigError

    text = (repo_root / "params.yaml").read_text(encoding="utf-8")
    shipped = "complaint-case-updates: {learning_rate: 0.001,"
    assert shipped in text
    params = tmp_path / "params.yaml"
    params.write_text(
        text.replace(shipped, "complaint-case-updates: {learning_rat: 0.001,"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="not training settings: learning_rat"):
        load_settings(params)
