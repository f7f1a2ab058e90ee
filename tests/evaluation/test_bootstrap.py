"""Bootstrap intervals: a clearly better configuration, identical ones, and the
mechanics (seeding, pairing, bad input)."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.bootstrap import bootstrap_mean, paired_bootstrap


def _scores(values) -> dict[str, float]:  # noqa: ANN001
    return {f"q{i:03d}": float(v) for i, v in enumerate(values)}


def test_clearly_better_configuration_excludes_zero():
    rng = np.random.default_rng(0)
    worse = rng.uniform(0.0, 0.6, 60)
    better = np.clip(worse + rng.uniform(0.2, 0.4, 60), 0, 1)

    diff = paired_bootstrap(
        _scores(better), _scores(worse), metric="token_f1", names=("rag", "base")
    )

    assert diff.ci_low > 0 and diff.significant
    assert diff.mean_diff == pytest.approx(float(np.mean(better - worse)))
    assert diff.ci_low < diff.mean_diff < diff.ci_high
    assert diff.p_value < 0.01
    assert (diff.a, diff.b, diff.metric, diff.n) == ("rag", "base", "token_f1", 60)


def test_identical_configurations_include_zero():
    values = _scores(np.random.default_rng(1).uniform(0, 1, 40))

    diff = paired_bootstrap(values, dict(values))

    assert diff.mean_diff == 0.0 and diff.ci_low <= 0 <= diff.ci_high
    assert not diff.significant and diff.p_value == 1.0


def test_noisy_equal_configurations_are_not_significant():
    # The same scores in another order: equal means, but every query differs, so
    # the interval has width and must straddle zero.
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, 50)
    diff = paired_bootstrap(_scores(a), _scores(rng.permutation(a)))
    assert diff.mean_diff == 0.0
    assert diff.ci_low < 0 < diff.ci_high and diff.p_value > 0.5


def test_pairing_uses_shared_queries_and_the_seed_reproduces():
    a = {"q1": 1.0, "q2": 1.0, "q3": 0.0, "only-a": 1.0}
    b = {"q1": 0.0, "q2": 1.0, "q3": 0.0, "only-b": 0.0}

    first = paired_bootstrap(a, b, seed=7, n_resamples=500)

    assert first.n == 3 and first.mean_diff == pytest.approx(1 / 3)
    assert first == paired_bootstrap(a, b, seed=7, n_resamples=500)
    assert first.to_dict()["significant"] is first.significant


def test_mean_interval_brackets_the_mean():
    ci = bootstrap_mean([0.0, 1.0] * 20, n_resamples=1000, confidence=0.9)
    assert ci.mean == 0.5 and ci.ci_low < 0.5 < ci.ci_high and ci.n == 40
    empty = bootstrap_mean([])
    assert empty.n == 0 and np.isnan(empty.mean)


def test_bad_input_is_explained():
    with pytest.raises(InputError, match="share no query"):
        paired_bootstrap({"q1": 1.0}, {"q2": 1.0}, names=("base", "rag"))
    with pytest.raises(InputError, match="confidence"):
        paired_bootstrap({"q1": 1.0}, {"q1": 1.0}, confidence=1.5)
    with pytest.raises(InputError, match="n_resamples"):
        bootstrap_mean([1.0], n_resamples=0)
