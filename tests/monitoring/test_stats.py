"""MMD, k-means and PSI on small hand-made arrays whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.tasks.monitoring.stats import (
    assign,
    kmeans,
    median_bandwidth,
    mmd_permutation_test,
    psi,
    shares,
    squared_distances,
)


def test_psi_matches_the_formula_by_hand() -> None:
    # (0.4-0.5)ln(0.4/0.5) + (0.6-0.5)ln(0.6/0.5)
    expected = -0.1 * np.log(0.8) + 0.1 * np.log(1.2)
    assert psi([0.5, 0.5], [0.4, 0.6]) == pytest.approx(expected)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_is_symmetric_and_grows_with_the_shift() -> None:
    ref = [0.25, 0.25, 0.25, 0.25]
    small, large = [0.3, 0.2, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]
    assert psi(ref, small) == pytest.approx(psi(small, ref))
    assert 0 < psi(ref, small) < 0.1 < 0.25 < psi(ref, large)


def test_psi_refuses_zero_shares_and_mismatched_bins() -> None:
    with pytest.raises(ValueError, match="strictly positive"):
        psi([0.5, 0.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="bins differ"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])


def test_shares_smoothing_keeps_empty_clusters_positive() -> None:
    s = shares(np.array([0, 0, 0, 1]), k=3, smoothing=0.5)
    # counts 3.5, 1.5, 0.5 over 5.5
    assert s.tolist() == pytest.approx([3.5 / 5.5, 1.5 / 5.5, 0.5 / 5.5])


def test_median_bandwidth_and_squared_distances() -> None:
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    sq = squared_distances(x, x)
    assert sq[0, 1] == pytest.approx(25.0) and sq[0, 2] == pytest.approx(100.0)
    assert np.allclose(np.diag(sq), 0.0)
    # distinct-pair distances 5, 5, 10 (each twice): the median is 5
    assert median_bandwidth(sq) == pytest.approx(5.0)
    assert median_bandwidth(np.zeros((3, 3))) == 1.0  # all points equal


def test_mmd_separates_shifted_gaussians_and_not_equal_ones() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, (60, 4))
    same = rng.normal(0.0, 1.0, (60, 4))
    shifted = rng.normal(1.0, 1.0, (60, 4))
    null = mmd_permutation_test(x, same, permutations=300, seed=1)
    alt = mmd_permutation_test(x, shifted, permutations=300, seed=1)
    assert null.p_value > 0.05
    assert alt.p_value == pytest.approx(1 / 301)  # no permutation beat it
    assert alt.mmd2 > 5 * null.mmd2


def test_mmd_is_reproducible_with_a_seed_and_zero_on_identical_samples() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    a = mmd_permutation_test(x, y, permutations=200, seed=7)
    b = mmd_permutation_test(x, y, permutations=200, seed=7)
    assert a == b
    twin = mmd_permutation_test(x, x.copy(), permutations=50, seed=7)
    assert twin.mmd2 == pytest.approx(0.0, abs=1e-12)


def test_mmd_rejects_empty_or_mismatched_samples() -> None:
    with pytest.raises(ValueError, match="at least one point"):
        mmd_permutation_test(np.zeros((0, 2)), np.ones((3, 2)), 10, 0)
    with pytest.raises(ValueError, match="dimension"):
        mmd_permutation_test(np.zeros((3, 2)), np.ones((3, 3)), 10, 0)


def test_kmeans_finds_well_separated_blobs_and_is_seeded() -> None:
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.vstack([c + rng.normal(0, 0.3, (20, 2)) for c in centres])
    found = kmeans(x, 3, seed=11)
    assert np.allclose(kmeans(x, 3, seed=11), found)
    labels = assign(x, found)
    # every blob lands in a single cluster of its own
    groups = [set(labels[i * 20 : (i + 1) * 20]) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3


def test_kmeans_caps_k_at_the_distinct_points() -> None:
    x = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert len(kmeans(x, 8, seed=0)) == 2
