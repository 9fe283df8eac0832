"""Metrics for sequence models and reservoir diagnostics.

>>> import numpy as np
>>> from rnnfast.metrics import nrmse
>>> nrmse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from . import _rnnfast
from .exceptions import ShapeError

__all__ = ["effective_spectral_radius", "memory_capacity", "nrmse"]


def nrmse(y_true: Any, y_pred: Any) -> float:
    """Normalised root-mean-square error: ``RMSE / std(y_true)`` over all values.

    0 is perfect; 1 is no better than predicting the mean.

    >>> import numpy as np
    >>> round(nrmse(np.array([0.0, 2.0]), np.array([1.0, 1.0])), 6)
    1.0
    """
    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape:
        raise ShapeError(f"nrmse: y_true has shape {true.shape}, y_pred {pred.shape}")
    if true.size == 0:
        raise ShapeError("nrmse: expected at least one value")
    scale = float(np.std(true))
    rmse = float(np.sqrt(np.mean((true - pred) ** 2)))
    return rmse / scale if scale > 0 else float("inf") if rmse > 0 else 0.0


def effective_spectral_radius(estimator: Any) -> float:
    """Spectral radius of the leaky update's Jacobian at the origin, ``(1 - a) I + a W``.

    With leak rate ``a`` below 1 this, not the radius of ``W`` alone, says how fast the linearised
    reservoir forgets (below 1: echo state property near the origin). ``estimator`` is a fitted
    :class:`rnnfast.Reservoir`, :class:`rnnfast.ESNRegressor` or :class:`rnnfast.ESNClassifier`.

    >>> import numpy as np
    >>> from rnnfast import Reservoir
    >>> res = Reservoir(50, spectral_radius=0.9, leak_rate=0.5, random_state=0)
    >>> res = res.fit(np.zeros((2, 1)))
    >>> bool(0.5 < effective_spectral_radius(res) < 1.0)
    True
    """
    check_is_fitted(estimator, "reservoir_weights_")
    n = int(estimator.bias_.shape[0])
    a = float(estimator.leak_rate)
    w = sparse.csr_matrix(
        (
            estimator.reservoir_weights_.astype(np.float64),
            estimator.reservoir_indices_,
            estimator.reservoir_indptr_,
        ),
        shape=(n, n),
    )
    jacobian = sparse.csr_matrix((1.0 - a) * sparse.identity(n) + a * w)
    jacobian.sort_indices()
    return _rnnfast.esn_spectral_radius(
        jacobian.indptr.astype(np.int64), jacobian.indices.astype(np.int64), jacobian.data, n
    )


def memory_capacity(
    estimator: Any, max_delay: int | None = None, n_steps: int = 4000, random_state: int = 0
) -> tuple[float, npt.NDArray[np.float64]]:
    """Jaeger's short-term memory capacity of a reservoir: ``sum_k r²(u[t-k], y_k[t])``.

    The reservoir (a :class:`rnnfast.Reservoir` or an ESN estimator; only its reservoir
    parameters are used, with its own ``random_state``) is driven by i.i.d. uniform input in
    [-0.5, 0.5]; for each delay ``k`` in ``1..max_delay`` (default ``2 n_reservoir``) a
    least-squares readout of the states is fitted on the first half (after 100 washout steps)
    and its squared correlation with ``u[t-k]`` measured on the second half. Returns the total
    and the per-delay values; the total cannot exceed ``n_reservoir`` in theory.

    >>> from rnnfast import Reservoir
    >>> total, per_delay = memory_capacity(Reservoir(20, random_state=0), n_steps=1000)
    >>> bool(0 < total <= 20), per_delay.shape
    (True, (40,))
    """
    from .reservoir import Reservoir

    n = int(estimator.n_reservoir)
    delays = 2 * n if max_delay is None else int(max_delay)
    params = {k: v for k, v in estimator.get_params().items() if k in Reservoir().get_params()}
    params.update(washout=0, dtype="float64")
    u = np.random.default_rng(random_state).uniform(-0.5, 0.5, (n_steps, 1))
    states = Reservoir(**params).fit_transform(u)
    design = np.hstack([states, np.ones((n_steps, 1))])
    start, half = 100 + delays, (n_steps + 100 + delays) // 2
    if half - start < n + 2 or n_steps - half < 2:
        raise ShapeError(f"memory_capacity: n_steps={n_steps} is too short for {delays} delays")
    per_delay = np.empty(delays)
    for k in range(1, delays + 1):
        target = u[start - k : n_steps - k, 0]
        coef = np.linalg.lstsq(design[start:half], target[: half - start], rcond=None)[0]
        pred = design[half:] @ coef
        per_delay[k - 1] = np.corrcoef(pred, target[half - start :])[0, 1] ** 2
    return float(per_delay.sum()), per_delay
