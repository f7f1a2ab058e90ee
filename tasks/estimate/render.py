"""An Estimate as markdown: what to rent, how long, what it costs, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragtune.tasks.estimate.cost import Estimate
    from ragtune.tasks.estimate.fit import Plan

MEMORY_ROWS = (
    ("weights", "weights_gib"),
    ("LoRA adapters", "adapters_gib"),
    ("gradients", "gradients_gib"),
    ("optimizer states", "optimizer_gib"),
    ("activations", "activations_gib"),
    ("sharding buffer", "sharding_buffer_gib"),
    ("CUDA context + allocator slack", "overhead_gib"),
)


def _plan_row(plan: Plan) -> str:
    cost = plan.cost_usd
    price = plan.price_per_gpu_hour
    return (
        f"| {plan.provider or '-'} | {plan.fit.count} x {plan.fit.gpu} "
        f"| {plan.hours:.2f} | {plan.gpu_hours:.2f} "
        f"| {'-' if price is None else f'${price:.2f}'} "
        f"| {'-' if cost is None else f'${cost:,.2f}'} |"
    )


def _headline(est: Estimate) -> list[str]:
    plan, wl = est.plan, est.workload
    return [
        f"# Fine-tuning estimate: {est.model.name} {est.setup.method}",
        "",
        f"{wl.examples:,} examples x {wl.avg_tokens_per_example} tokens x "
        f"{wl.epochs:g} epochs = {wl.tokens / 1e6:,.1f}M tokens; "
        f"{est.model.total_params / 1e9:.2f}B parameters, "
        f"seq {est.setup.seq_len} x batch {est.setup.batch_size}.",
        "",
        f"**Cheapest fit:** {plan.fit.count} x {plan.fit.gpu}"
        + (f" on {plan.provider}" if plan.provider else "")
        + f", {plan.hours:.2f} h ({plan.gpu_hours:.2f} GPU hours), "
        f"{plan.fit.memory.total_gib:.1f} of {plan.fit.usable_gib:.1f} GiB per GPU.",
    ]


def _memory(est: Estimate) -> list[str]:
    memory = est.plan.fit.memory
    lines = ["", f"## Memory per GPU ({memory.gpus} GPU(s))", "", "| part | GiB |"]
    lines.append("|---|---:|")
    for label, attr in MEMORY_ROWS:
        value = getattr(memory, attr)
        if value > 0:
            lines.append(f"| {label} | {value:.2f} |")
    lines.append(f"| **total** | **{memory.total_gib:.2f}** |")
    return lines


def _providers(est: Estimate) -> list[str]:
    lines = ["", f"## One training run by provider (prices as of {est.prices_as_of})"]
    lines += ["", "| provider | GPUs | hours | GPU hours | $/GPU h | compute |"]
    lines.append("|---|---|---:|---:|---:|---:|")
    lines += [_plan_row(p) for p in est.providers]
    if est.reference is not None:
        ref = est.reference
        lines += ["", f"On the framework's reference card: {ref.fit.count} x "]
        lines[-1] += f"{ref.fit.gpu}, {ref.hours:.2f} h."
    return lines


def _costs(est: Estimate) -> list[str]:
    costs = est.costs
    if costs is None:
        return ["", "No provider prices the fitting GPUs: no cost estimate."]
    return [
        "",
        "## First project budget",
        "",
        "| line | USD |",
        "|---|---:|",
        f"| one training run | ${costs.compute_usd:,.2f} |",
        f"| runs incl. hyper-parameter search | {costs.with_search_usd.text()} |",
        f"| data preparation ({costs.data_prep_basis}) "
        f"| {costs.data_prep_usd.text()} |",
        f"| platform per month | {costs.platform_per_month_usd.text()} |",
        f"| **first project ({costs.project_months} months of platform)** "
        f"| **{costs.first_project_usd.text()}** |",
    ]


def render_markdown(est: Estimate) -> str:
    """Headline, memory table, provider table, budget, assumptions."""
    lines = _headline(est) + _memory(est) + _providers(est) + _costs(est)
    if est.assumptions:
        lines += ["", "## Assumptions", ""]
        lines += [f"- {a}" for a in est.assumptions]
    return "\n".join(lines) + "\n"
