"""The small promotion project the flow tests share: the dozen-document sample
knowledge base, the curated SFT set and a training config small enough for a CPU,
plus helpers to edit its params and read its audit log."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ragtune.app.settings import load_settings
from ragtune.audit import AuditLog
from tests._tiny import use_tiny_model
from tests.cli.conftest import make_small_project

LENIENT = {  # the tiny model cannot really beat RAG: make the bar reachable
    "margin_over_base_rag": -1.0,
    "margin_over_champion": -1.0,
    "latency_p95_tolerance": 100.0,
    "cost_tolerance": 100.0,
    "format_tolerance": 1.0,
    "bootstrap_resamples": 200,
}


def promotion_project(root: Path, repo_root: Path) -> Path:
    """params.yaml of a small project whose retrain run takes seconds: the tiny
    random-weight model (not the shipped SmolLM2), two training steps, four eval
    queries. The privacy gate runs as shipped: two steps on a random model leave
    nothing to find, and a few hundred records on each side show that."""
    params = make_small_project(root, repo_root)
    for rel in ("data/sft/curated", "data/prompts"):
        shutil.copytree(repo_root / rel, root / rel)
    raw = yaml.safe_load(params.read_text())
    raw["dataset"].update(eval_queries="eval/queries.jsonl")
    use_tiny_model(raw)  # seconds, not minutes: the flow's wiring is under test
    raw["training"].update(
        max_steps=2, batch_size=2, gradient_accumulation_steps=1,
        max_seq_len=512, save_steps=1, optim="adamw_torch",
    )  # fmt: skip
    raw["backends"].update(poll_interval_s=0.5, work_dir="state/backends")
    raw["retrain"].update(runs_dir="state/retrain")
    raw["generation"].update(max_new_tokens=8)
    raw["evaluation"].update(bootstrap_resamples=200)
    raw["promotion"].update(eval_limit=4, bootstrap_resamples=200)
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return params


def update_params(params: Path, section: str, **values: object) -> None:
    """Overwrite keys of one params.yaml section (nested sections replaced whole)."""
    raw = yaml.safe_load(params.read_text())
    raw[section].update(values)
    params.write_text(yaml.safe_dump(raw, sort_keys=False))


def audit_records(params: Path) -> list[dict]:
    settings = load_settings(params)
    return AuditLog(settings.path(settings.project.audit_log)).records()
