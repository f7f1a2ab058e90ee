"""Drift monitoring: detectors over served traffic and retrieval figures, and the
pure trigger decision that turns their results into a retrain signal or nothing.

Only the config, records and trigger are imported here: ``ragtune.app.settings``
imports this package's config, and the rest (numpy statistics, log reading) is
loaded where it is used.
"""

from ragtune.tasks.monitoring.config import DETECTORS, DriftConfig
from ragtune.tasks.monitoring.models import (
    DetectorResult,
    DriftCursor,
    DriftVerdict,
)
from ragtune.tasks.monitoring.trigger import decide, load_cursor, save_cursor

__all__ = [
    "DETECTORS",
    "DetectorResult",
    "DriftConfig",
    "DriftCursor",
    "DriftVerdict",
    "decide",
    "load_cursor",
    "save_cursor",
]
