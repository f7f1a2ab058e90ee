"""The training card: what was trained, on what, how, on which machine, for how much.

``card.json`` is what the registry and the eval gate read; ``card.md`` is the same
facts for a reviewer. Both are written beside the adapter they describe.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bitsandbytes as bnb
import peft
import torch
import transformers
from pydantic import BaseModel, Field

from ragtune.atomic import write_atomic

CARD_JSON = "card.json"
CARD_MD = "card.md"
CURVE_ROWS = 20  # loss-curve rows shown in card.md; card.json keeps every step


class PrivacyBudget(BaseModel):
    """The (epsilon, delta)-DP guarantee a DP-SGD run spent."""

    epsilon: float
    delta: float
    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    accounting: str


class TrainingCard(BaseModel):
    """Facts about one trained adapter (serialised as card.json)."""

    run_name: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    base_model: str
    revision: str | None
    dataset_hash: str
    data: dict[str, Any]
    hyperparameters: dict[str, Any]
    steps: int
    resumed_from_step: int | None
    tokens_seen: int
    final_loss: float
    eval_loss: float | None
    loss_curve: list[float]
    eval_curve: list[list[float]]
    hardware: dict[str, Any]
    wall_time_s: float
    device_hours: float
    price_per_hour_usd: float | None  # None: hardware already paid for
    cost_usd: float | None
    privacy: PrivacyBudget | None = None
    mlflow: dict[str, str] = Field(default_factory=dict)


def describe_hardware(device: torch.device) -> dict[str, Any]:
    """The machine and library versions a run used, for the card and the result."""
    info: dict[str, Any] = {
        "device": device.type,
        "device_count": 1,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "bitsandbytes": bnb.__version__,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            gpu=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            peak_memory_gib=round(torch.cuda.max_memory_allocated(device) / 2**30, 2),
        )
    return info


def cost(
    wall_time_s: float, devices: int, price_per_hour: float | None
) -> tuple[float, float | None]:
    """Device hours and their price (None when the hardware has no hourly price):
    the card's cost estimate."""
    hours = wall_time_s / 3600 * devices
    return hours, None if price_per_hour is None else hours * price_per_hour


def _priced(card: TrainingCard) -> str:
    if card.price_per_hour_usd is None or card.cost_usd is None:
        return " (hardware already paid for: no hourly price)"
    return f" x ${card.price_per_hour_usd:.2f}/h = ${card.cost_usd:.4f} (estimate)"


def _curve_rows(card: TrainingCard) -> list[str]:
    losses = card.loss_curve
    stride = max(1, -(-len(losses) // CURVE_ROWS))
    steps = sorted({*range(stride, len(losses) + 1, stride), len(losses)})
    evals = {int(step): loss for step, loss in card.eval_curve}
    rows = ["| step | train loss | eval loss |", "|---:|---:|---:|"]
    for step in steps:
        shown = f"{evals[step]:.4f}" if step in evals else ""
        rows.append(f"| {step} | {losses[step - 1]:.4f} | {shown} |")
    return rows


def render_markdown(card: TrainingCard) -> str:
    """card.md: the same facts as card.json, for a human reviewer."""
    hyper = "\n".join(f"| `{k}` | `{v}` |" for k, v in card.hyperparameters.items())
    hardware = ", ".join(f"{k}: {v}" for k, v in card.hardware.items())
    lines = [
        f"# Training card: {card.run_name}",
        "",
        f"- Base model: `{card.base_model}` (revision `{card.revision}`)",
        f"- Dataset hash: `{card.dataset_hash}`; data: {json.dumps(card.data)}",
        f"- Steps: {card.steps} (resumed from step {card.resumed_from_step}); "
        f"tokens seen: {card.tokens_seen:,}",
        f"- Final train loss: {card.final_loss:.4f}; eval loss: {card.eval_loss}",
        f"- Wall time: {card.wall_time_s:.1f} s; {card.device_hours:.4f} device hours"
        + _priced(card),
        f"- Hardware: {hardware}",
        f"- Created: {card.created_at}; MLflow: {json.dumps(card.mlflow)}",
    ]
    if card.privacy is not None:
        p = card.privacy
        lines.append(
            f"- Differential privacy: epsilon {p.epsilon:.3f} at delta {p.delta:g} "
            f"(noise x{p.noise_multiplier}, clip {p.max_grad_norm}, sample rate "
            f"{p.sample_rate:.4f}; {p.accounting})"
        )
    lines += ["", "## Hyper-parameters", "", "| key | value |", "|---|---|", hyper]
    lines += ["", "## Loss curve", "", *_curve_rows(card), ""]
    return "\n".join(lines)


def write_card(card: TrainingCard, folder: Path) -> tuple[Path, Path]:
    """Write card.json and card.md into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / CARD_JSON, folder / CARD_MD
    write_atomic(json_path, card.model_dump_json(indent=2))
    write_atomic(md_path, render_markdown(card))
    return json_path, md_path
