"""Pure numpy maths, on hand-checkable vectors."""

from __future__ import annotations

import numpy as np
import pytest

from beetsplug.sonic import analysis as A
from beetsplug.sonic.graph import knn_graph as G


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
    fit, top, spread = A.loo_standing(X, rng.standard_normal((40, 16)))
    assert int(np.argmax(top)) == 5 and top[5] > 10 and (np.delete(top, 5) == 0).all()
    assert spread.shape == (8,) and (spread > 0).all()
    assert int(np.argmin(fit)) == 5


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


def two_clusters_and_a_bridge(seed=0, size=30, d=16, noise=0.05):
    rng = np.random.default_rng(seed)
    c1, c2 = A.normalize(rng.standard_normal(d)), A.normalize(rng.standard_normal(d))
    X = np.vstack([c1 + noise * rng.standard_normal((size, d)),
                   c2 + noise * rng.standard_normal((size, d)),
                   [A.normalize(c1 + c2)]])
    return X


def test_planted_bridge_has_the_highest_connector_score():
    X = two_clusters_and_a_bridge()
    idx, sim = A.knn(X, k=4)
    labels = G.communities(idx, sim)
    assert labels.max() + 1 == 2
    assert len(set(labels[:30])) == 1 and len(set(labels[30:60])) == 1
    cs = G.connector_scores(idx, sim, labels)
    assert int(np.argmax(cs)) == 60
    assert cs[60] > 0.2 and np.sort(cs)[-2] < cs[60] - 0.05


def test_communities_recover_separated_clusters():
    rng = np.random.default_rng(5)
    n, true = 1200, rng.integers(12, size=1200)
    X = A.normalize(rng.standard_normal((12, 64))[true] + 0.5 * rng.standard_normal((n, 64)))
    idx, sim = A.knn(X, k=4)
    labels = G.communities(idx, sim)
    sizes = np.bincount(labels)
    # every community holds one true cluster; the 12 largest hold (almost) everything --
    # a handful of stragglers whose kNN links only each other may form their own
    purity = sum(np.bincount(true[labels == c]).max() for c in range(sizes.size)) / n
    assert purity == 1.0
    assert sizes[:12].sum() >= 0.98 * n and len(set(true[labels < 12])) == 12
    assert np.all(np.diff(np.bincount(labels)) <= 0)  # numbered by size, largest first


def test_in_degree_and_isolation():
    X = two_clusters_and_a_bridge()
    far = A.normalize(np.random.default_rng(9).standard_normal(16))
    X = np.vstack([X, far])
    idx, sim = A.knn(X, k=4)
    deg = G.in_degree(idx, n=len(X))
    assert deg.sum() == len(X) * 4 and deg[-1] == 0  # nobody lists the stranger
    iso = G.isolation(sim)
    assert int(np.argmax(iso)) == len(X) - 1 and iso.max() == 1.0


def test_flow_order_walks_a_line():
    angles = np.linspace(0, 1.2, 8)
    X = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    perm = np.random.default_rng(2).permutation(8)
    order = A.flow_order(A.similarity_matrix(X[perm]))
    walked = perm[order]
    assert walked.tolist() in (list(range(8)), list(range(7, -1, -1)))


def test_two_opt_never_lengthens_the_greedy_path():
    rng = np.random.default_rng(4)
    X = A.normalize(rng.standard_normal((25, 6)))
    S = A.similarity_matrix(X)
    order = A.flow_order(S)
    assert sorted(order.tolist()) == list(range(25))
    greedy = [0]
    for _ in range(24):
        d = np.where(np.isin(np.arange(25), greedy), np.inf, 1 - S[greedy[-1]])
        greedy.append(int(np.argmin(d)))
    assert A.path_length(1 - S, order) <= A.path_length(1 - S, np.array(greedy)) + 1e-9


def test_layout_seed_separates_clusters():
    X = two_clusters_and_a_bridge()
    P = G.layout_seed(X)
    assert P.shape == (61, 2) and np.abs(P).max() <= 1.05
    gap = np.linalg.norm(P[:30].mean(0) - P[30:60].mean(0))
    assert gap > 3 * max(P[:30].std(0).max(), P[30:60].std(0).max())
