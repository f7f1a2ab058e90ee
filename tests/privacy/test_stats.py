"""The membership verdict's statistics on synthetic score arrays.

No model here: members and non-members are drawn from known distributions, so
each bound can be checked against the truth it claims to bound, and the verdict
against the figures it is read from, at the shipped thresholds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sp
from sklearn.metrics import roc_auc_score

from ragtune.gates import GateResult
from ragtune.tasks.privacy.attacks import attack_metrics
from ragtune.tasks.privacy.config import PrivacyConfig
from ragtune.tasks.privacy.gate import attack_gate
from ragtune.tasks.privacy.report import PrivacyReport
from ragtune.tasks.privacy.stats import Bounds, auc_bounds, tpr_bounds, verdict

SHIPPED = PrivacyConfig()  # params.yaml's section equals the defaults (test_gate)


def draws(seed: int, m: int, n: int, shift: float = 0.0, leak: float = 0.0):
    """Member and non-member scores: N(shift, 1) vs N(0, 1); a ``leak`` share of
    the members is memorised outright (scores far above every non-member)."""
    rng = np.random.default_rng(seed)
    members = rng.normal(shift, 1.0, m)
    members[: round(leak * m)] = 10.0 + rng.random(round(leak * m))
    return members, rng.normal(0.0, 1.0, n)


def true_tpr(fpr: float, shift: float, leak: float = 0.0) -> float:
    threshold = sp.norm.isf(fpr)
    return leak + (1 - leak) * float(sp.norm.sf(threshold - shift))


# -- AUC ---------------------------------------------------------------------------


def _delong_by_hand(members: np.ndarray, others: np.ndarray) -> float:
    """DeLong's variance from the O(mn) kernel, ties counting half."""
    kernel = (members[:, None] > others[None, :]) + 0.5 * (
        members[:, None] == others[None, :]
    )
    return (
        kernel.mean(1).var(ddof=1) / members.size
        + kernel.mean(0).var(ddof=1) / others.size
    )


def test_auc_and_its_delong_bounds_match_the_definitions():
    rng = np.random.default_rng(0)
    members = rng.integers(0, 12, 40).astype(float)  # many ties
    others = rng.integers(0, 10, 55).astype(float)
    auc, bounds, p = auc_bounds(members, others, 0.95)
    labels = np.r_[np.ones(40), np.zeros(55)]
    assert auc == pytest.approx(roc_auc_score(labels, np.r_[members, others]))
    half = 1.6448536 * np.sqrt(_delong_by_hand(members, others))
    assert bounds.low == pytest.approx(auc - half)
    assert bounds.high == pytest.approx(auc + half)
    exact = sp.mannwhitneyu(members, others, alternative="greater").pvalue
    assert p == pytest.approx(exact)


def test_auc_bounds_cover_the_truth_and_are_clipped():
    # binormal: true AUC = Phi(shift / sqrt 2); one-sided 95% bounds each miss
    # about 5% of the time, so over 200 draws each misses at most ~20 times
    shift = 0.5
    truth = sp.norm.cdf(shift / np.sqrt(2))
    misses = np.zeros(2)
    for seed in range(200):
        _, b, _ = auc_bounds(*draws(seed, 100, 80, shift), 0.95)
        misses += [b.low > truth, b.high < truth]
    assert (misses <= 20).all(), misses
    _, perfect, p = auc_bounds(np.arange(40.0) + 100, np.arange(40.0), 0.95)
    assert perfect == Bounds(1.0, 1.0) and p < 1e-10


# -- TPR at a low FPR ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "leak"), [(0.0, 0.0), (0.3, 0.0), (0.0, 0.15), (1.5, 0.0)]
)
def test_tpr_bounds_hold_at_their_level(shift, leak):
    truth = true_tpr(0.05, shift, leak)
    misses = np.zeros(2)
    for seed in range(200):
        members, others = draws(seed, 96, 160, shift, leak)
        b = tpr_bounds(members, others, 0.05, 0.95)
        misses += [b.low > truth, b.high < truth]
    # distribution-free and conservative: well under the 5% each may miss
    assert (misses <= 10).all(), misses


def test_too_few_non_members_for_the_fpr_give_trivial_bounds():
    # 157 held-out records cannot place a 1% FPR threshold with 97.5% confidence:
    # the chance that none of them lies above it is 0.99^157 = 21%
    members, others = draws(1, 256, 157, shift=3.0)
    assert tpr_bounds(members, others, 0.01, 0.95).low == 0.0
    # eight non-members: the threshold is their 3rd largest, FPR up to 37%
    b = tpr_bounds(*draws(2, 8, 8), 0.05, 0.95)
    assert b.low == 0.0 and b.high > 0.5


