"""Chat records to token rows and batches: masks, truncation, order, packing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.training.batching import (
    BatchPlan,
    collate,
    grouped_batches,
    packed_batches,
    shuffled_batches,
)
from ragtune.tasks.training.config import TinyModelConfig
from ragtune.tasks.training.data import (
    IGNORE_INDEX,
    encode_chat,
    encode_records,
    load_chat_dataset,
    read_chat_records,
)
from ragtune.tasks.training.factories import build_tiny_model
from ragtune.tasks.training.steps import token_loss_sums
from ragtune.tasks.training.tokenizer import build_byte_tokenizer

CHAT = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Fee for a late payment?"},
    {"role": "assistant", "content": "EUR 12."},
    {"role": "user", "content": "And for a second one?"},
    {"role": "assistant", "content": "EUR 25."},
]


@pytest.fixture(scope="module")
def tok():
    return build_byte_tokenizer()


def _labelled_spans(example, tok) -> list[str]:
    """Decode each run of consecutive labelled tokens."""
    spans, current = [], []
    for token, label in zip(example.input_ids, example.labels, strict=True):
        if label == IGNORE_INDEX:
            if current:
                spans.append(tok.decode(current))
            current = []
        else:
            assert label == token  # labels are the inputs; the model shifts them
            current.append(token)
    if current:
        spans.append(tok.decode(current))
    return spans


def _write_jsonl(path: Path, lines: list[object]) -> Path:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_loss_is_only_on_assistant_answers_and_their_end_of_turn(tok):
    example = encode_chat(CHAT, tok, max_seq_len=4096)

    rendered = tok.apply_chat_template(CHAT, tokenize=False)
    assert tok.decode(example.input_ids) == rendered
    # Each answer is learnt with its end-of-turn token (so the model stops), and
    # nothing of the system prompt, the questions or the role headers is.
    assert _labelled_spans(example, tok) == ["EUR 12.</s>", "EUR 25.</s>"]
    assert example.targets == 2 * (len("EUR 12.") + 1)  # one byte each, </s> one


def test_truncation_cuts_at_max_seq_len_and_drops_answerless_examples(tok):
    short = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]
    long_prompt = [
        {"role": "user", "content": "x" * 200},
        {"role": "assistant", "content": "late answer"},
    ]
    encoded = encode_records([CHAT, short, long_prompt], tok, max_seq_len=96)

    assert all(len(ex) <= 96 for ex in encoded.examples)
    # CHAT is cut after its first answer; the long prompt has no answer left.
    assert (encoded.records, encoded.truncated, encoded.dropped) == (3, 2, 1)
    assert _labelled_spans(encoded.examples[0], tok)[0] == "EUR 12.</s>"
    assert len(encoded.examples) == 2


def test_a_file_where_truncation_removes_every_answer_is_an_input_error(tmp_path, tok):
    path = _write_jsonl(tmp_path / "t.jsonl", [{"messages": [
        {"role": "user", "content": "y" * 100},
        {"role": "assistant", "content": "answer"},
    ]}])  # fmt: skip

    with pytest.raises(InputError, match="raise training.max_seq_len"):
        load_chat_dataset(path, tok, max_seq_len=32)


def test_bad_records_are_named_by_line_and_nothing_is_trained(tmp_path):
    path = _write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"messages": CHAT},
            "{not json",
            {"messages": [{"role": "robot", "content": "x"}]},
            {"messages": [{"role": "user", "content": "only a question"}]},
            {"prompt": "wrong schema"},
            {"messages": CHAT[2:]},
        ],
    )

    with pytest.raises(InputError) as err:
        read_chat_records(path)
    message = str(err.value)
    assert "5 bad records" in message
    for expected in ("line 2: not JSON", "line 3: message 0: role", "line 4: no non-"):
        assert expected in message
    assert "line 5: expected an object with a 'messages' list" in message
    assert "line 6: the first message must be" in message


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_or_missing_file_is_an_input_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match="empty"):
        read_chat_records(path)
    with pytest.raises(InputError, match="does not exist"):
        read_chat_records(tmp_path / "missing.jsonl")


def test_a_template_that_rewrites_earlier_turns_is_refused(tok):
    rewriting = build_byte_tokenizer()
    # Prefixes the turn count, so adding a message changes the first tokens.
    rewriting.chat_template = "{{ messages|length }}" + tok.chat_template
    with pytest.raises(ConfigError, match="rewrites earlier turns"):
        encode_chat(CHAT, rewriting, 4096)


LENGTHS = [5, 40, 7, 33, 12, 28, 9, 50, 3, 21, 17, 44, 8, 30, 26, 11, 6, 39, 14, 2]


def _flat(batches) -> list[int]:
    return [i for batch in batches for row in batch for i in row]


def _padding(batches) -> int:
    return sum(
        max(LENGTHS[r[0]] for r in b) * len(b) - sum(LENGTHS[r[0]] for r in b)
        for b in batches
    )


def test_grouped_batches_are_seeded_complete_and_pad_less_than_shuffles():
    first = grouped_batches(LENGTHS, 4, seed=1, epoch=0)

    assert first == grouped_batches(LENGTHS, 4, seed=1, epoch=0)
    assert first != grouped_batches(LENGTHS, 4, seed=1, epoch=1)
    assert first != grouped_batches(LENGTHS, 4, seed=2, epoch=0)
    assert sorted(_flat(first)) == list(range(len(LENGTHS)))  # each once
    shuffled = shuffled_batches(len(LENGTHS), 4, seed=1, epoch=0)
    assert sorted(_flat(shuffled)) == list(range(len(LENGTHS)))
    assert _padding(first) < _padding(shuffled) / 2


def test_packed_rows_hold_whole_examples_up_to_max_seq_len():
    batches = packed_batches(LENGTHS, 2, max_seq_len=64, seed=0, epoch=0)
    rows = [row for batch in batches for row in batch]

    assert sorted(_flat(batches)) == list(range(len(LENGTHS)))
    assert all(sum(LENGTHS[i] for i in row) <= 64 for row in rows)
    assert any(len(row) > 1 for row in rows)
    assert len(rows) < len(LENGTHS) / 2  # 465 tokens fit in far fewer rows


def test_plan_positions_run_across_epochs_in_order():
    plan = BatchPlan(tuple(LENGTHS), 3, seed=5, layout="grouped", max_seq_len=64)
    laid_out = plan.epoch(0) + plan.epoch(1)

    assert [plan.at(i) for i in range(len(laid_out))] == laid_out
    assert len(plan.epoch(0)) == 7  # 20 examples in batches of 3


def test_packed_rows_compute_the_same_loss_as_separate_examples(tok):
    # Restarting position ids make transformers mask attention between packed
    # examples, so packing changes the padding, not the loss.
    encoded = encode_records([CHAT, CHAT[1:3], CHAT[:3]], tok, 4096)
    model = build_tiny_model(TinyModelConfig(), seed=0).eval()
    examples = encoded.examples

    def loss(batch):
        labels = batch.pop("labels")
        with torch.no_grad():
            sums, counts = token_loss_sums(model(**batch).logits, labels)
        return float(sums.sum()), int(counts.sum())

    packed = collate(((0, 1, 2),), examples, pad_id=0, packed=True)
    padded = collate(((0,), (1,), (2,)), examples, pad_id=0, packed=False)
    assert packed["input_ids"].shape == (1, sum(len(ex) for ex in examples))
    assert packed["position_ids"][0, len(examples[0])] == 0  # restarts
    packed_loss, packed_count = loss(packed)
    padded_loss, padded_count = loss(padded)
    assert packed_count == padded_count == sum(ex.targets for ex in examples)
    assert packed_loss == pytest.approx(padded_loss, rel=1e-5)
