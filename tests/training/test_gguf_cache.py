"""The packaged GGUF de-quantised once: the cached copy is the same model.

A user's first load converts the GGUF; every later load reads the copy. Both
must give the same tensors, the same tokenizer and chat template, and the same
NF4 weights for training, or the cache would change answers and gates.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ragtune.tasks.generation.config import DEFAULT_GGUF, DEFAULT_MODEL
from ragtune.tasks.training import gguf_cache
from ragtune.tasks.training.gguf_cache import CACHE_ENV, MARKER, converted
from ragtune.tasks.training.model_source import resolve_model

CHAT = [
    {"role": "system", "content": "Northwind."},
    {"role": "user", "content": "How long do we have to answer a complaint?"},
    {"role": "assistant", "content": "Within 6 weeks of receipt."},
]


@pytest.mark.slow
def test_cached_copy_is_the_model_the_gguf_gives(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    source = resolve_model(DEFAULT_MODEL, gguf_file=DEFAULT_GGUF)

    copy = converted(source)

    folder = Path(copy.location)
    assert folder.parent == tmp_path / "cache" and copy.gguf_file is None
    assert copy.label == source.label  # records name the GGUF, not the cache
    marker = json.loads((folder / MARKER).read_text())
    gguf = Path(source.location) / DEFAULT_GGUF
    assert marker["sha256"] == gguf_cache.file_hash(gguf)
    assert not list(folder.parent.glob(".partial-*"))
    kwargs = source.kwargs()
    direct = AutoModelForCausalLM.from_pretrained(
        source.location, dtype=torch.float32, **kwargs
    )
    cached = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    want, got = direct.state_dict(), cached.state_dict()
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    tok_direct = AutoTokenizer.from_pretrained(source.location, **kwargs)
    tok_cached = AutoTokenizer.from_pretrained(folder)
    assert tok_cached.chat_template == tok_direct.chat_template
    assert tok_cached.apply_chat_template(CHAT) == tok_direct.apply_chat_template(CHAT)
    assert tok_cached.eos_token_id == tok_direct.eos_token_id

    def no_second_conversion(*args: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(gguf_cache, "_convert", no_second_conversion)
    assert converted(source) == copy


def test_cache_off_or_unwritable_loads_the_gguf(
    tmp_path: Path, monkeypatch, caplog
) -> None:  # noqa: ANN001
    source = resolve_model(DEFAULT_MODEL, gguf_file=DEFAULT_GGUF)
    monkeypatch.setenv(CACHE_ENV, "off")
    assert converted(source) == source

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "models"))
    with caplog.at_level(logging.WARNING):
        assert converted(source) == source
    assert "could not cache" in caplog.text and str(blocker) in caplog.text


def test_models_without_gguf_are_left_alone(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    folder = resolve_model(str(tmp_path))
    assert converted(folder) == folder
    assert not any(tmp_path.iterdir())
