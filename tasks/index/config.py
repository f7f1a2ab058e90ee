"""Chunking, the LanceDB index, publishing and search."""

from pydantic import Field, model_validator

from ragtune.schema import StrictModel


class ChunkingConfig(StrictModel):
    """How documents are cut into chunks before embedding."""

    size: int = Field(500, ge=50, description="Target chunk length in characters.")
    overlap: int = Field(50, ge=0, description="Characters shared by neighbours.")
    by_heading: bool = Field(True, description="Split Markdown/HTML at headings.")
    by_clause: bool = Field(
        True,
        description="Start a chunk at every clause marker (2.3, Clause 4.1, Rule "
        "7.3), so that an amendment can close one clause and not its neighbours.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "ChunkingConfig":
        if self.overlap >= self.size:
            raise ValueError("chunking.overlap must be smaller than chunking.size")
        return self


class IndexConfig(StrictModel):
    """The LanceDB table, the publish checks and retention."""

    uri: str = Field(".ragtune/index", description="Folder or object-store URI.")
    table: str = "chunks"
    vector_index_min_rows: int = Field(
        10_000, ge=256, description="Build an ANN index at this many rows."
    )
    search_candidates: int = Field(
        50, ge=1, description="Hits vector and full-text search each bring to fusion."
    )
    rrf_k: int = Field(
        60, ge=1, description="Reciprocal rank fusion constant: 1 / (rrf_k + rank)."
    )
    vector_refine_factor: int = Field(
        5, ge=1, description="ANN hits re-scored on full vectors, times the limit."
    )
    smoke_sample: int = Field(20, ge=0, description="Chunks that must find themselves.")
    smoke_top_k: int = Field(3, ge=1)
    recall_floor: float = Field(
        0.0, ge=0, le=1, description="Eval recall@k to publish."
    )
    eval_k: int = Field(5, ge=1)
    in_force_floor: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of dated eval questions (as_of) whose first document "
        "must be the version in force that day, to publish.",
    )
    keep_versions_days: int = Field(
        30, ge=0, description="Untagged versions older than this are cleaned up."
    )
    write_batch: int = Field(
        256,
        ge=1,
        description="Texts embedded between embedding-cache flushes; a crash loses "
        "at most this much embedding work.",
    )
    compact_min_fragments: int = Field(
        32,
        ge=2,
        description="A refresh compacts the table once it has this many fragments.",
    )
    index_lag_rows: int = Field(
        1_000,
        ge=0,
        description="A refresh folds rows written since the last index update into "
        "the key, full-text and vector indexes once this many are unindexed; until "
        "then searches scan them by brute force (0: update after every refresh).",
    )
    fanout_min_chunks: int = Field(
        2_000,
        ge=0,
        description="A refresh that needs more new embeddings than this fans the "
        "embedding out to a Dask cluster (flows/embed_fanout.py).",
    )
    dask_address: str | None = Field(
        None,
        description="Scheduler address of a running Dask cluster (tcp://host:8786); "
        "None starts a local cluster for the fan-out.",
    )
    dask_workers: int = Field(
        2, ge=1, description="Workers of the local cluster (ignored with an address)."
    )
    fanout_batch: int = Field(
        256, ge=1, description="Texts per fanned-out embedding task."
    )
