"""Answer metrics per query: exact match, token F1, format compliance, citations.

Exact match and F1 follow the SQuAD v1.1 evaluation script: both sides are
lower-cased, stripped of punctuation and of the articles a/an/the, and
whitespace-collapsed; with several reference answers the best score counts.

Citation correctness asks more than "cites something": the answer cites at least
one source as ``[doc_id]``, and every cited id is a retrieved source whose text
contains the reference answer (normalised, as whole words). An answer that cites a
source it was not given, or one that does not support it, fails.
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from ragtune.errors import InputError

log = logging.getLogger(__name__)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
# [doc_id]: ids are slugs or paths (letters, digits, - _ . / :), no spaces.
CITATION = re.compile(r"\[([A-Za-z0-9][\w./:-]*)\]")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference."""
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(ref) for ref in references))


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """Best bag-of-tokens F1 against the references (SQuAD definition)."""
    return max((_f1(prediction, ref) for ref in references), default=0.0)


def _f1(prediction: str, reference: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)  # both empty: agree; one empty: nothing shared
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class FormatSpec:
    """A required answer format: a JSON schema, or a regex the whole answer matches."""

    json_schema: dict[str, Any] | None = None
    regex: str | None = None

    def __post_init__(self) -> None:
        if (self.json_schema is None) == (self.regex is None):
            raise InputError("a format needs exactly one of json_schema or regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise InputError(f"format regex {self.regex!r}: {exc}") from None
        else:
            try:
                jsonschema.validators.validator_for(self.json_schema).check_schema(
                    self.json_schema
                )
            except jsonschema.SchemaError as exc:
                raise InputError(
                    f"format json_schema is invalid: {exc.message}"
                ) from None

    @classmethod
    def parse(cls, raw: Any) -> FormatSpec | None:
        """From a query's ``metadata.format`` (``{"regex": ...}`` or
        ``{"json_schema": {...}}``); None when absent."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping) or set(raw) - {"json_schema", "regex"}:
            raise InputError(
                "format must be {'regex': ...} or {'json_schema': ...}, "
                f"got {raw!r}"
            )
        return cls(json_schema=raw.get("json_schema"), regex=raw.get("regex"))


def format_compliant(answer: str, spec: FormatSpec) -> bool:
    """Whether ``answer`` has the required format.

    JSON answers may be wrapped in a Markdown code fence (models often add one);
    the content must parse and validate against the schema. A regex must match the
    whole stripped answer (``re.fullmatch``, dot matches newlines).
    """
    text = answer.strip()
    if spec.regex is not None:
        return re.fullmatch(spec.regex, text, flags=re.DOTALL) is not None
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return False
    validator = jsonschema.validators.validator_for(spec.json_schema)(spec.json_schema)
    return validator.is_valid(value)


def strip_citations(answer: str) -> str:
    """The answer without its ``[doc_id]`` markers: EM and F1 judge the content,
    citations are judged on their own."""
    return " ".join(CITATION.sub(" ", answer).split())


def cited_ids(answer: str) -> list[str]:
    """Document ids cited as ``[doc_id]``, in order of first citation."""
    return list(dict.fromkeys(CITATION.findall(answer)))


def contains_answer(source_text: str, references: Sequence[str]) -> bool:
    """Whether a normalised reference occurs in the normalised text, as whole words."""
    padded = f" {normalize_answer(source_text)} "
    return any(f" {ref} " in padded for ref in map(normalize_answer, references) if ref)


def citation_correct(
    answer: str, sources: Mapping[str, str], references: Sequence[str]
) -> bool:
    """At least one citation, and every cited doc is a given source holding the answer.

    Args:
        answer: The model's answer.
        sources: ``doc_id -> text`` of what was retrieved for the question (all of
            a document's retrieved chunks joined).
        references: Acceptable reference answers.
    """
    cited = cited_ids(answer)
    return bool(cited) and all(
        doc in sources and contains_answer(sources[doc], references) for doc in cited
    )


@dataclass(frozen=True)
class AnswerScores:
    """One query's answer figures; None where a metric does not apply (no reference
    answer, no required format, no retrieval)."""

    qid: str
    exact_match: float | None
    token_f1: float | None
    format_ok: float | None
    citation_ok: float | None
    cited: tuple[str, ...] = ()


def score_answer(
    qid: str,
    answer: str,
    references: Sequence[str],
    sources: Mapping[str, str] | None = None,
    fmt: FormatSpec | None = None,
) -> AnswerScores:
    """Every answer metric for one query.

    EM and F1 are computed on the answer with its citation markers removed.

    Args:
        qid: Query id.
        answer: The generated text.
        references: Reference answers (empty: EM, F1 and citations are None).
        sources: ``doc_id -> text`` retrieved for the query; None without
            retrieval, which makes citation correctness not applicable.
        fmt: The required format, if the task has one.
    """
    has_ref = bool(references)
    content = strip_citations(answer)
    return AnswerScores(
        qid=qid,
        exact_match=exact_match(content, references) if has_ref else None,
        token_f1=token_f1(content, references) if has_ref else None,
        format_ok=None if fmt is None else float(format_compliant(answer, fmt)),
        citation_ok=(
            float(citation_correct(answer, sources, references))
            if has_ref and sources is not None
            else None
        ),
        cited=tuple(cited_ids(answer)),
    )


def reference_answers(
    metadata: Mapping[str, Any], extra: Mapping[str, Any]
) -> list[str]:
    """The reference answers of a BEIR query: ``answer`` (a string or a list) in its
    metadata or as a top-level field; empty when the query has none."""
    raw = metadata.get("answer", extra.get("answer"))
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [str(v) for v in values if str(v).strip()]
