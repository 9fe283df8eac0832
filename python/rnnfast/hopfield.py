"""Classical Hopfield networks: Hebbian, Storkey and pseudo-inverse storage, batched recall.

Conventions (the same in the native kernels):

- Patterns are binary ``{0, 1}`` or bipolar ``{-1, +1}``. Binary patterns are mapped to bipolar
  (``s = 2 x - 1``) for learning, recall and energy, and answers are mapped back.
- Update rule: a unit becomes +1 (or 1) when its local field ``h_i = Σ_j w_ij s_j`` is **at or
  above** ``threshold``, else -1 (or 0). Ties go to +1.
- Weights are symmetric with a zero diagonal. Hebbian: ``W = (1/N) Σ_μ ξ^μ ξ^μᵀ``. Storkey
  (1997), pattern after pattern: ``w_ij += (ξ_i ξ_j - ξ_i h_ji - h_ij ξ_j) / N`` with
  ``h_ij = Σ_{k≠i,j} w_ik ξ_k``. Pseudo-inverse (projection): ``W = Ξᵀ (Ξ Ξᵀ)⁺ Ξ``, the
  orthogonal projection onto the span of the patterns, with its diagonal then set to zero (a
  stored pattern stays a fixed point as long as every diagonal entry was below 1, i.e. with fewer
  patterns than units).
- Energy: ``E(s) = -½ sᵀ W s + threshold · Σ_i s_i``; asynchronous updates never increase it.

With few patterns (``2 p < N``) Hebbian and pseudo-inverse recall run on the factors of ``W``
(rank ``p``) instead of the ``N x N`` matrix; Hebbian recall then counts in integers (exact in
float32 while ``N · p < 2**24``), so ties are decided exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _rnnfast
from ._states import ENCODINGS, as_states, check_choice, check_dtype, from_bipolar
from ._validation import check_positive_int, resolve_rng
from .exceptions import ParameterError

__all__ = ["HopfieldNetwork", "HopfieldRecall"]

RULES = ("hebbian", "storkey", "pseudoinverse")
UPDATES = ("async", "sync")
ORDERS = ("random", "sequential")


@dataclass(frozen=True)
class HopfieldRecall:
    """The result of :meth:`HopfieldNetwork.recall`, one entry per probe.

    ``states``: recalled states (int8, in the fitted encoding); ``converged``: a full sweep
    changed nothing; ``n_sweeps``: sweeps run, the last one included (1 for a probe that already
    was a fixed point); ``cycled``: synchronous updates entered a 2-cycle (``states`` then holds
    the last state before the repeat).
    """

    states: npt.NDArray[np.int8]
    converged: npt.NDArray[np.bool_]
    n_sweeps: npt.NDArray[np.int64]
    cycled: npt.NDArray[np.bool_]


class HopfieldNetwork(BaseEstimator):  # type: ignore[misc]
    """Classical (binary) Hopfield network: a content-addressable memory.

    Parameters
    ----------
    rule : {"hebbian", "storkey", "pseudoinverse"}
        Learning rule. Storkey stores more random patterns than Hebbian; the pseudo-inverse rule
        also stores correlated patterns.
    update : {"async", "sync"}
        "async" updates one unit at a time, each seeing the latest state; a sweep visits every
        unit once. "sync" updates all units at once and stops on a 2-cycle.
    max_iter : int
        Largest number of sweeps per probe.
    threshold : float
        A unit turns on when its local field is at or above it.
    order : {"random", "sequential"}
        Asynchronous visiting order: a new random permutation per sweep (drawn from
        ``random_state``, one stream per probe) or unit index order.
    encoding : {"auto", "binary", "bipolar"}
        Pattern values: {0, 1} or {-1, +1}; "auto" detects it in ``fit``.
    dtype : {"float32", "float64"}
        Precision of the weights and of recall.
    random_state : int, numpy Generator or RandomState, optional
        Seed of the asynchronous orders. With an int, every ``predict`` uses the same orders.

    Attributes
    ----------
    weights_ : ndarray of shape (n_units, n_units)
        Symmetric weights with a zero diagonal.
    patterns_ : ndarray of shape (n_patterns, n_units)
        The stored patterns, bipolar int8.
    n_patterns_ : int
        Number of stored patterns.
    encoding_ : str
        "binary" or "bipolar": the encoding of inputs and outputs.
    n_features_in_ : int
        Number of units.

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> patterns = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 1, 0]])
    >>> net = rnnfast.HopfieldNetwork(random_state=0).fit(patterns)
    >>> net.predict([[1, 1, 1, 0, 0, 0, 0, 0]])
    array([[1, 1, 1, 1, 0, 0, 0, 0]], dtype=int8)
    >>> result = net.recall([[1, 1, 1, 0, 0, 0, 0, 0]])
    >>> bool(result.converged[0]), int(result.n_sweeps[0])
    (True, 2)

    """

    def __init__(
        self,
        rule: str = "hebbian",
        update: str = "async",
        max_iter: int = 100,
        threshold: float = 0.0,
        order: str = "random",
        encoding: str = "auto",
        dtype: str = "float32",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        self.rule = rule
        self.update = update
        self.max_iter = max_iter
        self.threshold = threshold
        self.order = order
        self.encoding = encoding
        self.dtype = dtype
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

    # -- learning ----------------------------------------------------------------------------

    def _check_params(self) -> np.dtype[Any]:
        check_choice("rule", self.rule, RULES)
        check_choice("update", self.update, UPDATES)
        check_choice("order", self.order, ORDERS)
        check_choice("encoding", self.encoding, ENCODINGS)
        check_positive_int("max_iter", self.max_iter)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float):
            raise ParameterError(f"threshold: expected a number, got {self.threshold!r}")
        if not np.isfinite(self.threshold):
            raise ParameterError(f"threshold: expected a finite number, got {self.threshold!r}")
        return check_dtype(self.dtype)

    def fit(self, X: Any, y: None = None) -> HopfieldNetwork:
        """Stores the patterns ``X`` (n_patterns, n_units), forgetting earlier ones.

        ``y`` is ignored. Returns ``self``.
        """
        dtype = self._check_params()
        states, encoding = as_states("X", X, dtype, self.encoding, type(self).__name__)
        n = states.shape[1]
        self.encoding_ = encoding
        self.n_features_in_ = n
        self.patterns_ = np.empty((0, n), dtype=np.int8)
        self.weights_ = np.zeros((n, n), dtype=dtype)
        self.n_patterns_ = 0
        return self._store(states)

    def partial_fit(self, X: Any, y: None = None) -> HopfieldNetwork:
        """Adds the patterns ``X`` to those already stored (``fit`` when unfitted).

        Hebbian and Storkey weights are updated incrementally, the Storkey rule being sequential
        by nature (``partial_fit(a); partial_fit(b)`` equals ``fit(vstack([a, b]))`` up to
        rounding). The pseudo-inverse weights are recomputed from all stored patterns.
        """
        if not hasattr(self, "weights_"):
            return self.fit(X)
        dtype = self._check_params()
        if self.weights_.dtype != dtype:
            raise ParameterError(
                f"dtype: the network was fitted in {self.weights_.dtype}, got {dtype.name}"
            )
        states, _ = self._states("X", X)
        return self._store(states)

    def _store(self, states: npt.NDArray[Any]) -> HopfieldNetwork:
        self.patterns_ = np.vstack([self.patterns_, states.astype(np.int8)])
        self.n_patterns_ = int(self.patterns_.shape[0])
        if self.rule == "pseudoinverse":
            self.weights_ = _projection(self.patterns_).astype(self.weights_.dtype)
        else:
            self.weights_ = _rnnfast.hopfield_learn(self.rule, self.weights_, states)
        return self

    # -- recall ------------------------------------------------------------------------------

    def _states(self, name: str, X: Any) -> tuple[npt.NDArray[Any], str]:
        check_is_fitted(self, "weights_")
        return as_states(
            name,
            X,
            self.weights_.dtype,
            self.encoding_,
            type(self).__name__,
            self.n_features_in_,
        )

    def _memory(self) -> tuple[list[npt.NDArray[Any]], float]:
        """The weights as the kernel takes them, and the factor that scales the threshold."""
        n, p, dtype = self.n_features_in_, self.n_patterns_, self.weights_.dtype
        low_rank = 2 * p < n and self.rule != "storkey"
        if self.rule == "hebbian":
            # Integer counts: W·N = ΞᵀΞ - p I, compared against threshold·N.
            if low_rank:
                patterns = self.patterns_.astype(dtype)
                return [patterns, patterns, np.full(n, p, dtype)], n
            return [np.rint(self.weights_ * n).astype(dtype)], n
        if low_rank:
            a_t, patterns = _projection_factor(self.patterns_)
            diag = np.einsum("ik,ki->i", a_t, patterns)
            return [np.ascontiguousarray(a.astype(dtype)) for a in (a_t.T, patterns, diag)], 1.0
        return [self.weights_], 1.0

    def recall(self, X: Any) -> HopfieldRecall:
        """Recalls each probe of ``X`` (n_probes, n_units) and reports how it went.

        >>> import numpy as np, rnnfast
        >>> net = rnnfast.HopfieldNetwork(update="sync").fit([[1, -1, 1, -1, 1, -1]])
        >>> r = net.recall([[1, 1, 1, -1, 1, -1], [1, -1, 1, -1, 1, -1]])
        >>> r.states.tolist(), r.converged.tolist(), r.n_sweeps.tolist()
        ([[1, -1, 1, -1, 1, -1], [1, -1, 1, -1, 1, -1]], [True, True], [2, 1])
        """
        probes, _ = self._states("X", X)
        memory, scale = self._memory()
        seed = int(resolve_rng(self.random_state).integers(0, 2**63))
        states, converged, n_sweeps, cycled = _rnnfast.hopfield_recall(
            probes,
            memory,
            float(self.threshold) * scale,
            self.update,
            int(self.max_iter),
            seed,
            self.order == "random",
        )
        return HopfieldRecall(from_bipolar(states, self.encoding_), converged, n_sweeps, cycled)

    def predict(self, X: Any) -> npt.NDArray[np.int8]:
        """The recalled states of the probes ``X`` (int8, in the fitted encoding)."""
        return self.recall(X).states

    def energy(self, X: Any) -> npt.NDArray[np.float64]:
        """``E(s) = -½ sᵀ W s + threshold Σ s_i`` of each state (bipolar), in float64.

        >>> import rnnfast
        >>> net = rnnfast.HopfieldNetwork().fit([[1, -1, 1, -1]])
        >>> net.energy([[1, -1, 1, -1], [1, 1, 1, 1]]).tolist()
        [-1.5, 0.5]
        """
        states, _ = self._states("X", X)
        s = states.astype(np.float64)
        weights = self.weights_.astype(np.float64)
        quadratic = np.einsum("bi,bi->b", s @ weights, s)
        energy: npt.NDArray[np.float64] = -0.5 * quadratic + float(self.threshold) * s.sum(axis=1)
        return energy

    def score(self, X: Any, y: Any = None) -> float:
        """Recall accuracy: the fraction of units where ``predict(X)`` equals ``y``.

        ``y`` defaults to ``X``: then the score measures how well ``X`` are kept as memories
        (1.0 when every probe is a fixed point).
        """
        recalled = self.predict(X)
        target, _ = self._states("y", X if y is None else y)
        return float(np.mean(recalled == from_bipolar(target, self.encoding_)))


def _projection_factor(
    patterns: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(Ξᵀ (Ξ Ξᵀ)⁺, Ξ)`` in float64, whose product is the projection onto the patterns' span.

    The pseudo-inverse of the small ``p x p`` Gram matrix comes from LAPACK through NumPy.
    """
    xi = patterns.astype(np.float64)
    return xi.T @ np.linalg.pinv(xi @ xi.T, hermitian=True), xi


def _projection(patterns: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """The pseudo-inverse rule's weights: ``Ξᵀ (Ξ Ξᵀ)⁺ Ξ`` with a zero diagonal."""
    a_t, xi = _projection_factor(patterns)
    weights = a_t @ xi
    np.fill_diagonal(weights, 0.0)
    return weights
