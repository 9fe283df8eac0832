"""Next-generation reservoir computing (NVAR): :class:`NVARRegressor`.

Instead of a random recurrent network, the features are the input at ``delay`` time points
``stride`` steps apart, the unique monomials of those values up to degree ``order``, and a
constant (Gauthier et al., 2021, "Next generation reservoir computing"); a ridge readout maps
them to the targets. The feature map is written with NumPy (it is a gather and a few elementwise
products, without a time loop); the readout reuses scikit-learn's conventions of the package.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .exceptions import ParameterError, ShapeError
from .reservoir import Array, _check_nonnegative

__all__ = ["NVARRegressor"]


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


class NVARRegressor(RegressorMixin, BaseEstimator):
    """Nonlinear vector autoregression with a ridge readout (next-generation RC).

    ``X`` is one series ``(steps, features)`` (rows are time steps). The feature vector at step
    ``t`` is ``[1, lin, monomials(lin)]`` with ``lin = [u[t], u[t - stride], ...,
    u[t - (delay - 1) stride]]``; the first ``(delay - 1) stride`` steps, which lack a full
    history, are zero-padded (and skipped by the fit).

    Parameters
    ----------
    delay : int, default=2
        Number of time points in the linear part.
    stride : int, default=1
        Steps between them.
    order : int, default=2
        Highest degree of the monomials (1: linear model).
    alpha : float, default=1e-6
        Ridge penalty (not on the constant).

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_nvar_features)
    intercept_ : ndarray of shape (n_outputs,)
    n_features_in_ : int

    Examples
    --------
    >>> from rnnfast import NVARRegressor
    >>> from rnnfast.datasets import lorenz
    >>> data = lorenz(2001)
    >>> model = NVARRegressor(delay=2, order=2, alpha=1e-6).fit(data[:1500], data[1:1501])
    >>> from rnnfast.metrics import nrmse
    >>> pred = model.predict(data[1500:-1])  # row 0 sees a zero-padded history
    >>> bool(nrmse(data[1502:], pred[1:]) < 1e-4)
    True

    """

    def __init__(self, delay: int = 2, stride: int = 1, order: int = 2, alpha: float = 1e-6):
        self.delay = delay
        self.stride = stride
        self.order = order
        self.alpha = alpha

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _features(self, x: Array) -> Array:
        delay, stride = _positive("delay", self.delay), _positive("stride", self.stride)
        order = _positive("order", self.order)
        steps, d = x.shape
        padded = np.vstack([np.zeros(((delay - 1) * stride, d)), x])
        lin = np.hstack(
            [
                padded[(delay - 1 - k) * stride : (delay - 1 - k) * stride + steps]
                for k in range(delay)
            ]
        )
        parts = [lin]
        for degree in range(2, order + 1):
            combos = np.array(
                list(itertools.combinations_with_replacement(range(lin.shape[1]), degree))
            )
            parts.append(np.prod(lin[:, combos], axis=2))
        return np.hstack(parts)

    def fit(self, X: Any, y: Any) -> NVARRegressor:
        """Fits the ridge readout; ``y`` has one row per time step of ``X``."""
        alpha = _check_nonnegative("alpha", self.alpha)
        x, target = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        features = self._features(x)
        self._y_1d = target.ndim == 1
        target = target.reshape(len(target), -1)
        start = (int(self.delay) - 1) * int(self.stride)
        if start >= len(features):
            raise ShapeError(
                f"n_samples = {len(features)}: need more steps than the {start} of history"
            )
        design = np.hstack([features[start:], np.ones((len(features) - start, 1))])
        penalty = alpha * np.eye(design.shape[1])
        penalty[-1, -1] = 0.0
        gram = design.T @ design + penalty
        solution = np.linalg.lstsq(gram, design.T @ target[start:], rcond=None)[0]
        self.coef_ = np.ascontiguousarray(solution[:-1].T)
        self.intercept_ = solution[-1]
        return self

    def predict(self, X: Any) -> Array:
        """One prediction per time step of ``X`` (its first steps see a zero-padded history)."""
        check_is_fitted(self)
        x = validate_data(self, X, reset=False, dtype=np.float64)
        out = self._features(x) @ self.coef_.T + self.intercept_
        return np.asarray(out[:, 0] if self._y_1d else out)
