"""Fixtures for the registry tests: a real MLflow SQLite registry and a real LanceDB
index with two published tags, both copied per test from session-built templates
(creating an MLflow database runs its migrations, which takes seconds).

pytest runs with ``--import-mode=importlib``, so test modules reach the helpers
here through fixtures, never by import.
"""

from __future__ import annotations

import hashlib
import shutil
from types import SimpleNamespace

import pytest

from ragtune.tasks.embedding.hashed import HashEmbedder as _HashEmbedder
from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.ingest.models import Document
from ragtune.tasks.registry.config import RegistryConfig
from tests._registry import make_candidate

TABLE = "chunks"
INDEX_CFG = IndexConfig(smoke_sample=3, smoke_top_k=3)
CORPUS = {
    "regulatory/complaints.md": "# Complaints\n\nA complaint is acknowledged within "
    "three business days and answered within eight weeks.",
    "pricing/motor.md": "# Motor premiums\n\nThe base premium for a compact car is "
    "420 EUR a year; five claim-free years earn 25 percent off.",
    "concepts/deductible.md": "# Deductibles\n\nA deductible is the part of each "
    "claim the customer pays before cover starts.",
}


def HashEmbedder() -> _HashEmbedder:  # noqa: N802 - stands where the class stood
    return _HashEmbedder(dim=16, name="hash-registry-test-16")


def _publish(store, corpus: dict[str, str], data_hash: str) -> str:  # noqa: ANN001
    from ragtune.tasks.index.publish import publish, standard_checks

    chunks, hashes = [], {}
    for doc_id, text in sorted(corpus.items()):
        digest = hashlib.sha256(text.encode()).hexdigest()
        doc = Document(doc_id, doc_id, "markdown", doc_id, text, digest, len(text))
        chunks += chunk_document(
            doc, doc_id.split("/")[0], ChunkingConfig(size=200, overlap=20), data_hash
        )
        hashes[doc_id] = digest
    store.refresh(chunks, hashes)
    checks = standard_checks(
        store.candidate(), HashEmbedder(), len(chunks), INDEX_CFG, 1
    )
    return publish(store, checks, {"chunks": len(chunks)}, data_hash).tag


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> SimpleNamespace:
    """An empty migrated MLflow database and an index with tags kb-1, kb-2 live."""
    from mlflow import MlflowClient

    from ragtune.tasks.index.store import IndexStore

    root = tmp_path_factory.mktemp("registry-templates")
    MlflowClient(f"sqlite:///{root / 'mlflow.db'}").search_experiments()
    store = IndexStore(str(root / "index"), TABLE, HashEmbedder(), cfg=INDEX_CFG)
    first = _publish(store, CORPUS, "kb-1")
    changed = {**CORPUS, "pricing/motor.md": CORPUS["pricing/motor.md"] + " Now 450."}
    second = _publish(store, changed, "kb-2")
    return SimpleNamespace(root=root, tags=(first, second))


@pytest.fixture
def project(templates, tmp_path) -> SimpleNamespace:
    """A state folder with its own copy of the registry database and the index."""
    from ragtune.tasks.index.publish import rollback
    from ragtune.tasks.registry.registry import ModelRegistry

    state = tmp_path / "state"
    state.mkdir()
    shutil.copy2(templates.root / "mlflow.db", state / "mlflow.db")
    shutil.copytree(templates.root / "index", state / "index")
    index_uri = str(state / "index")

    def registry(cfg: RegistryConfig | None = None, index_move=rollback):  # noqa: ANN001, ANN202
        return ModelRegistry(
            cfg or RegistryConfig(), state, index_uri, TABLE, index_move=index_move
        )

    return SimpleNamespace(
        state=state,
        index_uri=index_uri,
        table=TABLE,
        tags=templates.tags,
        registry=registry,
        candidate=lambda name, **kw: make_candidate(tmp_path / "runs", name, **kw),
    )
