"""The ``retrain:`` section: cooldown, where candidates live, how long to wait."""

from pathlib import Path
from typing import Any

from pydantic import Field

from ragtune.schema import StrictModel


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
