"""Two-sample statistics for drift: MMD with a permutation test, k-means, PSI.

Written on numpy alone (a few dozen lines) so that no statistics package becomes
a dependency, and every random step takes an explicit seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Permutation statistics are computed this many at a time to bound memory
# (n x batch floats) on large windows.
_PERMUTATION_BATCH = 128


@dataclass(frozen=True)
class MmdTest:
    """Squared MMD (biased V-statistic), its permutation p-value and the bandwidth."""

    mmd2: float
    p_value: float
    bandwidth: float
    permutations: int


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances, clipped at 0 against rounding."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2.0 * a64 @ b64.T
    return np.maximum(d, 0.0)


def median_bandwidth(sq_dists: np.ndarray) -> float:
    """Median heuristic: sigma = the median distance between distinct points.

    Falls back to 1.0 when every point is the same (the kernel is then constant
    and MMD is 0 whatever the bandwidth).
    """
    off_diagonal = sq_dists[~np.eye(len(sq_dists), dtype=bool)]
    positive = off_diagonal[off_diagonal > 0]
    return float(np.sqrt(np.median(positive))) if positive.size else 1.0


def mmd_permutation_test(
    x: np.ndarray, y: np.ndarray, permutations: int, seed: int
) -> MmdTest:
    """Is ``y`` drawn from the same distribution as ``x``?

    RBF kernel ``exp(-d^2 / (2 sigma^2))`` with the median-heuristic sigma on the
    pooled sample. The statistic is ``a' K a`` with ``a = 1/m`` on x and ``-1/n``
    on y (the biased MMD^2); the p-value counts label permutations whose statistic
    is at least the observed one, ``(1 + hits) / (1 + permutations)``, which is
    exact for any statistic.

    Raises:
        ValueError: either sample is empty or the dimensions differ.
    """
    if len(x) == 0 or len(y) == 0:
        raise ValueError("MMD needs at least one point in each sample")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"dimension mismatch: {x.shape[1]} vs {y.shape[1]}")
    pooled = np.vstack([x, y])
    sq = squared_distances(pooled, pooled)
    sigma = median_bandwidth(sq)
    kernel = np.exp(-sq / (2.0 * sigma**2))
    m, n = len(x), len(y)
    weights = np.concatenate([np.full(m, 1.0 / m), np.full(n, -1.0 / n)])
    observed = float(weights @ kernel @ weights)
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < permutations:
        batch = min(_PERMUTATION_BATCH, permutations - done)
        shuffled = np.stack([rng.permutation(weights) for _ in range(batch)], axis=1)
        stats = np.einsum("ip,ip->p", shuffled, kernel @ shuffled)
        hits += int(np.sum(stats >= observed - 1e-12))
        done += batch
    return MmdTest(
        mmd2=max(observed, 0.0),
        p_value=(1 + hits) / (1 + permutations),
        bandwidth=sigma,
        permutations=permutations,
    )


def kmeans(x: np.ndarray, k: int, seed: int, iterations: int = 50) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; returns the (k, dim) centroids.

    ``k`` is capped at the number of distinct points, so a small window still
    gets a clustering.
    """
    points = np.asarray(x, np.float64)
    k = max(1, min(k, len(np.unique(points, axis=0))))
    rng = np.random.default_rng(seed)
    centroids = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d = squared_distances(points, np.array(centroids)).min(axis=1)
        centroids.append(points[rng.choice(len(points), p=d / d.sum())])
    centers = np.array(centroids)
    for _ in range(iterations):
        labels = assign(points, centers)
        moved = np.array(
            [
                points[labels == j].mean(axis=0) if np.any(labels == j) else centers[j]
                for j in range(k)
            ]
        )
        if np.allclose(moved, centers):
            break
        centers = moved
    return centers


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid for each row of ``x``."""
    return squared_distances(x, centroids).argmin(axis=1)


def shares(labels: np.ndarray, k: int, smoothing: float) -> np.ndarray:
    """Cluster shares with ``smoothing`` pseudo-counts, so no share is zero."""
    counts = np.bincount(labels, minlength=k).astype(np.float64) + smoothing
    return counts / counts.sum()


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index: sum of (c - r) * ln(c / r) over the bins.

    Raises:
        ValueError: the share vectors differ in length or hold a non-positive share.
    """
    r, c = np.asarray(reference, np.float64), np.asarray(current, np.float64)
    if r.shape != c.shape:
        raise ValueError(f"PSI bins differ: {r.shape} vs {c.shape}")
    if np.any(r <= 0) or np.any(c <= 0):
        raise ValueError("PSI needs strictly positive shares (smooth the counts)")
    return float(np.sum((c - r) * np.log(c / r)))
