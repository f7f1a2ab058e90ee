"""Building blocks of ragtune's expectation suites: a check is a GX expectation
plus the sentence one failing row turns into.

GX reports failing rows; operators need reasons. Pairing each expectation with
its reason template here keeps the two from drifting apart, and the check name
(stored in the expectation's ``meta.check``) maps GX results back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe

Row = Mapping[str, Any]
Reason = Callable[[Row, Mapping[str, Any]], str]


@dataclass(frozen=True)
class Check:
    """One expectation plus the sentence it produces for a failing row."""

    name: str
    kind: type[gxe.Expectation]
    kwargs: dict[str, Any]
    reason: Reason

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    def build(self) -> gxe.Expectation:
        return self.kind(**self.kwargs, meta={"check": self.name})


@dataclass(frozen=True)
class SuiteSpec:
    """A suite: its checks, the columns that identify a failing row, a label."""

    name: str
    label: str
    index_columns: tuple[str, ...]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def build(self) -> gx.ExpectationSuite:
        """A fresh, unsaved GX suite (GX binds expectations to one suite only)."""
        return gx.ExpectationSuite(
            name=self.name, expectations=[c.build() for c in self.checks]
        )


def param(name: str) -> dict[str, str]:
    """A GX suite parameter: the value is supplied at run time, not stored."""
    return {"$PARAMETER": name}


def fixed(text: str) -> Reason:
    return lambda row, ctx: text


def valued(template: str, column: str) -> Reason:
    return lambda row, ctx: template.format(value=row.get(column), **ctx)


def unique(name: str, column: str, reason: Reason) -> Check:
    return Check(name, gxe.ExpectColumnValuesToBeUnique, {"column": column}, reason)


def matches(name: str, column: str, regex: str, reason: Reason) -> Check:
    kwargs = {"column": column, "regex": regex}
    return Check(name, gxe.ExpectColumnValuesToMatchRegex, kwargs, reason)


def in_set(name: str, column: str, parameter: str, reason: Reason) -> Check:
    kwargs = {"column": column, "value_set": param(parameter)}
    return Check(name, gxe.ExpectColumnValuesToBeInSet, kwargs, reason)


def not_null(name: str, column: str, reason: Reason) -> Check:
    return Check(name, gxe.ExpectColumnValuesToNotBeNull, {"column": column}, reason)
