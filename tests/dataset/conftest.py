"""Small SFT sets for the dataset tests, cut from the shipped Northwind sample."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragtune.tasks.dataset.config import DatasetConfig, GenerationConfig

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sft" / "curated" / "northwind-facts.jsonl"


def sample_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` instruction/response rows of the shipped sample (one per fact group)."""
    rows, groups = [], set()
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["meta"]["group"] in groups:
            continue
        groups.add(row["meta"]["group"])
        rows.append(row)
    return rows[start : start + n]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def make_cfg(tmp_path: Path) -> Callable[..., DatasetConfig]:
    """A DatasetConfig rooted in tmp_path: small minimum, no generation."""

    def make(**overrides: Any) -> DatasetConfig:
        base: dict[str, Any] = {
            "curated_dir": tmp_path / "curated",
            "out_dir": tmp_path / "build",
            "min_examples": 20,
            "eval_queries": None,
            "generation": GenerationConfig(enabled=False),
        }
        return DatasetConfig(**(base | overrides))

    return make
