"""Echo state network regression: :class:`ESNRegressor`.

Only a linear readout is trained on top of the reservoir of :mod:`rnnfast.reservoir`. The
native core accumulates the ridge readout in float64 while the states are produced, so fitting
needs O(units²) memory whatever the series length; online readouts (RLS, LMS), output feedback,
state noise and stacked (deep) reservoirs run in the same native loop. Targets are given per
time step, with the same leading shape as the input.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted

from . import _rnnfast
from ._validation import Batch, check_positive_int, plain_float_array
from .exceptions import ParameterError, ShapeError
from .reservoir import (
    REQUIRES_Y,
    Array,
    SequenceInput,
    _check_choice,
    _check_nonnegative,
    _ReservoirMixin,
    _unpad,
)

__all__ = ["ESNRegressor"]

_READOUTS = ("ridge", "rls", "lms")


class ESNRegressor(_ReservoirMixin, RegressorMixin, BaseEstimator):
    """Echo state network regressor: a random reservoir and a ridge readout fitted natively.

    Parameters
    ----------
    n_reservoir, spectral_radius, leak_rate, input_scaling, density, input_connectivity, \
bias_scaling, activation, weight_distribution, dtype, random_state, n_jobs
        As for :class:`Reservoir`.
    alpha : float, default=1e-6
        Ridge penalty on the readout coefficients (the intercept is not penalised). The
        ridge fit accumulates the normal equations, ``O(units²)`` memory whatever the number
        of steps; with ``alpha > 0`` and at most half as many fitted steps as units it solves
        the equivalent dual (kernel) form instead, ``O(steps * units)``. For
        ``readout="rls"``, the initial inverse correlation matrix is ``I / alpha``.
    washout : int, default=0
        Steps of each sequence started from the zero state that the readout ignores (and
        :meth:`score` skips).
    readout : {"ridge", "rls", "lms"}, default="ridge"
        ``"ridge"`` solves the regularised normal equations once (``fit``); ``"rls"``
        (recursive least squares) and ``"lms"`` (least mean squares) update the readout step
        by step and support :meth:`partial_fit`. With ``forgetting_factor=1``, RLS converges
        to the ridge solution.
    forgetting_factor : float, default=1.0
        RLS only: weight in (0, 1] of the past at each step (1: no forgetting).
    learning_rate : float, default=0.01
        LMS only: step size.
    feedback : bool, default=False
        Feed the previous output back into the reservoir through ``feedback_weights_``
        (``x[t] = (1-a) x[t-1] + a f(W x[t-1] + W_in u[t] + W_fb y[t-1] + b)``): the target
        of the previous step while fitting (teacher forcing), the model's own previous
        output in ``predict`` and ``forecast``.
    feedback_scaling : float, default=1.0
        Scale of the feedback weights (drawn like the input weights).
    n_layers : int, default=1
        Deep ESN: ``n_layers`` reservoirs of ``n_reservoir`` units each, the first driven by
        the input, each next one by the state of the one before (same step); the readout
        sees the concatenation of all states (``coef_`` has ``n_layers * n_reservoir``
        columns). Each layer is scaled to ``spectral_radius`` on its own.
    state_noise : float, default=0.0
        Scale of uniform noise in ``[-state_noise, state_noise]`` added to every
        pre-activation, in every call (a regulariser that makes closed loops more robust).
        The draws come from native streams seeded by ``random_state`` (one per sequence of a
        batch), so they repeat identically: ``predict`` twice gives the same result.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs_, n_reservoir)
    intercept_ : ndarray of shape (n_outputs_,)
    last_state_ : ndarray of shape (n_reservoir,) or None
        After fitting one series: the state reached at its end. ``predict`` on a single series
        starts from it unless ``reset=True``, so a test series that continues the training series
        needs no warm-up. None after fitting a batch of independent sequences.
    n_outputs_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from rnnfast import ESNRegressor
    >>> from rnnfast.datasets import mackey_glass
    >>> from rnnfast.metrics import nrmse
    >>> series = mackey_glass(1200, random_state=0)
    >>> X, y = series[:-1], series[1:]
    >>> esn = ESNRegressor(200, spectral_radius=1.25, leak_rate=0.3, washout=100,
    ...                    random_state=0).fit(X[:1000], y[:1000])
    >>> bool(nrmse(y[1000:], esn.predict(X[1000:])) < 0.02)
    True
    >>> esn.forecast(5).shape
    (5, 1)

    """

    online_weights_: Array
    rls_p_: Array | None
    last_output_: Array | None

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
        readout: str = "ridge",
        forgetting_factor: float = 1.0,
        learning_rate: float = 0.01,
        feedback: bool = False,
        feedback_scaling: float = 1.0,
        state_noise: float = 0.0,
        n_layers: int = 1,
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
        self.readout = readout
        self.forgetting_factor = forgetting_factor
        self.learning_rate = learning_rate
        self.feedback = feedback
        self.feedback_scaling = feedback_scaling
        self.state_noise = state_noise
        self.n_layers = n_layers
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: SequenceInput, y: Any) -> ESNRegressor:
        """Draws the reservoir, runs it over ``X`` and fits the readout on ``y``.

        ``y`` has one row per time step: ``(steps,)`` or ``(steps, outputs)`` for one series,
        ``(sequences, steps[, outputs])`` for a 3-D batch, a list of such arrays for a list.
        With an online ``readout``, this is :meth:`partial_fit` from scratch.
        """
        self._check_params()
        alpha = _check_nonnegative("alpha", self.alpha)
        _check_nonnegative("feedback_scaling", self.feedback_scaling)
        _check_nonnegative("state_noise", self.state_noise)
        check_positive_int("n_layers", self.n_layers)
        if _check_choice("readout", self.readout, _READOUTS) != "ridge":
            for name in ("coef_", "online_weights_", "rls_p_", "last_state_"):
                self.__dict__.pop(name, None)
            self.partial_fit(X, y)
            return self
        batch = self._batch(X, reset=True)
        targets, self._y_1d = _targets(y, batch, self._dtype())
        self._build_reservoir(self.n_features_in_, targets.shape[2] if self.feedback else 0)
        coef, intercept, last, _ = _rnnfast.esn_fit_ridge(
            self._reservoir(),
            self._teacher_forced(batch, targets, None),
            targets,
            batch.lengths,
            washout=int(self.washout),
            alpha=alpha,
            threads=self._threads(),
        )
        self._set_readout(coef, intercept, last, batch, targets)
        return self

    def _teacher_forced(self, batch: Batch, targets: Array, y_start: Array | None) -> Array:
        """The input, with the previous step's targets appended when ``feedback`` is on."""
        if not self.feedback:
            return batch.data
        previous = np.zeros_like(targets)
        previous[:, 1:] = targets[:, :-1]
        if y_start is not None:
            previous[:, 0] = y_start
        return np.ascontiguousarray(np.concatenate([batch.data, previous], axis=2))

    @available_if(lambda self: self.readout != "ridge")
    def partial_fit(self, X: SequenceInput, y: Any) -> ESNRegressor:
        """Updates an online readout (``readout="rls"`` or ``"lms"``) with one more chunk.

        The first call draws the reservoir. A single series continues from ``last_state_``
        (a stream arriving in chunks needs no warm-up between them); a batch starts from zero
        and skips ``washout`` steps of each sequence.
        """
        first = not hasattr(self, "online_weights_")
        if first:
            self._check_params()
        rule = _check_choice("readout", self.readout, _READOUTS)
        batch = self._batch(X, reset=first)
        targets, y_1d = _targets(y, batch, self._dtype())
        if first:
            self._y_1d = y_1d
            self._build_reservoir(self.n_features_in_, targets.shape[2] if self.feedback else 0)
            width = self.bias_.shape[0] + 1
            weights = np.zeros((width, targets.shape[2]))
            alpha = max(_check_nonnegative("alpha", self.alpha), 1e-12)
            p = np.eye(width) / alpha if rule == "rls" else None
            self.last_state_ = None
        else:
            weights, p = self.online_weights_, self.rls_p_
            if targets.shape[2] != weights.shape[1]:
                raise ShapeError(
                    f"y: expected {weights.shape[1]} outputs as before, got {targets.shape[2]}"
                )
        h0 = y_start = None
        if batch.unbatched and self.last_state_ is not None:
            h0, y_start = self.last_state_[np.newaxis], self.last_output_
        rate = self.forgetting_factor if rule == "rls" else self.learning_rate
        weights, p, last = _rnnfast.esn_fit_online(
            self._reservoir(),
            self._teacher_forced(batch, targets, y_start),
            targets,
            weights,
            p,
            rule,
            float(rate),
            batch.lengths,
            h0,
            washout=0 if h0 is not None else int(self.washout),
        )
        self.online_weights_ = weights
        self.rls_p_ = p
        self._set_readout(weights[:-1].T, weights[-1], last, batch, targets)
        return self

    def _set_readout(
        self, coef: Array, intercept: Array, last: Array, batch: Batch, targets: Array
    ) -> None:
        dtype = self._dtype()
        self.coef_ = np.ascontiguousarray(coef, dtype=dtype)
        self.intercept_ = np.ascontiguousarray(intercept, dtype=dtype)
        self.n_outputs_ = int(coef.shape[0])
        self.last_state_ = last[0] if batch.unbatched else None
        self.last_output_ = targets[0, -1].copy() if batch.unbatched else None

    def _run(self, X: SequenceInput, reset: bool) -> tuple[Array, Batch, bool]:
        """Readout outputs for every step, the batch, and whether it started from zero."""
        check_is_fitted(self)
        batch = self._batch(X, reset=False)
        h0 = None
        if batch.unbatched and not reset and self.last_state_ is not None:
            h0 = self.last_state_[np.newaxis]
        if self.feedback:
            return self._run_with_feedback(batch, h0), batch, h0 is None
        values, _ = _rnnfast.esn_run(
            self._reservoir(),
            batch.data,
            batch.lengths,
            h0,
            self.coef_,
            self.intercept_,
            threads=self._threads(),
        )
        return values, batch, h0 is None

    def _run_with_feedback(
        self, batch: Batch, h0: Array | None, final_state: bool = False
    ) -> Array:
        """One closed loop per sequence: each step sees the model's previous output.

        Returns the outputs ``(batch, steps, outputs)``, or with ``final_state`` the state
        after the last sequence's last step.
        """
        n_seq, steps = batch.data.shape[:2]
        values = np.zeros((n_seq, steps, self.n_outputs_), dtype=self._dtype())
        lengths = batch.lengths if batch.lengths is not None else [steps] * n_seq
        reservoir = self._reservoir()
        for b, length in enumerate(lengths):
            state = np.zeros_like(self.bias_) if h0 is None else h0[0]
            y0 = np.zeros_like(self.intercept_) if h0 is None else self.last_output_
            values[b, :length], last = _rnnfast.esn_closed_loop(
                reservoir,
                state,
                np.ascontiguousarray(y0, dtype=self._dtype()),
                self.coef_,
                self.intercept_,
                int(length),
                np.ascontiguousarray(batch.data[b, :length]),
                stream=b,
            )
        return last if final_state else values

    def predict(self, X: SequenceInput, reset: bool = False) -> Any:
        """Teacher-forced one-step-ahead predictions, one row per step of ``X``.

        A single series continues from ``last_state_`` unless ``reset``; a batch starts from
        the zero state (its first ``washout`` predictions are transients). The stored state is
        never changed: calling ``predict`` twice gives the same result.
        """
        values, batch, _ = self._run(X, reset)
        if self._y_1d:
            values = values[..., 0]
        return _unpad(values, batch)

    def score(
        self, X: SequenceInput, y: Any, sample_weight: Any = None, reset: bool = False
    ) -> float:
        """R² of the one-step-ahead predictions.

        All steps count except the first ``washout`` steps of sequences that started from the
        zero state.
        """
        values, batch, from_zero = self._run(X, reset)
        targets, _ = _targets(y, batch, self._dtype())
        start = int(self.washout) if from_zero else 0
        lengths = (
            batch.lengths if batch.lengths is not None else [batch.data.shape[1]] * len(values)
        )
        pred = np.concatenate([v[start:n] for v, n in zip(values, lengths, strict=True)])
        true = np.concatenate([t[start:n] for t, n in zip(targets, lengths, strict=True)])
        if pred.shape[0] == 0:
            raise ShapeError(f"score: washout={self.washout} leaves no step to score")
        return float(r2_score(true, pred, sample_weight=sample_weight))

    def forecast(self, n_steps: int, warmup: Array | None = None) -> Array:
        """Closed-loop (generative) run: each prediction is fed back as the next input.

        Starts from ``last_state_`` (the end of the training series), or from the state reached
        after running ``warmup`` (a 2-D series) from zero; the first value fed back is the
        model's own prediction of the step after the last input, and row ``k`` of the result
        predicts the input ``k + 2`` steps after it (with targets that are the next input, the
        first row continues the training targets). Needs as many outputs as features.
        Returns ``(n_steps, n_outputs_)``.
        """
        check_is_fitted(self)
        if self.n_outputs_ != self.n_features_in_:
            raise ParameterError(
                f"forecast: the {self.n_outputs_} outputs are fed back as the "
                f"{self.n_features_in_} inputs: they must match"
            )
        if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
            raise ParameterError(f"n_steps: expected an integer >= 1, got {n_steps!r}")
        if warmup is not None:
            batch = self._batch(warmup, reset=False)
            if not batch.unbatched:
                raise ShapeError("warmup: expected one 2-D (steps, features) series")
            if self.feedback:
                state = self._run_with_feedback(batch, None, final_state=True)
            else:
                _, last = _rnnfast.esn_run(self._reservoir(), batch.data, threads=self._threads())
                state = last[0]
        elif self.last_state_ is None:
            raise ParameterError(
                "forecast: no stored state (the model was fitted on a batch); pass warmup="
            )
        else:
            state = self.last_state_
        return _rnnfast.esn_forecast(
            self._reservoir(),
            np.ascontiguousarray(state),
            self.coef_,
            self.intercept_,
            int(n_steps),
        )