def test_the_bounds_bracket_the_point_estimate():
    for shift, leak in ((0.0, 0.0), (0.8, 0.0), (0.0, 0.3)):
        result = attack_metrics("t", *draws(3, 200, 150, shift, leak), 0.05)
        assert result.tpr_bounds.low <= result.tpr_at_fpr <= result.tpr_bounds.high
        assert result.auc_bounds.low <= result.auc <= result.auc_bounds.high


# -- the verdict ---------------------------------------------------------------------

CLEAR, LEAK, WIDE = Bounds(0.45, 0.55), Bounds(0.7, 0.9), Bounds(0.5, 0.7)


@pytest.mark.parametrize(
    ("auc", "tpr", "sizes", "expected"),
    [
        (CLEAR, Bounds(0.02, 0.1), (256, 157), "pass"),
        (LEAK, Bounds(0.02, 0.1), (256, 157), "fail"),  # AUC shows leakage
        (CLEAR, Bounds(0.3, 0.5), (256, 157), "fail"),  # so does the TPR alone
        (WIDE, Bounds(0.02, 0.1), (256, 157), "insufficient"),  # may exceed 0.6
        (CLEAR, Bounds(0.0, 0.35), (256, 157), "insufficient"),
        (CLEAR, Bounds(0.02, 0.1), (256, 31), "insufficient"),  # min_samples
        (LEAK, Bounds(0.5, 0.9), (31, 256), "insufficient"),  # even if decisive
        (Bounds(0.5, 0.6), Bounds(0.0, 0.2), (32, 32), "pass"),  # limits inclusive
    ],
)
def test_verdict_table(auc, tpr, sizes, expected):
    assert verdict(auc, tpr, 0.6, 0.2, sizes, 32) == expected


@pytest.mark.parametrize(
    ("m", "n", "shift", "leak", "status", "verdict_"),
    [
        (256, 157, 0.0, 0.0, "pass", "pass"),  # the shipped sizes, no leakage
        (64, 64, 3.0, 0.0, "fail", "fail"),  # memorised: shown even on 64
        (256, 157, 0.0, 0.3, "fail", "fail"),  # a memorised subset: TPR shows it
        (16, 16, 3.0, 0.0, "warn", "insufficient"),  # too few to say, either way
        (16, 16, 0.0, 0.0, "warn", "insufficient"),  # no leak, yet AUC 0.73 here
        (48, 48, 0.3, 0.0, "warn", "insufficient"),  # AUC 0.47, but bounds too wide
    ],
)
def test_attack_gate_at_shipped_thresholds(m, n, shift, leak, status, verdict_):
    result = attack_metrics("loss_ratio", *draws(7, m, n, shift, leak), 0.05)
    gate = attack_gate("membership_loss_ratio", result, SHIPPED)
    assert (gate.status, gate.measured["verdict"]) == (status, verdict_), gate.reason
    assert f"{m} members / {n} non-members" in gate.reason
    if verdict_ == "insufficient":
        assert gate.reason.startswith("insufficient evidence: ")
    if status == "fail":
        assert "lower bound" in gate.reason


def _report(*gates):
    return PrivacyReport(tuple(gates), (), (), None, "m")


def test_insufficient_evidence_passes_but_needs_review():
    def gate(m, n):
        result = attack_metrics("loss_ratio", *draws(7, m, n), 0.05)
        return attack_gate("membership_loss_ratio", result, SHIPPED)

    thin, enough = _report(gate(16, 16)), _report(gate(256, 157))
    assert thin.passed and thin.status == "warn" and thin.needs_review
    assert [g.name for g in thin.insufficient] == ["membership_loss_ratio"]
    data = thin.to_dict()
    assert data["needs_review"] is True
    assert data["insufficient_evidence"] == ["membership_loss_ratio"]
    heading = thin.to_markdown().splitlines()[0].removeprefix("# Privacy gate: ")
    assert heading == "WARN (insufficient evidence: a person must approve)"
    assert enough.passed and not enough.needs_review and enough.status == "pass"
    # other warnings (canaries off) do not ask for a person
    off = GateResult("canary_exposure", "warn", "not run", {"canaries": 0})
    assert not _report(gate(256, 157), off).needs_review
