"""docs/estimator.md's params.yaml block is the code's defaults, key for key."""

from __future__ import annotations

import re

import yaml

from ragtune.tasks.estimate import EstimatorConfig


def test_documented_section_equals_the_defaults(repo_root):
    text = (repo_root / "docs" / "estimator.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    documented = [yaml.safe_load(b) for b in blocks if b.startswith("estimate:")]
    assert len(documented) == 1
    assert EstimatorConfig(**documented[0]["estimate"]) == EstimatorConfig()
