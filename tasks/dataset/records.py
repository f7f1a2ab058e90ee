"""The SFT record and the two input formats it is normalised from.

Curated sets arrive as instruction/response JSONL (Alpaca style, ``output`` or
``response``) or as chat JSONL (``messages``). Both become one ``SFTExample`` with
chat messages, so every later step (dedup, gates, training) sees one shape. A line
that fits neither is not dropped silently: it becomes a ``RecordRejection`` that
names the file, the line and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Role = Literal["system", "user", "assistant"]
_INSTRUCTION_KEYS = ("instruction", "prompt")
_RESPONSE_KEYS = ("response", "output", "completion")
_KNOWN_KEYS = {"id", "messages", "source", "meta", "system", "input"}
_SOURCE_LINE = re.compile(r"^Source:.*$", re.MULTILINE)
_CITED_ID = re.compile(r"\[([a-z0-9][a-z0-9._-]*)\]")


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Role
    content: str


class SFTExample(BaseModel):
    """One supervised example: chat messages plus where it came from.

    ``meta`` carries provenance (``doc_id``, ``group`` for paraphrases of one fact,
    ``generator``) and any extra input keys, so nothing in the input is lost.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    messages: tuple[Message, ...] = Field(min_length=2)
    source: str
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def instruction(self) -> str:
        """The first user turn: what the example asks."""
        return next((m.content for m in self.messages if m.role == "user"), "")

    @property
    def response(self) -> str:
        """The last assistant turn: what the model learns to say."""
        return (
            self.messages[-1].content if self.messages[-1].role == "assistant" else ""
        )

    @property
    def system(self) -> str:
        return next((m.content for m in self.messages if m.role == "system"), "")

    @property
    def group(self) -> str:
        """Split key: paraphrases of one fact share it and land in one split."""
        return str(self.meta.get("group") or self.id)

    def cited_doc_ids(self) -> tuple[str, ...]:
        """Documents the example draws on: ``meta.doc_id`` and the Source line."""
        ids = [str(self.meta["doc_id"])] if self.meta.get("doc_id") else []
        for line in _SOURCE_LINE.findall(self.response):
            ids += _CITED_ID.findall(line)
        return tuple(dict.fromkeys(ids))

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


@dataclass(frozen=True)
class RecordRejection:
    """An input line that could not become an example, and why."""

    source: str
    line: int
    reasons: tuple[str, ...]
    raw: str


class RecordError(ValueError):
    """A record that fits neither input format; the message says what is missing."""


def _first(raw: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in raw), None)


def _messages_from_pair(raw: dict[str, Any], key_in: str, key_out: str) -> list:
    instruction, response = raw[key_in], raw[key_out]
    if not isinstance(instruction, str) or not isinstance(response, str):
        raise RecordError(f"'{key_in}' and '{key_out}' must be strings")
    extra = raw.get("input")
    if isinstance(extra, str) and extra.strip():
        instruction = f"{instruction}\n\n{extra}"
    messages = (
        [{"role": "system", "content": raw["system"]}] if raw.get("system") else []
    )
    return messages + [
        {"role": "user", "content": instruction},
        {"role": "assistant", "content": response},
    ]


def _check_turns(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise RecordError("'messages' must be a non-empty list of {role, content}")
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    if "user" not in roles:
        raise RecordError(f"'messages' has no user turn (roles: {roles})")
    if roles[-1] != "assistant":
        raise RecordError(
            f"'messages' must end with an assistant turn (last role: {roles[-1]!r})"
        )


def _default_id(source: str, messages: list) -> str:
    body = json.dumps(messages, sort_keys=True, ensure_ascii=False)
    return f"{Path(source).stem}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"


def normalise(raw: Any, source: str) -> SFTExample:
    """One parsed JSON object -> an example (either input format).

    Raises:
        RecordError: the object fits neither format; the message names the keys
            that were expected and the keys that were found.
    """
    if not isinstance(raw, dict):
        raise RecordError(f"expected a JSON object, got {type(raw).__name__}")
    key_in, key_out = _first(raw, _INSTRUCTION_KEYS), _first(raw, _RESPONSE_KEYS)
    if "messages" in raw:
        messages = raw["messages"]
        _check_turns(messages)
    elif key_in and key_out:
        messages = _messages_from_pair(raw, key_in, key_out)
    else:
        found = ", ".join(sorted(raw)) or "none"
        raise RecordError(
            "neither 'messages' nor 'instruction'+'response' (or 'output') "
            f"fields; found keys: {found}"
        )
    extras = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS | {key_in, key_out}}
    meta = dict(raw.get("meta") or {}) | ({"extra": extras} if extras else {})
    try:
        return SFTExample(
            id=str(raw.get("id") or _default_id(source, messages)),
            messages=messages,
            source=str(raw.get("source") or source),
            meta=meta,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise RecordError(problems) from None


def read_jsonl(
    path: Path, source: str
) -> tuple[list[SFTExample], list[RecordRejection]]:
    """All examples of one JSONL file, plus a rejection per unusable line."""
    examples: list[SFTExample] = []
    rejected: list[RecordRejection] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                examples.append(normalise(json.loads(line), source))
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
                rejected.append(RecordRejection(source, number, (reason,), line))
            except RecordError as exc:
                rejected.append(RecordRejection(source, number, (str(exc),), line))
    return examples, rejected


def write_jsonl(path: Path, examples: Iterable[SFTExample]) -> None:
    """One example per line, UTF-8, ``\\n`` endings (byte-stable for hashing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for example in examples:
            fh.write(example.to_json() + "\n")


def iter_built(path: Path) -> Iterator[SFTExample]:
    """Examples of a file written by :func:`write_jsonl` (already normalised)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield SFTExample.model_validate_json(line)
