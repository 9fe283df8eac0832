"""The reservoir shared by the echo state network estimators, and :class:`Reservoir`.

A reservoir is a fixed, sparse, random recurrent network driven by the input. The weights are
drawn here, with ``numpy.random.default_rng(random_state)`` (one seed gives the same reservoir on
every platform), and kept as NumPy arrays ending in ``_`` (so ``clone``, pickling and ``repr``
just work); the native core validates them, measures the spectral radius and runs the leaky
state update

    ``x[t] = (1 - a) x[t-1] + a f(W x[t-1] + W_in u[t] + b)``

over ragged batches with the GIL released.

Input follows the package's convention: a 2-D array ``(steps, features)`` is one sequence (rows
are time steps), a 3-D array ``(sequences, steps, features)`` a batch, and a list of 2-D arrays
a ragged batch.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _rnnfast
from ._validation import Batch, as_batch, check_float_dtype, plain_float_array, resolve_rng
from .exceptions import ParameterError, ShapeError

__all__ = ["Reservoir"]

Array = npt.NDArray[Any]
SequenceInput = Array | Sequence[Array]

_ACTIVATIONS = ("tanh", "identity", "relu")
_DISTRIBUTIONS = ("normal", "uniform")
# scikit-learn's common checks look for this wording.
REQUIRES_Y = "requires y to be passed, but the target y is None"


def _real(value: Any) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _check_fraction(name: str, value: Any) -> float:
    v = _real(value)
    if v is None or not 0.0 < v <= 1.0:
        raise ParameterError(f"{name}: expected a number in (0, 1], got {value!r}")
    return v


def _check_nonnegative(name: str, value: Any) -> float:
    v = _real(value)
    if v is None or not 0.0 <= v < float("inf"):
        raise ParameterError(f"{name}: expected a finite number >= 0, got {value!r}")
    return v


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"{name}: expected one of {choices}, got {value!r}")
    return str(value)


def _sparse_signs(rng: np.random.Generator, shape: tuple[int, int], density: float) -> Array:
    """Dense weights that are -1 or +1 with probability ``density`` each, else 0."""
    mask = rng.random(shape) < density
    return np.where(mask, rng.choice(np.array([-1.0, 1.0]), size=shape), 0.0)


def _sparse_signs_csr(
    rng: np.random.Generator, n_rows: int, n_cols: int, density: float
) -> sparse.csr_matrix:
    """:func:`_sparse_signs` as a CSR matrix, drawn in O(entries).

    For a deep reservoir's inter-layer blocks, which as dense draws took O(n_reservoir²) time
    and memory per layer.

    >>> m = _sparse_signs_csr(np.random.default_rng(0), 300, 200, 0.1)
    >>> sorted(set(m.data)), 5000 < m.nnz < 7000
    ([np.float64(-1.0), np.float64(1.0)], True)
    """
    rows, cols = _bernoulli_positions(rng, n_rows, n_cols, density)
    signs = rng.choice(np.array([-1.0, 1.0]), size=rows.size)
    return sparse.csr_matrix((signs, (rows, cols)), shape=(n_rows, n_cols))


def _bernoulli_positions(
    rng: np.random.Generator, n_rows: int, n_cols: int, density: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column indices, row-major, of the entries present in an ``n_rows``-row matrix.

    Each of the ``n_rows * n_cols`` entries is present independently with probability
    ``density``. The gaps between successive entries of such a Bernoulli process are
    geometric, so the positions are drawn directly, in O(entries) time and memory; one uniform
    per possible entry took O(n_rows * n_cols) of both (4.2 against 1.1 ms at 1000 units and
    density 0.1; 800 MB at 10,000 units).

    >>> rows, cols = _bernoulli_positions(np.random.default_rng(0), 50, 40, 0.25)
    >>> bool(np.all(np.diff(rows * 40 + cols) > 0)), 400 < rows.size < 600
    (True, True)
    """
    total = n_rows * n_cols
    if density <= 0.0 or total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    expected = total * density
    batch = int(expected + 6.0 * np.sqrt(expected * (1.0 - density)) + 16)
    positions = np.cumsum(rng.geometric(density, size=batch)) - 1
    while positions[-1] < total:
        more = np.cumsum(rng.geometric(density, size=batch)) + positions[-1]
        positions = np.concatenate([positions, more])
    rows, cols = np.divmod(positions[positions < total].astype(np.int64), n_cols)
    return rows, cols


