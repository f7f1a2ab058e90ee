"""estimate capability: GPU memory, fit, hours and cost of a fine-tuning run."""

from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.estimate.cost import Estimate
from ragtune.tasks.estimate.estimator import estimate
from ragtune.tasks.estimate.framework import FigureCheck, check_framework
from ragtune.tasks.estimate.workload import TrainingSetup

__all__ = [
    "Estimate",
    "EstimatorConfig",
    "FigureCheck",
    "TrainingSetup",
    "check_framework",
    "estimate",
]
