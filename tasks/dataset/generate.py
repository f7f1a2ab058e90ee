"""SFT examples rendered from stable documents with a Jinja template.

Only documents of stable freshness classes (history, concepts) are used: volatile
facts (rates, rules) change faster than a model can be retrained and stay in RAG.
Generation is seeded per document, so adding one document leaves every other
document's examples byte-identical, and a rerun reproduces the same set.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.dataset.config import GenerationConfig
from ragtune.tasks.dataset.records import SFTExample
from ragtune.tasks.dataset.sections import Section, split_sections
from ragtune.tasks.freshness.classify import metadata_class
from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.freshness.rules import RuleClassifier
from ragtune.tasks.ingest.models import Document

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,  # a misspelt variable fails, not blanks
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # plain text for a model, not HTML
)
REQUIRED_BLOCKS = ("instruction", "response")


@dataclass(frozen=True)
class GeneratedSet:
    """Template examples, the documents skipped (and why), the template hash."""

    examples: tuple[SFTExample, ...]
    skipped: tuple[tuple[str, str], ...]
    template_sha256: str


def document_classes(
    documents: Sequence[Document],
    freshness: FreshnessConfig,
    known: Mapping[str, str] | None = None,
) -> dict[str, str | None]:
    """Freshness class per document without embeddings.

    A freshness report (``known``) wins, then the document's own metadata, then the
    keyword rules; a document none of them decides maps to None.
    """
    rules = RuleClassifier(freshness)
    classes: dict[str, str | None] = {}
    for doc in documents:
        label = (known or {}).get(doc.doc_id) or metadata_class(doc, freshness)
        classes[doc.doc_id] = label or rules.decide(doc).label
    return classes


def load_template(path: Path) -> tuple[jinja2.Template, str]:
    """The parsed template and the sha256 of its text (recorded in the manifest)."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"SFT template {path}: cannot read it ({exc})") from None
    try:
        template = _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"SFT template {path} line {exc.lineno}: {exc}") from None
    missing = [b for b in REQUIRED_BLOCKS if b not in template.blocks]
    if missing:
        raise ConfigError(
            f"SFT template {path}: missing block(s) {', '.join(missing)} "
            "(needs {% block instruction %} and {% block response %})"
        )
    return template, hashlib.sha256(source.encode("utf-8")).hexdigest()


def _render(template: jinja2.Template, block: str, context: dict) -> str:
    try:
        ctx = template.new_context(context)
        return "".join(template.blocks[block](ctx)).strip()
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"SFT template block {block!r}: {exc}") from None


def _example(
    template: jinja2.Template, doc: Document, label: str, pick: tuple[int, Section]
) -> SFTExample:
    index, section = pick
    context = {
        "doc": {"doc_id": doc.doc_id, "title": doc.title, "category": label},
        "section": {"heading": section.heading, "summary": section.summary()},
        "variant": random.Random(f"{doc.doc_id}#{index}").randrange(1 << 16),
    }
    messages = [
        {"role": "user", "content": _render(template, "instruction", context)},
        {"role": "assistant", "content": _render(template, "response", context)},
    ]
    return SFTExample(
        id=f"gen-{doc.doc_id}-{index:02d}",
        messages=messages,
        source=f"template:{doc.source_path}",
        meta={"doc_id": doc.doc_id, "group": f"{doc.doc_id}#{index}", "class": label},
    )


def generate_from_documents(
    documents: Sequence[Document],
    classes: Mapping[str, str | None],
    cfg: GenerationConfig,
    template_path: Path,
    seed: int,
) -> GeneratedSet:
    """Render up to ``cfg.max_per_document`` sections of each stable document.

    Raises:
        ConfigError: the template is unreadable or lacks a required block.
        InputError: a class in ``cfg.classes`` is not a class any document has.
    """
    template, digest = load_template(template_path)
    examples: list[SFTExample] = []
    skipped: list[tuple[str, str]] = []
    for doc in sorted(documents, key=lambda d: d.doc_id):
        label = classes.get(doc.doc_id)
        if label not in cfg.classes:
            skipped.append((doc.doc_id, f"class {label!r} is not a generation class"))
            continue
        sections = [
            (i, s)
            for i, s in enumerate(split_sections(doc.text, doc.title))
            if len(s.summary()) >= cfg.min_section_chars
        ]
        if not sections:
            skipped.append((doc.doc_id, "no section long enough"))
            continue
        rng = random.Random(f"{seed}:{doc.doc_id}")
        picks = sorted(rng.sample(sections, min(cfg.max_per_document, len(sections))))
        examples += [_example(template, doc, label, pick) for pick in picks]
    if (
        documents
        and not examples
        and not any(c in cfg.classes for c in classes.values())
    ):
        raise InputError(
            f"generation: no document is of class {', '.join(cfg.classes)} "
            "(dataset.generation.classes); check the class names"
        )
    log.info("generated %d examples, skipped %d documents", len(examples), len(skipped))
    return GeneratedSet(tuple(examples), tuple(skipped), digest)
