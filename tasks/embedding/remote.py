"""An OpenAI-compatible ``/v1/embeddings`` client (vLLM, TGI, Ollama, hosted APIs).

The key is read from the environment variable named in config at call time, never
from params.yaml, and is never logged.
"""

from __future__ import annotations

import os

import httpx
import numpy as np

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.embedding.config import EmbeddingConfig


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible endpoint, in batches of ``batch_size``."""

    def __init__(self, cfg: EmbeddingConfig, timeout_s: float = 60.0) -> None:
        if not cfg.endpoint:
            raise ConfigError("embedding.endpoint is required for provider 'openai'")
        self.name = f"openai:{cfg.model}"
        self._cfg = cfg
        self._client = httpx.Client(
            base_url=cfg.endpoint.rstrip("/"), timeout=timeout_s
        )
        self.dim = len(self._request(["dimension probe"])[0])

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self._cfg.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _request(self, texts: list[str]) -> list[list[float]]:
        body = {"model": self._cfg.model, "input": texts}
        try:
            resp = self._client.post("/embeddings", json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            raise InputError(
                f"embedding endpoint {self._cfg.endpoint}: {exc}"
            ) from None
        if resp.status_code != 200:
            raise InputError(
                f"embedding endpoint {self._cfg.endpoint} answered "
                f"{resp.status_code}: {resp.text[:200]}"
            )
        data = sorted(resp.json()["data"], key=lambda item: item["index"])
        return [item["embedding"] for item in data]

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._cfg.batch_size):
            rows += self._request(texts[start : start + self._cfg.batch_size])
        vectors = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
