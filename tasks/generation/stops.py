"""Stop strings applied the same way to finished and streamed text.

Backends differ in whether (and how) they honour stop strings, so every generator
cuts its own output here: the streamed pieces then always join to exactly the text
``generate`` returns.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string, and whether one was found."""
    positions = [text.find(s) for s in stops if s]
    found = [p for p in positions if p >= 0]
    return (text[: min(found)], True) if found else (text, False)


def stream_until_stop(
    pieces: Iterable[str], stops: Sequence[str]
) -> Generator[str, None, bool]:
    """Re-chunk ``pieces`` so that no stop string (nor anything after it) leaks;
    returns (as the generator's value) whether a stop string ended it.

    A stop string can arrive split over two pieces, so the tail that could still
    be the start of one (``longest stop - 1`` characters) is held back until the
    next piece decides it.
    """
    stops = [s for s in stops if s]
    if not stops:
        yield from (p for p in pieces if p)
        return False
    hold = max(len(s) for s in stops) - 1
    pending = ""
    for piece in pieces:
        pending += piece
        text, stopped = cut_at_stop(pending, stops)
        if stopped:
            if text:
                yield text
            return True
        safe = len(pending) - hold
        if safe > 0:
            yield pending[:safe]
            pending = pending[safe:]
    if pending:
        yield pending
    return False
