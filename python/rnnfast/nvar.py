"""Next-generation reservoir computing (NVAR): :class:`NVARRegressor`.

Instead of a random recurrent network, the features are the input at ``delay`` time points
``stride`` steps apart and the unique monomials of those values up to degree ``order``
(Gauthier et al., 2021, "Next generation reservoir computing"); a ridge readout with an
intercept maps them to the targets. The native core computes one feature row at a time: a fit
accumulates the normal equations in float64 (memory O(features²) whatever the series length,
the design matrix never exists), prediction applies the readout row by row, and the closed loop
(:meth:`NVARRegressor.forecast`) feeds each prediction back as the next input.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array, check_is_fitted

from . import _rnnfast
from ._sequence_data import MANY_TO_MANY, Sequences, read_X, target_rows
from ._validation import check_float_dtype, check_positive_int
from .exceptions import ParameterError, ShapeError
from .reservoir import REQUIRES_Y, Array, SequenceInput, _check_nonnegative

__all__ = ["NVARRegressor"]


class NVARRegressor(RegressorMixin, BaseEstimator):
    """Nonlinear vector autoregression with a ridge readout (next-generation RC).

    The feature vector at step ``t`` is ``[lin, monomials(lin)]`` with ``lin = [u[t],
    u[t - stride], ..., u[t - (delay - 1) stride]]`` (``delay * n_features`` values, most recent
    first) and the monomials of degree 2 to ``order`` of ``lin``'s entries, each unique product
    once, in ``itertools.combinations_with_replacement`` order. The constant feature is the
    readout's intercept (not penalised).

    ``X`` is one series ``(steps, features)`` (rows are time steps), a 3-D batch ``(sequences,
    steps, features)`` or a list of 2-D sequences of different lengths; ``y`` has one row per
    time step, in the same form. Each sequence of a fit starts from a zero history, and its
    first ``(delay - 1) * stride`` steps, whose delays reach before its start, are not fitted.

    After fitting one series, the last ``(delay - 1) * stride + 1`` inputs are kept in
    ``last_inputs_``: :meth:`predict` on a single series that continues the training series
    reads its delays from them (no warm-up needed), unless ``reset=True``, which zero-pads the
    history as for a new sequence; :meth:`forecast` continues from them. Sequences of a batch
    always start from a zero history. ``predict`` never changes the stored inputs.

    Parameters
    ----------
    delay : int, default=2
        Number of time points in the linear part (ReservoirPy's ``delay``).
    stride : int, default=1
        Steps between them (ReservoirPy's ``strides``).
    order : int, default=2
        Highest degree of the monomials (1: linear model). Every degree from 2 to ``order`` is
        included, as in the NG-RC paper; ReservoirPy's ``NVAR(order=p)`` keeps degree ``p``
        only (the same features for ``order <= 2``).
    alpha : float, default=1e-6
        Ridge penalty (not on the intercept); ReservoirPy's ``Ridge(ridge=...)``.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the features, the readout and the predictions (the normal equations are
        accumulated and solved in float64 either way).
    n_jobs : int or None, default=None
        Threads for batches of sequences (None: ``rnnfast.get_num_threads()``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs_, n_nvar_features_)
    intercept_ : ndarray of shape (n_outputs_,)
    last_inputs_ : ndarray of shape ((delay - 1) * stride + 1, n_features_in_) or None
        After fitting one series: its last inputs. None after fitting a batch.
    n_nvar_features_ : int
        Width of the feature vector (the constant excluded).
    n_outputs_ : int
    n_features_in_ : int

    Examples
    --------
    >>> from rnnfast import NVARRegressor
    >>> from rnnfast.datasets import lorenz
    >>> from rnnfast.metrics import nrmse
    >>> data = lorenz(2001)
    >>> model = NVARRegressor(delay=2, order=2, alpha=1e-6).fit(data[:1500], data[1:1501])
    >>> model.n_nvar_features_            # 6 delayed values and their 21 products
    27
    >>> pred = model.predict(data[1500:-1])  # continues the training series
    >>> bool(nrmse(data[1501:], pred) < 1e-4)
    True
    >>> model.forecast(100).shape          # closed loop: predictions fed back as input
    (100, 3)

    """

    coef_: Array
    intercept_: Array
    last_inputs_: Array | None

    def __init__(
        self,
        delay: int = 2,
        stride: int = 1,
        order: int = 2,
        alpha: float = 1e-6,
        *,
        dtype: str = "float64",
        n_jobs: int | None = None,
    ) -> None:
        self.delay = delay
        self.stride = stride
        self.order = order
        self.alpha = alpha
        self.dtype = dtype
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- parameters ------------------------------------------------------------------------

    def _dtype(self) -> np.dtype[Any]:
        return check_float_dtype(self.dtype)

    def _map(self, n_features: int) -> tuple[int, int, int, int]:
        """The native map ``(features, delay, stride, order)``, each checked."""
        return (
            n_features,
            check_positive_int("delay", self.delay),
            check_positive_int("stride", self.stride),
            check_positive_int("order", self.order),
        )

    def _history(self) -> int:
        """Steps of history one feature row reaches back: ``(delay - 1) * stride``."""
        return (int(self.delay) - 1) * int(self.stride)

    def _threads(self) -> int | None:
        j = self.n_jobs
        if j is None:
            return None
        return check_positive_int("n_jobs", j)

    def _read(self, X: SequenceInput, reset: bool) -> Sequences:
        if not reset:
            check_is_fitted(self)
        n_features = None if reset else self.n_features_in_
        return read_X(X, self._dtype(), n_features, type(self).__name__)

    # -- fit -------------------------------------------------------------------------------

    def fit(self, X: SequenceInput, y: Any) -> NVARRegressor:
        """Fits the ridge readout; ``y`` has one row per time step of ``X``."""
        alpha = _check_nonnegative("alpha", self.alpha)
        dtype = self._dtype()
        self._threads()  # a bad n_jobs fails here rather than at predict
        seqs = self._read(X, reset=True)
        nvar_map = self._map(seqs.x.shape[2])
        targets, y_1d = _targets(y, seqs, dtype)
        history = self._history()
        if seqs.form == "single" and seqs.steps <= history:
            raise ShapeError(
                f"n_samples = {seqs.steps}: need more steps than the {history} of history "
                "((delay - 1) * stride)"
            )
        coef, intercept, _ = _rnnfast.nvar_fit(
            nvar_map, seqs.x, targets, _lengths(seqs), alpha=alpha
        )
        self.n_features_in_ = nvar_map[0]
        self.coef_ = np.ascontiguousarray(coef, dtype=dtype)
        self.intercept_ = np.ascontiguousarray(intercept, dtype=dtype)
        self.n_outputs_ = int(coef.shape[0])
        self.n_nvar_features_ = int(coef.shape[1])
        self.last_inputs_ = seqs.x[0, -(history + 1) :].copy() if seqs.form == "single" else None
        self._y_1d = y_1d
        return self

    # -- predict ---------------------------------------------------------------------------

    def _run(
        self, X: SequenceInput, reset: bool, readout: bool = True
    ) -> tuple[Array, Sequences, bool]:
        """Readout outputs (or features) for every step, the batch, and a zero-history flag.

        The flag says whether the sequences started from a zero history.
        """
        seqs = self._read(X, reset=False)
        past = None
        if seqs.form == "single" and not reset and self.last_inputs_ is not None:
            past = np.ascontiguousarray(self.last_inputs_[1:][np.newaxis])
        values = _rnnfast.nvar_run(
            self._map(self.n_features_in_),
            seqs.x,
            _lengths(seqs),
            past,
            self.coef_ if readout else None,
            self.intercept_ if readout else None,
            threads=self._threads(),
        )
        return values, seqs, past is None

    def predict(self, X: SequenceInput, reset: bool = False) -> Any:
        """One prediction per time step of ``X``, in ``X``'s form.

        A single series continues from ``last_inputs_`` unless ``reset``; the sequences of a
        batch start from a zero history (their first ``(delay - 1) * stride`` predictions see
        zeros in place of the missing delays).
        """
        values, seqs, _ = self._run(X, reset)
        if self._y_1d:
            values = values[..., 0]
        return seqs.like_X(values)

    def nvar_features(self, X: SequenceInput, reset: bool = False) -> Any:
        """The feature vectors the readout sees, ``(steps, n_nvar_features_)`` per sequence.

        What ReservoirPy's ``NVAR`` node outputs, for inspection or another readout; the
        history follows :meth:`predict`'s rules. This materialises the features, which
        :meth:`fit` and :meth:`predict` never do.

        >>> import numpy as np
        >>> from rnnfast import NVARRegressor
        >>> u = np.arange(8.0).reshape(4, 2)
        >>> model = NVARRegressor(delay=2, order=2).fit(u, u)
        >>> model.nvar_features(u[:2], reset=True)[1]   # [u1, u0, products of (2, 3, 0, 1)]
        array([2., 3., 0., 1., 4., 6., 0., 2., 9., 0., 3., 0., 0., 1.])
        """
        values, seqs, _ = self._run(X, reset, readout=False)
        return seqs.like_X(values)

    def score(
        self, X: SequenceInput, y: Any, sample_weight: Any = None, reset: bool = False
    ) -> float:
        """R² of the one-step-ahead predictions.

        All steps count except the first ``(delay - 1) * stride`` of sequences that started
        from a zero history (as in the fit).
        """
        values, seqs, from_zero = self._run(X, reset)
        targets, _ = _targets(y, seqs, self._dtype())
        start = self._history() if from_zero else 0
        pred = np.concatenate([v[start:n] for v, n in zip(values, seqs.lengths, strict=True)])
        true = np.concatenate([t[start:n] for t, n in zip(targets, seqs.lengths, strict=True)])
        if pred.shape[0] == 0:
            raise ShapeError(
                f"score: the {self._history()} steps of zero history leave no step to score"
            )
        return float(r2_score(true, pred, sample_weight=sample_weight))

    def forecast(self, n_steps: int, warmup: Array | None = None) -> Array:
        """Closed-loop (generative) run: each prediction is fed back as the next input.

        Starts from ``last_inputs_`` (the end of the training series), or from the last
        ``(delay - 1) * stride + 1`` steps of ``warmup`` (a 2-D series, zero-padded in front
        when shorter). As for :class:`ESNRegressor`, the model's prediction of the step after
        the last input is fed back first, and row ``k`` of the result predicts the input
        ``k + 2`` steps after it (with targets that are the next input, the first row
        continues the training targets). Needs as many outputs as features. Returns
        ``(n_steps, n_outputs_)``.

        A map fitted on a noise-free trajectory from a fixed-step integrator can be unstable
        in closed loop (it never saw a point off the attractor); a little noise on the training
        inputs, or a larger ``alpha``, regularises it. (The NG-RC paper's data come from an
        adaptive RK23 integrator, whose errors play that part.)

        >>> import numpy as np
        >>> from rnnfast import NVARRegressor
        >>> from rnnfast.datasets import lorenz
        >>> data = lorenz(1500, dt=0.025)
        >>> noisy = data + np.random.default_rng(0).normal(scale=1e-3, size=data.shape)
        >>> model = NVARRegressor(delay=2, order=2).fit(noisy[:1000], data[1:1001])
        >>> future = model.forecast(40)             # predicts data[1001:1041]
        >>> bool(abs(future - data[1001:1041]).max() < 0.5)
        True
        """
        check_is_fitted(self)
        if self.n_outputs_ != self.n_features_in_:
            raise ParameterError(
                f"forecast: the {self.n_outputs_} outputs are fed back as the "
                f"{self.n_features_in_} inputs: they must match"
            )
        if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
            raise ParameterError(f"n_steps: expected an integer >= 1, got {n_steps!r}")
        rows = self._history() + 1
        if warmup is not None:
            seqs = self._read(warmup, reset=False)
            if seqs.form != "single":
                raise ShapeError("warmup: expected one 2-D (steps, features) series")
            padded = np.zeros((rows, self.n_features_in_), dtype=self._dtype())
            tail = seqs.x[0, -rows:]
            padded[rows - len(tail) :] = tail
            window = padded
        elif self.last_inputs_ is None:
            raise ParameterError(
                "forecast: no stored inputs (the model was fitted on a batch); pass warmup="
            )
        else:
            window = self.last_inputs_
        return _rnnfast.nvar_forecast(
            self._map(self.n_features_in_),
            np.ascontiguousarray(window, dtype=self._dtype()),
            self.coef_,
            self.intercept_,
            int(n_steps),
        )


def _lengths(seqs: Sequences) -> Any:
    """The lengths for the native call: None when every sequence fills the batch."""
    return None if bool((seqs.lengths == seqs.steps).all()) else seqs.lengths


def _targets(y: Any, seqs: Sequences, dtype: np.dtype[Any]) -> tuple[Array, bool]:
    """``y`` padded to ``(sequences, steps, outputs)`` like ``seqs``, and whether it was 1-D."""
    if y is None:
        raise ShapeError(f"{REQUIRES_Y}: one target row per time step of X")
    rows = check_array(
        target_rows(seqs, y, MANY_TO_MANY), dtype=dtype, ensure_2d=False, input_name="y"
    )
    one_d = rows.ndim == 1
    return np.ascontiguousarray(seqs.pad(rows.reshape(len(rows), -1))), one_d
