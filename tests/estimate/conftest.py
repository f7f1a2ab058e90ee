"""Fixtures for the estimator tests: the shipped configuration and common setups."""

from __future__ import annotations

import pytest

from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.estimate.shapes import NAMED_SHAPES, ModelShape


@pytest.fixture(scope="session")
def cfg() -> EstimatorConfig:
    return EstimatorConfig()


@pytest.fixture(scope="session")
def llama7b() -> ModelShape:
    return NAMED_SHAPES["7B"]
