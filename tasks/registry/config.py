"""The model registry: where it lives, what it is called, how long it remembers."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel

# The rollback guarantee the decision framework sets: any release of the last 90
# days can be restored. A shorter window would silently weaken that promise.
MIN_ROLLBACK_WINDOW_DAYS = 90

# MLflow's own alias rules: letters, digits, "_" and "-"; "latest" and "v<digits>"
# are reserved for version lookups.
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


class RegistryConfig(StrictModel):
    """MLflow registry location, model name, aliases, rollback window, retention."""

    tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI (an MLflow server: http://host:5000); None: "
        "sqlite:///<state_dir>/mlflow.db, the database training runs log to.",
    )
    registry_uri: str | None = Field(
        None, description="MLflow registry URI; None: the tracking URI."
    )
    experiment: str = Field(
        "ragtune-registry",
        min_length=1,
        description="Experiment whose runs hold the registered adapter artifacts.",
    )
    model_name: str = Field(
        "ragtune-adapter", min_length=1, description="Registered model name."
    )
    champion_alias: str = Field(
        "champion", description="Alias of the version that serves."
    )
    challenger_alias: str = Field(
        "challenger", description="Alias of the newest candidate under evaluation."
    )
    rollback_window_days: int = Field(
        MIN_ROLLBACK_WINDOW_DAYS,
        description="Any version that served within this many days can be rolled "
        f"back to, with its index tag; never below {MIN_ROLLBACK_WINDOW_DAYS}.",
    )
    retention_days: int = Field(
        180,
        ge=1,
        description="Versions older than this are deleted by retention cleanup, "
        "unless an alias or a rollback within the window still needs them.",
    )
    promotion_log: Path | None = Field(
        None,
        description="Hash-chained promotion log (JSON lines); None: "
        "<state_dir>/promotions.jsonl.",
    )

    def promotion_log_path(self, state_dir: Path) -> Path:
        """``promotion_log``, or its default in the state folder."""
        return self.promotion_log or Path(state_dir) / "promotions.jsonl"

    @field_validator("rollback_window_days")
    @classmethod
    def _window_floor(cls, value: int) -> int:
        if value < MIN_ROLLBACK_WINDOW_DAYS:
            raise ValueError(
                f"the rollback window must be at least {MIN_ROLLBACK_WINDOW_DAYS} "
                "days, so any release of that period can be restored"
            )
        return value

    @field_validator("champion_alias", "challenger_alias")
    @classmethod
    def _valid_alias(cls, value: str) -> str:
        if not _ALIAS.match(value) or _RESERVED_ALIAS.match(value):
            raise ValueError(
                "an alias uses letters, digits, '_' or '-', and is neither "
                "'latest' nor 'v<number>' (MLflow reserves those)"
            )
        return value

    @model_validator(mode="after")
    def _distinct_aliases(self) -> RegistryConfig:
        if self.champion_alias == self.challenger_alias:
            raise ValueError("champion_alias and challenger_alias must differ")
        return self
