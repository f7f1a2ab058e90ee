"""Metadata parsing: dates, front matter, YAML error locations."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ragtune.tasks.ingest.metadata import parse_date, split_front_matter, to_doc_meta
from ragtune.tasks.ingest.problems import FileProblem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-07-01", date(2026, 7, 1)),
        (" 2026-07-01 ", date(2026, 7, 1)),
        ("2026-07-01T09:30:00Z", date(2026, 7, 1)),
        (date(2024, 2, 29), date(2024, 2, 29)),
        (datetime(2024, 2, 29, 12), date(2024, 2, 29)),
    ],
)
def test_parse_date_accepts(value, expected) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["31/02/2026", "2026-02-31", "July 2026", 2026, True])
def test_parse_date_rejects(value) -> None:
    with pytest.raises(ValueError):
        parse_date(value)


def test_front_matter_dates_stay_strings_until_typed() -> None:
    meta, body = split_front_matter("---\nlast_reviewed: 2026-02-31\n---\nBody\n")

    assert (meta, body) == ({"last_reviewed": "2026-02-31"}, "Body\n")
    with pytest.raises(FileProblem) as info:
        to_doc_meta(meta)
    assert info.value.reasons == (
        "last_reviewed: cannot parse '2026-02-31' as a date (YYYY-MM-DD)",
    )


def test_yaml_error_points_at_the_file_line() -> None:
    text = "---\nid: a\ntitle: b\nowner: [x\n---\nBody\n"
    with pytest.raises(FileProblem) as info:
        split_front_matter(text)
    (reason,) = info.value.reasons
    assert reason.startswith("malformed front matter: ")
    assert "line 5" in reason  # the closing fence, where the flow sequence ends


def test_no_front_matter_means_empty_metadata() -> None:
    assert split_front_matter("# Title\n\n---\n") == ({}, "# Title\n\n---\n")


def test_extra_keys_become_strings() -> None:
    meta = to_doc_meta(
        {"id": 42, "category": " Regulatory ", "version": 3, "reviewed_by": ["a", "b"]}
    )
    assert (meta.id, meta.category) == ("42", "regulatory")
    assert meta.extra == {"reviewed_by": '["a", "b"]', "version": "3"}
