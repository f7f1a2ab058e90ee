"""What a training job leaves behind, and how to load it back.

``<output_dir>/adapter/`` holds the unmerged LoRA adapter (``save_pretrained``),
the tokenizer and the training card, written together atomically: a folder that
exists is complete. ``result.json`` beside it lets a retried job return its
finished result instead of training again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from ragtune.atomic import read_json, write_json
from ragtune.errors import ConfigError
from ragtune.tasks.training.card import (
    CARD_JSON,
    PrivacyBudget,
    TrainingCard,
    cost,
    describe_hardware,
    write_card,
)
from ragtune.tasks.training.checkpoint import write_atomically
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.dp import ACCOUNTING
from ragtune.tasks.training.factories import (
    load_base_model,
    prepare_for_qlora,
    resolve_device,
)
from ragtune.tasks.training.job import TrainingJob
from ragtune.tasks.training.preflight import Prepared
from ragtune.tasks.training.tracking import MlflowRun
from ragtune.tasks.training.trainer import FitOutcome

log = logging.getLogger(__name__)

ADAPTER = "adapter"
RESULT = "result.json"


def build_model(cfg: QLoRAConfig, device: str | None) -> PeftModel:
    """The 4-bit base with fresh LoRA adapters, on ``device`` (auto when None)."""
    return prepare_for_qlora(load_base_model(cfg, resolve_device(device)), cfg)


def pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id padding uses: the pad token, else end-of-sequence (masked anyway)."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    raise ConfigError("the tokenizer has neither a pad nor an end-of-sequence token")


def read_result(output_dir: Path, fp: str) -> dict[str, Any] | None:
    """A finished job's result when it was computed from the same fingerprint."""
    saved = read_json(output_dir / RESULT)
    return saved if saved and saved.get("fingerprint") == fp else None


def _privacy(job: TrainingJob, outcome: FitOutcome, examples: int) -> PrivacyBudget:
    dp = job.dp
    assert dp is not None and outcome.epsilon is not None
    rate = min(1.0, job.config.effective_batch_size / examples)
    return PrivacyBudget(
        epsilon=outcome.epsilon,
        delta=dp.delta,
        noise_multiplier=dp.noise_multiplier,
        max_grad_norm=dp.max_grad_norm,
        sample_rate=rate,
        accounting=ACCOUNTING,
    )


def _card(
    job: TrainingJob, prep: Prepared, outcome: FitOutcome, run_id: str, device
) -> TrainingCard:
    state, cfg = outcome.state, prep.cfg
    wall = round(state.elapsed_s, 3)
    hours, usd = cost(wall, 1, job.price_per_hour_usd)
    data = {
        "train_path": str(job.train_path),
        "eval_path": str(job.eval_path) if job.eval_path else None,
        "train_examples": len(prep.train.examples),
        "eval_examples": len(prep.eval.examples) if prep.eval else 0,
        "train_tokens": prep.train.tokens,
        "truncated": prep.train.truncated,
        "dropped": prep.train.dropped,
    }
    privacy = _privacy(job, outcome, len(prep.train.examples)) if job.dp else None
    return TrainingCard(
        run_name=job.run_name,
        base_model=cfg.base_model or "tiny-llama (built from hyperparameters.tiny)",
        revision=cfg.revision,
        dataset_hash=job.dataset_hash,
        data=data,
        hyperparameters=cfg.model_dump(mode="json"),
        steps=state.step,
        resumed_from_step=outcome.resumed_from,
        tokens_seen=state.tokens_seen,
        final_loss=state.losses[-1],
        eval_loss=outcome.eval_loss,
        loss_curve=state.losses,
        eval_curve=state.eval_losses,
        hardware=describe_hardware(device),
        wall_time_s=wall,
        device_hours=hours,
        price_per_hour_usd=job.price_per_hour_usd,
        cost_usd=usd,
        privacy=privacy,
        mlflow={"tracking_uri": job.tracking_uri(), "run_id": run_id},
    )


def finish(
    job: TrainingJob,
    prep: Prepared,
    model: PeftModel,
    outcome: FitOutcome,
    tracker: MlflowRun,
) -> dict[str, Any]:
    """Save adapter + tokenizer + card atomically, close the MLflow run, and
    write ``result.json``; returns the result as a dict."""
    device = next(model.parameters()).device
    card = _card(job, prep, outcome, tracker.run_id, device)

    def fill(tmp: Path) -> None:
        model.save_pretrained(tmp)
        prep.tokenizer.save_pretrained(tmp)
        write_card(card, tmp)

    adapter = write_atomically(job.output_dir / ADAPTER, fill)
    tracker.log_artifacts([adapter / CARD_JSON, adapter / "card.md"])
    result = {
        "adapter_dir": adapter,
        "tokenizer_dir": adapter,
        "card_path": adapter / CARD_JSON,
        "final_loss": card.final_loss,
        "eval_loss": card.eval_loss,
        "steps": card.steps,
        "wall_time_s": card.wall_time_s,
        "tokens_seen": card.tokens_seen,
        "hardware": card.hardware,
        "mlflow_run_id": tracker.run_id,
        "fingerprint": prep.fingerprint,
        "resumed_from_step": outcome.resumed_from,
        "epsilon": card.privacy.epsilon if card.privacy else None,
        "delta": card.privacy.delta if card.privacy else None,
    }
    write_json(job.output_dir / RESULT, result)
    tracker.finish(ok=True)
    return result


def load_trained(
    cfg: QLoRAConfig, adapter_dir: Path, device: str | torch.device | None = None
) -> tuple[PeftModel, PreTrainedTokenizerBase]:
    """The 4-bit base with a trained adapter attached, and its tokenizer, for
    evaluation or serving (unmerged: the base stays shared and quantised)."""
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    base = load_base_model(cfg, resolve_device(device))
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    return model, tokenizer
