"""Modern Hopfield retrieval and BAM against the NumPy reference and their defining properties."""

from __future__ import annotations

import pickle

import hopfield_reference as ref
import numpy as np
import pytest
import rnnfast
from sklearn.exceptions import NotFittedError


def bipolar(rng, rows, n):
    return rng.choice([-1, 1], size=(rows, n)).astype(np.int8)


# -- modern Hopfield ---------------------------------------------------------------------------


@pytest.mark.parametrize(("beta", "steps"), [(0.05, 1), (0.3, 3), (2.0, 1)])
def test_modern_matches_reference(beta, steps):
    rng = np.random.default_rng(0)
    patterns = rng.normal(size=(300, 40))  # many more patterns than units
    queries = rng.normal(size=(70, 40))
    model = rnnfast.ModernHopfield(beta=beta, max_iter=steps, dtype="float64").fit(patterns)
    want = ref.modern(patterns, queries, beta, steps)
    np.testing.assert_allclose(model.predict(queries), want, rtol=1e-9, atol=1e-12)


def test_modern_retrieves_the_nearest_pattern_in_one_step():
    rng = np.random.default_rng(1)
    n = 64
    patterns = bipolar(rng, 500, n).astype(np.float32)  # 500 patterns in 64 units
    queries = patterns[:50] + rng.normal(scale=0.4, size=(50, n)).astype(np.float32)
    model = rnnfast.ModernHopfield(beta=1.0).fit(patterns)
    got = model.predict(queries)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, patterns[:50], atol=1e-4)
    energy_before, energy_after = model.energy(queries), model.energy(got)
    assert (energy_after <= energy_before).all()


def test_modern_errors_and_pickle():
    with pytest.raises(rnnfast.ParameterError, match="beta"):
        rnnfast.ModernHopfield(beta=0.0).fit([[1.0, 2.0]])
    with pytest.raises(rnnfast.ParameterError, match="max_iter"):
        rnnfast.ModernHopfield(max_iter=0).fit([[1.0, 2.0]])
    with pytest.raises(NotFittedError):
        rnnfast.ModernHopfield().predict([[1.0, 2.0]])
    model = rnnfast.ModernHopfield().fit([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(rnnfast.ShapeError, match="expecting 2 features"):
        model.predict([[1.0]])
    with pytest.raises(rnnfast.NonFiniteError):
        model.predict([[np.inf, 1.0]])
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict([[1.0, 1.0]]), model.predict([[1.0, 1.0]]))


# -- BAM ---------------------------------------------------------------------------------------


def pairs(seed, n_pairs=4, nx=60, ny=30):
    rng = np.random.default_rng(seed)
    return bipolar(rng, n_pairs, nx), bipolar(rng, n_pairs, ny)


def test_bam_recalls_pairs_in_both_directions():
    X, Y = pairs(2)
    bam = rnnfast.BAM().fit(X, Y)
    np.testing.assert_array_equal(bam.predict(X), Y)
    np.testing.assert_array_equal(bam.predict_inverse(Y), X)
    noisy = X.copy()
    noisy[:, :6] *= -1
    result = bam.recall(noisy)
    np.testing.assert_array_equal(result.y, Y)
    np.testing.assert_array_equal(result.x, X)
    assert result.converged.all() and (result.n_sweeps >= 1).all()


def test_bam_matches_reference():
    X, Y = pairs(3, n_pairs=8, nx=20, ny=12)
    probes = bipolar(np.random.default_rng(4), 50, 20)
    bam = rnnfast.BAM(dtype="float64").fit(X, Y)
    w = X.T.astype(np.float64) @ Y
    np.testing.assert_array_equal(bam.weights_, w)
    want_x, want_y = ref.bam(w, probes)
    result = bam.recall(probes)
    np.testing.assert_array_equal(result.x, want_x)
    np.testing.assert_array_equal(result.y, want_y)
    back_y, back_x = ref.bam(w.T, Y)
    np.testing.assert_array_equal(bam.recall(Y, inverse=True).x, back_x)
    np.testing.assert_array_equal(bam.recall(Y, inverse=True).y, back_y)


def test_bam_energy_falls_and_binary_pairs_work():
    X, Y = pairs(5)
    bam = rnnfast.BAM().fit((X + 1) // 2, (Y + 1) // 2)
    assert bam.encoding_ == "binary"
    probes = (bipolar(np.random.default_rng(6), 20, 60) + 1) // 2
    result = bam.recall(probes)
    start_y = bam.predict(probes)  # a fixed point: recalling again changes nothing
    np.testing.assert_array_equal(start_y, result.y)
    assert set(np.unique(result.y)) <= {0, 1}
    np.testing.assert_allclose(
        bam.energy((X + 1) // 2, (Y + 1) // 2),
        -np.einsum("bi,ij,bj->b", X.astype(float), bam.weights_.astype(float), Y.astype(float)),
    )
    assert bam.score((X + 1) // 2, (Y + 1) // 2) == 1.0


def test_bam_errors():
    X, Y = pairs(7)
    with pytest.raises(rnnfast.ShapeError, match="one row per pair"):
        rnnfast.BAM().fit(X, Y[:2])
    with pytest.raises(rnnfast.EncodingError):
        rnnfast.BAM().fit(X * 0.5, Y)
    with pytest.raises(rnnfast.ParameterError, match="max_iter"):
        rnnfast.BAM(max_iter=-1).fit(X, Y)
    bam = rnnfast.BAM().fit(X, Y)
    with pytest.raises(rnnfast.ShapeError, match="expecting 30 features"):
        bam.predict_inverse(X)
    with pytest.raises(rnnfast.ShapeError, match="as many rows"):
        bam.energy(X, Y[:1])
    with pytest.raises(NotFittedError):
        rnnfast.BAM().predict(X)
