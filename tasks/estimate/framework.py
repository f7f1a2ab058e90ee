"""The decision framework's published figures, and whether the estimator agrees.

The framework (docs/estimator.md, /shared/DESIGN.md) gives rules of thumb:
full fine-tuning needs 1, 2 and 8 A100 80GB cards for 7B, 13B and 70B; QLoRA
of a 7B model on 10k-100k examples takes 1-8 GPU hours and $5-40 at $2-5 per
GPU hour; search adds 3-5x, data preparation 5-20x ($0.10-1.00 per example),
the platform $100-500 a month, and a first project $2k-15k. The estimator
computes these from first principles instead, so :func:`check_framework` runs
it on the framework's cases and reports each figure side by side. Prices or
speeds edited in params.yaml that drift away from the framework show up here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ragtune.tasks.estimate.config import Band, EstimatorConfig
from ragtune.tasks.estimate.estimator import estimate
from ragtune.tasks.estimate.fit import fit_gpu
from ragtune.tasks.estimate.shapes import NAMED_SHAPES
from ragtune.tasks.estimate.workload import TrainingSetup

FULL_FINETUNE_GPUS = {"7B": 1, "13B": 2, "70B": 8}
QLORA_EXAMPLES = (10_000, 100_000)
QLORA_HOURS = (1.0, 8.0)
QLORA_PRICE_BAND = (2.0, 5.0)
QLORA_COMPUTE_USD = (5.0, 40.0)
SEARCH_MULTIPLIER = (3.0, 5.0)
DATA_PREP_MULTIPLIER = (5.0, 20.0)
LABEL_COST_PER_EXAMPLE = (0.10, 1.00)
PLATFORM_PER_MONTH = (100.0, 500.0)
FIRST_PROJECT_USD = (2_000.0, 15_000.0)


@dataclass(frozen=True)
class FigureCheck:
    """One framework figure beside the estimator's number for it."""

    figure: str
    framework: str
    estimate: str
    ok: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def near(value: float, target: float, tolerance: float) -> bool:
    """True when ``value`` is within ``tolerance`` (relative) of ``target``."""
    return abs(value - target) <= tolerance * abs(target)


def _pair(low: float, high: float, target: tuple[float, float], tol: float) -> bool:
    return near(low, target[0], tol) and near(high, target[1], tol)


def full_finetune_checks(cfg: EstimatorConfig) -> list[FigureCheck]:
    """GPU counts for full fine-tuning on the reference card (exact)."""
    checks = []
    setup = TrainingSetup(method="full")
    for size, expected in FULL_FINETUNE_GPUS.items():
        fit = fit_gpu(NAMED_SHAPES[size], setup, cfg.reference_gpu, cfg)
        got = "does not fit" if fit is None else f"{fit.count}"
        if fit is not None:
            got += f" ({fit.memory.total_gib:.1f} of {fit.usable_gib:.1f} GiB each)"
        checks.append(
            FigureCheck(
                f"{size} full fine-tune, {cfg.reference_gpu} GPUs",
                str(expected),
                got,
                fit is not None and fit.count == expected,
            )
        )
    return checks


def qlora_checks(cfg: EstimatorConfig) -> list[FigureCheck]:
    """QLoRA 7B hours and compute cost on the reference card."""
    tol = cfg.tolerance
    hours = [
        estimate("7B", "qlora", n, gpu=cfg.reference_gpu, cfg=cfg).plan.hours
        for n in QLORA_EXAMPLES
    ]
    low_usd = hours[0] * QLORA_PRICE_BAND[0]
    high_usd = hours[1] * QLORA_PRICE_BAND[1]
    return [
        FigureCheck(
            "QLoRA 7B GPU hours, 10k-100k examples",
            "1 - 8",
            f"{hours[0]:.2f} - {hours[1]:.2f}",
            _pair(hours[0], hours[1], QLORA_HOURS, tol),
        ),
        FigureCheck(
            "QLoRA 7B compute at $2-5 per GPU hour, USD",
            "5 - 40",
            f"{low_usd:.2f} - {high_usd:.2f}",
            low_usd <= QLORA_COMPUTE_USD[0] * (1 + tol)
            and near(high_usd, QLORA_COMPUTE_USD[1], tol),
        ),
    ]


def _band_check(name: str, band: Band, target: tuple[float, float], tol: float):
    return FigureCheck(
        name,
        f"{target[0]:g} - {target[1]:g}",
        f"{band.low:g} - {band.high:g}",
        _pair(band.low, band.high, target, tol),
    )


def budget_checks(cfg: EstimatorConfig) -> list[FigureCheck]:
    """Search, data preparation, platform and first-project ranges."""
    tol = cfg.tolerance
    first = estimate("7B", "qlora", 10_000, cfg=cfg).costs
    checks = [
        _band_check("search multiplier", cfg.search_multiplier, SEARCH_MULTIPLIER, tol),
        _band_check(
            "data preparation, x compute",
            cfg.data_prep_multiplier,
            DATA_PREP_MULTIPLIER,
            tol,
        ),
        _band_check(
            "labelling, USD per example",
            cfg.label_cost_per_example,
            LABEL_COST_PER_EXAMPLE,
            tol,
        ),
        _band_check(
            "platform, USD per month", cfg.platform_per_month, PLATFORM_PER_MONTH, tol
        ),
    ]
    total = first.first_project_usd if first is not None else None
    checks.append(
        FigureCheck(
            "first project, QLoRA 7B on 10k labelled examples, USD",
            "2000 - 15000",
            "no prices" if total is None else f"{total.low:.0f} - {total.high:.0f}",
            total is not None and _pair(total.low, total.high, FIRST_PROJECT_USD, tol),
        )
    )
    return checks


def check_framework(cfg: EstimatorConfig | None = None) -> list[FigureCheck]:
    """Every framework figure with the estimator's own number and a verdict."""
    cfg = cfg or EstimatorConfig()
    return full_finetune_checks(cfg) + qlora_checks(cfg) + budget_checks(cfg)
