"""Checks that run before any weight is loaded, so bad input costs seconds.

Everything here reads configs, tokenizers and data files only: the model shape is
built on PyTorch's ``meta`` device (no memory, no weights), which is enough to
check LoRA target names and the vocabulary against the tokenizer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedTokenizerBase,
)

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.training import checkpoint as ckpt
from ragtune.tasks.training.batching import count_steps, make_plan
from ragtune.tasks.training.config import DPConfig, QLoRAConfig
from ragtune.tasks.training.data import EncodedSet, load_chat_dataset
from ragtune.tasks.training.factories import llama_config, lora_config, model_source
from ragtune.tasks.training.job import TrainingJob, fingerprint
from ragtune.tasks.training.tokenizer import build_byte_tokenizer

log = logging.getLogger(__name__)


def load_tokenizer(cfg: QLoRAConfig) -> PreTrainedTokenizerBase:
    """The base model's tokenizer (the byte tokenizer for the tiny model).

    Raises:
        ConfigError: it cannot be loaded, or it has no chat template to render
            SFT conversations with.
    """
    if cfg.base_model is None:
        return build_byte_tokenizer()
    source = model_source(cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location, **source.kwargs())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"training.base_model {cfg.base_model!r}: tokenizer could not be loaded: "
            f"{exc}"
        ) from exc
    if not tokenizer.chat_template:
        raise ConfigError(
            f"training.base_model {cfg.base_model!r} has no chat template; SFT chat "
            "records need one (use an instruct/chat variant of the model)"
        )
    return tokenizer


def base_config(cfg: QLoRAConfig) -> PretrainedConfig:
    """The base model's architecture config, without its weights.

    Raises:
        ConfigError: the id or folder does not exist or holds no model config.
    """
    if cfg.base_model is None:
        return llama_config(cfg.tiny)
    path = Path(cfg.base_model).expanduser()
    if cfg.base_model.startswith((".", "/", "~")) and not path.exists():
        raise ConfigError(f"training.base_model: folder {path} does not exist")
    source = model_source(cfg)
    try:
        return AutoConfig.from_pretrained(source.location, **source.kwargs())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"training.base_model {cfg.base_model!r} could not be loaded: {exc}"
        ) from exc


def check_model(
    cfg: QLoRAConfig, config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase
) -> None:
    """The tokenizer fits the vocabulary and every LoRA target exists.

    Raises:
        ConfigError: naming the mismatch.
    """
    vocab = getattr(config, "vocab_size", None)
    if vocab is not None and len(tokenizer) > vocab:
        raise ConfigError(
            f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary "
            f"is {vocab}; for the tiny model set training.tiny.vocab_size >= "
            f"{len(tokenizer)}"
        )
    with torch.device("meta"):
        shape = AutoModelForCausalLM.from_config(config)
    lora_config(cfg, shape)  # raises ConfigError for a missing target module


def check_output_dir(output_dir: Path, resume: bool, digest: str) -> None:
    """Refuse to train over a previous run's outputs unless resuming that run.

    Raises:
        InputError: the folder holds checkpoints or an adapter and resume is off.
        ConfigError: resuming, but the newest checkpoint was written for another
            config or data set (checked here, before the MLflow run is touched).
    """
    previous = ckpt.list_checkpoints(output_dir / "checkpoints")
    if not resume and (previous or (output_dir / "adapter").exists()):
        raise InputError(
            f"{output_dir} already holds a training run; set resume to continue it "
            "or choose another output_dir (nothing was overwritten)"
        )
    if resume and previous:
        _, path = previous[-1]
        saved = json.loads((path / ckpt.STATE_FILE).read_text(encoding="utf-8"))
        if saved.get("fingerprint") != digest:
            raise ConfigError(
                f"checkpoint {path} belongs to a run with another config or data "
                f"set ({saved.get('fingerprint')} != {digest}); resume with the "
                "original settings or choose another output_dir"
            )


def check_dp(dp: DPConfig, cfg: QLoRAConfig, examples: int, steps: int) -> float:
    """DP settings that can be honoured; returns the epsilon the run will spend.

    Raises:
        ConfigError: packing is on (a packed row mixes examples, so one example
            would no longer be the privacy unit), Opacus is missing, or the run
            would exceed ``target_epsilon``.
    """
    from ragtune.tasks.training.dp import planned_epsilon

    if cfg.packing:
        raise ConfigError(
            "training.packing cannot be combined with DP-SGD: a packed row mixes "
            "examples; set packing to false"
        )
    sample_rate = min(1.0, cfg.effective_batch_size / examples)
    epsilon = planned_epsilon(dp, sample_rate, steps)
    if dp.target_epsilon is not None and epsilon > dp.target_epsilon:
        raise ConfigError(
            f"dp: {steps} steps at noise_multiplier {dp.noise_multiplier} spend "
            f"epsilon {epsilon:.2f} > target_epsilon {dp.target_epsilon}; raise the "
            "noise, lower the steps or the batch size"
        )
    log.info(
        "DP-SGD: %s steps at sample rate %.4f will spend epsilon %.3f (delta %g)",
        steps,
        sample_rate,
        epsilon,
        dp.delta,
    )
    if dp.delta >= 1 / examples:
        log.warning(
            "dp.delta %s is not below 1/examples (%s): the guarantee is weak",
            dp.delta,
            1 / examples,
        )
    return epsilon


@dataclass(frozen=True)
class Prepared:
    """A job after its cheap checks: effective config, data and fingerprint."""

    cfg: QLoRAConfig
    tokenizer: Any
    train: EncodedSet
    eval: EncodedSet | None
    fingerprint: str
    planned_epsilon: float | None


def preflight(job: TrainingJob) -> Prepared:
    """Every check that needs no weights; raises before anything expensive.

    Raises:
        ConfigError: unknown base model, missing target module, tokenizer and
            vocabulary mismatch, impossible DP settings.
        InputError: missing, malformed or empty data; an output folder holding
            another run while resume is off.
    """
    cfg = job.config
    if job.dp is not None and cfg.gradient_checkpointing:
        log.info("DP-SGD: gradient checkpointing off (Opacus hooks need one forward)")
        cfg = cfg.model_copy(update={"gradient_checkpointing": False})
    config = base_config(cfg)  # first: an unknown model is the likeliest error
    tokenizer = load_tokenizer(cfg)
    check_model(cfg, config, tokenizer)
    train_set = load_chat_dataset(job.train_path, tokenizer, cfg.max_seq_len)
    eval_set = (
        load_chat_dataset(job.eval_path, tokenizer, cfg.max_seq_len)
        if job.eval_path is not None
        else None
    )
    epsilon = None
    if job.dp is not None:
        steps = count_steps(cfg, make_plan(cfg, train_set.examples, dp=True))
        epsilon = check_dp(job.dp, cfg, len(train_set.examples), steps)
    digest = fingerprint(job, cfg)
    check_output_dir(job.output_dir, job.resume, digest)
    return Prepared(cfg, tokenizer, train_set, eval_set, digest, epsilon)
