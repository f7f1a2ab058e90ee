"""LlamaIndex's ``IngestionPipeline`` as a benchmark peer.

A ``SimpleDocumentStore`` (persisted to ``workdir`` after each run) with
``DocstoreStrategy.UPSERTS_AND_DELETE``, a ``LanceDBVectorStore``, and two
transformations: ragtune's ``chunk_document`` (so every system embeds the same
chunk texts) and the shared timed embedder behind a ``BaseEmbedding``. The
pipeline's ``IngestionCache`` is left at its in-memory default.

Known behaviour measured as is: the docstore tracks whole documents, so an edited
document is deleted from the vector store and every one of its chunks re-embedded.
Workaround applied: ``LanceDBVectorStore.delete`` builds ``doc_id = "<id>"``, which
LanceDB's SQL reads as a column name, so every upsert or delete of an existing
document fails; the subclass below quotes the id as a string literal.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import (
    BaseNode,
    NodeRelationship,
    TextNode,
    TransformComponent,
)
from llama_index.core.schema import Document as LIDocument
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.vector_stores.lancedb import LanceDBVectorStore
from pydantic import PrivateAttr

from bench.peers.base import BENCH_DATA_HASH, ChunkKey, Issue, TimedEmbedder
from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.ingest.models import Document

EMBED_BATCH = 64  # ragtune's embedding.batch_size; LlamaIndex's default is 10
TABLE = "chunks"
_SOURCE = "source"


class CountedEmbedding(BaseEmbedding):
    """LlamaIndex face of the shared timed embedder."""

    _embedder: TimedEmbedder = PrivateAttr()

    def __init__(self, embedder: TimedEmbedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(list(texts)).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class RagtuneChunker(TransformComponent):
    """Document -> TextNodes holding ragtune's chunk texts, linked to the source."""

    chunking: ChunkingConfig

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for doc in nodes:
            meta = doc.metadata
            source = Document(
                doc_id=doc.id_, source_path=meta[_SOURCE], format="markdown",
                title=doc.id_, text=doc.get_content(), content_hash="", size_bytes=0,
            )  # fmt: skip
            category = meta.get("category") or "unclassified"
            for chunk in chunk_document(
                source, category, self.chunking, BENCH_DATA_HASH
            ):
                node = TextNode(
                    text=chunk.text,
                    metadata={_SOURCE: chunk.doc_id},
                    excluded_embed_metadata_keys=[_SOURCE],
                    excluded_llm_metadata_keys=[_SOURCE],
                )
                node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
                out.append(node)
        return out


class QuotedLanceDBVectorStore(LanceDBVectorStore):
    """Workaround: delete by a string literal, not by a quoted identifier."""

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        literal = "'" + ref_doc_id.replace("'", "''") + "'"
        self.table.delete(f"{self.doc_id_key} = {literal}")


class LlamaIndexPeer:
    """Docstore in ``workdir/docstore.json``, vectors in ``workdir/lancedb``."""

    name = "llamaindex"

    def __init__(
        self, workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store = QuotedLanceDBVectorStore(
            uri=str(self.workdir / "lancedb"), table_name=TABLE
        )
        self.pipeline = IngestionPipeline(
            transformations=[
                RagtuneChunker(chunking=chunking),
                CountedEmbedding(embedder, embed_batch_size=EMBED_BATCH),
            ],
            docstore=SimpleDocumentStore(),
            vector_store=self.store,
            docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
        )

    def refresh(self, documents: Sequence[Document]) -> dict[str, Any]:
        docs = [
            LIDocument(
                id_=d.doc_id,
                text=d.text,
                metadata={_SOURCE: d.source_path, "category": d.category or ""},
            )
            for d in documents
        ]
        nodes = self.pipeline.run(documents=docs)
        self.pipeline.docstore.persist(str(self.workdir / "docstore.json"))
        return {"nodes_written": len(nodes)}

    def contents(self) -> list[ChunkKey]:
        if self.store._table is None:
            return []
        rows = self.store.table.to_lance().to_table(columns=["doc_id", "text"])
        return list(
            zip(rows["doc_id"].to_pylist(), rows["text"].to_pylist(), strict=True)
        )

    def issues(self) -> list[Issue]:
        error = probe_delete_quoting()
        return [
            Issue(
                self.name,
                "workaround",
                "LanceDBVectorStore.delete quotes the doc id as a column name",
                error is not None,
                f"stock delete('d-1') raised: {error}; the benchmark quotes it as "
                "a string literal"
                if error
                else "stock delete worked",
            ),
            Issue(
                self.name,
                "behaviour",
                "an edited document has every chunk re-embedded",
                None,
                "seen as embedded > minimum in the edit step",
            ),
        ]


def probe_delete_quoting() -> str | None:
    """The error the stock ``LanceDBVectorStore.delete`` raises, or None."""
    logging.getLogger("llama_index").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        store = LanceDBVectorStore(uri=tmp, table_name="probe")
        node = TextNode(text="probe", embedding=[1.0, 0.0])
        node.relationships[NodeRelationship.SOURCE] = LIDocument(
            id_="d-1", text="probe"
        ).as_related_node_info()
        store.add([node])
        try:
            store.delete("d-1")
        except ValueError as exc:
            return str(exc).split(". Valid fields")[0]
    return None


def build(
    workdir: Path, embedder: TimedEmbedder, chunking: ChunkingConfig
) -> LlamaIndexPeer:
    return LlamaIndexPeer(workdir, embedder, chunking)
