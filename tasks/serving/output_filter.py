"""The output filter every answer passes, whatever model wrote it; the query log
passes the question through one too, with its own PII kinds.

PII (by default emails, phones, IBANs, card numbers, national ids) is redacted by
the detectors in ``tasks/privacy/pii.py``; operator deny terms become
``[removed]``. Streams are filtered on a rolling buffer: the last ``holdback``
characters are held back until more text arrives, so a card number or a term split
across two chunks is still seen whole. With ``holdback`` at least the longest
string to catch, a match not yet complete always starts inside the held-back tail;
a cue ("born", "sort code") is held back with the text its value may still arrive
in, so the value is never judged without it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ragtune.tasks.privacy.pii import cue_spans, redact, scan

REMOVED = "[removed]"
DENY_KIND = "deny_term"


@dataclass(frozen=True)
class Filtered:
    """Filtered text and how many strings of each kind were taken out."""

    text: str
    removed: dict[str, int] = field(default_factory=dict)


class OutputFilter:
    """PII redaction plus a deny list; stateless, so one instance serves all."""

    def __init__(self, deny_terms: list[str], pii_kinds: list[str]) -> None:
        self._kinds = tuple(pii_kinds)
        terms = sorted({t.strip() for t in deny_terms if t.strip()}, key=len)
        alternatives = "|".join(re.escape(t) for t in reversed(terms))
        self._deny = (
            re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
            if terms
            else None
        )

    def apply(self, text: str) -> Filtered:
        """Redact PII first (a deny term must not hide a match), then deny terms."""
        counts: Counter[str] = Counter()
        cleaned, matches = redact(text, self._kinds)
        counts.update(m.kind for m in matches)
        if self._deny is not None:
            cleaned, denied = self._deny.subn(REMOVED, cleaned)
            if denied:
                counts[DENY_KIND] += denied
        return Filtered(cleaned, dict(counts))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where something would be taken out (PII matches and deny terms), or
        may still be (a cue with the text after it)."""
        found = [(m.start, m.end) for m in scan(text, self._kinds)]
        found += cue_spans(text, self._kinds)
        if self._deny is not None:
            found += [m.span() for m in self._deny.finditer(text)]
        return found

    def stream(self, holdback: int) -> StreamFilter:
        """A fresh rolling-buffer filter for one streamed answer."""
        return StreamFilter(self, holdback)


class StreamFilter:
    """Filters a stream of text pieces; joined output equals ``apply`` on the whole.

    Call ``feed`` with each piece (it returns the text safe to send now, maybe
    empty) and ``finish`` once at the end to flush the held-back tail.
    """

    def __init__(self, output_filter: OutputFilter, holdback: int) -> None:
        self._filter = output_filter
        self._holdback = holdback
        self._pending = ""
        self.removed: Counter[str] = Counter()

    def feed(self, piece: str) -> str:
        self._pending += piece
        cut = self._safe_cut(self._pending)
        if cut <= 0:
            return ""
        head, self._pending = self._pending[:cut], self._pending[cut:]
        return self._emit(head)

    def finish(self) -> str:
        head, self._pending = self._pending, ""
        return self._emit(head) if head else ""

    def _emit(self, text: str) -> str:
        result = self._filter.apply(text)
        self.removed.update(result.removed)
        return result.text

    def _safe_cut(self, text: str) -> int:
        """Where ``text`` may be split: before the held-back tail, never inside a
        match or a word (whole-word terms and ``\\b`` patterns judge both sides)."""
        cut = len(text) - self._holdback
        spans = self._filter.spans(text) if cut > 0 else []
        previous = None
        while cut > 0 and cut != previous:
            previous = cut
            for start, end in spans:
                if start < cut < end:
                    cut = start
            while cut > 0 and text[cut - 1].isalnum() and text[cut].isalnum():
                cut -= 1
        return max(cut, 0)
