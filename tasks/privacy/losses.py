"""Per-example token log-probabilities of a causal LM on SFT records.

Only the assistant's tokens are scored, exactly the tokens training put a loss on,
so a member's score reflects what the model was taught to say about it and not
the prompt it shares with every other record. Records are tokenised and batched
with the training code itself (chat template, label mask, padding), so the gate
scores precisely what the trainer saw, and skips what the trainer dropped: a
record cut at ``max_seq_len`` before its answer begins.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import PeftModel
from torch import nn
from transformers import PreTrainedTokenizerBase

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.data import Example, encode_chat
from ragtune.tasks.training.steps import labelled_logits_only, token_losses

log = logging.getLogger(__name__)

Record = dict[str, Any]
Messages = list[dict[str, str]]


def read_records(path: Path) -> list[Record]:
    """SFT records (``{"id", "messages", ...}``) from a JSONL file, all kept.

    Extra fields survive (canary records carry theirs), unlike the trainer's
    reader, which keeps only the messages.

    Raises:
        InputError: the file is missing, or a line is not a record with messages.
    """
    if not path.is_file():
        raise InputError(f"SFT records {path} do not exist")
    records: list[Record] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {number} is not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
            raise InputError(f"{path}: line {number} has no 'messages' list")
        records.append(record)
    return records


def assistant_text(record: Record) -> str:
    """The text the model was trained to produce for a record."""
    return "\n".join(
        m.get("content", "") for m in record["messages"] if m.get("role") == "assistant"
    )


def _encode(
    records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> tuple[list[int], list[Example]]:
    """Positions of the records that keep assistant tokens within ``max_seq_len``,
    and their rows.

    A record cut inside its prompt has no token the trainer put a loss on, so the
    trainer dropped it (``training.data.encode_records``): it was never learnt
    from and says nothing about membership. It is skipped here too, and logged.
    """
    kept: list[int] = []
    examples: list[Example] = []
    for i, record in enumerate(records):
        example = encode_chat(record["messages"], tokenizer, max_seq_len)
        if example.targets:
            kept.append(i)
            examples.append(example)
    if len(kept) < len(records):
        log.warning(
            "%s of %s records have no assistant tokens within max_seq_len=%s "
            "(the trainer dropped them too): skipped",
            len(records) - len(kept),
            len(records),
            max_seq_len,
        )
    return kept, examples


def scorable(
    records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> list[Record]:
    """The records with assistant tokens within ``max_seq_len``, in order."""
    return [records[i] for i in _encode(records, tokenizer, max_seq_len)[0]]


def encode_records(
    records: Sequence[Record], tokenizer: PreTrainedTokenizerBase, max_seq_len: int
) -> list[Example]:
    """Token rows for the records that keep assistant tokens (see ``scorable``)."""
    return _encode(records, tokenizer, max_seq_len)[1]


def _pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    raise ConfigError("the tokenizer has neither a pad nor an end-of-sequence token")


def _batch_logprobs(model: nn.Module, batch: dict[str, torch.Tensor]) -> list:
    """Labelled tokens' log-probs per row, with the training step's own loss code.

    The output head projects only the labelled positions (``labelled_logits_only``):
    in the gate's records the prompt is over half of each row, and the head and
    the softmax over a 49k vocabulary were 40% of scoring SmolLM2 on a CPU.
    """
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    labels = batch["labels"].to(device)
    with labelled_logits_only(model, labels):
        logits = model(**inputs).logits
    losses, keep = token_losses(logits, labels)
    rows = (-losses).cpu().double().numpy()
    return [row[m] for row, m in zip(rows, keep.cpu().numpy(), strict=True)]


def token_logprobs(
    model: nn.Module,
    examples: Sequence[Example],
    pad_id: int,
    batch_size: int = 16,
) -> list[np.ndarray]:
    """Log-probability of every labelled token, one array per example (in order).

    Examples are batched by length so padding stays small; padding never changes
    a row's figures because it is masked out of attention and labels.
    """
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    out: list[np.ndarray] = [np.empty(0)] * len(examples)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                batch = collate([[i] for i in chunk], examples, pad_id, packed=False)
                for i, row in zip(chunk, _batch_logprobs(model, batch), strict=True):
                    out[i] = row
    finally:
        model.train(was_training)
    return out


def score_records(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[Record],
    max_seq_len: int,
    batch_size: int = 16,
) -> list[np.ndarray]:
    """Assistant-token log-probs of ``records`` under ``model``, one array per
    record in order (see token_logprobs).

    Callers pair the arrays with their records, so a record without assistant
    tokens cannot just be left out here: filter with ``scorable`` first.

    Raises:
        InputError: a record has no assistant token within ``max_seq_len``.
    """
    kept, examples = _encode(records, tokenizer, max_seq_len)
    if len(kept) < len(records):
        first = next(i for i, k in enumerate([*kept, -1]) if i != k)
        name = records[first].get("id", f"#{first}")
        raise InputError(
            f"record {name}: no assistant tokens within max_seq_len={max_seq_len}; "
            "filter the records with scorable() first"
        )
    return token_logprobs(model, examples, _pad_id(tokenizer), batch_size)


def mean_losses(logprobs: Sequence[np.ndarray]) -> np.ndarray:
    """Per-example mean negative log-likelihood (the training loss of each record)."""
    return np.array([-float(np.mean(lp)) for lp in logprobs])


@contextlib.contextmanager
def reference_model(
    candidate: nn.Module, reference: nn.Module | None = None
) -> Iterator[nn.Module]:
    """The model without the candidate's fine-tuning, for the duration of a block.

    With a peft candidate and no explicit reference, the adapter is switched off
    in place: the base weights are shared, so no second copy is loaded.

    Raises:
        ConfigError: no reference given and the candidate has no adapter to disable.
    """
    if reference is not None:
        yield reference
        return
    if not isinstance(candidate, PeftModel):
        raise ConfigError(
            "the privacy gate needs a reference model: pass the base model, or a "
            "candidate that is a peft adapter over it"
        )
    with candidate.disable_adapter():
        yield candidate
