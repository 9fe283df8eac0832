"""Modern (dense) Hopfield retrieval and Kosko's bidirectional associative memory (BAM).

See :mod:`rnnfast.hopfield` for the classical network and the shared conventions (encodings,
ties to +1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _rnnfast
from ._states import ENCODINGS, as_float_matrix, as_states, check_choice, check_dtype, from_bipolar
from ._validation import check_positive_int
from .exceptions import ParameterError, ShapeError

__all__ = ["BAM", "BAMRecall", "ModernHopfield"]


class ModernHopfield(BaseEstimator):  # type: ignore[misc]
    """Modern (dense) Hopfield retrieval (Ramsauer et al., 2020).

    Stores continuous patterns ``X`` (the rows of ``Ξ``) and updates a query ``ξ`` by
    ``ξ ← Ξᵀ softmax(β Ξ ξ)``, ``max_iter`` times. A well-separated pattern is retrieved in one
    update, and far more patterns than units can be stored.

    Parameters
    ----------
    beta : float
        Inverse temperature (> 0): larger values retrieve single patterns, smaller ones average.
    max_iter : int
        Number of updates.
    dtype : {"float32", "float64"}
        Precision of the patterns and of retrieval.

    Attributes
    ----------
    patterns_ : ndarray of shape (n_patterns, n_features)
    n_patterns_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> patterns = np.array([[1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]])
    >>> model = rnnfast.ModernHopfield(beta=4.0).fit(patterns)
    >>> model.predict([[0.9, -0.5, 0.8, -1.0]]).round(2)
    array([[ 1., -1.,  1., -1.]], dtype=float32)

    """

    def __init__(self, beta: float = 1.0, max_iter: int = 1, dtype: str = "float32") -> None:
        self.beta = beta
        self.max_iter = max_iter
        self.dtype = dtype

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

    def fit(self, X: Any, y: None = None) -> ModernHopfield:
        """Stores the patterns ``X`` (n_patterns, n_features); ``y`` is ignored."""
        if isinstance(self.beta, bool) or not isinstance(self.beta, int | float):
            raise ParameterError(f"beta: expected a number > 0, got {self.beta!r}")
        if not (np.isfinite(self.beta) and self.beta > 0):
            raise ParameterError(f"beta: expected a finite number > 0, got {self.beta!r}")
        check_positive_int("max_iter", self.max_iter)
        dtype = check_dtype(self.dtype)
        self.patterns_ = as_float_matrix("X", X, dtype, type(self).__name__)
        self.n_patterns_, self.n_features_in_ = (int(d) for d in self.patterns_.shape)
        return self

    def _queries(self, X: Any) -> npt.NDArray[Any]:
        check_is_fitted(self, "patterns_")
        return as_float_matrix(
            "X", X, self.patterns_.dtype, type(self).__name__, self.n_features_in_
        )

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The states retrieved from the queries ``X`` (n_queries, n_features)."""
        queries = self._queries(X)
        return _rnnfast.modern_hopfield_retrieve(
            self.patterns_, queries, float(self.beta), int(self.max_iter)
        )

    def energy(self, X: Any) -> npt.NDArray[np.float64]:
        """Ramsauer et al.'s energy of each state, in float64.

        ``E(ξ) = -lse(β, Ξ ξ) + ½ ξᵀξ + log(N) / β + ½ M²``, where ``lse(β, z) = log Σ exp(β z)
        / β``, ``N`` is the number of patterns and ``M`` the largest pattern norm. Updates never
        increase it.

        >>> import numpy as np, rnnfast
        >>> model = rnnfast.ModernHopfield(beta=2.0).fit(np.eye(3))
        >>> e = model.energy([[0.2, 0.3, 0.1], model.predict([[0.2, 0.3, 0.1]])[0]])
        >>> bool(e[1] <= e[0])
        True
        """
        states = self._queries(X).astype(np.float64)
        patterns = self.patterns_.astype(np.float64)
        beta = float(self.beta)
        scores = beta * (states @ patterns.T)
        top = scores.max(axis=1)
        lse = (top + np.log(np.exp(scores - top[:, None]).sum(axis=1))) / beta
        norm = float(np.max(np.linalg.norm(patterns, axis=1)))
        energy: npt.NDArray[np.float64] = (
            -lse
            + 0.5 * np.einsum("bi,bi->b", states, states)
            + np.log(self.n_patterns_) / beta
            + 0.5 * norm**2
        )
        return energy


@dataclass(frozen=True)
class BAMRecall:
    """The result of :meth:`BAM.recall`, one entry per probe.

    ``x`` and ``y``: the final layers (int8, in the fitted encoding); ``converged``: a round trip
    ``x → y → x`` changed neither layer; ``n_sweeps``: round trips run, the last one included.
    """

    x: npt.NDArray[np.int8]
    y: npt.NDArray[np.int8]
    converged: npt.NDArray[np.bool_]
    n_sweeps: npt.NDArray[np.int64]


