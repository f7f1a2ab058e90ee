"""Embedders: the shipped MiniLM, and an HTTP round trip to an OpenAI-style server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.embedding.embedder import (
    MINILM_NAME,
    SentenceTransformerEmbedder,
    build_embedder,
    minilm_path,
)
from ragtune.tasks.embedding.pooled import PooledTransformerEmbedder, pooling_mode


def test_minilm_vectors_are_unit_length_and_semantic(embedder) -> None:
    assert embedder.name == MINILM_NAME and embedder.dim == 384
    vecs = embedder.embed(
        ["The mortgage rate rose to 4.1%.", "Home loan interest went up.", "A cat sat."]
    )
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    assert embedder.embed([]).shape == (0, 384)


def test_pooled_minilm_gives_the_sentence_transformers_vectors(embedder) -> None:
    """The lean path (no sentence-transformers import) is the same model: equal
    vectors to float noise, across batches of mixed lengths and truncation."""
    assert isinstance(embedder, PooledTransformerEmbedder)
    texts = [
        "APR",
        "The annual percentage rate includes fees; the AER does not.",
        "word " * 400,  # beyond max_seq_length 256: truncated the same way
        "Loan-to-value is the loan divided by the property's value.",
    ]
    reference = SentenceTransformerEmbedder(minilm_path(), MINILM_NAME, batch_size=3)
    assert reference.dim == embedder.dim
    assert np.abs(embedder.embed(texts) - reference.embed(texts)).max() < 1e-5


def test_pooling_layouts(tmp_path) -> None:  # noqa: ANN001
    assert pooling_mode(minilm_path()) == "mean"
    assert pooling_mode(tmp_path) is None  # no modules.json
    modules = [
        {"path": path, "type": f"sentence_transformers.models.{kind}"}
        for path, kind in (("", "Transformer"), ("1_Pooling", "Pooling"))
    ]
    modules.append({"path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    pool = tmp_path / "1_Pooling/config.json"
    pool.write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert pooling_mode(tmp_path) is None  # a Dense layer: sentence-transformers
    (tmp_path / "modules.json").write_text(json.dumps(modules[:2]))
    assert pooling_mode(tmp_path) == "cls"
    pool.write_text(json.dumps({"pooling_mode_max_tokens": True}))
    assert pooling_mode(tmp_path) is None


class _Handler(BaseHTTPRequestHandler):
    seen_auth: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen_auth.append(self.headers.get("Authorization", ""))
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        data = [
            {"index": i, "embedding": [float(len(t)), 1.0, 0.0]}
            for i, t in enumerate(body["input"])
        ]
        payload = json.dumps({"data": data[::-1]}).encode()  # out of order on purpose
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_openai_compatible_endpoint(endpoint: str, monkeypatch) -> None:
    monkeypatch.setenv("RAGTUNE_EMBEDDING_API_KEY", "sk-test")
    cfg = EmbeddingConfig(provider="openai", model="m", endpoint=endpoint, batch_size=2)
    emb = build_embedder(cfg)
    assert emb.dim == 3 and emb.name == "openai:m"
    vecs = emb.embed(["a", "bbb", "cc"])  # two batches, reordered by index
    expected = np.array([[1, 1, 0], [3, 1, 0], [2, 1, 0]], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vecs, expected)
    assert _Handler.seen_auth[-1] == "Bearer sk-test"


def test_endpoint_errors_are_named(endpoint: str) -> None:
    with pytest.raises(InputError, match="answered 500"):
        build_embedder(
            EmbeddingConfig(provider="openai", model="broken", endpoint=endpoint)
        )
    with pytest.raises(ValidationError, match="endpoint is required"):
        EmbeddingConfig(provider="openai")


def test_primed_embedder_matches_the_wrapped_one(embedder) -> None:
    from ragtune.tasks.embedding.embedder import PrimedEmbedder

    texts = ["deposit guarantee limit", "mortgage arrears fee"]
    primed = PrimedEmbedder(embedder, texts)
    assert np.allclose(
        primed.embed(texts[::-1]), embedder.embed(texts[::-1]), atol=1e-5
    )
    assert np.allclose(
        primed.embed(["new text"]), embedder.embed(["new text"]), atol=1e-5
    )
    assert primed.embed([]).shape == (0, embedder.dim)
