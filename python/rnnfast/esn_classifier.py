"""Sequence classification with an echo state network: :class:`ESNClassifier`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _rnnfast
from ._validation import Batch
from .exceptions import ShapeError
from .reservoir import (
    REQUIRES_Y,
    Array,
    SequenceInput,
    _check_choice,
    _check_nonnegative,
    _ReservoirMixin,
)

__all__ = ["ESNClassifier"]

_POOLINGS = ("last", "mean")


class ESNClassifier(_ReservoirMixin, ClassifierMixin, BaseEstimator):
    """Echo state network classifier: reservoir states, ridge regression on one-hot targets.

    The rule for labels follows the input: a batch (3-D array or list of sequences) takes one
    label per sequence, classified from its pooled state (``pooling="last"``: the state after
    its last step; ``"mean"``: the mean state after ``washout``); a single 2-D series takes one
    label per time step, each classified from the state at that step (the first ``washout``
    steps are left out of the fit). Every call starts from the zero state.

    ``predict_proba`` is the softmax of the ridge scores: it sums to one and ranks like the
    scores, but it is **not calibrated** (wrap the model in
    :class:`sklearn.calibration.CalibratedClassifierCV` when probabilities must mean something).

    Parameters
    ----------
    n_reservoir, spectral_radius, leak_rate, input_scaling, density, input_connectivity, \
bias_scaling, activation, weight_distribution, dtype, random_state, n_jobs
        As for :class:`rnnfast.Reservoir`.
    alpha : float, default=1e-6
        Ridge penalty (the intercept is not penalised).
    washout : int, default=0
        Initial steps of each sequence ignored by ``"mean"`` pooling and per-step fits.
    pooling : {"last", "mean"}, default="last"
        How a sequence's states become one feature vector.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_reservoir)
    intercept_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from rnnfast import ESNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 20, 2))
    >>> y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    >>> clf = ESNClassifier(50, pooling="mean", random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape, clf.predict_proba(X[:3]).shape
    ((3,), (3, 2))

    """

    def __init__(
        self,
        n_reservoir: int = 100,
        *,
        spectral_radius: float = 0.9,
        leak_rate: float = 1.0,
        input_scaling: float | Array = 1.0,
        density: float = 0.1,
        input_connectivity: float = 0.1,
        bias_scaling: float = 1.0,
        activation: str = "tanh",
        weight_distribution: str = "normal",
        alpha: float = 1e-6,
        washout: int = 0,
        pooling: str = "last",
        dtype: str = "float64",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_reservoir = n_reservoir
        self.spectral_radius = spectral_radius
        self.leak_rate = leak_rate
        self.input_scaling = input_scaling
        self.density = density
        self.input_connectivity = input_connectivity
        self.bias_scaling = bias_scaling
        self.activation = activation
        self.weight_distribution = weight_distribution
        self.alpha = alpha
        self.washout = washout
        self.pooling = pooling
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: SequenceInput, y: Any) -> ESNClassifier:
        """Draws the reservoir and fits the ridge readout on one-hot encoded labels."""
        self._check_params()
        alpha = _check_nonnegative("alpha", self.alpha)
        _check_choice("pooling", self.pooling, _POOLINGS)
        batch = self._batch(X, reset=True)
        if y is None:
            raise ShapeError(REQUIRES_Y)
        self._build_reservoir(self.n_features_in_)
        features, keep = self._features(batch, fitting=True)
        labels = column_or_1d(y, warn=True)
        if labels.shape != (len(keep),):
            kind = "time step" if batch.unbatched else "sequence"
            raise ShapeError(f"y: expected one label per {kind} ({len(keep)}), got {labels.shape}")
        check_classification_targets(labels)
        self.classes_, codes = np.unique(labels[keep], return_inverse=True)
        one_hot = np.eye(len(self.classes_))[codes]
        # The native ridge solve of the regressor's readout: the dual form when there are far
        # fewer sequences than units.
        coef, intercept = _rnnfast.esn_ridge(
            np.ascontiguousarray(features[keep], dtype=np.float64),
            one_hot,
            alpha,
            threads=self._threads(),
        )
        dtype = self._dtype()
        self.coef_ = np.ascontiguousarray(coef, dtype=dtype)
        self.intercept_ = intercept.astype(dtype)
        return self

    def _features(self, batch: Batch, *, fitting: bool) -> tuple[Array, Array]:
        """One feature row per label, float64, and a mask of the rows used in a fit."""
        washout = int(self.washout)
        if batch.unbatched:
            states, _ = _rnnfast.esn_run(
                self._reservoir(), batch.data, batch.lengths, threads=self._threads()
            )
            keep = np.arange(states.shape[1]) >= (washout if fitting else 0)
            return states[0].astype(np.float64), keep
        # Pooled natively as the states are produced: no (sequences, steps, units) array.
        mean, last = _rnnfast.esn_pool(
            self._reservoir(),
            batch.data,
            batch.lengths,
            washout=washout if self.pooling == "mean" else 0,
            threads=self._threads(),
        )
        pooled = last if self.pooling == "last" else mean
        return pooled.astype(np.float64), np.ones(len(pooled), dtype=bool)

    def decision_function(self, X: SequenceInput) -> Array:
        """Ridge scores, ``(n, n_classes)``; ``(n,)`` (positive class minus negative) if binary."""
        check_is_fitted(self)
        features, _ = self._features(self._batch(X, reset=False), fitting=False)
        scores = features @ self.coef_.T.astype(np.float64) + self.intercept_
        return np.asarray(scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores)

    def predict_proba(self, X: SequenceInput) -> Array:
        """Softmax of the ridge scores (uncalibrated), ``(n, n_classes)``."""
        check_is_fitted(self)
        features, _ = self._features(self._batch(X, reset=False), fitting=False)
        scores = features @ self.coef_.T.astype(np.float64) + self.intercept_
        scores -= scores.max(axis=1, keepdims=True)
        expd = np.exp(scores)
        return np.asarray(expd / expd.sum(axis=1, keepdims=True))

    def predict(self, X: SequenceInput) -> Array:
        """The class of each sequence (batch) or time step (single series)."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[proba.argmax(axis=1)])
