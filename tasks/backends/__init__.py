"""backends capability: one interface to train on local, Prefect, Modal, RunPod."""

from ragtune.tasks.backends.base import (
    BACKENDS,
    Backend,
    BackendError,
    JobHandle,
    JobStatus,
    get_backend,
)
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import PlanSummary, check_cost_cap, estimate_job

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendConfig",
    "BackendError",
    "JobHandle",
    "JobStatus",
    "PlanSummary",
    "check_cost_cap",
    "estimate_job",
    "get_backend",
]
