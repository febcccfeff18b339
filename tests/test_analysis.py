"""Pure numpy maths, on hand-checkable vectors."""

from __future__ import annotations

import numpy as np
import pytest

from beetsplug.sonic import analysis as A


def test_normalize_rows_and_zero_rows():
    X = A.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(X, [[0.6, 0.8], [0.0, 0.0]])
    assert X.dtype == np.float32


def test_cohesion_identical_is_one():
    X = np.tile([1.0, 2.0, 3.0], (5, 1))
    assert A.cohesion(X) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("n", [2, 4, 9])
def test_cohesion_orthonormal_is_one_over_sqrt_n(n):
    assert A.cohesion(np.eye(n)) == pytest.approx(1 / np.sqrt(n), abs=1e-6)


def test_planted_outlier_has_lowest_fit():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(16)
    X = base + 0.1 * rng.standard_normal((8, 16))
    X[5] = rng.standard_normal(16)
    f = A.fit(X)
    assert int(np.argmin(f)) == 5
    s = A.scaled(f)
    assert s[5] == 0.0 and s.max() == 1.0


def test_standardizer_learns_mean_and_scale():
    R = np.array([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0]])
    mean, scale = A.fit_standardizer(R)
    np.testing.assert_allclose(mean, [2, 20, 5])
    np.testing.assert_allclose(scale[:2], [1, 10])
    assert scale[2] > 0  # constant dimension is floored, not zero
    Z = A.standardize(R, mean=mean, scale=scale)
    np.testing.assert_allclose(Z[0], -Z[1], atol=1e-6)  # symmetric around the mean
    m1, s1 = A.fit_standardizer(R[:1])
    np.testing.assert_array_equal(m1, 0)
    np.testing.assert_array_equal(s1, 1)


def test_needs_restandardize_rule():
    assert not A.needs_restandardize(stats_n=0, n=1)
    assert A.needs_restandardize(stats_n=0, n=2)
    assert A.needs_restandardize(stats_n=10, n=11)         # small libraries: on any change
    assert not A.needs_restandardize(stats_n=1000, n=1100)  # large: only after 20 % growth
    assert A.needs_restandardize(stats_n=1000, n=1200)
    assert A.needs_restandardize(stats_n=1000, n=800)


def test_top_k_orders_and_breaks_ties_by_index():
    s = np.array([0.1, 0.9, 0.5, 0.9, -1.0])
    assert A.top_k(s, 3).tolist() == [1, 3, 2]
    assert A.top_k(s, 10).tolist() == [1, 3, 2, 0, 4]
    assert A.top_k(s, 0).tolist() == []


def test_blocked_knn_equals_brute_force():
    rng = np.random.default_rng(3)
    X = A.normalize(rng.standard_normal((300, 12)))
    idx, sim = A.knn(X, k=5, block=64)
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    brute = np.argsort(-S, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(np.sort(idx, axis=1), np.sort(brute, axis=1))
    np.testing.assert_allclose(sim, np.take_along_axis(S, idx, axis=1), atol=1e-6)
    assert (np.diff(sim, axis=1) <= 1e-7).all()
    assert not (idx == np.arange(300)[:, None]).any()


def test_random_set_cohesion_and_percentile():
    X = np.eye(10)
    sample = A.random_set_cohesions(X, size=4, trials=50)
    np.testing.assert_allclose(sample, 0.5, atol=1e-6)  # any 4 orthonormal rows: 1/sqrt(4)
    assert A.percentile_of(0.9, sample) == 100.0
    assert A.percentile_of(0.5, sample) == 50.0
    with pytest.raises(ValueError):
        A.random_set_cohesions(X, size=11)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="2-D"):
        A.cohesion(np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        A.centroid(np.zeros((0, 3)))