class BAM(BaseEstimator):  # type: ignore[misc]
    """Kosko's bidirectional associative memory: hetero-associative pairs ``(x, y)``.

    ``fit(X, Y)`` stores ``W = Σ xᵀ y`` (bipolar). Recall from ``x`` alternates
    ``y ← f(x W)`` and ``x ← f(y Wᵀ)``, both layers updated at once, until neither changes
    (``f``: +1 at or above 0, else -1), which never increases the energy ``-x W yᵀ``.

    Parameters
    ----------
    max_iter : int
        Largest number of round trips.
    encoding : {"auto", "binary", "bipolar"}
        Values of both layers: {0, 1} or {-1, +1}; "auto" detects it in ``fit`` from X and Y
        together.
    dtype : {"float32", "float64"}
        Precision of the weights and of recall.

    Attributes
    ----------
    weights_ : ndarray of shape (n_features_in_, n_outputs_)
    n_pairs_ : int
    n_features_in_ : int
        Width of the X layer.
    n_outputs_ : int
        Width of the Y layer.
    encoding_ : str

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> X = np.array([[1, -1, 1, -1, 1, -1], [1, 1, -1, -1, 1, 1]])
    >>> Y = np.array([[1, 1, -1, -1], [1, -1, 1, -1]])
    >>> bam = rnnfast.BAM().fit(X, Y)
    >>> bam.predict([[1, -1, 1, -1, 1, 1]])
    array([[ 1,  1, -1, -1]], dtype=int8)
    >>> bam.predict_inverse(Y[1:])
    array([[ 1,  1, -1, -1,  1,  1]], dtype=int8)

    """

    def __init__(self, max_iter: int = 100, encoding: str = "auto", dtype: str = "float32") -> None:
        self.max_iter = max_iter
        self.encoding = encoding
        self.dtype = dtype

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def fit(self, X: Any, Y: Any) -> BAM:
        """Stores the pairs (``X[k]``, ``Y[k]``); ``X`` and ``Y`` have one row per pair."""
        check_positive_int("max_iter", self.max_iter)
        check_choice("encoding", self.encoding, ENCODINGS)
        dtype = check_dtype(self.dtype)
        owner = type(self).__name__
        if Y is None:
            raise ValueError(f"{owner} requires y to be passed, but the target y is None")
        x = as_float_matrix("X", X, dtype, owner)
        y = as_float_matrix("Y", Y, dtype, owner)
        if x.shape[0] != y.shape[0]:
            raise ShapeError(
                f"X, Y: expected one row per pair in both, got {x.shape[0]} and {y.shape[0]} rows"
            )
        # One encoding for both layers, detected from both together.
        both, self.encoding_ = as_states("X, Y", np.hstack([x, y]), dtype, self.encoding, owner)
        self.n_pairs_, self.n_features_in_ = (int(d) for d in x.shape)
        self.n_outputs_ = int(y.shape[1])
        xs, ys = both[:, : self.n_features_in_], both[:, self.n_features_in_ :]
        self.weights_ = np.ascontiguousarray(xs.T @ ys)
        return self

    def _layer(self, name: str, value: Any) -> npt.NDArray[Any]:
        """``value`` checked as layer ``name`` ("X" or "Y"), bipolar in the weights' dtype."""
        check_is_fitted(self, "weights_")
        width = self.n_features_in_ if name == "X" else self.n_outputs_
        owner = type(self).__name__
        return as_states(name, value, self.weights_.dtype, self.encoding_, owner, width)[0]

    def recall(self, X: Any, inverse: bool = False) -> BAMRecall:
        """Recalls from the X layer (or from the Y layer when ``inverse``) and reports how it went.

        ``x`` and ``y`` of the result are always the X and Y layers.
        """
        if inverse:
            probes = self._layer("Y", X)
            y, x, converged, n_sweeps = _rnnfast.bam_recall(
                np.ascontiguousarray(self.weights_.T), probes, int(self.max_iter)
            )
        else:
            probes = self._layer("X", X)
            x, y, converged, n_sweeps = _rnnfast.bam_recall(
                self.weights_, probes, int(self.max_iter)
            )
        enc = self.encoding_
        return BAMRecall(from_bipolar(x, enc), from_bipolar(y, enc), converged, n_sweeps)

    def predict(self, X: Any) -> npt.NDArray[np.int8]:
        """The Y layer recalled from ``X`` (int8, in the fitted encoding)."""
        return self.recall(X).y

    def predict_inverse(self, Y: Any) -> npt.NDArray[np.int8]:
        """The X layer recalled from ``Y`` (int8, in the fitted encoding)."""
        return self.recall(Y, inverse=True).x

    def energy(self, X: Any, Y: Any) -> npt.NDArray[np.float64]:
        """``E(x, y) = -x W yᵀ`` of each pair of rows (bipolar), in float64.

        >>> import rnnfast
        >>> bam = rnnfast.BAM().fit([[1, -1]], [[1, 1, -1]])
        >>> bam.energy([[1, -1]], [[1, 1, -1]]).tolist()
        [-6.0]
        """
        x = self._layer("X", X).astype(np.float64)
        y = self._layer("Y", Y).astype(np.float64)
        if x.shape[0] != y.shape[0]:
            raise ShapeError(f"X, Y: expected as many rows, got {x.shape[0]} and {y.shape[0]}")
        energy: npt.NDArray[np.float64] = -np.einsum("bi,ij,bj->b", x, self.weights_, y)
        return energy

    def score(self, X: Any, Y: Any) -> float:
        """Recall accuracy: the fraction of units where ``predict(X)`` equals ``Y``."""
        target = from_bipolar(self._layer("Y", Y), self.encoding_)
        return float(np.mean(self.predict(X) == target))
