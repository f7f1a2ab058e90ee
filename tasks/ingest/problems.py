"""The one exception type that turns a file into a Rejection instead of a Document."""

from __future__ import annotations


class FileProblem(ValueError):
    """A file cannot become a Document; ``reasons`` are shown to the operator as is.

    Extraction helpers raise it so the loader can record a Rejection and carry on
    with the next file: one bad file must never stop a knowledge-base load.
    """

    def __init__(self, *reasons: str) -> None:
        super().__init__("; ".join(reasons))
        self.reasons: tuple[str, ...] = tuple(reasons)
