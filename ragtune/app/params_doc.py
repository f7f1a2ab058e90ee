"""Renders docs/params.md from the params.yaml schema itself, so the reference can
never drift from the code: a test compares the file with this output.

Regenerate with ``python -m ragtune.app.params_doc > docs/params.md``.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ragtune.app.settings import Settings

HEADER = """# params.yaml reference

Generated from the schema by `python -m ragtune.app.params_doc > docs/params.md`; a test
fails when this file and the code disagree. Every key can be overridden from the
environment as `RAGTUNE_<SECTION>__<KEY>` (YAML-parsed), e.g.
`RAGTUNE_INDEX__URI=s3://bucket/index`. Unknown keys are errors.

Environments differ by configuration, not code: `RAGTUNE_OVERLAY=prod` merges
`params.prod.yaml` (beside params.yaml; a path works too) over the base file, section by
section (values and lists replace), before the environment overrides. `project.seed` is
the one seed: every section with a `seed` inherits it unless the file sets that
section's own.
"""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("pathlib.", "").replace("|", "or")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value: Any = info.default_factory()
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "(section)"
    if (
        isinstance(value, dict)
        and value
        and isinstance(next(iter(value.values())), BaseModel)
    ):
        return "see below"
    return f"`{json.dumps(value, default=str)}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        key = f"{prefix}{name}"
        sub = _model_of(info.annotation)
        if sub is not None and typing.get_origin(info.annotation) is dict:
            nested.append((f"{key}.<name>.", sub))
        elif sub is not None:
            nested.append((f"{key}.", sub))
            continue
        desc = (info.description or "").replace("|", "\\|")
        rows.append(
            f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} | {desc} |"
        )
    for sub_prefix, sub in nested:
        rows += _rows(sub, sub_prefix)
    return rows


def render() -> str:
    """The whole reference page."""
    lines = [HEADER]
    for name, info in Settings.model_fields.items():
        model = _model_of(info.annotation)
        if info.exclude or model is None:
            continue
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        lines += [
            f"## `{name}`",
            "",
            doc,
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
            *_rows(model, f"{name}."),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201 - a generator script writes to stdout
