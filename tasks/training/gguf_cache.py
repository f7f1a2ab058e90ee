"""A GGUF model de-quantised once, then loaded from a local safetensors copy.

transformers de-quantises a GGUF file into torch tensors on every
``from_pretrained(..., gguf_file=...)``: for the packaged SmolLM2-135M that is
about 16 s on 2 cores (12 s of tensors, 4 s of tokenizer conversion), paid by
every ``ragtune eval``, ``decide``, ``serve`` and training start. The converted
float32 tensors, config and tokenizer are written once to a folder keyed by the
GGUF file's content hash and the transformers version that converted it, and
later loads read that folder (a fraction of a second). The values are the ones
the GGUF load gives, so a model loaded either way answers identically.

The cache is per machine, like ``HF_HOME``: ``RAGTUNE_MODEL_CACHE`` names the
folder (default ``$XDG_CACHE_HOME/ragtune/models``, else
``~/.cache/ragtune/models``); ``RAGTUNE_MODEL_CACHE=off`` loads the GGUF every
time. A cache that cannot be written costs only the speed-up: the GGUF is loaded
directly and a warning says why.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from ragtune.tasks.training.model_source import ModelSource

log = logging.getLogger(__name__)

CACHE_ENV = "RAGTUNE_MODEL_CACHE"
MARKER = "ragtune-gguf.json"  # written last: a folder without it is incomplete


def cache_root() -> Path | None:
    """Where converted models live, or None when the cache is switched off."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ragtune" / "models"


@functools.lru_cache(maxsize=8)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, remembered per (path, size, mtime) within a process."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    """The content hash of a GGUF file (read once per process)."""
    stat = path.stat()
    return _content_hash(str(path), stat.st_size, stat.st_mtime_ns)


def converted(source: ModelSource) -> ModelSource:
    """``source`` itself, or its de-quantised copy when it names a local GGUF file.

    The copy is made on first use. The label stays the GGUF reference, so cards
    and audit records name the model as params.yaml does, never a cache folder.
    """
    gguf = Path(source.location) / (source.gguf_file or "")
    root = cache_root()
    if source.gguf_file is None or root is None or not gguf.is_file():
        return source
    key = f"{file_hash(gguf)[:24]}-transformers-{transformers.__version__}"
    folder = root / key
    if not (folder / MARKER).is_file():
        try:
            _convert(source, gguf, folder)
        except OSError as exc:
            log.warning(
                "could not cache the de-quantised %s in %s (%s); loading the GGUF "
                "file directly",
                source.label,
                root,
                exc,
            )
            return source
    return replace(source, location=str(folder), gguf_file=None, revision=None)


def _convert(source: ModelSource, gguf: Path, folder: Path) -> None:
    """De-quantise ``gguf`` into ``folder``, atomically (a rename at the end)."""
    log.info("de-quantising %s once into %s", source.label, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
    try:
        kwargs = source.kwargs()
        tokenizer = AutoTokenizer.from_pretrained(source.location, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source.location, dtype=torch.float32, **kwargs
        )
        # the GGUF's own quantisation is undone by now: the tensors are plain
        # float32, saved as such (transformers refuses to save a "gguf" model)
        model.config.__dict__.pop("quantization_config", None)
        model.hf_quantizer = None
        model.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        marker = {"gguf": source.label, "sha256": file_hash(gguf)}
        marker["transformers"] = transformers.__version__
        (partial / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        try:
            partial.rename(folder)
        except OSError:
            if not (folder / MARKER).is_file():  # not a concurrent conversion
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
