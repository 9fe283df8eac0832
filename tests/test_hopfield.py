"""Classical Hopfield networks against the NumPy reference, plus the properties theory predicts."""

from __future__ import annotations

import pickle
import threading

import hopfield_reference as ref
import numpy as np
import pytest
import rnnfast
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError


def bipolar(rng, rows, n):
    return rng.choice([-1, 1], size=(rows, n)).astype(np.int8)


def noisy(rng, patterns, fraction):
    """Copies of ``patterns`` with ``fraction`` of each row's units flipped."""
    out = patterns.copy()
    flips = round(fraction * patterns.shape[1])
    for row in out:
        row[rng.choice(patterns.shape[1], flips, replace=False)] *= -1
    return out


def seed_of(random_state):
    """The seed HopfieldNetwork draws for its asynchronous orders."""
    return int(np.random.default_rng(random_state).integers(0, 2**63))


@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudoinverse"])
def test_weights_match_reference(rule):
    patterns = bipolar(np.random.default_rng(0), 7, 50)
    net = rnnfast.HopfieldNetwork(rule=rule, dtype="float64").fit(patterns)
    want = ref.RULES[rule](patterns)
    np.testing.assert_allclose(net.weights_, want, rtol=0, atol=1e-12)
    assert net.n_patterns_ == 7 and net.n_features_in_ == 50
    assert (net.patterns_ == patterns).all()


# 64 units: Hebbian weights k/64 and every sum of them are exact in float64, so the reference
# decides ties exactly like the native integer counts. 3 patterns use the low-rank path, 40 the
# dense one. For Storkey and projection weights exact ties have probability zero.
@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudoinverse"])
@pytest.mark.parametrize("n_patterns", [3, 40])
@pytest.mark.parametrize(
    ("update", "order"), [("sync", "random"), ("async", "random"), ("async", "sequential")]
)
def test_recall_matches_reference(rule, n_patterns, update, order):
    rng = np.random.default_rng(1)
    n = 64
    patterns = bipolar(rng, n_patterns, n)
    probes = np.vstack([noisy(rng, patterns[:3], 0.15), bipolar(rng, 40, n)])
    threshold = 0.0 if rule == "hebbian" else 0.01
    net = rnnfast.HopfieldNetwork(
        rule=rule,
        update=update,
        order=order,
        threshold=threshold,
        max_iter=30,
        dtype="float64",
        random_state=5,
    ).fit(patterns)
    got = net.recall(probes)
    w = ref.RULES[rule](patterns)
    if update == "sync":
        want = ref.recall_sync(w, probes, threshold, 30)
    else:
        want = ref.recall_async(w, probes, threshold, 30, seed_of(5), order == "random")
    np.testing.assert_array_equal(got.states, want[0].astype(np.int8))
    np.testing.assert_array_equal(got.converged, want[1])
    np.testing.assert_array_equal(got.n_sweeps, want[2])
    np.testing.assert_array_equal(got.cycled, want[3])
    assert got.n_sweeps.dtype == np.int64 and got.converged.dtype == np.bool_


def test_synchronous_recall_reports_two_cycles():
    rng = np.random.default_rng(2)
    net = rnnfast.HopfieldNetwork(update="sync").fit(bipolar(rng, 12, 40))
    result = net.recall(bipolar(rng, 200, 40))
    assert result.cycled.any()
    assert not (result.cycled & result.converged).any()


def test_hebbian_float32_is_exact():
    rng = np.random.default_rng(3)
    patterns, probes = bipolar(rng, 9, 300), bipolar(rng, 50, 300)
    for update in ("sync", "async"):
        results = [
            rnnfast.HopfieldNetwork(update=update, dtype=dtype, random_state=0)
            .fit(patterns)
            .predict(probes)
            for dtype in ("float32", "float64")
        ]
        np.testing.assert_array_equal(*results)