def _is_ragged(x: Any) -> bool:
    """A list or tuple of 2-D sequences (as opposed to a nested list forming one 2-D array)."""
    return isinstance(x, list | tuple) and len(x) > 0 and np.ndim(x[0]) == 2


class _ReservoirMixin:
    """Hyper-parameters, weight generation and the native calls shared by the estimators."""

    n_reservoir: int
    spectral_radius: float
    leak_rate: float
    input_scaling: float | Array
    density: float
    input_connectivity: float
    bias_scaling: float
    activation: str
    weight_distribution: str
    washout: int
    dtype: str
    random_state: int | np.random.Generator | np.random.RandomState | None
    n_jobs: int | None
    n_features_in_: int
    feedback_weights_: Array | None

    # -- parameters and weights ------------------------------------------------------------

    def _dtype(self) -> np.dtype[Any]:
        return check_float_dtype(self.dtype)

    def _check_params(self) -> None:
        n = self.n_reservoir
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ParameterError(f"n_reservoir: expected an integer >= 1, got {n!r}")
        _check_nonnegative("spectral_radius", self.spectral_radius)
        _check_fraction("leak_rate", self.leak_rate)
        _check_fraction("density", self.density)
        _check_fraction("input_connectivity", self.input_connectivity)
        _check_nonnegative("bias_scaling", self.bias_scaling)
        _check_choice("activation", self.activation, _ACTIVATIONS)
        _check_choice("weight_distribution", self.weight_distribution, _DISTRIBUTIONS)
        w = self.washout
        if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 0:
            raise ParameterError(f"washout: expected an integer >= 0, got {w!r}")
        j = self.n_jobs
        if j is not None and (isinstance(j, bool) or not isinstance(j, numbers.Integral) or j < 1):
            raise ParameterError(f"n_jobs: expected None or an integer >= 1, got {j!r}")
        self._dtype()

    def _build_reservoir(self, n_features: int, n_feedback: int = 0) -> None:
        """Draws the weights: recurrent CSR matrix, input weights and bias (float64, then cast).

        Each of the ``n_reservoir²`` possible connections exists with probability ``density``
        (likewise ``input_connectivity`` for the input weights); recurrent values are standard
        normal or uniform in [-1, 1], input values -1 or +1 (as in ReservoirPy; on Mackey-Glass
        they beat uniform values, 1.3e-3 against 1.9e-3 NRMSE) times ``input_scaling``
        (per feature when an array), bias uniform in [-1, 1] times ``bias_scaling``. The
        recurrent matrix is then scaled so that its largest eigenvalue modulus, computed
        natively (dense eigensolver up to 160 units, thick-restart Arnoldi above), equals
        ``spectral_radius``. With ``n_feedback`` outputs fed
        back, feedback weights are drawn last, like the input weights, times
        ``feedback_scaling``.
        """
        n, layers = int(self.n_reservoir), int(getattr(self, "n_layers", 1))
        dtype = self._dtype()
        rng = resolve_rng(self.random_state)
        indptr, indices, values = self._draw_recurrent(rng, n)
        scaling = np.asarray(self.input_scaling, dtype=np.float64)
        if scaling.ndim > 1 or (scaling.ndim == 1 and scaling.shape != (n_features,)):
            raise ParameterError(
                f"input_scaling: expected a number or one value per feature ({n_features}), "
                f"got shape {scaling.shape}"
            )
        if not np.all(np.isfinite(scaling)):
            raise ParameterError("input_scaling: expected finite values")
        w_in = _sparse_signs(rng, (n, n_features), self.input_connectivity) * scaling
        bias = rng.uniform(-1.0, 1.0, n * layers) * float(self.bias_scaling)
        if layers > 1:
            indptr, indices, values = self._stack_layers(rng, (indptr, indices, values), layers)
            w_in = np.vstack([w_in, np.zeros((n * (layers - 1), n_features))])
        self.reservoir_indptr_ = indptr
        self.reservoir_indices_ = indices
        self.reservoir_weights_ = values.astype(dtype)
        self.input_weights_ = np.ascontiguousarray(w_in, dtype=dtype)
        self.bias_ = bias.astype(dtype)
        self.feedback_weights_ = None
        if n_feedback:
            w_fb = _sparse_signs(rng, (n * layers, n_feedback), self.input_connectivity)
            w_fb *= float(getattr(self, "feedback_scaling", 1.0))
            self.feedback_weights_ = np.ascontiguousarray(w_fb, dtype=dtype)
        # Seed of the native state-noise streams (drawn even when there is no noise, so that
        # switching noise on does not change the weights).
        self.noise_seed_ = int(rng.integers(0, 2**63))

    def _draw_recurrent(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """One layer's recurrent CSR matrix, scaled to ``spectral_radius``."""
        rows, cols = _bernoulli_positions(rng, n, n, float(self.density))
        if self.weight_distribution == "normal":
            values = rng.standard_normal(rows.size)
        else:
            values = rng.uniform(-1.0, 1.0, rows.size)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        indices = cols.astype(np.int64)
        radius = _rnnfast.esn_spectral_radius(indptr, indices, values, n)
        if radius > 0:
            values *= float(self.spectral_radius) / radius
        elif self.spectral_radius > 0:
            # Too sparse to hold a cycle (expected: density · n connections per unit).
            warnings.warn(
                f"the drawn {n}-unit reservoir (density {self.density}) has spectral radius 0 "
                f"and cannot be scaled to {self.spectral_radius}: increase density or change "
                "random_state",
                UserWarning,
                stacklevel=4,
            )
        return indptr, indices, values

    def _stack_layers(
        self, rng: np.random.Generator, first: tuple[Array, Array, Array], layers: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The deep reservoir as one block matrix.

        Each layer's own recurrent block sits on the diagonal, and below it the weights by
        which it reads the previous layer (drawn like input weights, ±1 with
        ``input_connectivity``). The native loop updates the layers in order, so those blocks
        see the previous layer's state of the same step.
        """
        n = int(self.n_reservoir)
        grid: list[list[Any]] = [[None] * layers for _ in range(layers)]
        grid[0][0] = sparse.csr_matrix(first[::-1], shape=(n, n))
        for layer in range(1, layers):
            grid[layer][layer] = sparse.csr_matrix(self._draw_recurrent(rng, n)[::-1], shape=(n, n))
            grid[layer][layer - 1] = _sparse_signs_csr(rng, n, n, float(self.input_connectivity))
        stacked = sparse.csr_matrix(sparse.bmat(grid))
        stacked.sort_indices()
        return (
            stacked.indptr.astype(np.int64),
            stacked.indices.astype(np.int64),
            stacked.data.astype(np.float64),
        )

    def _reservoir(self) -> _rnnfast.Reservoir:
        """The native tuple; with output feedback, ``W_fb`` is appended to ``W_in``'s columns."""
        w_in = self.input_weights_
        fb = getattr(self, "feedback_weights_", None)
        if fb is not None:
            w_in = np.ascontiguousarray(np.hstack([w_in, fb]))
        return (
            self.reservoir_indptr_,
            self.reservoir_indices_,
            self.reservoir_weights_,
            w_in,
            self.bias_,
            float(self.leak_rate),
            str(self.activation),
            float(getattr(self, "state_noise", 0.0)),
            int(self.noise_seed_),
            int(getattr(self, "n_layers", 1)),
        )

    def _threads(self) -> int | None:
        return None if self.n_jobs is None else int(self.n_jobs)

    # -- input -----------------------------------------------------------------------------

    def _batch(self, x: SequenceInput, *, reset: bool) -> Batch:
        """Validates ``x`` (and, when ``reset``, records ``n_features_in_``) as a padded batch."""
        dtype = self._dtype()
        if _is_ragged(x):
            arrays = [check_array(a, dtype=dtype) for a in x]
            features = {a.shape[1] for a in arrays}
            if len(features) != 1:
                raise ShapeError(f"X: every sequence needs the same feature count, got {features}")
            self._check_features(features.pop(), reset=reset)
            return as_batch(arrays, None, dtype, self.n_features_in_)
        if np.asarray(x).ndim == 3:
            data = check_array(x, dtype=dtype, allow_nd=True)
            self._check_features(data.shape[2], reset=reset)
            return as_batch(data, None, dtype, self.n_features_in_)
        data = self._plain_series(x, reset=reset, dtype=dtype)
        if data is None:
            data = validate_data(self, x, reset=reset, dtype=dtype)
        return as_batch(data, None, dtype, self.n_features_in_)

    def _plain_series(self, x: Any, *, reset: bool, dtype: np.dtype[Any]) -> Array | None:
        """``x`` as ``validate_data`` would return it when none of its work is needed, else None.

        ``validate_data`` costs about 0.3 ms a call, 5% of fitting and predicting a 100-unit
        reservoir on 10,000 steps. A plain float array (see :func:`plain_float_array`), on an
        estimator fitted without feature names and with the expected feature count, passes
        every one of its checks.
        """
        if hasattr(self, "feature_names_in_"):
            return None
        data = plain_float_array(x, dtype, (2,))
        if data is None or (not reset and data.shape[1] != getattr(self, "n_features_in_", None)):
            return None
        if reset:
            self.n_features_in_ = data.shape[1]
        return data

    def _check_features(self, n: int, *, reset: bool) -> None:
        if reset:
            self.n_features_in_ = n
        elif n != self.n_features_in_:
            raise ShapeError(
                f"X has {n} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )


def _unpad(values: Array, batch: Batch, start: int = 0) -> Any:
    """Per-step results back in the caller's form (one array, a 3-D array or a list)."""
    if batch.unbatched:
        return values[0, start:]
    if batch.lengths is None:
        return values[:, start:]
    return [v[start:length] for v, length in zip(values, batch.lengths, strict=True)]


class Reservoir(_ReservoirMixin, TransformerMixin, BaseEstimator):
    """An echo state reservoir as a scikit-learn transformer: input series in, states out.

    ``fit`` draws the weights (it only looks at the number of features); ``transform`` runs the
    reservoir from the zero state and returns the states of every step after ``washout``. With
    the default ``washout=0`` the rows line up with the input, so any scikit-learn regressor can
    serve as the readout in a pipeline.

    Parameters
    ----------
    n_reservoir : int, default=100
        Number of reservoir units.
    spectral_radius : float, default=0.9
        Largest eigenvalue modulus of the recurrent matrix after scaling.
    leak_rate : float, default=1.0
        Leak rate ``a`` in (0, 1].
    input_scaling : float or array of shape (n_features,), default=1.0
        Scale of the input weights, one value or one per feature.
    density : float, default=0.1
        Fraction of non-zero recurrent weights.
    input_connectivity : float, default=0.1
        Fraction of non-zero input weights.
    bias_scaling : float, default=1.0
        Scale of the bias (uniform in ``[-bias_scaling, bias_scaling]``).
    activation : {"tanh", "identity", "relu"}, default="tanh"
        Reservoir nonlinearity.
    weight_distribution : {"normal", "uniform"}, default="normal"
        Distribution of the recurrent weights before scaling.
    washout : int, default=0
        Initial steps of each sequence dropped from the output.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the weights, the states and the outputs.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the weights.
    n_jobs : int or None, default=None
        Threads for batches of sequences (None: ``rnnfast.get_num_threads()``).

    Attributes
    ----------
    reservoir_indptr_, reservoir_indices_, reservoir_weights_ : ndarray
        The recurrent matrix in CSR form.
    input_weights_ : ndarray of shape (n_reservoir, n_features_in_)
    bias_ : ndarray of shape (n_reservoir,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from rnnfast import Reservoir
    >>> u = np.sin(np.linspace(0, 20, 200))[:, None]
    >>> model = make_pipeline(Reservoir(n_reservoir=50, random_state=0), Ridge(alpha=1e-6))
    >>> _ = model.fit(u[:-1], u[1:, 0])
    >>> Reservoir(n_reservoir=50, random_state=0).fit_transform(u).shape
    (200, 50)

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
        washout: int = 0,
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
        self.washout = washout
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: SequenceInput, y: Any = None) -> Reservoir:
        """Draws the reservoir weights for ``X``'s feature count; returns self."""
        self._check_params()
        self._batch(X, reset=True)
        self._build_reservoir(self.n_features_in_)
        return self

    def transform(self, X: SequenceInput) -> Any:
        """The states after ``washout``: ``(steps - washout, n_reservoir)`` per sequence."""
        check_is_fitted(self)
        batch = self._batch(X, reset=False)
        states, _ = _rnnfast.esn_run(
            self._reservoir(), batch.data, batch.lengths, threads=self._threads()
        )
        return _unpad(states, batch, int(self.washout))
