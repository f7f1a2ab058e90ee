"""Exact and near-duplicate detection with MinHash LSH (datasketch).

Near-duplicates are pairs whose character 5-gram sets have an estimated Jaccard
similarity at or above the threshold. Character shingles work for both short
questions and long answers, and survive re-punctuation and re-casing. LSH finds
candidate pairs in sub-quadratic time; each candidate is then confirmed with the
MinHash estimate, so the threshold means the same thing at any dataset size.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE = 5
# LSH only proposes candidates (each is confirmed against the real threshold);
# above ~0.95 datasketch cannot band 128 permutations, so the filter is capped.
LSH_CAP = 0.9
_NON_WORD = re.compile(r"[^\w]+")


def normalise_text(text: str) -> str:
    """Case-, accent-form-, punctuation- and spacing-insensitive form of a text."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def fingerprint(text: str) -> str:
    """Exact-duplicate key: sha256 of the normalised text."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def minhash(text: str, seed: int = 1) -> MinHash:
    """MinHash of the text's character 5-grams (the whole text when shorter)."""
    norm = normalise_text(text)
    grams = {norm[i : i + SHINGLE] for i in range(max(1, len(norm) - SHINGLE + 1))}
    sketch = MinHash(num_perm=NUM_PERM, seed=seed)
    sketch.update_batch(g.encode("utf-8") for g in grams)
    return sketch


@dataclass(frozen=True)
class Duplicate:
    """``item`` repeats ``of``: exactly (``similarity`` 1.0) or nearly."""

    item: int
    of: int
    similarity: float
    exact: bool


def find_duplicates(texts: Sequence[str], threshold: float) -> list[Duplicate]:
    """Later items that repeat an earlier one; the first occurrence is kept.

    Args:
        texts: One text per item, in priority order (earlier wins).
        threshold: Estimated Jaccard similarity at which items are near-duplicates.

    Returns:
        One ``Duplicate`` per item to drop, pointing at the item it repeats.
    """
    seen: dict[str, int] = {}
    lsh = MinHashLSH(threshold=min(threshold, LSH_CAP), num_perm=NUM_PERM)
    sketches: dict[int, MinHash] = {}
    found: list[Duplicate] = []
    for index, text in enumerate(texts):
        key = fingerprint(text)
        if key in seen:
            found.append(Duplicate(index, seen[key], 1.0, True))
            continue
        seen[key] = index
        sketch = minhash(text)
        match = _best_match(lsh, sketches, sketch, threshold)
        if match is not None:
            found.append(Duplicate(index, match[0], match[1], False))
            continue
        lsh.insert(str(index), sketch)
        sketches[index] = sketch
    return found


def cross_duplicates(
    left: Sequence[str], right: Sequence[str], threshold: float
) -> list[Duplicate]:
    """Items of ``right`` that repeat an item of ``left`` (``of`` indexes left)."""
    lsh = MinHashLSH(threshold=min(threshold, LSH_CAP), num_perm=NUM_PERM)
    sketches: dict[int, MinHash] = {}
    exact: dict[str, int] = {}
    for index, text in enumerate(left):
        exact.setdefault(fingerprint(text), index)
        sketches[index] = minhash(text)
        lsh.insert(str(index), sketches[index])
    found: list[Duplicate] = []
    for index, text in enumerate(right):
        key = fingerprint(text)
        if key in exact:
            found.append(Duplicate(index, exact[key], 1.0, True))
            continue
        match = _best_match(lsh, sketches, minhash(text), threshold)
        if match is not None:
            found.append(Duplicate(index, match[0], match[1], False))
    return found


def _best_match(
    lsh: MinHashLSH, sketches: dict[int, MinHash], sketch: MinHash, threshold: float
) -> tuple[int, float] | None:
    """The most similar indexed item at or above ``threshold``, if any."""
    best: tuple[int, float] | None = None
    for key in lsh.query(sketch):
        other = int(key)
        similarity = sketch.jaccard(sketches[other])
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (other, similarity)
    return best