def test_binary_patterns_answer_in_binary():
    rng = np.random.default_rng(4)
    patterns = bipolar(rng, 4, 60)
    probes = noisy(rng, patterns, 0.1)
    bipolar_net = rnnfast.HopfieldNetwork(random_state=0).fit(patterns)
    binary_net = rnnfast.HopfieldNetwork(random_state=0).fit((patterns + 1) // 2)
    assert binary_net.encoding_ == "binary" and bipolar_net.encoding_ == "bipolar"
    got = binary_net.predict((probes + 1) // 2)
    np.testing.assert_array_equal(got, (bipolar_net.predict(probes) + 1) // 2)
    assert set(np.unique(got)) <= {0, 1}
    np.testing.assert_allclose(binary_net.energy((probes + 1) // 2), bipolar_net.energy(probes))


def test_energy_matches_reference():
    rng = np.random.default_rng(5)
    patterns, states = bipolar(rng, 5, 30), bipolar(rng, 8, 30)
    net = rnnfast.HopfieldNetwork(rule="storkey", threshold=0.2, dtype="float64").fit(patterns)
    want = ref.energy(ref.storkey(patterns), states, 0.2)
    np.testing.assert_allclose(net.energy(states), want, rtol=1e-12)


@given(
    n=st.integers(2, 40),
    p=st.integers(1, 12),
    rule=st.sampled_from(["hebbian", "storkey", "pseudoinverse"]),
    threshold=st.sampled_from([0.0, 0.1, -0.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_asynchronous_updates_never_raise_the_energy(n, p, rule, threshold, seed):
    rng = np.random.default_rng(seed)
    net = rnnfast.HopfieldNetwork(
        rule=rule, threshold=threshold, max_iter=1, dtype="float64", random_state=seed
    ).fit(bipolar(rng, p, n))
    states = bipolar(rng, 4, n)
    energy = net.energy(states)
    for _ in range(4):
        states = net.predict(states)
        new = net.energy(states)
        assert (new <= energy + 1e-9).all()
        energy = new


def recall_accuracy(rule, n, p, noise, seed=0, correlated=False):
    """Mean fraction of units recalled correctly from ``noise``-corrupted stored patterns."""
    rng = np.random.default_rng(seed)
    if correlated:
        base = bipolar(rng, 1, n)
        patterns = np.where(rng.random((p, n)) < 0.35, bipolar(rng, p, n), base)
    else:
        patterns = bipolar(rng, p, n)
    net = rnnfast.HopfieldNetwork(rule=rule, random_state=0).fit(patterns)
    return net.score(noisy(rng, patterns, noise), patterns)


def test_hebbian_capacity_follows_theory():
    n = 400
    assert recall_accuracy("hebbian", n, int(0.05 * n), 0.1) > 0.999
    assert recall_accuracy("hebbian", n, int(0.2 * n), 0.1) < 0.9


def test_storkey_stores_more_than_hebbian():
    n, p = 200, 36  # 0.18 N: beyond Hebbian capacity (0.138 N), within Storkey's
    storkey, hebbian = (recall_accuracy(rule, n, p, 0.05) for rule in ("storkey", "hebbian"))
    assert storkey > 0.99 > hebbian


def test_pseudoinverse_stores_correlated_patterns():
    n, p = 200, 20
    assert recall_accuracy("pseudoinverse", n, p, 0.05, correlated=True) > 0.99
    assert recall_accuracy("hebbian", n, p, 0.05, correlated=True) < 0.9


@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudoinverse"])
def test_partial_fit_adds_patterns(rule):
    rng = np.random.default_rng(6)
    patterns = bipolar(rng, 8, 40)
    once = rnnfast.HopfieldNetwork(rule=rule, dtype="float64").fit(patterns)
    parts = rnnfast.HopfieldNetwork(rule=rule, dtype="float64")
    parts.partial_fit(patterns[:3]).partial_fit(patterns[3:])
    np.testing.assert_allclose(parts.weights_, once.weights_, atol=1e-12)
    assert parts.n_patterns_ == 8


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(7)
    net = rnnfast.HopfieldNetwork(rule="storkey", random_state=3).fit(bipolar(rng, 10, 100))
    probes = bipolar(rng, 150, 100)
    results = []
    before = rnnfast.get_num_threads()
    try:
        for threads in (1, 2):
            rnnfast.set_num_threads(threads)
            results.append(net.recall(probes))
    finally:
        rnnfast.set_num_threads(before)
    for a, b in zip(vars(results[0]).values(), vars(results[1]).values(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_many_python_threads_at_once():
    rng = np.random.default_rng(8)
    net = rnnfast.HopfieldNetwork(rule="storkey", random_state=1).fit(bipolar(rng, 10, 120))
    probes = bipolar(rng, 100, 120)
    want = net.predict(probes)
    results: list[np.ndarray] = []

    def work():
        for _ in range(5):
            results.append(net.predict(probes))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40
    for got in results:
        np.testing.assert_array_equal(got, want)


def test_random_state_fixes_the_orders():
    rng = np.random.default_rng(9)
    patterns, probes = bipolar(rng, 12, 50), bipolar(rng, 30, 50)

    def states(random_state):
        net = rnnfast.HopfieldNetwork(random_state=random_state).fit(patterns)
        return net.predict(probes)

    np.testing.assert_array_equal(states(4), states(4))
    assert not np.array_equal(states(4), states(5))


def test_clone_pickle_and_repr():
    net = rnnfast.HopfieldNetwork(rule="storkey", update="sync", random_state=0)
    assert repr(net) == "HopfieldNetwork(random_state=0, rule='storkey', update='sync')"
    assert clone(net).get_params() == net.get_params()
    patterns = bipolar(np.random.default_rng(10), 3, 20)
    net.fit(patterns)
    copy = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(copy.weights_, net.weights_)
    np.testing.assert_array_equal(copy.predict(patterns), net.predict(patterns))
    assert not hasattr(clone(net), "weights_")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rule": "oja"}, "rule"),
        ({"update": "parallel"}, "update"),
        ({"order": "reverse"}, "order"),
        ({"encoding": "ternary"}, "encoding"),
        ({"max_iter": 0}, "max_iter"),
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": "0"}, "threshold"),
        ({"dtype": "int8"}, "dtype"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters(params, message):
    net = rnnfast.HopfieldNetwork(**params)
    with pytest.raises(rnnfast.ParameterError, match=message):
        net.fit([[1, -1], [-1, 1]]).predict([[1, -1]])


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        ([1, -1, 1], rnnfast.ShapeError, "2-D"),
        (np.zeros((0, 4)), rnnfast.ShapeError, "0 sample"),
        ([[1, 0, -1]], rnnfast.EncodingError, "binary"),
        ([[0.5, 1.0]], rnnfast.EncodingError, "binary"),
        ([[np.nan, 1.0]], rnnfast.NonFiniteError, "NaN"),
        ([["a", "b"]], ValueError, "numeric"),
    ],
)
def test_bad_patterns(X, error, message):
    with pytest.raises(error, match=message):
        rnnfast.HopfieldNetwork().fit(X)


def test_bad_probes():
    net = rnnfast.HopfieldNetwork().fit([[1, 0, 1, 0]])
    with pytest.raises(rnnfast.ShapeError, match="expecting 4 features"):
        net.predict([[1, 0, 1]])
    with pytest.raises(rnnfast.EncodingError, match="binary"):
        net.predict([[1, -1, 1, -1]])
    with pytest.raises(NotFittedError):
        rnnfast.HopfieldNetwork().predict([[1, 0]])
    with pytest.raises(rnnfast.ParameterError, match="fitted in float32"):
        net.set_params(dtype="float64").partial_fit([[1, 1, 1, 1]])
