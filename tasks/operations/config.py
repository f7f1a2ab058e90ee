"""The ``schedules:`` and ``operations:`` sections: when ragtune runs itself.

``schedules:`` is the one source of the deployment schedules (``ragtune deploy``
builds the deployments, and ``prefect.yaml`` is rendered, from it). ``operations:``
says where runs go (work pools) and how triggers behave (retrain deadline, GPU
budget, failure notification, the files whose format a model was trained on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ragtune.schema import StrictModel

DAILY = "0 6 * * *"
WEEKLY = "0 5 * * 1"
QUARTERLY = "0 4 1 1,4,7,10 *"


def _cron_ok(expr: str) -> bool:
    return len(expr.split()) == 5


class DeploymentConfig(StrictModel):
    """Cron schedules (5 fields) of the scheduled deployments."""

    timezone: str = Field("UTC", description="IANA time zone the crons run in.")
    refresh: dict[str, str | None] = Field(
        default_factory=lambda: {
            "regulatory": DAILY,
            "product-pricing": WEEKLY,
            "historical": QUARTERLY,
            "domain-concept": QUARTERLY,
        },
        description="Per freshness class: its knowledge-refresh cron (null: "
        "no schedule, event-triggered only).",
    )
    drift_monitor: str | None = Field("0 * * * *", description="Drift check cron.")
    regulatory_watch: str | None = Field(
        "30 5 * * *", description="Regulatory source watcher cron."
    )
    format_watch: str | None = Field(
        "15 6 * * *", description="Output-format file check cron."
    )

    @model_validator(mode="after")
    def _crons(self) -> DeploymentConfig:
        crons = {f"refresh.{k}": v for k, v in self.refresh.items()}
        crons |= {
            "drift_monitor": self.drift_monitor,
            "regulatory_watch": self.regulatory_watch,
            "format_watch": self.format_watch,
        }
        bad = [k for k, v in crons.items() if v is not None and not _cron_ok(v)]
        if bad:
            raise ValueError(f"not a 5-field cron: {', '.join(sorted(bad))}")
        return self


class NotifyConfig(StrictModel):
    """Where a flow failure is reported (a Prefect notification block)."""

    kind: Literal["none", "webhook", "email"] = Field(
        "none", description="none, webhook (POST JSON to url) or email (SendGrid)."
    )
    url: str | None = Field(
        None, description="Webhook URL; may be set by RAGTUNE_OPERATIONS__NOTIFY__URL."
    )
    to_emails: list[str] = Field(default_factory=list, description="Recipients.")
    sender_email: str | None = Field(None, description="From address (email).")
    api_key_env: str = Field(
        "SENDGRID_API_KEY", description="Environment variable holding the API key."
    )

    @model_validator(mode="after")
    def _complete(self) -> NotifyConfig:
        if self.kind == "webhook" and not self.url:
            raise ValueError("notify.kind webhook needs notify.url")
        if self.kind == "email" and not (self.to_emails and self.sender_email):
            raise ValueError("notify.kind email needs to_emails and sender_email")
        return self


class OperationsConfig(StrictModel):
    """Work pools and trigger policy."""

    process_pool: str = Field("ragtune-cpu", description="Process work pool (CPU).")
    gpu_pool: str = Field("ragtune-gpu", description="GPU work pool (training).")
    gpu_pool_template: Path = Field(
        Path("infra/prefect/gpu-work-pool.json"),
        description="Base job template of the GPU pool.",
    )
    retrain_deadline_days: int = Field(
        30, ge=0, description="A regulatory change must be in the model within this."
    )
    gpu_budget_usd: float = Field(
        200.0, ge=0, description="Drift retrains stop once this month's spend is here."
    )
    format_files: list[Path] = Field(
        default_factory=list,
        description="JSON schemas / prompt templates a model's output format "
        "follows; a changed hash requests a retrain.",
    )
    format_baseline: Path = Field(
        Path(".ragtune/operations/format-baseline.json"),
        description="Hashes of format_files when the champion was trained.",
    )
    retrain_cost_usd: float = Field(
        25.0, ge=0, description="Budgeted cost of one retrain (GPU hours x price)."
    )
    refresh_wait_s: int = Field(
        3600,
        ge=0,
        description="How long the trigger router waits for an event's refreshes "
        "before it starts the retrain the same event asked for, so the candidate is "
        "trained and evaluated on the refreshed index (0: start it at once).",
    )
    decisions_dir: Path | None = Field(
        None, description="Decision records (default <state_dir>/decisions)."
    )
    notify: NotifyConfig = NotifyConfig()
