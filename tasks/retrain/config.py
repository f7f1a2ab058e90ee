"""The ``retrain:`` section: cooldown, where candidates live, how long to wait."""

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from ragtune.schema import StrictModel
from ragtune.tasks.training.config import QLoRAConfig


class RetrainConfig(StrictModel):
    """Guards around the retrain flow (the gates themselves have their own sections)."""

    cooldown_hours: float = Field(
        24.0, ge=0, description="No new retrain this soon after the last one finished."
    )
    runs_dir: Path = Field(
        Path(".ragtune/retrain"),
        description="One folder per candidate, by fingerprint.",
    )
    timeout_hours: float = Field(
        24.0, gt=0, description="Give up waiting for a backend after this long."
    )
    mlflow_experiment: str = Field("ragtune-training", description="MLflow experiment.")
    gaps_file: Path = Field(
        Path("data/gaps/sample-gaps.yaml"),
        description="GAPS.yaml that `ragtune retrain --gap NAME` reads the gap from.",
    )
    gap_training: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-gap overrides of `training:` for a retrain aimed at that "
        "gap (`ragtune retrain --gap NAME`), e.g. a higher learning rate for a "
        "format that is learnt in a few dozen steps.",
    )

    @field_validator("gap_training")
    @classmethod
    def _known_training_keys(
        cls, value: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        # Names are checked when params.yaml loads, so a typo does not wait for
        # the first `retrain --gap`; values against the merged config then.
        for gap, overrides in value.items():
            unknown = sorted(set(overrides) - set(QLoRAConfig.model_fields))
            if unknown:
                raise ValueError(
                    f"{gap}: not training settings: {', '.join(unknown)} "
                    "(see the training: section)"
                )
        return value
