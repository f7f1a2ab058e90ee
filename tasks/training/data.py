"""Chat records to token rows, with the loss on the assistant's tokens only.

SFT data arrives as JSON lines with ``messages: [{role, content}]``. Each record
is rendered with the tokenizer's own chat template, so training sees exactly the
text a served chat request produces; prompts, system text and role headers get
label -100 so the model learns to answer, not to echo questions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from ragtune.errors import ConfigError, InputError

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # the label torch's cross-entropy skips
ROLES = frozenset({"system", "user", "assistant"})
MAX_REPORTED = 5  # bad lines named in one error message

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Example:
    """One tokenised conversation; ``labels`` is -100 outside assistant turns."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def targets(self) -> int:
        """Tokens the loss is computed on (the first token is never predicted)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE_INDEX)


@dataclass(frozen=True)
class EncodedSet:
    """A tokenised data set and what encoding it cost."""

    examples: list[Example]
    records: int
    truncated: int
    dropped: int

    @property
    def tokens(self) -> int:
        return sum(len(ex) for ex in self.examples)


def _problem(record: Any) -> str | None:
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        return "expected an object with a 'messages' list"
    messages = record["messages"]
    if not messages:
        return "'messages' is empty"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            return f"message {i}: role must be one of {sorted(ROLES)}"
        if not isinstance(msg.get("content"), str):
            return f"message {i}: content must be a string"
    if messages[0]["role"] == "assistant":
        return "the first message must be a system or user prompt, not assistant"
    if not any(m["role"] == "assistant" and m["content"] for m in messages):
        return "no non-empty assistant message to learn from"
    return None


def read_chat_records(path: Path) -> list[Messages]:
    """The ``messages`` of every record in a JSONL file, checked before any use.

    Raises:
        InputError: the file is missing or empty, or some lines are not chat
            records (the first few are named with their line numbers).
    """
    if not path.is_file():
        raise InputError(f"training data {path} does not exist")
    records: list[Messages] = []
    bad: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                bad.append(f"line {number}: not JSON ({exc.msg})")
                continue
            reason = _problem(record)
            if reason:
                bad.append(f"line {number}: {reason}")
            else:
                records.append(record["messages"])
    if bad:
        shown = "; ".join(bad[:MAX_REPORTED])
        more = (
            f" (and {len(bad) - MAX_REPORTED} more)" if len(bad) > MAX_REPORTED else ""
        )
        raise InputError(f"{path}: {len(bad)} bad records: {shown}{more}")
    if not records:
        raise InputError(f"{path}: the data set is empty")
    return records


def _render(
    tokenizer: PreTrainedTokenizerBase, messages: Messages, prompt: bool
) -> list[int]:
    text = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=prompt
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _extend(ids: list[int], rendered: list[int]) -> list[int]:
    # The template must render a conversation as its prefix plus new tokens;
    # otherwise no token can be attributed to one turn.
    if rendered[: len(ids)] != ids:
        raise ConfigError(
            "the tokenizer's chat template rewrites earlier turns when a message is "
            "added, so assistant tokens cannot be located; use a template that "
            "renders each turn independently"
        )
    return rendered[len(ids) :]


def _tokenise_turns(
    messages: Messages, tokenizer: PreTrainedTokenizerBase
) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            header = _extend(ids, _render(tokenizer, messages[:i], prompt=True))
            ids += header
            labels += [IGNORE_INDEX] * len(header)
            answer = _extend(ids, _render(tokenizer, messages[: i + 1], prompt=False))
            ids += answer
            labels += answer
        else:
            turn = _extend(ids, _render(tokenizer, messages[: i + 1], prompt=False))
            ids += turn
            labels += [IGNORE_INDEX] * len(turn)
    return ids, labels


def encode_chat(
    messages: Messages, tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> Example:
    """Token ids and labels for one conversation, cut at ``max_seq_len``.

    Each turn's tokens are found by rendering the conversation up to it: an
    assistant turn's span starts after the generation prompt, so its header stays
    a prompt and its end-of-turn token is learnt (the model learns to stop).
    """
    ids, labels = _tokenise_turns(messages, tokenizer)
    return Example(tuple(ids[:max_seq_len]), tuple(labels[:max_seq_len]))


def encode_records(
    records: list[Messages], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> EncodedSet:
    """Encode every record; drop those whose answers fall beyond ``max_seq_len``.

    A conversation cut inside its prompt has nothing to learn from; it is counted
    and logged rather than silently trained on as noise.
    """
    examples: list[Example] = []
    truncated = dropped = 0
    for messages in records:
        ids, labels = _tokenise_turns(messages, tokenizer)
        truncated += len(ids) > max_seq_len
        example = Example(tuple(ids[:max_seq_len]), tuple(labels[:max_seq_len]))
        if example.targets == 0:
            dropped += 1
            continue
        examples.append(example)
    if truncated:
        log.warning(
            "%s of %s conversations cut at max_seq_len=%s (%s left with no answer "
            "tokens, dropped)",
            truncated,
            len(records),
            max_seq_len,
            dropped,
        )
    return EncodedSet(examples, len(records), truncated, dropped)


def load_chat_dataset(
    path: Path, tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> EncodedSet:
    """Read and encode a JSONL chat file; at least one example must survive.

    Raises:
        InputError: bad or empty file, or every conversation lost its answer to
            truncation.
    """
    encoded = encode_records(read_chat_records(path), tokenizer, max_seq_len)
    if not encoded.examples:
        raise InputError(
            f"{path}: all {encoded.records} conversations lose their assistant "
            f"answer at max_seq_len={max_seq_len}; raise training.max_seq_len"
        )
    return encoded
