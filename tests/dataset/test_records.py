"""Both input formats become the same example; a wrong schema is named, not lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.tasks.dataset.records import RecordError, normalise, read_jsonl

from .conftest import write_jsonl

ANSWER = "EUR 61.4 million in 2019.\nSource: Annual Report 2019 [annual-report-2019]"


def test_pair_and_chat_formats_normalise_to_the_same_messages() -> None:
    pair = normalise(
        {"instruction": "Profit before tax in 2019?", "response": ANSWER}, "a.jsonl"
    )
    chat = normalise(
        {
            "messages": [
                {"role": "user", "content": "Profit before tax in 2019?"},
                {"role": "assistant", "content": ANSWER},
            ]
        },
        "a.jsonl",
    )
    assert pair.messages == chat.messages
    assert pair.instruction == "Profit before tax in 2019?"
    assert pair.response == ANSWER
    # Same content, same derived id: ids are stable across reruns and formats.
    assert pair.id == chat.id and pair.id.startswith("a-")
    assert pair.cited_doc_ids() == ("annual-report-2019",)


def test_alpaca_output_input_system_and_extra_keys_are_kept() -> None:
    example = normalise(
        {
            "id": "x1",
            "system": "Answer briefly.",
            "instruction": "Summarise:",
            "input": "The AER assumes interest is compounded yearly.",
            "output": "Yearly compounding.",
            "reviewer": "jdoe",
        },
        "b.jsonl",
    )
    assert [m.role for m in example.messages] == ["system", "user", "assistant"]
    assert example.instruction.endswith("compounded yearly.")
    assert example.response == "Yearly compounding."
    assert example.meta["extra"] == {"reviewer": "jdoe"}  # nothing dropped


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"question": "q", "answer": "a"}, "found keys: answer, question"),
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "user", "content": "q"}]}, "end with an assistant"),
        (
            {
                "messages": [
                    {"role": "bot", "content": "q"},
                    {"role": "assistant", "content": "a"},
                ]
            },
            "no user turn",
        ),
        ({"instruction": 3, "response": "a"}, "must be strings"),
        (["not", "an", "object"], "expected a JSON object"),
    ],
)
def test_wrong_schema_is_a_clear_error(raw: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        normalise(raw, "c.jsonl")


def test_read_jsonl_keeps_good_lines_and_names_bad_ones(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"instruction": "What is the AER?", "response": ANSWER},
            "{not json",
            {"prompt": "What is the APR?"},
            "",
            {"prompt": "What is LTV?", "completion": "Loan to value."},
        ],
    )
    examples, rejected = read_jsonl(path, "curated/mixed.jsonl")
    assert [e.instruction for e in examples] == ["What is the AER?", "What is LTV?"]
    assert [(r.line, r.source) for r in rejected] == [
        (2, "curated/mixed.jsonl"),
        (3, "curated/mixed.jsonl"),
    ]
    assert "not valid JSON" in rejected[0].reasons[0]
    assert json.loads(rejected[1].raw) == {"prompt": "What is the APR?"}
