"""Where the knowledge base lives and which files ragtune will read."""

from pathlib import Path

from pydantic import Field

from ragtune.schema import StrictModel


class DataConfig(StrictModel):
    """Location of the knowledge base and evaluation set, relative to params.yaml."""

    kb_path: Path = Field(Path("data/kb"), description="Folder of source documents.")
    eval_path: Path = Field(
        Path("data/eval"), description="BEIR-layout eval set (queries.jsonl, qrels/)."
    )
    labels_path: Path | None = Field(
        Path("data/eval/freshness_labels.csv"),
        description="Optional true freshness class per document, for accuracy reports.",
    )
    extensions: tuple[str, ...] = Field(
        (".md", ".markdown", ".txt", ".html", ".htm", ".pdf"),
        description="File suffixes read as documents; others are quarantined.",
    )
    max_file_mb: float = Field(10.0, gt=0, description="Larger files are quarantined.")
    link_roots: tuple[Path, ...] = Field(
        (),
        description="Folders (absolute, or relative to the knowledge base) that a "
        "symbolic link in the knowledge base may point into; a link to anywhere "
        "else is quarantined and never read.",
    )
