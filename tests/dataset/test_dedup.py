"""MinHash LSH finds copies that differ in case, punctuation or a few words."""

from __future__ import annotations

from ragtune.tasks.dataset.dedup import cross_duplicates, find_duplicates

BASE = (
    "The leverage ratio is Tier 1 capital divided by total exposures, without "
    "risk weighting. A leverage ratio of 5% means capital equal to one twentieth "
    "of everything the bank has lent or holds."
)


def test_exact_near_and_distinct() -> None:
    texts = [
        BASE,
        BASE.upper().replace(",", ""),  # exact after normalisation
        BASE.replace("one twentieth", "a twentieth"),  # near duplicate
        "A chargeback is a way to get money back on a card payment.",
    ]
    dups = find_duplicates(texts, threshold=0.8)
    assert [(d.item, d.of, d.exact) for d in dups] == [(1, 0, True), (2, 0, False)]
    assert 0.8 <= dups[1].similarity < 1.0


def test_threshold_decides_what_is_near() -> None:
    edited = BASE.replace("Tier 1 capital divided by", "core capital over")
    assert find_duplicates([BASE, edited], threshold=0.99) == []
    assert len(find_duplicates([BASE, edited], threshold=0.6)) == 1


def test_cross_duplicates_index_into_both_sides() -> None:
    left = ["What was the base rate in June 2021?", BASE]
    right = [
        "an unrelated question about travel cover",
        "what was the base rate in june 2021",
    ]
    dups = cross_duplicates(left, right, threshold=0.9)
    assert [(d.item, d.of, d.exact) for d in dups] == [(1, 0, True)]
