"""Training checkpoints: written atomically, pruned to the last K, resumed exactly.

A checkpoint is a folder ``step-00000042`` holding the adapter weights, optimizer,
scheduler and RNG states, and ``state.json`` (step, data-loader position, loss
history...). It is filled under a temporary name and renamed into place, and a
rename is atomic on POSIX, so a process killed mid-save leaves either the whole
checkpoint or none: resume never loads half a write.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel, set_peft_model_state_dict
from safetensors.torch import load_file

from ragtune.errors import ConfigError

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
ADAPTER_DIR = "adapter"
TMP_PREFIX = ".tmp-"
_STEP_DIR = re.compile(r"step-(\d{8})")


def step_dir(root: Path, step: int) -> Path:
    """The folder of the checkpoint taken after optimizer step ``step``."""
    return root / f"step-{step:08d}"


def write_atomically(final: Path, fill: Callable[[Path], None]) -> Path:
    """Fill a temporary sibling folder, then rename it to ``final``.

    An existing ``final`` is moved aside first and removed only after the new
    folder is in place, so some complete version exists at every moment.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fill(tmp)
    old = None
    if final.exists():
        old = final.parent / f"{TMP_PREFIX}old-{final.name}-{os.getpid()}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old)
    return final


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``root`` as (step, folder), oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.fullmatch(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def remove_partial(root: Path) -> int:
    """Delete temporary folders a killed writer left behind; returns how many."""
    if not root.is_dir():
        return 0
    partial = [p for p in root.iterdir() if p.name.startswith(TMP_PREFIX)]
    for path in partial:
        log.info("removing partial checkpoint %s", path.name)
        shutil.rmtree(path, ignore_errors=True)
    return len(partial)


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` checkpoints; returns the removed ones."""
    removed = [path for _, path in list_checkpoints(root)[:-keep]]
    for path in removed:
        shutil.rmtree(path)
    return removed


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    root: Path,
    step: int,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: dict[str, Any],
    keep: int,
    extra: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write the checkpoint for ``step`` atomically, then prune to ``keep``.

    Args:
        state: JSON-serialisable loop state (step, position, histories...).
        extra: tensors that must survive a restart too (e.g. the DP noise RNG).
    """

    def fill(tmp: Path) -> None:
        model.save_pretrained(tmp / ADAPTER_DIR)
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save({**_rng_state(), "extra": extra or {}}, tmp / "rng.pt")
        (tmp / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    path = write_atomically(step_dir(root, step), fill)
    removed = prune(root, keep)
    log.info("checkpoint %s written (%s pruned)", path.name, len(removed))
    return path


def load_checkpoint(
    path: Path,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    fingerprint: str,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore weights, optimizer, scheduler and RNG from ``path``.

    Returns:
        The loop state and the extra tensors saved with it.

    Raises:
        ConfigError: the checkpoint was written for another config or data set;
            continuing it would silently mix two runs.
    """
    state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(
            f"checkpoint {path} belongs to a run with another config or data set "
            f"({state.get('fingerprint')} != {fingerprint}); use a new output_dir "
            "or resume with the original settings"
        )
    device = next(model.parameters()).device
    weights = load_file(
        path / ADAPTER_DIR / "adapter_model.safetensors", device=str(device)
    )
    set_peft_model_state_dict(model, weights)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=device))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt"))
    rng = torch.load(path / "rng.pt")
    _restore_rng(rng)
    return state, rng.get("extra", {})