def _targets(y: Any, batch: Batch, dtype: np.dtype[Any]) -> tuple[Array, bool]:
    """``y`` padded to ``(batch, steps, outputs)`` like ``batch``; whether it was 1-D per step."""
    if y is None:
        raise ShapeError(f"{REQUIRES_Y}: one target row per time step of X")
    n_seq, steps = batch.data.shape[:2]
    if batch.unbatched:
        plain = plain_float_array(y, dtype, (1, 2))
        if plain is None:
            plain = check_array(y, dtype=dtype, ensure_2d=False, ensure_min_samples=0)
        parts = [plain]
    elif batch.lengths is None:
        arr = plain_float_array(y, dtype, (2, 3))
        if arr is None:
            arr = check_array(y, dtype=dtype, ensure_2d=False, allow_nd=True)
        if arr.ndim in (2, 3) and arr.shape[:2] == (n_seq, steps):
            # Already one row per step of every sequence: no per-sequence copy (500 of them
            # took a millisecond).
            return np.ascontiguousarray(arr.reshape(n_seq, steps, -1)), arr.ndim == 2
        parts = list(arr)
    else:
        if not isinstance(y, list | tuple) or len(y) != n_seq:
            raise ShapeError(f"y: expected a list of {n_seq} target arrays, one per sequence")
        parts = [check_array(t, dtype=dtype, ensure_2d=False) for t in y]
    lengths = batch.lengths if batch.lengths is not None else [steps] * n_seq
    if len(parts) != n_seq:
        raise ShapeError(f"y: expected targets for {n_seq} sequences, got {len(parts)}")
    one_d = parts[0].ndim == 1
    outputs = 1 if one_d else parts[0].shape[-1]
    out = np.zeros((n_seq, steps, outputs), dtype=dtype)
    for i, (part, length) in enumerate(zip(parts, lengths, strict=True)):
        expected = (length,) if one_d else (length, outputs)
        if part.shape != expected:
            raise ShapeError(
                f"y: expected shape {expected} for sequence {i} (one row per time step of X), "
                f"got {part.shape}"
            )
        out[i, :length] = part.reshape(length, outputs)
    return out, one_d
