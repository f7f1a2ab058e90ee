"""Document metadata: YAML front matter, ``.meta.yaml`` sidecars, typed fields.

Metadata decides a document's freshness class and staleness, so a value that
cannot be read is a rejection with the key, value and YAML line in the reason,
never a silent None.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from ragtune.tasks.ingest.problems import FileProblem
from ragtune.tasks.ingest.sniff import decode_utf8

SIDECAR_SUFFIX = ".meta.yaml"
DATE_KEYS = ("effective_date", "last_reviewed", "valid_until")
TEXT_KEYS = ("id", "title", "category", "amends", "supersedes", "owner")
# The clauses of the ``amends`` document that an amendment replaces: a YAML list
# or one comma-separated string (HTML meta tags and PDF info carry strings).
LIST_KEYS = ("clauses",)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?")
FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$\r?\n?", re.S | re.M
)


class _DatesAsStrings(yaml.SafeLoader):
    """SafeLoader that leaves dates and decimals as strings.

    PyYAML turns ``2026-02-31`` into a ValueError with no key attached; read as a
    string, :func:`parse_date` can name the key and the value instead. Decimals
    stay as written because clause numbers look like them: ``2.10`` is clause
    ten of section two, not ``2.1``.
    """


_AS_STRINGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:float")
_DatesAsStrings.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _AS_STRINGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class DocMeta:
    """The typed metadata fields of a Document; unknown keys land in ``extra``."""

    id: str | None = None
    title: str | None = None
    category: str | None = None
    effective_date: date | None = None
    last_reviewed: date | None = None
    valid_until: date | None = None
    amends: str | None = None
    supersedes: str | None = None
    clauses: tuple[str, ...] = ()
    owner: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def sidecar_path(path: Path) -> Path:
    """``report.pdf`` -> ``report.pdf.meta.yaml`` (the sidecar's full name)."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(SIDECAR_SUFFIX)


def parse_yaml_mapping(text: str, where: str, first_line: int = 1) -> dict[str, Any]:
    """Parse a YAML block that must be a mapping (or empty).

    Args:
        text: the YAML source.
        where: what the block is, for messages ("front matter", "sidecar x.meta.yaml").
        first_line: file line number of the block's first line, so errors point
            at the line an editor shows.

    Raises:
        FileProblem: malformed YAML (with line, column and the line's text) or a
            block that is not a mapping.
    """
    try:
        data = yaml.load(text, Loader=_DatesAsStrings)
    except yaml.MarkedYAMLError as exc:
        raise FileProblem(_yaml_reason(exc, text, where, first_line)) from None
    except yaml.YAMLError as exc:
        raise FileProblem(f"malformed {where}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise FileProblem(
            f"malformed {where}: expected a mapping of keys, not a {kind}"
        )
    return {str(k): v for k, v in data.items()}


def _yaml_reason(exc: yaml.MarkedYAMLError, text: str, where: str, first: int) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return f"malformed {where}: {problem}"
    lines = text.splitlines()
    shown = lines[mark.line].strip() if mark.line < len(lines) else ""
    return (
        f"malformed {where}: {problem} at line {first + mark.line}, "
        f"column {mark.column + 1}: {shown!r}"
    )


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split Markdown into (front matter mapping, body); no front matter -> {}.

    Raises:
        FileProblem: the front matter is malformed or never closed.
    """
    if not re.match(r"\A---[ \t]*\r?\n", text):
        return {}, text
    match = FRONT_MATTER.match(text)
    if match is None:
        raise FileProblem("malformed front matter: opened with '---' but never closed")
    return parse_yaml_mapping(match.group(1), "front matter", 2), text[match.end() :]


def read_sidecar(path: Path) -> dict[str, Any]:
    """Metadata from ``<file>.meta.yaml`` beside ``path``; {} when there is none."""
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    text = decode_utf8(side.read_bytes())
    return parse_yaml_mapping(text, f"sidecar {side.name}")


def to_doc_meta(raw: dict[str, Any]) -> DocMeta:
    """Type the known keys and stringify the rest.

    Raises:
        FileProblem: one reason per date that does not parse (key and value named).
    """
    problems: list[str] = []
    dates: dict[str, date | None] = {}
    for key in DATE_KEYS:
        try:
            dates[key] = parse_date(raw.get(key))
        except ValueError:
            problems.append(f"{key}: cannot parse {raw[key]!r} as a date (YYYY-MM-DD)")
    clauses = _clauses(raw.get("clauses"), problems)
    texts = {key: _text(raw.get(key)) for key in TEXT_KEYS}
    if clauses and texts["amends"] is None:
        problems.append(
            "clauses: names clauses "
            + ", ".join(clauses)
            + " but no 'amends' says of which document"
        )
    if problems:
        raise FileProblem(*problems)
    if texts["category"] is not None:
        texts["category"] = texts["category"].lower()
    extra = {
        key: _stringify(value)
        for key, value in sorted(raw.items())
        if key not in (*DATE_KEYS, *TEXT_KEYS, *LIST_KEYS) and value is not None
    }
    return DocMeta(**texts, **dates, clauses=clauses, extra=extra)


def _clauses(value: Any, problems: list[str]) -> tuple[str, ...]:
    """Clause numbers as written (``2.3``, ``16.2.2``, ``3.1(b)``), in order."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, dict | list | tuple) or item is None:
            problems.append(f"clauses: {item!r} is not a clause number like 2.3")
            continue
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


def parse_date(value: Any) -> date | None:
    """YAML dates, datetimes and ISO strings -> date; None/'' -> None.

    Raises:
        ValueError: anything else, e.g. '31/02/2026' or 2026 (a bare year).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
        return date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = _stringify(value).strip()
    return text or None


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return str(value)
