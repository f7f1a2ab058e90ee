"""A sentence-transformers folder run with transformers alone: the encoder, then
mean or CLS pooling, then L2 normalisation.

Why not ``SentenceTransformer`` itself: importing sentence-transformers pulls in
peft, the trainer and the model-card machinery, about 4 s of a 7.5 s embedder load
on a CPU, and every CLI command and flow run that embeds pays it in a fresh
process. The common layout (Transformer -> Pooling -> Normalize, as MiniLM ships)
needs none of it; folders with any other module fall back to sentence-transformers.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def pooling_mode(model_path: str | Path) -> str | None:
    """'mean' or 'cls' when the folder is Transformer -> Pooling [-> Normalize]
    with exactly that one pooling mode; None for any other layout."""
    folder = Path(model_path)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kinds = [m.get("type") for m in modules]
    if kinds not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        return None
    try:
        pooling = json.loads(
            (folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError, KeyError):
        return None
    on = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if len(on) != 1 or on[0] not in _MODES:
        return None
    return _MODES[on[0]]


class PooledTransformerEmbedder:
    """Unit vectors from a transformers encoder with sentence-transformers pooling.

    Texts are batched by length, as sentence-transformers does, so padding stays
    small; padding never changes a vector (it is masked out of attention and of
    the pooling).
    """

    def __init__(self, model_path: str, name: str, batch_size: int = 64) -> None:
        mode = pooling_mode(model_path)
        if mode is None:
            raise ValueError(f"{model_path}: not a Transformer -> Pooling folder")
        self.name = name
        self.batch_size = batch_size
        self._mode = mode
        self._tokenizer, self._model, self._max_len, self._lower = _load(model_path)
        self.dim = int(self._model.config.hidden_size)

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._lower:
            texts = [t.lower() for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        device = next(self._model.parameters()).device
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in chunk],
                    padding=True,
                    truncation="longest_first",
                    max_length=self._max_len,
                    return_tensors="pt",
                ).to(device)
                tokens = self._model(**batch).last_hidden_state
                pooled = _pool(tokens, batch["attention_mask"], self._mode)
                unit = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[chunk] = unit.float().cpu().numpy()
        return out


def _pool(tokens: Any, mask: Any, mode: str) -> Any:  # noqa: ANN401 - torch tensors
    if mode == "cls":
        return tokens[:, 0]
    weights = mask.unsqueeze(-1).to(tokens.dtype)
    return (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


@lru_cache(maxsize=4)
def _load(model_path: str) -> tuple[Any, Any, int, bool]:
    # Loaded once per process: a flow calls the embedder from several tasks
    # (classification, indexing, search).
    import torch
    from transformers import AutoModel, AutoTokenizer

    log.info("loading embedder from %s", model_path)
    folder = Path(model_path)
    settings: dict[str, Any] = {}
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        settings = json.loads(config.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()
    if torch.cuda.is_available():
        model = model.to("cuda")
    max_len = int(settings.get("max_seq_length") or tokenizer.model_max_length)
    return tokenizer, model, max_len, bool(settings.get("do_lower_case", False))
