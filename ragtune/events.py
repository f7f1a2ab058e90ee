"""Event names emitted to Prefect; operators script automations against these."""

from typing import Final

SOURCE_CHANGED: Final = "ragtune.source.changed"
REGULATORY_UPDATED: Final = "ragtune.regulatory.updated"
DATA_VALIDATED: Final = "ragtune.data.validated"
DATA_QUARANTINED: Final = "ragtune.data.quarantined"
INDEX_PUBLISHED: Final = "ragtune.index.published"
INDEX_ROLLED_BACK: Final = "ragtune.index.rolled-back"
DRIFT_DETECTED: Final = "ragtune.drift.detected"
FORMAT_CHANGED: Final = "ragtune.format.changed"
RETRAIN_REQUESTED: Final = "ragtune.retrain.requested"
MODEL_PROMOTED: Final = "ragtune.model.promoted"
MODEL_REJECTED: Final = "ragtune.model.rejected"
MODEL_ROLLED_BACK: Final = "ragtune.model.rolled-back"

ALL_EVENTS: Final = (
    SOURCE_CHANGED,
    REGULATORY_UPDATED,
    DATA_VALIDATED,
    DATA_QUARANTINED,
    INDEX_PUBLISHED,
    INDEX_ROLLED_BACK,
    DRIFT_DETECTED,
    FORMAT_CHANGED,
    RETRAIN_REQUESTED,
    MODEL_PROMOTED,
    MODEL_REJECTED,
    MODEL_ROLLED_BACK,
)


def resource_id(kind: str, name: str) -> str:
    """Prefect resource id for an event: ``ragtune.<kind>.<name>``."""
    return f"ragtune.{kind}.{name}"
