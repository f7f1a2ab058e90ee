"""The LanceDB store as params.yaml configures it (``index`` and ``embedding``)."""

from __future__ import annotations

from ragtune.app.catalog import Catalog
from ragtune.app.settings import Settings
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.index.store import IndexStore


def open_store(
    settings: Settings, embedder: Embedder, *, rebuild: bool = False
) -> IndexStore:
    """The chunk store at the catalog's index location, with its embedding cache."""
    index = Catalog.from_settings(settings).index
    return IndexStore(
        index.uri,
        index.table,
        embedder,
        cfg=settings.index,
        rebuild=rebuild,
        cache=settings.embedding.cache,
    )
