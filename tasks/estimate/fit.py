"""Which GPUs, how many, and from whom: the cheapest configuration that fits.

For each GPU type the smallest count in ``cfg.gpu_counts`` whose per-GPU memory
(sharded as in :func:`~ragtune.tasks.estimate.memory.estimate_memory`) stays
under the card's memory less the headroom is the one to rent: more GPUs of the
same type only add cost, since sharding loses a little throughput. Plans are
then priced per provider and sorted by cost, then by wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragtune.errors import InputError
from ragtune.tasks.estimate.config import PROVIDERS, EstimatorConfig, GpuSpec
from ragtune.tasks.estimate.memory import MemoryBreakdown, estimate_memory
from ragtune.tasks.estimate.shapes import ModelShape
from ragtune.tasks.estimate.throughput import tokens_per_second, training_hours
from ragtune.tasks.estimate.workload import TrainingSetup


@dataclass(frozen=True)
class Fit:
    """The fewest GPUs of one type that hold the run."""

    gpu: str
    count: int
    memory: MemoryBreakdown
    usable_gib: float

    @property
    def spare_gib(self) -> float:
        """Memory per GPU left over under the usable limit."""
        return self.usable_gib - self.memory.total_gib


@dataclass(frozen=True)
class Plan:
    """A fitting configuration with its speed and, when rented, its price."""

    fit: Fit
    tokens_per_s: float
    hours: float
    provider: str | None = None
    price_per_gpu_hour: float | None = None

    @property
    def gpu_hours(self) -> float:
        return self.hours * self.fit.count

    @property
    def cost_usd(self) -> float | None:
        """Compute cost of one run; None when no provider prices this GPU."""
        if self.price_per_gpu_hour is None:
            return None
        return self.gpu_hours * self.price_per_gpu_hour

    def to_dict(self) -> dict[str, object]:
        cost = self.cost_usd
        return {
            "gpu": self.fit.gpu,
            "count": self.fit.count,
            "provider": self.provider,
            "price_per_gpu_hour": self.price_per_gpu_hour,
            "memory_per_gpu_gib": round(self.fit.memory.total_gib, 2),
            "usable_per_gpu_gib": round(self.fit.usable_gib, 2),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "hours": round(self.hours, 3),
            "gpu_hours": round(self.gpu_hours, 3),
            "cost_usd": None if cost is None else round(cost, 2),
        }


def usable_gib(gpu: GpuSpec, cfg: EstimatorConfig) -> float:
    """What a plan may fill on one card: its memory less the headroom."""
    return gpu.memory_gib * (1 - cfg.memory_headroom)


def fit_gpu(
    shape: ModelShape, setup: TrainingSetup, gpu_name: str, cfg: EstimatorConfig
) -> Fit | None:
    """The smallest allowed count of ``gpu_name`` that holds the run, or None."""
    gpu = gpu_spec(gpu_name, cfg)
    limit = usable_gib(gpu, cfg)
    for count in cfg.gpu_counts:
        memory = estimate_memory(shape, setup, count, cfg)
        if memory.total_gib <= limit:
            return Fit(gpu_name, count, memory, limit)
    return None


def gpu_spec(name: str, cfg: EstimatorConfig) -> GpuSpec:
    """The catalogue entry for ``name``.

    Raises:
        InputError: the GPU is not in the catalogue.
    """
    if name not in cfg.gpus:
        raise InputError(f"GPU {name!r} is not in the catalogue: {', '.join(cfg.gpus)}")
    return cfg.gpus[name]


def plans(
    shape: ModelShape,
    setup: TrainingSetup,
    tokens: float,
    cfg: EstimatorConfig,
    gpus: list[str] | None = None,
) -> list[Plan]:
    """Every fitting (GPU type, provider) plan, cheapest first.

    A GPU that fits but that no provider prices still yields one plan with no
    provider, so the sizing answer survives a gap in the price list.

    Raises:
        InputError: nothing in the catalogue holds the run at any allowed count.
    """
    found: list[Plan] = []
    for name in gpus or list(cfg.gpus):
        fit = fit_gpu(shape, setup, name, cfg)
        if fit is None:
            continue
        speed = tokens_per_second(shape, setup, cfg.gpus[name], fit.count, cfg)
        hours = training_hours(tokens, speed)
        prices = cfg.gpus[name].prices
        offered = [p for p in PROVIDERS if p in prices]
        if not offered:
            found.append(Plan(fit, speed, hours))
        found += [Plan(fit, speed, hours, p, prices[p]) for p in offered]
    if not found:
        raise InputError(_nothing_fits(shape, setup, cfg, gpus))
    return sorted(found, key=_order)


def _order(plan: Plan) -> tuple[float, float]:
    cost = plan.cost_usd
    return (float("inf") if cost is None else cost, plan.hours)


def _nothing_fits(
    shape: ModelShape,
    setup: TrainingSetup,
    cfg: EstimatorConfig,
    gpus: list[str] | None,
) -> str:
    most = max(cfg.gpu_counts)
    need = estimate_memory(shape, setup, most, cfg).total_gib
    names = ", ".join(gpus or cfg.gpus)
    return (
        f"no configuration fits {shape.name} {setup.method} fine-tuning: it needs "
        f"{need:.1f} GiB per GPU even on {most} GPUs ({names}); try qlora, "
        "gradient checkpointing, a smaller batch or sequence, or larger gpu_counts"
    )


def cheapest_per_provider(found: list[Plan]) -> list[Plan]:
    """The cheapest priced plan of each provider, in provider order."""
    best: dict[str, Plan] = {}
    for plan in found:
        if plan.provider is not None and plan.provider not in best:
            best[plan.provider] = plan
    return [best[p] for p in PROVIDERS if p in best]
