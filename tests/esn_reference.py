"""Plain NumPy echo state network: the obviously-correct reference for the native core."""

from __future__ import annotations

import itertools

import numpy as np


def dense_reservoir(est):
    """The fitted estimator's recurrent matrix as a dense float64 array."""
    n = est.n_reservoir
    w = np.zeros((n, n))
    for i in range(n):
        span = slice(est.reservoir_indptr_[i], est.reservoir_indptr_[i + 1])
        w[i, est.reservoir_indices_[span]] = est.reservoir_weights_[span]
    return w


def states(est, u, x0=None, w_in=None):
    """``x[t] = (1 - a) x[t-1] + a f(W x[t-1] + W_in u[t] + b)`` for one series, float64."""
    w = dense_reservoir(est)
    w_in = est.input_weights_.astype(np.float64) if w_in is None else w_in
    b = est.bias_.astype(np.float64)
    f = {"tanh": np.tanh, "identity": lambda v: v, "relu": lambda v: np.maximum(v, 0.0)}
    act = f[est.activation]
    a = est.leak_rate
    x = np.zeros(est.n_reservoir) if x0 is None else np.asarray(x0, dtype=np.float64)
    out = []
    for step in np.asarray(u, dtype=np.float64):
        x = (1 - a) * x + a * act(w @ x + w_in @ step + b)
        out.append(x)
    return np.array(out)


def ridge(states_list, targets_list, washout, alpha):
    """Ridge with an unpenalised intercept on the post-washout rows of every sequence."""
    s = np.concatenate([x[washout:] for x in states_list])
    t = np.concatenate([y[washout:] for y in targets_list])
    design = np.hstack([s, np.ones((len(s), 1))])
    penalty = alpha * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0
    sol = np.linalg.solve(design.T @ design + penalty, design.T @ t)
    return sol[:-1].T, sol[-1]


def ridge_lstsq(features, targets, alpha):
    """Ridge with an unpenalised intercept by least squares on the centred rows stacked on
    ``sqrt(alpha) I``: no normal equations, so it stays accurate when they are ill-conditioned."""
    x_mean, y_mean = features.mean(axis=0), targets.mean(axis=0)
    n = features.shape[1]
    design = np.vstack([features - x_mean, np.sqrt(alpha) * np.eye(n)])
    rhs = np.vstack([targets - y_mean, np.zeros((n, targets.shape[1]))])
    coef = np.linalg.lstsq(design, rhs, rcond=None)[0]
    return coef.T, y_mean - x_mean @ coef


def feedback_predict(est, u, x0, y0):
    """Closed loop on the output: ``u'[t] = [u[t], y[t-1]]``, ``y[t] = coef x[t] + b``."""
    w_in = np.hstack([est.input_weights_, est.feedback_weights_]).astype(np.float64)
    x, y, out = np.asarray(x0, dtype=np.float64), np.asarray(y0, dtype=np.float64), []
    for step in np.asarray(u, dtype=np.float64):
        x = states(est, np.concatenate([step, y])[None], x0=x, w_in=w_in)[-1]
        y = est.coef_ @ x + est.intercept_
        out.append(y)
    return np.array(out)


def nvar_features(x, delay, stride, order, history=None):
    """NVAR features of one series ``(steps, d)``, float64: ``[u[t], u[t - stride], ...]`` and
    their monomials of degree 2..order in ``combinations_with_replacement`` order.

    ``history`` holds the ``(delay - 1) * stride`` inputs before the series (zeros when None).
    """
    x = np.asarray(x, dtype=np.float64)
    steps, d = x.shape
    before = (delay - 1) * stride
    history = np.zeros((before, d)) if history is None else np.asarray(history, np.float64)
    padded = np.vstack([history, x])
    lin = np.hstack(
        [padded[(delay - 1 - k) * stride : (delay - 1 - k) * stride + steps] for k in range(delay)]
    )
    parts = [lin]
    for degree in range(2, order + 1):
        combos = np.array(
            list(itertools.combinations_with_replacement(range(lin.shape[1]), degree))
        )
        parts.append(np.prod(lin[:, combos], axis=2))
    return np.hstack(parts)


def nvar_forecast(coef, intercept, window, n_steps, delay, stride, order):
    """Closed loop from the last inputs ``window`` (oldest first): each prediction appended to
    the series and fed back; the first one is dropped (the estimators' convention)."""
    series = [np.asarray(row, dtype=np.float64) for row in window]
    out = []
    for _ in range(n_steps + 1):
        recent = np.array(series[-((delay - 1) * stride + 1) :])
        row = nvar_features(recent, delay, stride, order)[-1]
        y = coef @ row + intercept
        series.append(y)
        out.append(y)
    return np.array(out[1:])
