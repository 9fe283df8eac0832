"""NVAR (next-generation reservoir computing): the native feature map, fit, prediction and
closed loop against plain NumPy, stored history, batches, Lorenz forecasting, errors, pickling
and threads."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from esn_reference import nvar_features, nvar_forecast, ridge
from rnnfast import NVARRegressor
from rnnfast.datasets import lorenz
from rnnfast.exceptions import NonFiniteError, ParameterError, ShapeError
from rnnfast.metrics import nrmse
from sklearn.base import clone

# float64 features of values ~1 agree to rounding; float32 to its precision (products of up to
# three values, each rounded once: a few ulps of 1.2e-7).
TOL = {"float64": 1e-12, "float32": 1e-5}
CONFIGS = [(1, 1, 1), (2, 1, 2), (3, 2, 2), (2, 3, 3), (4, 1, 1)]


def series(steps, d=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(steps, d))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("delay", "stride", "order"), CONFIGS)
def test_features_match_numpy(dtype, delay, stride, order):
    u = series(60)
    model = NVARRegressor(delay, stride, order, dtype=dtype).fit(u[:40], u[1:41])
    got = model.nvar_features(u[40:], reset=True)
    want = nvar_features(u[40:], delay, stride, order)
    assert got.dtype == np.dtype(dtype)
    assert got.shape == want.shape == (20, model.n_nvar_features_)
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
    # Without reset, the delays before the first step come from the end of the training series.
    history = u[40 - (delay - 1) * stride : 40]
    cont = nvar_features(u[40:], delay, stride, order, history=history)
    np.testing.assert_allclose(model.nvar_features(u[40:]), cont, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("delay", "stride", "order"), CONFIGS)
def test_fit_and_predict_match_numpy_ridge(dtype, delay, stride, order):
    u = series(300, seed=1)
    y = np.stack([np.sin(3 * u[:, 0]) * u[:, 1], u[:, 2] ** 2], axis=1)
    model = NVARRegressor(delay, stride, order, alpha=1e-3, dtype=dtype).fit(u, y)
    skip = (delay - 1) * stride
    coef, intercept = ridge([nvar_features(u, delay, stride, order)], [y], skip, 1e-3)
    # alpha=1e-3 keeps the normal equations well conditioned: both solvers agree to ~1e-9; in
    # float32 the features (hence the Gram sums) carry relative errors of ~1e-7.
    tol = 1e-7 if dtype == "float64" else 1e-3
    np.testing.assert_allclose(model.coef_, coef, rtol=tol, atol=tol)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=tol, atol=tol)
    test = series(50, seed=2)
    want = nvar_features(test, delay, stride, order, history=u[len(u) - skip :]) @ coef.T
    pred = model.predict(test)
    assert pred.dtype == np.dtype(dtype) and model.coef_.dtype == np.dtype(dtype)
    np.testing.assert_allclose(pred, want + intercept, rtol=tol, atol=tol)


def test_existing_lorenz_example_still_holds():
    # The former NumPy implementation's test: features by hand at step t, [u_t, u_{t-1}],
    # their 21 quadratic monomials, then 1.
    data = lorenz(1601)
    model = NVARRegressor(delay=2, stride=1, order=2, alpha=1e-6).fit(data[:1200], data[1:1201])
    lin = np.hstack([data[1:1200], data[:1199]])
    quad = np.array([[a * b for i, a in enumerate(row) for b in row[i:]] for row in lin])
    design = np.hstack([lin, quad, np.ones((len(lin), 1))])
    penalty = 1e-6 * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    sol = np.linalg.solve(design.T @ design + penalty, design.T @ data[2:1201])
    # ill-conditioned normal equations (monomials up to ~1e3): solvers differ by ~1e-4 on
    # values of size ~20, so compare fitted values, not coefficients
    np.testing.assert_allclose(model.predict(data[:1200], reset=True)[1:], design @ sol, atol=1e-3)
    pred = model.predict(data[1200:-1], reset=True)
    assert nrmse(data[1202:], pred[1:]) < 1e-4
    # The stored history makes the first row a good prediction too.
    assert nrmse(data[1201:], model.predict(data[1200:-1])) < 1e-4


@pytest.mark.parametrize("order", [3, 4])
def test_nearly_singular_features_still_fit(order):
    # Cubic and quartic monomials of two nearly equal delays are collinear to working
    # precision (Cholesky fails even after equilibration): the minimum-norm least-squares
    # solution is used, as np.linalg.lstsq would give, and predicts better than order 2 (6.6e-5).
    data = lorenz(3001, dt=0.025)
    model = NVARRegressor(delay=2, order=order, alpha=1e-6).fit(data[:2000], data[1:2001])
    assert nrmse(data[2001:], model.predict(data[2000:-1])) < 1e-6


def test_history_is_kept_and_never_changed_by_predict():
    u = series(100, d=2)
    model = NVARRegressor(delay=3, stride=2).fit(u[:80], u[1:81])
    np.testing.assert_array_equal(model.last_inputs_, u[80 - 5 : 80])
    whole = model.predict(u[80:])
    np.testing.assert_array_equal(model.predict(u[80:]), whole)  # twice: same
    np.testing.assert_array_equal(model.last_inputs_, u[75:80])
    # One series predicted in two pieces after resetting equals one call with reset...
    fresh = model.predict(u[60:], reset=True)
    assert not np.allclose(fresh[:4], model.predict(u[60:64]))
    # ...and a batch always starts from zeros, like reset=True.
    np.testing.assert_array_equal(model.predict(u[None, 60:])[0], fresh)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ragged_batches_fit_and_predict_each_sequence_alone(dtype):
    delay, stride, order = 2, 2, 2
    seqs = [series(n, d=2, seed=n) for n in (30, 55, 4, 41)]
    targets = [np.tanh(s[:, :1] * s[:, 1:]) for s in seqs]
    model = NVARRegressor(delay, stride, order, alpha=1e-2, dtype=dtype).fit(seqs, targets)
    assert model.last_inputs_ is None
    feats = [nvar_features(s, delay, stride, order) for s in seqs]
    coef, intercept = ridge(feats, targets, (delay - 1) * stride, 1e-2)
    tol = 1e-8 if dtype == "float64" else 1e-3
    np.testing.assert_allclose(model.coef_, coef, rtol=tol, atol=tol)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=tol, atol=tol)
    preds = model.predict(seqs)
    assert [p.shape for p in preds] == [t.shape for t in targets]
    for p, s, f in zip(preds, seqs, feats, strict=True):
        np.testing.assert_array_equal(p, model.predict(s, reset=True))
        np.testing.assert_allclose(p, f @ coef.T + intercept, rtol=tol, atol=tol)
    # A 3-D batch of equal lengths, with 1-D targets per step.
    batch = np.stack([s[:30] for s in seqs if len(s) >= 30])
    model3 = NVARRegressor(delay, stride, order, dtype=dtype).fit(batch, batch[:, :, 0])
    pred3 = model3.predict(batch)
    assert pred3.shape == (3, 30)
    np.testing.assert_array_equal(pred3[1], model3.predict(batch[1], reset=True))
    assert -1 < model3.score(batch, batch[:, :, 0]) <= 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("delay", "stride", "order"), [(1, 1, 2), (2, 1, 2), (3, 2, 3)])
def test_forecast_matches_numpy_closed_loop(dtype, delay, stride, order):
    t = np.arange(400) * 0.1
    u = np.stack([np.sin(t), np.cos(1.3 * t)], axis=1)
    model = NVARRegressor(delay, stride, order, alpha=1e-4, dtype=dtype).fit(u[:-1], u[1:])
    coef, b = model.coef_.astype(np.float64), model.intercept_.astype(np.float64)
    rows = (delay - 1) * stride + 1
    got = model.forecast(30)
    want = nvar_forecast(coef, b, u[-1 - rows : -1], 30, delay, stride, order)
    assert got.dtype == np.dtype(dtype) and got.shape == (30, 2)
    tol = 1e-9 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # From a warm-up series: its last inputs; shorter than the window: zero-padded in front.
    warm = model.forecast(10, warmup=u[100:200])
    want = nvar_forecast(coef, b, u[200 - rows : 200], 10, delay, stride, order)
    np.testing.assert_allclose(warm, want, rtol=tol, atol=tol)
    short = np.vstack([np.zeros((rows - 1, 2)), u[:1]])
    want = nvar_forecast(coef, b, short, 5, delay, stride, order)
    np.testing.assert_allclose(model.forecast(5, warmup=u[:1]), want, rtol=tol, atol=tol)


def _paper_lorenz():
    """Lorenz '63 as in the NG-RC paper's code: scipy's adaptive RK23 (default tolerances)
    sampled every dt = 0.025 from a point on the attractor."""
    from scipy.integrate import solve_ivp

    def f(_, s):
        return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    n = round(60 / 0.025)
    start = [17.67715816276679, 12.931379185960404, 43.91404334248268]
    return solve_ivp(f, (0, 60), start, t_eval=np.linspace(0, 60, n + 1), method="RK23").y.T


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lorenz_forecast_lasts_several_lyapunov_times(dtype):
    # Gauthier et al. (2021): delay 2, order 2, dt = 0.025, 5 time units of warm-up, 10 of
    # training, ridge 2.5e-6. The Lyapunov time is 1.104 time units (44 steps).
    data = _paper_lorenz()
    warm, train, lyap = 200, 400, 44
    model = NVARRegressor(delay=2, order=2, alpha=2.5e-6, dtype=dtype)
    model.fit(data[warm - 1 : warm + train - 1], data[warm : warm + train])
    future = model.forecast(10 * lyap)
    truth = data[warm + train : warm + train + 10 * lyap]
    err = np.sqrt(((future - truth) ** 2).mean(axis=1) / data.var())
    # The paper reports a one-Lyapunov-time NRMSE of 4.5e-3 (this split: 1.3e-3).
    assert np.sqrt((err[:lyap] ** 2).mean()) < 1e-2
    # The error stays below 0.3 of the attractor's spread for 6.6 Lyapunov times here.
    assert (err[: 5 * lyap] < 0.3).all()


def test_bad_inputs_raise_clear_errors():
    u = series(50)
    with pytest.raises(ParameterError, match="delay"):
        NVARRegressor(delay=0).fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="stride"):
        NVARRegressor(stride=-1).fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="order"):
        NVARRegressor(order=1.5).fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="alpha"):
        NVARRegressor(alpha=-1).fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="dtype"):
        NVARRegressor(dtype="int8").fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="n_jobs"):
        NVARRegressor(n_jobs=0).fit(u[:-1], u[1:])
    with pytest.raises(ParameterError, match="more than 16384"):
        NVARRegressor(delay=10, order=4).fit(u[:-1], u[1:])
    with pytest.raises(ShapeError, match="n_samples = 3"):
        NVARRegressor(delay=2, stride=3).fit(u[:3], u[1:4])
    with pytest.raises(ShapeError, match="history"):
        NVARRegressor(delay=3).fit([u[:2], u[2:4]], [u[1:3], u[3:5]])
    bad = u.copy()
    bad[7, 1] = np.nan
    with pytest.raises(NonFiniteError):
        NVARRegressor().fit(bad[:-1], u[1:])
    with pytest.raises(ValueError, match="NaN"):
        NVARRegressor().fit(u[:-1], bad[1:])
    with pytest.raises(ShapeError, match="y"):
        NVARRegressor().fit(u[:-1], u[2:])
    with pytest.raises(ShapeError, match="requires y"):
        NVARRegressor().fit(u, None)
    model = NVARRegressor().fit(u[:-1], u[1:])
    with pytest.raises(ShapeError, match="3 features"):
        model.predict(u[:, :2])
    with pytest.raises(NonFiniteError):
        model.predict(bad)
    with pytest.raises(ShapeError):
        model.predict(u[:, 0])
    with pytest.raises(ParameterError, match="n_steps"):
        model.forecast(0)
    with pytest.raises(ShapeError, match="warmup"):
        model.forecast(3, warmup=u[None])
    with pytest.raises(ParameterError, match="must match"):
        NVARRegressor().fit(u, u[:, 0]).forecast(3)
    batch = NVARRegressor().fit(u[None, :-1], u[None, 1:])
    with pytest.raises(ParameterError, match="warmup="):
        batch.forecast(3)
    assert batch.forecast(3, warmup=u).shape == (3, 3)


def test_pickle_and_clone():
    u = series(80)
    model = NVARRegressor(delay=3, stride=2, order=2, dtype="float32").fit(u[:-1], u[1:])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(u[:20]), model.predict(u[:20]))
    np.testing.assert_array_equal(again.forecast(5), model.forecast(5))
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")


def test_many_python_threads_match_serial_calls():
    seqs = [series(n, seed=n) for n in range(200, 260, 5)]
    model = NVARRegressor(delay=2, order=3, n_jobs=2).fit(seqs, [s[:, :2] for s in seqs])
    serial = [model.predict(s, reset=True) for s in seqs]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda s: model.predict(s, reset=True), seqs * 4))
    for got, want in zip(results, serial * 4, strict=True):
        np.testing.assert_array_equal(got, want)
    # The thread count never changes a batch result.
    one = NVARRegressor(delay=2, order=3, n_jobs=1).fit(seqs, [s[:, :2] for s in seqs])
    np.testing.assert_array_equal(one.coef_, model.coef_)
    for a, b in zip(one.predict(seqs), model.predict(seqs), strict=True):
        np.testing.assert_array_equal(a, b)
