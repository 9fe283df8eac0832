"""Metrics for sequence models.

>>> import numpy as np
>>> from rnnfast.metrics import nrmse
>>> nrmse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import ShapeError

__all__ = ["nrmse"]


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
