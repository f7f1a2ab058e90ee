"""From one run's compute to a first project's budget, and the Estimate result.

One run's compute cost is GPU hours times the provider's price. The framework's
rules of thumb then widen it into ranges: hyper-parameter search means paying
for 3-5 runs in all (the final one included), data preparation costs 5-20 times
one run's compute, or $0.10-1.00 per example when experts must label the data,
and the platform (tracking, registry, orchestration) costs $100-500 a month.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ragtune.tasks.estimate.config import Band, EstimatorConfig
from ragtune.tasks.estimate.fit import Plan
from ragtune.tasks.estimate.render import render_markdown
from ragtune.tasks.estimate.shapes import ModelShape
from ragtune.tasks.estimate.workload import TrainingSetup, Workload


@dataclass(frozen=True)
class UsdRange:
    """A cost range in US dollars."""

    low: float
    high: float

    @classmethod
    def times(cls, amount: float, band: Band) -> UsdRange:
        """``amount`` multiplied by each end of ``band``."""
        return cls(amount * band.low, amount * band.high)

    def __add__(self, other: UsdRange) -> UsdRange:
        return UsdRange(self.low + other.low, self.high + other.high)

    def to_dict(self) -> dict[str, float]:
        return {"low": round(self.low, 2), "high": round(self.high, 2)}

    def text(self) -> str:
        return f"{_usd(self.low)} - {_usd(self.high)}"


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


@dataclass(frozen=True)
class CostSummary:
    """The budget lines of a first fine-tuning project."""

    compute_usd: float
    with_search_usd: UsdRange
    data_prep_usd: UsdRange
    data_prep_basis: str
    platform_per_month_usd: UsdRange
    project_months: int

    @property
    def first_project_usd(self) -> UsdRange:
        """Search-inclusive compute, data preparation and months of platform."""
        platform = UsdRange(
            self.platform_per_month_usd.low * self.project_months,
            self.platform_per_month_usd.high * self.project_months,
        )
        return self.with_search_usd + self.data_prep_usd + platform

    def to_dict(self) -> dict[str, object]:
        return {
            "compute_usd": round(self.compute_usd, 2),
            "with_search_usd": self.with_search_usd.to_dict(),
            "data_prep_usd": self.data_prep_usd.to_dict(),
            "data_prep_basis": self.data_prep_basis,
            "platform_per_month_usd": self.platform_per_month_usd.to_dict(),
            "project_months": self.project_months,
            "first_project_usd": self.first_project_usd.to_dict(),
        }


def summarize_costs(
    compute_usd: float, examples: int, needs_labels: bool, cfg: EstimatorConfig
) -> CostSummary:
    """Budget ranges around one run's compute cost.

    Data preparation is priced per example when the examples still need expert
    labels (the usual case, and far above the compute multiple), otherwise as a
    multiple of compute for cleaning, de-duplication and formatting.
    """
    if needs_labels:
        prep = UsdRange.times(examples, cfg.label_cost_per_example)
        band = cfg.label_cost_per_example
        basis = f"labelling {examples:,} examples at ${band.low:.2f}-{band.high:.2f}"
    else:
        prep = UsdRange.times(compute_usd, cfg.data_prep_multiplier)
        band = cfg.data_prep_multiplier
        basis = f"{band.low:g}-{band.high:g} x one run's compute"
    return CostSummary(
        compute_usd=compute_usd,
        with_search_usd=UsdRange.times(compute_usd, cfg.search_multiplier),
        data_prep_usd=prep,
        data_prep_basis=basis,
        platform_per_month_usd=UsdRange.times(1.0, cfg.platform_per_month),
        project_months=cfg.project_months,
    )


@dataclass(frozen=True)
class Estimate:
    """GPU sizing, time and cost of fine-tuning one model on one data set.

    ``plan`` is the cheapest priced configuration; ``providers`` the cheapest on
    each provider; ``reference`` the same run on the framework's reference card
    (None when it does not fit there at any allowed count).
    """

    model: ModelShape
    setup: TrainingSetup
    workload: Workload
    plan: Plan
    providers: list[Plan]
    reference: Plan | None
    costs: CostSummary | None
    prices_as_of: str
    assumptions: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data (``ragtune estimate --json``)."""
        return {
            "model": {
                "name": self.model.name,
                "params": self.model.total_params,
                "hidden": self.model.hidden,
                "layers": self.model.layers,
            },
            "setup": self.setup.model_dump(mode="json"),
            "workload": {
                **self.workload.model_dump(mode="json"),
                "tokens": round(self.workload.tokens),
            },
            "memory_per_gpu": self.plan.fit.memory.to_dict(),
            "plan": self.plan.to_dict(),
            "providers": [p.to_dict() for p in self.providers],
            "reference": None if self.reference is None else self.reference.to_dict(),
            "costs": None if self.costs is None else self.costs.to_dict(),
            "prices_as_of": self.prices_as_of,
            "assumptions": list(self.assumptions),
        }

    def to_markdown(self) -> str:
        """The estimate as a short report (Prefect artifact, decision record)."""
        return render_markdown(self)
