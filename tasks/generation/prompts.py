"""Prompt templates kept as Jinja files beside the data, rendered into chat turns.

A template defines a ``user`` block and, optionally, a ``system`` block; each block
becomes one chat message. Templates are files (``data/prompts/*.j2``) so a prompt
change is a data change: versioned, reviewed and recorded by hash in every report.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.generation.base import Message

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,  # a misspelt variable fails, not blanks
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # plain text for a model, not HTML
)


@dataclass(frozen=True)
class ContextSource:
    """A retrieved passage as the prompt shows it; ``doc_id`` is what gets cited."""

    doc_id: str
    text: str
    title: str = ""


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed template file and the hash of its text (for reports and audits)."""

    path: Path
    source: str
    sha256: str

    @classmethod
    def load(cls, path: Path | str) -> PromptTemplate:
        """Read and parse a template file.

        Raises:
            ConfigError: the file is missing, not UTF-8, not valid Jinja, or has no
                ``user`` block.
        """
        path = Path(path)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"prompt template {path}: cannot read it ({exc})"
            ) from None
        try:
            parsed = _compile(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"prompt template {path} line {exc.lineno}: {exc.message}"
            ) from None
        if "user" not in parsed.blocks:
            raise ConfigError(
                f"prompt template {path}: needs a {{% block user %}} (and may have "
                "a system block)"
            )
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        return cls(path=path, source=source, sha256=digest)

    @property
    def ref(self) -> str:
        """``path@sha256-prefix``: which template text produced a prompt."""
        return f"{self.path}@{self.sha256[:12]}"

    def render(
        self,
        question: str,
        sources: Sequence[ContextSource] = (),
        max_context_chars: int | None = None,
    ) -> list[Message]:
        """Chat messages for ``question`` with the given sources.

        Sources are kept in order until ``max_context_chars`` of text is used; the
        passage that crosses the budget is cut, later ones are dropped, so the best
        ranked evidence always reaches the model.
        """
        if not question.strip():
            raise InputError("cannot build a prompt for an empty question")
        fitted = fit_sources(sources, max_context_chars)
        template = _compile(self.source)
        context = template.new_context({"question": question, "sources": fitted})
        messages = []
        for role in ("system", "user"):
            if role not in template.blocks:
                continue
            try:
                text = "".join(template.blocks[role](context)).strip()
            except jinja2.TemplateError as exc:
                raise ConfigError(f"prompt template {self.path}: {exc}") from None
            if text:
                messages.append(Message(role, text))
        return messages


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def fit_sources(
    sources: Sequence[ContextSource], max_chars: int | None
) -> list[ContextSource]:
    """The leading sources whose texts fit in ``max_chars`` (the last one cut)."""
    if max_chars is None:
        return list(sources)
    fitted: list[ContextSource] = []
    left = max_chars
    for source in sources:
        if left <= 0:
            break
        text = source.text if len(source.text) <= left else source.text[:left] + "…"
        fitted.append(ContextSource(source.doc_id, text, source.title))
        left -= len(source.text)
    if len(fitted) < len(sources):
        log.debug("prompt keeps %d of %d sources", len(fitted), len(sources))
    return fitted
