"""The default freshness classes, read from ``classes.yaml`` beside this module.

The vocabulary is data an operator tunes, not code, and it lives in that one file:
params.yaml's ``freshness.classes`` replaces it whole when set.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ragtune.tasks.freshness.config import ClassPolicy

CLASSES_FILE = Path(__file__).with_name("classes.yaml")


@lru_cache(maxsize=1)
def _raw() -> dict:
    return yaml.safe_load(CLASSES_FILE.read_text(encoding="utf-8"))


def default_classes() -> dict[str, ClassPolicy]:
    """The four classes of the decision framework, with their rule vocabulary."""
    return {name: ClassPolicy(**policy) for name, policy in _raw().items()}
