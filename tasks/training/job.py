"""A training job and its result: plain data that crosses process boundaries.

Only pydantic and the config classes here: backends, flows and the settings
import these classes without loading torch, and a Modal or RunPod worker
receives them as JSON.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ragtune.schema import StrictModel
from ragtune.tasks.training.config import DPConfig, QLoRAConfig

# Settings that change how a run is saved or priced, not what it computes: a run
# resumed with other values of these continues the same optimisation.
_NOT_FINGERPRINTED = {
    "save_steps",
    "save_total_limit",
    "eval_steps",
    "eval_max_examples",
    "num_threads",
}


class TrainingJob(StrictModel):
    """Everything one training run needs; serialisable for remote workers."""

    config: QLoRAConfig = Field(description="QLoRA hyper-parameters and base model.")
    train_path: Path = Field(description="SFT training records (JSONL, messages).")
    eval_path: Path | None = Field(None, description="SFT eval records, optional.")
    dataset_hash: str = Field(min_length=1, description="DVC hash of the SFT set.")
    output_dir: Path = Field(description="Checkpoints, adapter, card and result.")
    run_name: str = Field(min_length=1, description="MLflow run name.")
    price_per_hour_usd: float | None = Field(
        None,
        ge=0,
        description="What the run's devices cost per hour, from the plan the "
        "backend accepted (tasks/estimate/gpus.yaml); None: hardware already paid "
        "for, or not priced. The card prices the run with it.",
    )
    resume: bool = Field(False, description="Continue from the newest checkpoint.")
    mlflow_tracking_uri: str | None = Field(
        None,
        description="MLflow URI; None: sqlite:///<output_dir>/mlflow.db (the flow "
        "passes the one in the state folder).",
    )
    mlflow_experiment: str = Field("ragtune-training", description="Experiment.")
    dp: DPConfig | None = Field(None, description="DP-SGD settings; None: off.")
    device: str | None = Field(None, description="cpu, cuda, cuda:1; None: auto.")

    def tracking_uri(self) -> str:
        """The MLflow URI this job logs to."""
        if self.mlflow_tracking_uri is not None:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.output_dir / 'mlflow.db').resolve()}"


class TrainingResult(BaseModel):
    """What a finished job produced (also written to ``<output_dir>/result.json``)."""

    adapter_dir: Path
    tokenizer_dir: Path
    card_path: Path
    final_loss: float
    eval_loss: float | None
    steps: int
    wall_time_s: float
    tokens_seen: int
    hardware: dict[str, Any]
    mlflow_run_id: str
    fingerprint: str
    resumed_from_step: int | None = None
    epsilon: float | None = None
    delta: float | None = None


def _file_digest(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def fingerprint(job: TrainingJob, cfg: QLoRAConfig) -> str:
    """Identifies what a run computes: config, DP settings and the data's bytes."""
    payload = {
        "config": cfg.model_dump(mode="json", exclude=_NOT_FINGERPRINTED),
        "dp": job.dp.model_dump(mode="json") if job.dp else None,
        "dataset_hash": job.dataset_hash,
        "train": _file_digest(job.train_path),
        "eval": _file_digest(job.eval_path),
    }
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
