"""RNNRegressor and RNNClassifier: learning, the scikit-learn API around them, and bad input."""

from __future__ import annotations

import pickle
import threading
import warnings

import numpy as np
import pytest
import rnnfast
from gil_probe import ticks_during
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def sine_windows(n, width=20, start=0.0):
    t = start + np.arange(n + width + 1) * 0.1
    wave = np.sin(t) + 0.5 * np.sin(2.3 * t)
    X = np.stack([wave[i : i + width] for i in range(n)])[:, :, None]
    return X.astype(np.float32), wave[width : width + n]


def adding_problem(n, steps, rng):
    """Two marked values among ``steps`` uniform ones; the target is their sum."""
    values = rng.uniform(size=(n, steps))
    marks = np.zeros((n, steps))
    rows = np.arange(n)
    marks[rows, rng.integers(0, steps // 2, n)] = 1
    marks[rows, rng.integers(steps // 2, steps, n)] = 1
    return np.stack([values, marks], axis=2).astype(np.float32), (values * marks).sum(1)


def halves(n, rng, steps=12):
    """Whether a sequence's first half sums higher than its second: only order tells."""
    X = rng.normal(size=(n, steps, 1)).astype(np.float32)
    first = X[:, : steps // 2, 0].sum(1) > X[:, steps // 2 :, 0].sum(1)
    return X, np.where(first, "first", "second")


# -- learning ------------------------------------------------------------------------------------


def test_sine_forecaster_predicts_the_future_of_the_series():
    X, y = sine_windows(600)
    future_X, future_y = sine_windows(200, start=70.0)
    model = rnnfast.RNNRegressor("gru", (24,), learning_rate_init=0.01, max_iter=40, random_state=0)
    model.fit(X, y)
    assert model.score(future_X, future_y) > 0.99


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_solve_the_adding_problem_over_50_steps(cell):
    rng = np.random.default_rng(0)
    X, y = adding_problem(3000, 50, rng)
    test_X, test_y = adding_problem(500, 50, rng)
    model = rnnfast.RNNRegressor(
        cell, (32,), learning_rate_init=0.01, max_iter=15, clip_grad_norm=1.0, random_state=0
    ).fit(X, y)
    # Predicting the mean scores the variance, about 0.167.
    assert np.mean((model.predict(test_X) - test_y) ** 2) < 0.01


def test_vanilla_rnn_struggles_with_the_adding_problem():
    rng = np.random.default_rng(0)
    X, y = adding_problem(3000, 50, rng)
    test_X, test_y = adding_problem(500, 50, rng)
    model = rnnfast.RNNRegressor(
        "rnn", (32,), learning_rate_init=0.01, max_iter=15, clip_grad_norm=1.0, random_state=0
    ).fit(X, y)
    assert np.mean((model.predict(test_X) - test_y) ** 2) > 0.1


def test_classifier_learns_a_task_that_needs_order():
    rng = np.random.default_rng(1)
    X, y = halves(2000, rng)
    test_X, test_y = halves(300, rng)
    clf = rnnfast.RNNClassifier("lstm", (16,), learning_rate_init=0.01, max_iter=30, random_state=0)
    clf.fit(X, y)
    assert clf.score(test_X, test_y) > 0.9
    assert set(clf.classes_) == {"first", "second"}
    proba = clf.predict_proba(test_X)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(test_X)), proba, rtol=1e-4)


def test_many_to_many_tagging_on_ragged_sequences():
    rng = np.random.default_rng(2)
    X = [rng.normal(size=(n, 2)).astype(np.float32) for n in rng.integers(5, 30, 200)]
    # Each step's label: is the running sum so far positive (needs the state).
    y = [np.where(np.cumsum(x[:, 0]) > 0, 1, 0) for x in X]
    clf = rnnfast.RNNClassifier("gru", (16,), learning_rate_init=0.02, max_iter=30, random_state=0)
    clf.fit(X, y)
    assert clf.output_mode_ == "many_to_many"
    predicted = clf.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    assert clf.score(X, y) > 0.9


def test_multilabel_classification_uses_an_indicator_matrix():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 8, 2)).astype(np.float32)
    y = np.stack([X[:, :, 0].sum(1) > 0, X[:, :, 1].sum(1) > 0, X[:, -1, 0] > 0], axis=1)
    clf = rnnfast.RNNClassifier("gru", (16,), learning_rate_init=0.02, max_iter=40, random_state=0)
    clf.fit(X, y.astype(int))
    assert clf.predict(X).shape == (400, 3)
    assert clf.predict_proba(X).shape == (400, 3)
    assert clf.score(X, y.astype(int)) > 0.8


def test_stacked_bidirectional_layers_of_different_widths_and_float64():
    X, y = sine_windows(300)
    model = rnnfast.RNNRegressor(
        "lstm",
        (16, 8),
        bidirectional=True,
        learning_rate_init=0.01,
        max_iter=30,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    assert model.predict(X).dtype == np.float64
    assert [layer.hidden_size for layer in model.network_.layers] == [16, 8]
    assert model.score(X, y) > 0.9


def test_truncated_bptt_trains_long_series():
    t = np.arange(4000) * 0.05
    X = np.sin(t)[:, None].astype(np.float32)
    y = np.sin(t + 0.5)
    model = rnnfast.RNNRegressor(
        "gru", (16,), bptt_steps=50, learning_rate_init=0.02, max_iter=150, random_state=0
    ).fit(X, y)
    assert model.score(X, y) > 0.9


# -- the network_ is the engine ------------------------------------------------------------------


def test_network_is_the_inference_engine_with_the_trained_weights():
    X, y = sine_windows(100)
    model = rnnfast.RNNRegressor("lstm", (8,), max_iter=3, random_state=0).fit(X, y)
    net = model.network_
    assert isinstance(net, rnnfast.SequenceModel)
    assert isinstance(net.layers[0], rnnfast.LSTM)
    _, (h, _) = net.layers[0](X)
    manual = h[0] @ net.head_weight.T + net.head_bias
    np.testing.assert_allclose(model.predict(X), manual[:, 0], rtol=1e-6)


# -- scikit-learn integration --------------------------------------------------------------------


def test_clone_get_params_and_pickle_round_trip():
    X, y = sine_windows(100)
    model = rnnfast.RNNRegressor("gru", (8,), max_iter=5, random_state=0)
    assert clone(model).get_params() == model.get_params()
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert not hasattr(clone(model), "network_")


def test_grid_search_over_cell_and_hidden_sizes_with_two_jobs():
    rng = np.random.default_rng(4)
    X, y = halves(200, rng)
    search = GridSearchCV(
        rnnfast.RNNClassifier(learning_rate_init=0.02, max_iter=10, random_state=0),
        {"cell": ["gru", "lstm"], "hidden_sizes": [(8,), (16, 8)]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert set(search.cv_results_["param_cell"]) == {"gru", "lstm"}
    assert search.best_estimator_.predict(X).shape == (200,)


def test_pipeline_with_a_scaler_on_one_long_sequence():
    t = np.arange(500) * 0.1
    X = np.column_stack([100 + 50 * np.sin(t), np.cos(t)])  # badly scaled features
    y = np.sin(t + 0.3)
    pipe = make_pipeline(
        StandardScaler(),
        rnnfast.RNNRegressor("gru", (16,), learning_rate_init=0.02, max_iter=150, random_state=0),
    ).fit(X, y)
    assert pipe.predict(X).shape == (500,)
    assert pipe.score(X, y) > 0.9


def test_partial_fit_needs_classes_first_and_refuses_unknown_labels():
    rng = np.random.default_rng(5)
    X, y = halves(100, rng)
    clf = rnnfast.RNNClassifier("gru", (8,), random_state=0)
    with pytest.raises(rnnfast.ParameterError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=["first", "second"])
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 2
    with pytest.raises(rnnfast.ParameterError, match="not in classes_"):
        clf.partial_fit(X, np.full(100, "third"))


def test_warm_start_continues_and_cold_start_restarts():
    X, y = sine_windows(100)
    model = rnnfast.RNNRegressor("gru", (8,), max_iter=3, warm_start=True, random_state=0)
    model.fit(X, y)
    first_curve = list(model.loss_curve_)
    model.fit(X, y)
    assert model.n_iter_ == 6 and model.loss_curve_[:3] == first_curve
    model.set_params(warm_start=False).fit(X, y)
    assert model.n_iter_ == 3 and model.loss_curve_ == first_curve


def test_early_stopping_keeps_the_best_validation_weights():
    X, y = sine_windows(300)
    model = rnnfast.RNNRegressor(
        "gru",
        (8,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    assert model.best_loss_ is None
    assert len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_convergence_stops_on_tol_or_warns():
    X, y = sine_windows(100)
    with pytest.warns(ConvergenceWarning):
        rnnfast.RNNRegressor("gru", (8,), max_iter=2, random_state=0).fit(X, y)
    model = rnnfast.RNNRegressor("gru", (8,), max_iter=500, tol=1.0, n_iter_no_change=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    # As in scikit-learn's MLP: the first epoch sets the best loss, then training stops once
    # more than n_iter_no_change epochs in a row failed to beat it by tol.
    assert model.n_iter_ == 4


def test_sgd_schedules_change_the_learning_rate():
    X, y = sine_windows(100)
    params = dict(solver="sgd", max_iter=20, random_state=0, learning_rate_init=0.05)
    constant = rnnfast.RNNRegressor("gru", (8,), **params).fit(X, y)
    scaled = rnnfast.RNNRegressor("gru", (8,), learning_rate="invscaling", **params).fit(X, y)
    assert constant.loss_curve_[0] == scaled.loss_curve_[0]
    assert constant.loss_curve_[-1] != scaled.loss_curve_[-1]
    adaptive = rnnfast.RNNRegressor(
        "gru", (8,), learning_rate="adaptive", tol=10.0, n_iter_no_change=1, **params
    ).fit(X, y)
    assert adaptive._optimizer.learning_rate < 0.05


def test_results_do_not_depend_on_the_thread_count():
    X, y = sine_windows(200)
    before = rnnfast.get_num_threads()
    try:
        fits = []
        for threads in (1, 2):
            rnnfast.set_num_threads(threads)
            fits.append(rnnfast.RNNRegressor("lstm", (8,), max_iter=5, random_state=3).fit(X, y))
    finally:
        rnnfast.set_num_threads(before)
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))


def test_verbose_prints_each_epoch(capsys):
    X, y = sine_windows(50)
    rnnfast.RNNRegressor("gru", (4,), max_iter=3, verbose=1, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Iter")]
    assert lines[0].startswith("Iteration 1, loss = ") and len(lines) == 3


def test_verbose_2_shows_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    X, y = sine_windows(50)
    rnnfast.RNNRegressor("gru", (4,), max_iter=3, verbose=2, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err


def test_ctrl_c_stops_cleanly_with_the_best_weights(monkeypatch):
    X, y = sine_windows(100)
    model = rnnfast.RNNRegressor("gru", (8,), max_iter=50, learning_rate_init=0.01)
    make_trainer = model._trainer
    calls = {"n": 0}

    class Interrupting:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def epoch(self, *args):
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
            return self.inner.epoch(*args)

    monkeypatch.setattr(model, "_trainer", lambda *a: Interrupting(make_trainer(*a)))
    model.fit(X, y)
    assert model.n_iter_ == 4
    assert model.score(X, y) > 0  # a usable, fitted model


def test_concurrent_predictions_from_many_threads():
    X, y = sine_windows(100)
    model = rnnfast.RNNRegressor("gru", (8,), max_iter=3, random_state=0).fit(X, y)
    expected = model.predict(X)
    results = [None] * 8

    def work(i):
        results[i] = model.predict(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


# -- bad input -----------------------------------------------------------------------------------


def test_mismatched_X_and_y_lengths():
    X, y = sine_windows(50)
    with pytest.raises(rnnfast.ShapeError, match="y"):
        rnnfast.RNNRegressor().fit(X, y[:-1])
    with pytest.raises(rnnfast.ShapeError, match=r"y\[1\]"):
        rnnfast.RNNRegressor().fit([X[0], X[1]], [y[:20], y[:3]])


def test_nan_in_X_or_y():
    X, y = sine_windows(50)
    bad_X = X.copy()
    bad_X[3, 4, 0] = np.nan
    with pytest.raises(rnnfast.NonFiniteError, match="X"):
        rnnfast.RNNRegressor().fit(bad_X, y)
    bad_y = y.copy()
    bad_y[0] = np.inf
    with pytest.raises(rnnfast.NonFiniteError, match="y"):
        rnnfast.RNNRegressor().fit(X, bad_y)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"cell": "transformer"}, "cell"),
        ({"solver": "lbfgs"}, "solver"),
        ({"hidden_sizes": (8, -1)}, "hidden_sizes"),
        ({"hidden_sizes": ()}, "hidden_sizes"),
        ({"learning_rate_init": 0}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"batch_size": 0}, "batch_size"),
        ({"alpha": -1.0}, "alpha"),
        ({"momentum": 1.0}, "momentum"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"clip_grad_norm": 0.0}, "clip_grad_norm"),
        ({"bptt_steps": 0}, "bptt_steps"),
        ({"bptt_steps": 5, "bidirectional": True}, "bptt_steps"),
        ({"output_mode": "one_to_many"}, "output_mode"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_invalid_parameters_are_refused_in_fit(params, name):
    X, y = sine_windows(20)
    model = rnnfast.RNNRegressor(**params)  # stored verbatim, never checked here
    with pytest.raises(rnnfast.ParameterError, match=name):
        model.fit(X, y)


def test_unfitted_use_raises_not_fitted_error():
    X, _ = sine_windows(5)
    with pytest.raises(NotFittedError):
        rnnfast.RNNRegressor().predict(X)
    with pytest.raises(NotFittedError):
        rnnfast.RNNClassifier().predict_proba(X)


def test_wrong_feature_count_at_predict():
    X, y = sine_windows(20)
    model = rnnfast.RNNRegressor("gru", (4,), max_iter=1).fit(X, y)
    with pytest.raises(rnnfast.ShapeError, match="features"):
        model.predict(np.zeros((3, 20, 2), dtype=np.float32))


def test_classifier_refuses_continuous_targets_and_a_single_class():
    X, y = sine_windows(20)
    with pytest.raises(ValueError, match="continuous"):
        rnnfast.RNNClassifier().fit(X, y)
    with pytest.raises(ValueError, match="class"):
        rnnfast.RNNClassifier().fit(X, np.zeros(20, dtype=int))


def test_diverging_training_raises_numerical_error():
    X, y = sine_windows(50)
    model = rnnfast.RNNRegressor(
        "rnn", (16,), nonlinearity="relu", solver="sgd", learning_rate_init=1e8, max_iter=20
    )
    with pytest.raises(rnnfast.NumericalError, match="diverged"):
        model.fit(X, y * 1e3)


def test_fits_from_many_threads_match_serial_fits():
    X, y = sine_windows(300)
    settings = [dict(cell=c, hidden_sizes=(h,)) for c in ("gru", "lstm") for h in (8, 12)]

    def fit(params):
        return rnnfast.RNNRegressor(max_iter=4, random_state=0, **params).fit(X, y)

    serial = [fit(p).loss_curve_ for p in settings]
    results = [None] * len(settings)

    def work(i):
        results[i] = fit(settings[i]).loss_curve_

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(settings))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == serial


def test_a_training_epoch_releases_the_gil():
    from rnnfast import _rnnfast

    trainer = _rnnfast.Trainer("lstm", 8, [64], False, True, 1, "last_step", "squared_error")
    params = np.random.default_rng(0).uniform(-0.1, 0.1, trainer.n_params).astype(np.float32)
    first, second = np.zeros_like(params), np.zeros_like(params)
    x = np.random.default_rng(1).normal(size=(2048, 50, 8)).astype(np.float32)
    y = np.zeros((2048, 1), dtype=np.float32)
    order = np.arange(2048, dtype=np.int64)
    during, elapsed = ticks_during(
        lambda: trainer.epoch(params, first, second, 0, x, None, y, order, 1e-3)
    )
    # Had the epoch held the GIL, the counter could not have moved while it ran.
    assert elapsed > 0.05
    assert during > 1000


def test_native_trainer_refuses_aliased_or_read_only_state_arrays():
    from rnnfast import _rnnfast

    trainer = _rnnfast.Trainer("gru", 2, [3], False, True, 1, "last_step", "squared_error")
    params = np.zeros(trainer.n_params, dtype=np.float32)
    x, y = np.zeros((2, 4, 2), dtype=np.float32), np.zeros((2, 1), dtype=np.float32)
    order = np.arange(2, dtype=np.int64)
    with pytest.raises(ValueError, match="borrow"):
        trainer.epoch(params, params, params.copy(), 0, x, None, y, order, 0.1)
    frozen = params.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="borrow"):
        trainer.epoch(frozen, params.copy(), params.copy(), 0, x, None, y, order, 0.1)
