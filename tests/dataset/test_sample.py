"""The shipped Northwind sample: size, formats, house style, reproducibility, and
that it passes the gates it is meant to demonstrate."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from ragtune.app.settings import load_settings
from ragtune.tasks.dataset.build import read_curated
from ragtune.tasks.privacy import scan

from .conftest import REPO

CURATED = REPO / "data" / "sft" / "curated"
CASE_UPDATES = "complaint-case-updates.chat.jsonl"
CASE_SCHEMA = "complaint-case-update.schema.json"


def test_sample_is_large_clean_and_in_house_style() -> None:
    examples, rejected, hashes = read_curated(CURATED, REPO)
    assert rejected == []
    assert len(examples) >= 1200
    assert any(n.endswith(".chat.jsonl") for n in hashes)  # both formats ship
    assert len(hashes) >= 2
    gap_records = [e for e in examples if e.meta.get("gap")]
    schema = json.loads((REPO / "data/gaps/formats" / CASE_SCHEMA).read_text())
    assert len(gap_records) == 320
    for example in gap_records:  # the format gap's records: its JSON, nothing else
        assert example.meta["gap"] == "complaint-case-updates"
        jsonschema.validate(json.loads(example.response), schema)
    for example in examples:
        if example.meta.get("gap"):
            continue
        assert example.response.splitlines()[-1].startswith("Source: ")
        assert example.cited_doc_ids() == (example.meta["doc_id"],)
        assert example.meta["class"] in ("historical", "domain-concept")
        kinds = {m.kind for m in scan(example.response)}
        assert kinds <= {"name"}, (example.id, kinds)  # names have a legal basis
    assert "name" in load_settings(REPO / "params.yaml").dataset.legal_basis


def test_dvc_stage_is_declared_and_locked() -> None:
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["build_sft"]
    assert stage["cmd"] == "ragtune dataset build --quiet"
    assert {"data/sft/curated", "data/kb", "data/prompts/sft_from_doc.j2"} <= set(
        stage["deps"]
    )
    assert stage["outs"] == ["data/sft/build"] and "dataset" in stage["params"]
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    assert [o["path"] for o in lock["build_sft"]["outs"]] == ["data/sft/build"]


@pytest.mark.slow
def test_sample_script_reproduces_the_committed_files(tmp_path: Path) -> None:
    for rel in ("params.yaml", "data/kb", "data/eval/queries.jsonl"):
        source, target = REPO / rel, tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, target)
    spec = importlib.util.spec_from_file_location(
        "make_sft_sample", REPO / "data" / "tools" / "make_sft_sample.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for path in CURATED.glob("*.jsonl"):
        if path.name == CASE_UPDATES:  # data/tools/make_case_updates.py's
            continue
        rebuilt = tmp_path / "data" / "sft" / "curated" / path.name
        assert rebuilt.read_bytes() == path.read_bytes(), path.name


def test_case_update_script_reproduces_the_committed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for rel in ("data/prompts", "data/gaps/formats"):
        shutil.copytree(REPO / rel, tmp_path / rel)
    spec = importlib.util.spec_from_file_location(
        "make_case_updates", REPO / "data" / "tools" / "make_case_updates.py"
    )
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses need it
    spec.loader.exec_module(module)
    assert module.build(tmp_path) == {"sft": 320, "eval": 16}
    for rel in (
        f"data/sft/curated/{CASE_UPDATES}",
        "data/gaps/complaint-case-updates/queries.jsonl",
        "data/gaps/complaint-case-updates/qrels/test.tsv",
    ):
        assert (tmp_path / rel).read_bytes() == (REPO / rel).read_bytes(), rel
    # no held-out case was trained on
    trained = {
        json.loads(line)["meta"]["group"]
        for line in (REPO / "data/sft/curated" / CASE_UPDATES).read_text().splitlines()
    }
    asked = (REPO / "data/gaps/complaint-case-updates/queries.jsonl").read_text()
    held_out = {json.loads(line)["metadata"]["answer"] for line in asked.splitlines()}
    assert not {json.loads(a)["case_id"] for a in held_out} & trained


@pytest.mark.slow
def test_sample_builds_and_passes_the_gates(tmp_path: Path) -> None:
    from ragtune.app.dataset import (
        build_from_settings,
        check_from_settings,
        knowledge_context,
    )

    env = {"RAGTUNE_DATASET__OUT_DIR": str(tmp_path / "build")}
    settings = load_settings(REPO / "params.yaml", env=env)
    context = knowledge_context(settings)
    report = build_from_settings(settings, context)
    assert report.counts["train"] >= 1000 and report.counts["generated"] > 0
    gates = check_from_settings(settings, context)
    assert gates.passed, gates.to_markdown()
    assert gates.get("leakage").status == "pass"
    assert gates.get("pii").measured["found"].keys() == {"name"}
