"""DP-SGD on the LoRA parameters: per-example clipping, Gaussian noise, RDP budget.

Opacus provides the per-example gradients (``GradSampleModule``: one backward
pass per micro-batch, checked in tests against one backward per example) and the
privacy accountant (``RDPAccountant``). Clipping and noise are done here rather
than by Opacus' ``DPOptimizer`` for two reasons measured on this stack:

- Opacus' hooks record activations during the forward pass; the recompute of
  gradient checkpointing leaves them without per-example gradients, so DP runs
  with checkpointing off.
- Resuming to the same result needs the noise generator's state in the
  checkpoint; owning the generator makes that one tensor.

The accountant assumes Poisson sampling of each batch; batches here are fixed-size
shuffles (what Opacus itself does without ``poisson_sampling``), the usual
approximation, stated in the training card.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from ragtune.errors import ConfigError
from ragtune.tasks.training.config import DPConfig

log = logging.getLogger(__name__)

ACCOUNTING = "RDP (opacus), fixed-size shuffled batches approximating Poisson sampling"


def _opacus() -> Any:
    try:
        import opacus
    except ImportError as exc:
        raise ConfigError(
            "differentially private training needs Opacus: pip install 'opacus>=1.5'"
        ) from exc
    return opacus


def planned_epsilon(cfg: DPConfig, sample_rate: float, steps: int) -> float:
    """The epsilon a run of ``steps`` steps will have spent (at ``cfg.delta``)."""
    accountant = _opacus().accountants.RDPAccountant()
    accountant.history = [(cfg.noise_multiplier, sample_rate, steps)]
    return float(accountant.get_epsilon(cfg.delta))


class DPSGD:
    """Turns per-example gradients into one clipped, noised update per step.

    Usage per optimizer step: for each micro-batch, backward a *sum* of
    per-example losses through ``module`` and call ``accumulate``; then call
    ``finish_step`` and let the optimizer step.
    """

    def __init__(
        self, model: nn.Module, cfg: DPConfig, expected_batch: int, sample_rate: float
    ) -> None:
        opacus = _opacus()
        self.cfg = cfg
        self.expected_batch = expected_batch
        self.sample_rate = sample_rate
        self.module = opacus.GradSampleModule(model, loss_reduction="sum")
        self.params = [p for p in model.parameters() if p.requires_grad]
        device = self.params[0].device
        self.generator = torch.Generator(device=device)
        self.accountant = opacus.accountants.RDPAccountant()
        self._sums = [torch.zeros_like(p) for p in self.params]

    def seed(self, seed: int) -> None:
        """Start the noise stream; a resumed run restores it instead."""
        self.generator.manual_seed(seed)

    def accumulate(self) -> torch.Tensor:
        """Clip each example's gradient to ``max_grad_norm`` and add it to the sum.

        Returns:
            The per-example gradient norms before clipping.
        """
        grads = [p.grad_sample for p in self.params]
        if any(g is None for g in grads):
            raise RuntimeError("no per-example gradients: was backward called?")
        norms = torch.stack(
            [g.reshape(g.shape[0], -1).norm(2, dim=1) for g in grads], dim=1
        ).norm(2, dim=1)
        factor = (self.cfg.max_grad_norm / (norms + 1e-6)).clamp(max=1.0)
        for total, grad, param in zip(self._sums, grads, self.params, strict=True):
            total += torch.einsum("b,b...->...", factor.to(grad.dtype), grad)
            param.grad_sample = None
            param.grad = None
        return norms.detach()

    def finish_step(self) -> None:
        """Add noise to the clipped sum, average, and set ``.grad`` for the step."""
        std = self.cfg.noise_multiplier * self.cfg.max_grad_norm
        for total, param in zip(self._sums, self.params, strict=True):
            noise = torch.normal(
                0.0,
                std,
                size=total.shape,
                generator=self.generator,
                device=total.device,
            )
            param.grad = (total + noise) / self.expected_batch
            total.zero_()
        self.accountant.step(
            noise_multiplier=self.cfg.noise_multiplier, sample_rate=self.sample_rate
        )

    def epsilon(self) -> float:
        """Privacy spent so far at ``cfg.delta``; 0 before the first step."""
        if not self.accountant.history:
            return 0.0
        return float(self.accountant.get_epsilon(self.cfg.delta))

    def state(self) -> tuple[list[list[float]], torch.Tensor]:
        """The accountant's history (JSON) and the noise generator's state."""
        history = [list(entry) for entry in self.accountant.history]
        return history, self.generator.get_state()

    def restore(self, history: list[list[float]], generator: torch.Tensor) -> None:
        """Continue the accounting and the noise stream of a checkpoint."""
        self.accountant.history = [tuple(entry) for entry in history]
        self.generator.set_state(generator)

    def detach(self) -> None:
        """Remove Opacus' hooks so the model saves and evaluates as usual."""
        self.module.remove_hooks()
