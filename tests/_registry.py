"""A registrable candidate without a training run, shared by the registry and
serving tests: the ``TrainingResult`` and ``TrainingCard`` a training run would
hand the registry, around an adapter folder (placeholder files, or a real peft
adapter that ``ragtune serve`` can load)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


def make_candidate(  # noqa: ANN201 - (TrainingResult, TrainingCard)
    root: Path,
    name: str,
    data_hash: str = "sft-1",
    loss: float = 1.0,
    adapter: Path | None = None,
):
    """A TrainingResult and TrainingCard under ``root / name``; the adapter is a
    copy of ``adapter``, or two small placeholder files when it is None."""
    from ragtune.tasks.training.card import TrainingCard, write_card
    from ragtune.tasks.training.entrypoint import TrainingResult

    out = root / name
    folder = out / "adapter"
    if adapter is not None:
        shutil.copytree(adapter, folder)
    else:
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "name": name}))
        (folder / "adapter_model.safetensors").write_bytes(name.encode() * 64)
    card = TrainingCard(
        run_name=name, base_model="tiny-llama", revision="abc123",
        dataset_hash=data_hash, data={"train": 1200}, hyperparameters={"lora_r": 8},
        steps=10, resumed_from_step=None, tokens_seen=5000, final_loss=loss,
        eval_loss=loss + 0.1, loss_curve=[loss + 1, loss], eval_curve=[],
        hardware={"device": "cpu"}, wall_time_s=3.0, device_hours=0.001,
        price_per_hour_usd=0.1, cost_usd=0.0001,
    )  # fmt: skip
    card_path, _ = write_card(card, out)
    result = TrainingResult(
        adapter_dir=folder, tokenizer_dir=folder, card_path=card_path,
        final_loss=loss, eval_loss=loss + 0.1, steps=10, wall_time_s=3.0,
        tokens_seen=5000, hardware={"device": "cpu"}, mlflow_run_id=f"run-{name}",
        fingerprint=hashlib.sha256(name.encode()).hexdigest()[:16],
    )  # fmt: skip
    return result, card
