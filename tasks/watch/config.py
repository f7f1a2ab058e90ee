"""The ``watch:`` section: regulatory sources to watch and how a change is scored.

A source is a local folder, a branch of a git repository or an HTTP URL; what it
holds is mirrored under the knowledge base's regulatory area (``area``/``dest``).
The significance score is a weighted mean of six components, each in [0, 1]; the
weights and the counts at which a component saturates are here so that an
operator can see and tune why a change scored what it did.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

DEFAULT_INCLUDE = ["*.md", "*.txt", "*.html", "*.htm", "*.pdf", "*.meta.yaml"]
DEFAULT_AMENDMENT_TERMS = [
    "shall",
    "shall not",
    "must",
    "must not",
    "may not",
    "is required to",
    "amend",
    "amended",
    "amendment",
    "amends",
    "repealed",
    "revoked",
    "replaced",
    "substituted",
    "inserted",
    "deleted",
    "no longer",
    "lowered",
    "raised",
    "increased",
    "reduced",
    "prohibited",
]
DEFAULT_EFFECTIVE_TERMS = [
    "effective from",
    "effective on",
    "effective as of",
    "effective",
    "with effect from",
    "comes into force",
    "come into force",
    "in force from",
    "applies from",
    "apply from",
    "effective_date",
]


def _relative(value: str, what: str) -> str:
    path = PurePosixPath(value)
    if not value.strip() or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {value!r} must be a relative path inside the KB")
    return path.as_posix()


class WatchSource(StrictModel):
    """One watched source and where its documents land in the knowledge base."""

    name: str = Field(
        description="Short id (lowercase, digits, - or _): state key and the "
        "resource name of its events."
    )
    kind: Literal["folder", "git", "http"] = Field(description="Kind of source.")
    path: Path | None = Field(
        None, description="folder: the folder; git: the repository's work tree."
    )
    branch: str = Field("main", description="git: the branch (or ref) to read.")
    subdir: str | None = Field(
        None, description="git: only files below this folder of the repository."
    )
    url: str | None = Field(None, description="http: the document's URL.")
    dest: str | None = Field(
        None,
        description="Where it lands under the regulatory area: a folder for "
        "folder/git (default: the name), a file name for http (required).",
    )
    include: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INCLUDE),
        description="folder/git: file name patterns to mirror.",
    )
    doc_ids: list[str] = Field(
        default_factory=list,
        description="Document ids this source feeds, named in its events; empty: "
        "the ids of the changed files.",
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"source name {value!r}: use lowercase, digits, - or _")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> WatchSource:
        if self.kind in ("folder", "git") and self.path is None:
            raise ValueError(f"source {self.name}: a {self.kind} source needs path")
        if self.kind == "http":
            if not self.url or not re.match(r"^https?://", self.url):
                raise ValueError(
                    f"source {self.name}: an http source needs an http(s) url"
                )
            if not self.dest:
                raise ValueError(
                    f"source {self.name}: an http source needs dest (a file name)"
                )
        if self.dest is not None:
            _relative(self.dest, f"source {self.name}: dest")
        if self.subdir is not None:
            _relative(self.subdir, f"source {self.name}: subdir")
        return self

    def target(self) -> str:
        """``dest`` or, for folder/git, the source name."""
        return _relative(self.dest or self.name, "dest")


class SignificanceWeights(StrictModel):
    """Weight of each component in the significance score (normalised by their sum)."""

    size: float = Field(0.2, ge=0, description="Lines added plus removed.")
    amendment_language: float = Field(
        0.25, ge=0, description="Obligation and amendment terms added or removed."
    )
    effective_date: float = Field(
        0.2, ge=0, description="Effective-date language in the changed lines."
    )
    numbers: float = Field(0.15, ge=0, description="Numbers changed (amounts, %).")
    dates: float = Field(0.05, ge=0, description="Dates changed.")
    sections: float = Field(0.15, ge=0, description="Sections (headings) touched.")

    @model_validator(mode="after")
    def _some_weight(self) -> SignificanceWeights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("watch.weights: at least one weight must be positive")
        return self


class Saturation(StrictModel):
    """The count at which a component reaches 1 (it grows linearly up to it)."""

    lines: int = Field(40, ge=1, description="Lines added plus removed.")
    amendment_terms: int = Field(3, ge=1, description="Amendment terms changed.")
    numbers: int = Field(3, ge=1, description="Numbers changed.")
    dates: int = Field(2, ge=1, description="Dates changed.")
    sections: int = Field(3, ge=1, description="Sections touched.")


class WatchConfig(StrictModel):
    """Regulatory watcher: sources, where changes land, and when they matter."""

    sources: list[WatchSource] = Field(
        default_factory=list, description="Watched sources (none: nothing to do)."
    )
    area: str = Field("compliance", description="Regulatory folder under data.kb_path.")
    significance_threshold: float = Field(
        0.4,
        ge=0,
        le=1,
        description="At or above this score a change emits ragtune.regulatory.updated.",
    )
    interval_s: float = Field(
        3600.0, gt=0, description="Seconds between passes of `ragtune watch`."
    )
    http_timeout_s: float = Field(30.0, gt=0, description="HTTP request timeout.")
    state_file: Path | None = Field(
        None,
        description="Last seen hashes/ETags (default: <state_dir>/watch_state.json).",
    )
    archive_dir: Path | None = Field(
        None,
        description="Replaced versions kept by content hash (default: "
        "<state_dir>/watch/versions).",
    )
    weights: SignificanceWeights = SignificanceWeights()
    saturation: Saturation = Saturation()
    amendment_terms: list[str] = Field(
        default_factory=lambda: list(DEFAULT_AMENDMENT_TERMS),
        description="Obligation/amendment phrases (whole words, case-insensitive).",
    )
    effective_terms: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EFFECTIVE_TERMS),
        description="Phrases that announce when a rule takes effect.",
    )

    @field_validator("area")
    @classmethod
    def _area_inside(cls, value: str) -> str:
        return _relative(value, "watch.area")

    @model_validator(mode="after")
    def _unique(self) -> WatchConfig:
        for what, values in (
            ("name", [s.name for s in self.sources]),
            ("dest", [s.target() for s in self.sources]),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"watch.sources: duplicate {what} {', '.join(dupes)}")
        return self
