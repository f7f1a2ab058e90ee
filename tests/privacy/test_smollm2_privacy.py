"""The privacy gate's shipped thresholds on real fine-tunes of SmolLM2-135M (CPU).

``bench.privacy.calibrate`` trains two adapters on one 4-bit base, both judged by
params.yaml's privacy section as shipped:

* honest: params.yaml's training settings for one pass over its 256 members:
  passes;
* over-fitted: a fresh adapter, 3 passes over 32 members at a high constant
  rate without dropout: fails.

Members are exactly the records an adapter trained on; non-members are records
of fact groups no member belongs to, one record per group on both sides. Fewer
records than ``min_samples`` give insufficient evidence for either model, never
a verdict. Records are cut at 64 tokens to keep this to minutes on one core.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.privacy import Scored, Sizes, calibrate, shipped
from ragtune.tasks.privacy.config import PrivacyConfig
from tests.training._sft import single_thread

pytestmark = [pytest.mark.slow, pytest.mark.heavy]
SIZES = Sizes()
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def privacy() -> PrivacyConfig:
    cfg = shipped()[1]
    assert cfg == PrivacyConfig()  # params.yaml ships the documented defaults
    return cfg


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Iterator[dict[str, Scored]]:  # noqa: ANN001
    with single_thread():
        yield calibrate(SIZES, Path(tmp_path_factory.mktemp("calibration")))["scores"]


def _gates(scores: Scored, cfg: PrivacyConfig):  # noqa: ANN202
    gates = scores.judge(cfg)
    for gate in gates:
        log.info("%s %s: %s", gate.name, gate.status, gate.reason)
    return gates


def test_honest_fine_tune_passes_at_the_shipped_thresholds(scored, privacy) -> None:  # noqa: ANN001
    gates = _gates(scored["honest"], privacy)
    assert [g.status for g in gates] == ["pass", "pass"], [g.reason for g in gates]
    for g in gates:
        assert g.measured["auc_high"] <= privacy.max_auc
        assert g.measured["tpr_high"] <= privacy.max_tpr_at_low_fpr


def test_over_fitted_fine_tune_fails_at_the_shipped_thresholds(scored, privacy) -> None:  # noqa: ANN001
    ratio, min_k = _gates(scored["over-fitted"], privacy)
    assert ratio.status == "fail", ratio.reason
    assert ratio.measured["auc_low"] > privacy.max_auc
    assert ratio.measured["p_value"] < 1e-6
    assert "loss_ratio attack identifies training members" in ratio.reason
    assert min_k.status in ("fail", "warn")  # Min-K% is the weaker attack


def test_too_few_records_are_insufficient_evidence_for_either(scored, privacy) -> None:  # noqa: ANN001
    few = privacy.min_samples - 1
    for name in ("honest", "over-fitted"):
        for gate in _gates(scored[name].subset(few, 64), privacy):
            assert gate.status == "warn" and gate.measured["verdict"] == "insufficient"
            assert gate.reason.startswith("insufficient evidence: ")
            assert f"min_samples {privacy.min_samples}" in gate.reason
