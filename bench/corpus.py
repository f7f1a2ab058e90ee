"""A deterministic benchmark corpus: the sample knowledge base scaled up to N chunks.

Each generated document is a variant of a sample document with its own id, brand
and place names, digits redrawn and paragraphs reshuffled inside their sections,
all from an RNG seeded by (seed, source document, serial number); the same seed
always writes the same files. Variants are written as Markdown with front matter,
so they go through the same loader and chunker as a user's knowledge base.

The mutation steps of the refresh benchmark act on the written folder: edit one
paragraph of 1% of the documents, delete 1%, add 1% new variants.

    python -m bench.corpus --chunks 2000 --out /tmp/kb-2000
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.config import ChunkingConfig
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)

SAMPLE_KB = Path(__file__).resolve().parents[1] / "data" / "kb"
_BRAND_HEADS = ("North", "East", "West", "South", "Silver", "Oak", "Stone", "Red")
_BRAND_TAILS = ("wind", "brook", "field", "gate", "haven", "ridge", "vale", "ford")
_BRAND_KINDS = ("Mutual", "Building Society", "Savings", "Cooperative", "Trust")
_PLACES = ("Avalon", "Lyonesse", "Arden", "Caldera", "Meridia", "Norland", "Tamsin")
# Words replaced by a synonym with even odds per variant, so that paragraphs with
# no digit or name still differ between variants of one document.
_SYNONYMS = (
    ("customer", "client"),
    ("member", "account holder"),
    ("must", "shall"),
    ("rate", "figure"),
    ("you", "the borrower"),
    ("bank", "lender"),
    ("pay", "settle"),
    ("example", "illustration"),
    ("account", "plan"),
    ("interest", "yield"),
    ("usually", "normally"),
    ("because", "since"),
    ("money", "funds"),
    ("each", "every"),
    ("separate", "distinct"),
    ("single", "sole"),
    ("agencies", "bureaus"),
)
_DIGITS = re.compile(r"\d+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_HEADING = re.compile(r"^#{1,6}[ \t]")


@dataclass(frozen=True)
class Mutation:
    """One mutation step: what it did and to which document ids."""

    kind: str  # "edit" | "delete" | "add"
    doc_ids: list[str]


@dataclass
class Corpus:
    """A generated knowledge-base folder and the state its mutations need.

    Args:
        root: Folder the Markdown variants are written to.
        sources: Sample documents the variants are made from.
        seed: Seeds every random choice.
        serial: Next variant serial number (ids never repeat).
    """

    root: Path
    sources: list[Document]
    seed: int = 13
    serial: int = 0
    steps: int = field(default=0, init=False)

    @classmethod
    def generate(
        cls,
        root: Path,
        chunks: int,
        *,
        seed: int = 13,
        source: Path = SAMPLE_KB,
        chunking: ChunkingConfig | None = None,
    ) -> Corpus:
        """Write variants round-robin over the sample documents until they make at
        least ``chunks`` chunks under ``chunking``."""
        chunking = chunking or ChunkingConfig()
        corpus = cls(Path(root), list(load_sources(Path(source))), seed)
        corpus.root.mkdir(parents=True, exist_ok=True)
        total = 0
        while total < chunks:
            doc = corpus.sources[corpus.serial % len(corpus.sources)]
            total += corpus._write_variant(doc, chunking)
        log.info("corpus: %d documents, ~%d chunks in %s", corpus.serial, total, root)
        return corpus

    def documents(self) -> list[Document]:
        """Load the folder as ragtune does (sorted by path)."""
        return list(load_knowledge_base(self.root, DataConfig()).documents)

    def files(self) -> list[Path]:
        return sorted(self.root.rglob("*.md"))

    def edit(self, share: float = 0.01) -> Mutation:
        """Change one paragraph (digits redrawn, a sentence added) in ``share`` of
        the documents."""
        rng = self._step_rng("edit")
        chosen = _pick(rng, self.files(), share)
        for path in chosen:
            meta, body = _split(path.read_text(encoding="utf-8"))
            path.write_text(_join(meta, _edit_paragraph(body, rng)), encoding="utf-8")
        return Mutation("edit", [_doc_id(p) for p in chosen])

    def delete(self, share: float = 0.01) -> Mutation:
        """Remove ``share`` of the documents."""
        chosen = _pick(self._step_rng("delete"), self.files(), share)
        ids = [_doc_id(p) for p in chosen]
        for path in chosen:
            path.unlink()
        return Mutation("delete", ids)

    def add(self, share: float = 0.01) -> Mutation:
        """Write ``share`` (of the current count) new variants with new ids."""
        rng = self._step_rng("add")
        count = max(1, math.ceil(len(self.files()) * share))
        ids = []
        for _ in range(count):
            doc = rng.choice(self.sources)
            ids.append(self._variant_id(doc, self.serial))
            self._write_variant(doc, None)
        return Mutation("add", ids)

    def _step_rng(self, kind: str) -> random.Random:
        self.steps += 1
        return random.Random(f"{self.seed}:{kind}:{self.steps}")

    def _variant_id(self, doc: Document, serial: int) -> str:
        return f"{doc.doc_id}-v{serial:05d}"

    def _write_variant(self, doc: Document, chunking: ChunkingConfig | None) -> int:
        """Write the next variant of ``doc``; return its chunk count (0 if not
        asked to count)."""
        serial, self.serial = self.serial, self.serial + 1
        rng = random.Random(f"{self.seed}:{doc.doc_id}:{serial}")
        doc_id = self._variant_id(doc, serial)
        brand = f"{rng.choice(_BRAND_HEADS)}{rng.choice(_BRAND_TAILS)}"
        body = _vary(doc.text, rng, brand)
        meta = {"id": doc_id, "title": f"{doc.title} ({brand} {serial})"}
        if doc.category:
            meta["category"] = doc.category
        if doc.effective_date:
            meta["effective_date"] = doc.effective_date.isoformat()
        folder = Path(doc.source_path).parent
        path = self.root / folder / f"{doc_id.split('--')[-1]}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_join(meta, body), encoding="utf-8")
        if chunking is None:
            return 0
        variant = Document(doc_id, path.name, "markdown", doc_id, body, "", 0)
        return len(chunk_document(variant, "bench", chunking, "bench"))


@lru_cache(maxsize=4)
def load_sources(source: Path) -> tuple[Document, ...]:
    """The sample documents, read once per process (its PDFs take a while)."""
    return load_knowledge_base(source, DataConfig()).documents


def _vary(text: str, rng: random.Random, brand: str) -> str:
    """Rename, redraw digits and reshuffle paragraphs inside each section."""
    kind = rng.choice(_BRAND_KINDS)
    text = text.replace("Northwind Mutual", f"{brand} {kind}")
    text = text.replace("Northwind", brand).replace("Avalon", rng.choice(_PLACES))
    text = _DIGITS.sub(lambda m: _redraw(m.group(0), rng), text)
    for word, other in _SYNONYMS:
        if rng.random() < 0.5:
            text = re.sub(rf"\b{word}\b", other, text)
    sections: list[list[str]] = [[]]
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        if _HEADING.match(paragraph) and sections[-1]:
            sections.append([])
        sections[-1].append(paragraph.strip())
    out = []
    for section in sections:
        head = [section[0]] if _HEADING.match(section[0]) else []
        rest = section[len(head) :]
        rng.shuffle(rest)
        out.append("\n\n".join(head + rest))
    return "\n\n".join(out) + "\n"


def _redraw(digits: str, rng: random.Random) -> str:
    """Same length, new digits; years keep their century so text stays plausible."""
    if len(digits) == 4 and digits[:2] in ("19", "20"):
        return digits[:2] + f"{rng.randrange(100):02d}"
    first = str(rng.randrange(1, 10)) if digits[0] != "0" else "0"
    return first + "".join(str(rng.randrange(10)) for _ in digits[1:])


def _edit_paragraph(body: str, rng: random.Random) -> str:
    paragraphs = _PARAGRAPH_BREAK.split(body.strip())
    editable = [i for i, p in enumerate(paragraphs) if not _HEADING.match(p)]
    at = rng.choice(editable or list(range(len(paragraphs))))
    changed = _DIGITS.sub(lambda m: _redraw(m.group(0), rng), paragraphs[at])
    paragraphs[at] = f"{changed} Restated in revision {rng.randrange(1000, 9999)}."
    return "\n\n".join(paragraphs) + "\n"


def _pick(rng: random.Random, files: list[Path], share: float) -> list[Path]:
    count = min(len(files), max(1, math.ceil(len(files) * share)))
    return sorted(rng.sample(files, count))


def _doc_id(path: Path) -> str:
    meta, _ = _split(path.read_text(encoding="utf-8"))
    return str(meta["id"])


def _split(text: str) -> tuple[dict, str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def _join(meta: dict, body: str) -> str:
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    corpus = Corpus.generate(args.out, args.chunks, seed=args.seed)
    print(f"{corpus.serial} documents written to {args.out}")


if __name__ == "__main__":
    main()
