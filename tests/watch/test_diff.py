"""Diff summaries and significance on a real policy: an amendment that lowers a
threshold and says from when scores high, a one-word typo fix scores low."""

from __future__ import annotations

from datetime import date

import pytest

from ragtune.tasks.watch.config import WatchConfig
from ragtune.tasks.watch.diff import (
    document_text,
    effective_date,
    find_dates,
    summarize_diff,
)
from ragtune.tasks.watch.significance import significance

from .conftest import amend, typo_fix

CFG = WatchConfig()


def diff(old: str, new: str):  # noqa: ANN201 - DiffSummary
    return summarize_diff(old, new, CFG.amendment_terms, CFG.effective_terms)


def test_a_real_amendment_is_significant(policy_text: str) -> None:
    d = diff(policy_text, amend(policy_text))
    assert (d.lines_added, d.lines_removed) == (3, 3)
    assert d.sections_touched == (
        "(before the first heading)",  # the front matter's effective_date
        "3. When due diligence must be applied",
        "4. Risk rating and periodic review",
    )
    assert d.effective_language and d.effective_date == date(2026, 7, 1)
    assert set(d.amendment_terms) == {"amendment", "lowered"}
    # 10,000 -> 7,500 and 3 -> 2 years, plus "2026-01" in the amendment's name
    assert d.numbers_changed >= 4 and d.dates_changed == 3
    sig = significance(d, CFG)
    assert sig.score >= 0.6 > CFG.significance_threshold
    assert sig.components["effective_date"] == 1.0 and sig.components["numbers"] == 1.0
    assert any("EUR 7,500" in line for line in d.preview)


def test_a_typo_fix_is_not(policy_text: str) -> None:
    d = diff(policy_text, typo_fix(policy_text))
    assert (d.lines_added, d.lines_removed) == (1, 1)
    assert d.sections_touched == ("6. Record keeping and reporting",)
    assert (d.numbers_changed, d.dates_changed, d.amendment_changes) == (0, 0, 0)
    assert not d.effective_language
    sig = significance(d, CFG)
    assert sig.score < 0.1 < CFG.significance_threshold


def test_a_typo_beside_an_unchanged_effective_date_is_no_effective_change() -> None:
    old = "# Rules\n\nThis rule is efective from 1 July 2026 for all firms.\n"
    new = "# Rules\n\nThis rule is effective from 1 July 2026 for all firms.\n"
    d = diff(old, new)
    # "effective" is new only because the typo hid it; the date did not move,
    # yet the new phrase counts: a wording fix in a dated sentence is flagged
    assert d.effective_language and d.effective_date == date(2026, 7, 1)
    moved = diff(new, new.replace("1 July", "1 August"))
    assert moved.effective_language and moved.dates_changed == 2
    undated = diff("# A\n\nControls.\n", "# A\n\nEffective controls.\n")
    assert not undated.effective_language


def test_new_document_counts_every_line_and_section() -> None:
    d = diff("", "# Title\n\n## One\n\nMust do X.\n\n## Two\n\nShall do Y.\n")
    assert d.lines_added == 5 and d.lines_removed == 0
    assert d.sections_touched == ("Title", "One", "Two")
    assert {"must", "shall"} <= set(d.amendment_terms)


def test_unchanged_text_scores_zero(policy_text: str) -> None:
    sig = significance(diff(policy_text, policy_text), CFG)
    assert sig.score == 0.0


def test_weights_are_normalised_and_configurable(policy_text: str) -> None:
    only_size = WatchConfig(
        weights={
            "size": 1.0,
            "amendment_language": 0,
            "effective_date": 0,
            "numbers": 0,
            "dates": 0,
            "sections": 0,
        }
    )
    d = diff(policy_text, amend(policy_text))
    assert significance(d, only_size).score == pytest.approx(6 / 40)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in force on 2026-07-01.", [date(2026, 7, 1)]),
        (
            "Effective 1 July 2026 and 3rd March 2027",
            [date(2026, 7, 1), date(2027, 3, 3)],
        ),
        ("from July 1, 2026", [date(2026, 7, 1)]),
        ("on 2026-02-30 (no such day) or 31 June 2026", []),
        ("version 2026-01 of the rules", []),
    ],
)
def test_find_dates(text: str, expected: list[date]) -> None:
    assert sorted(find_dates(text)) == expected


def test_effective_date_takes_the_date_after_the_phrase() -> None:
    text = "Approved on 21 May 2026. Effective 1 July 2026. Reviewed 2027-01-01."
    assert effective_date(text, CFG.effective_terms) == date(2026, 7, 1)
    assert effective_date("No dates here.", CFG.effective_terms) is None


def test_html_is_diffed_as_the_text_that_gets_indexed() -> None:
    html = b"<html><body><h2>Fees</h2><p>The fee is <b>EUR 5</b>.</p></body></html>"
    assert document_text("notice.html", html) == "## Fees\n\nThe fee is EUR 5."
    assert document_text("broken.pdf", b"not a pdf") == ""
