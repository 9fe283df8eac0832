"""scikit-learn estimators for recurrent networks, trained by backpropagation through time.

See :mod:`rnnfast._sequence_data` for how X and y are read: one 2-D sequence, a 3-D batch or a
list of ragged sequences; targets per sequence (many-to-one) or per time step (many-to-many).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import type_of_target

from ._estimator_base import RecurrentEstimator
from ._sequence_data import MANY_TO_MANY, resolve_mode, target_rows
from .exceptions import NonFiniteError, ParameterError, ShapeError

__all__ = ["RNNClassifier", "RNNRegressor"]

Array = npt.NDArray[Any]

_SHARED_PARAMETERS = """
    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default "lstm"
        The recurrent cell, with PyTorch's equations.
    hidden_sizes : sequence of int, default (64,)
        Units of each stacked layer (per direction), bottom first.
    bidirectional : bool, default False
        Each layer runs both directions; many-to-one predictions read both final states.
    nonlinearity : {"tanh", "relu"}, default "tanh"
        Activation of the "rnn" cell.
    solver : {"adam", "sgd", "adamw"}, default "adam"
        "adamw" is Adam with ``alpha`` as decoupled weight decay instead of an L2 penalty.
    learning_rate_init : float, default 1e-3
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of the "sgd" solver, as in scikit-learn's MLP.
    power_t : float, default 0.5
        Exponent of "invscaling".
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's moment decays and stabiliser.
    alpha : float, default 1e-4
        L2 penalty ``alpha/2 * ||W||^2 / n_samples`` on the weights (not the biases).
    batch_size : int or "auto", default "auto"
        Sequences per update; "auto" is ``min(32, n_sequences)``.
    max_iter : int, default 200
        Epochs.
    shuffle : bool, default True
        Shuffle the sequences each epoch.
    tol : float, default 1e-4
    n_iter_no_change : int, default 10
        Training stops when the loss (or, with ``early_stopping``, the validation score) has
        not improved by ``tol`` for this many epochs in a row.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the sequences (of the steps, for one sequence) and
        keep the weights that scored best on them.
    validation_fraction : float, default 0.1
    clip_grad_norm : float or None, default None
        Rescale each update's gradient to at most this Euclidean norm.
    bptt_steps : int or None, default None
        Truncated BPTT: gradients flow back at most this many steps (the state carries on), so
        long series train in bounded memory. Each mini-batch still makes one update.
    output_mode : {"auto", "many_to_one", "many_to_many"}, default "auto"
        Whether y is per sequence or per step; "auto" reads it from y's shape.
    warm_start : bool, default False
        Continue from the previous fit's weights and optimizer state.
    random_state : int, Generator or None
        Seeds initialisation, shuffling and the validation split.
    verbose : int, default 0
        1 prints the loss of each epoch; 2 shows a progress bar when tqdm is installed.
    dtype : {"float32", "float64"}, default "float32"
        Precision of training and prediction.
"""

_SHARED_ATTRIBUTES = """
    n_features_in_ : int
    n_outputs_ : int
        Units of the linear head.
    output_mode_ : str
        "many_to_one" or "many_to_many", as resolved at fit.
    network_ : SequenceModel
        The trained inference model (recurrent layers plus head).
    n_iter_ : int
        Epochs run.
    loss_ : float
    loss_curve_ : list of float
        Mean training loss of each epoch.
    best_loss_ : float or None
        Lowest loss (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Score on the validation split after each epoch (with ``early_stopping``).
    best_validation_score_ : float or None
"""


# The docstrings are assembled from the parameter section both estimators share.
class RNNRegressor(RegressorMixin, RecurrentEstimator):  # type: ignore[misc]  # noqa: D101
    __doc__ = (
        """Recurrent-network regressor trained by backpropagation through time.

    The loss is half the squared error summed over the outputs, averaged over the samples
    (sequences for many-to-one, real time steps for many-to-many).
    """
        + _SHARED_PARAMETERS
        + """
    Attributes
    ----------"""
        + _SHARED_ATTRIBUTES
        + """
    Examples
    --------
    Forecast the next value of a sine wave from windows of 20 steps (many-to-one):

    >>> import numpy as np, rnnfast
    >>> t = np.arange(0, 60, 0.1)
    >>> windows = np.stack([np.sin(t[i : i + 20]) for i in range(500)])[:, :, None]
    >>> nxt = np.sin(t[20:520])
    >>> model = rnnfast.RNNRegressor("gru", (16,), learning_rate_init=0.01, max_iter=30,
    ...                              random_state=0).fit(windows, nxt)
    >>> model.score(windows, nxt) > 0.95
    True
    >>> model.predict(windows[:3]).shape
    (3,)
    """
    )

    _loss = "squared_error"

    def fit(self, X: Any, y: Any) -> RNNRegressor:
        """Trains on X and y (see the class docstring for their forms); returns self.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> rnnfast.RNNRegressor("gru", (4,), max_iter=2).fit(X, X[:, -1, 0]).n_iter_
        2
        """
        self._check_params()
        self._fit_regression(X, y, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any) -> RNNRegressor:
        """One epoch on X and y, continuing from the current weights; returns self.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> model = rnnfast.RNNRegressor("gru", (4,)).partial_fit(X, X[:, -1, 0])
        >>> model.partial_fit(X, X[:, -1, 0]).n_iter_
        2
        """
        if not hasattr(self, "network_"):
            self._check_params()
        self._fit_regression(X, y, incremental=True)
        return self

    def _fit_regression(self, X: Any, y: Any, incremental: bool) -> None:
        self._check_y(y)
        seqs = self._read_X(X, reset=not (incremental and hasattr(self, "network_")))
        mode = resolve_mode(seqs, y, self.output_mode)
        rows = target_rows(seqs, y, mode)
        targets = _as_numeric_targets(rows)
        self._single_output = rows.ndim == 1
        self.n_features_in_ = seqs.x.shape[2]
        self._fit_sequences(seqs, targets.reshape(len(targets), -1), mode, incremental)

    def predict(self, X: Any) -> Any:
        """Predictions shaped like y.

        Per sequence: ``(n,)``, or ``(n, outputs)``. Per step: in X's form (one array, a padded
        batch with zeros past each end, or a list).

        >>> import numpy as np, rnnfast
        >>> seqs = [np.ones((3, 1)), np.ones((5, 1))]
        >>> targets = [np.zeros(3), np.ones(5)]
        >>> model = rnnfast.RNNRegressor("rnn", (4,), max_iter=1).fit(seqs, targets)
        >>> [p.shape for p in model.predict(seqs)]
        [(3,), (5,)]
        """
        scores, seqs = self._scores(X)
        if self._single_output:
            scores = scores[..., 0]
        return self._shape_like_X(scores, seqs)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² over all targets (every real step for many-to-many).

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> model = rnnfast.RNNRegressor("gru", (4,), max_iter=2).fit(X, X[:, -1, 0])
        >>> model.score(X, X[:, -1, 0]) <= 1.0
        True
        """
        scores, seqs = self._scores(X)
        rows = target_rows(seqs, y, self.output_mode_)
        if self.output_mode_ == MANY_TO_MANY:
            scores = seqs.step_rows(scores)
        truth = _as_numeric_targets(rows).reshape(len(rows), -1)
        return float(r2_score(truth, scores, sample_weight=sample_weight))

    def _score_outputs(self, scores: Array, targets: Array) -> float:
        return float(r2_score(targets, scores))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class RNNClassifier(ClassifierMixin, RecurrentEstimator):  # type: ignore[misc]  # noqa: D101
    __doc__ = (
        """Recurrent-network classifier trained by backpropagation through time.

    Labels (integers or strings) per sequence or per time step are trained with softmax
    cross-entropy; a per-sequence 0/1 indicator matrix ``(n_sequences, n_labels)`` is
    multi-label and trained with sigmoid cross-entropy.
    """
        + _SHARED_PARAMETERS
        + """
    Attributes
    ----------
    classes_ : ndarray
        The labels (for multi-label, ``0 .. n_labels - 1``)."""
        + _SHARED_ATTRIBUTES
        + """
    Examples
    --------
    Tell whether a sequence's first half is larger than its second (order matters):

    >>> import numpy as np, rnnfast
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 12, 1)).astype(np.float32)
    >>> y = np.where(X[:, :6, 0].sum(1) > X[:, 6:, 0].sum(1), "first", "second")
    >>> clf = rnnfast.RNNClassifier("gru", (16,), learning_rate_init=0.02, max_iter=40,
    ...                             random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
    )

    _loss = "softmax_cross_entropy"

    def fit(self, X: Any, y: Any) -> RNNClassifier:
        """Trains on X and labels y (see the class docstring for their forms); returns self.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y).classes_
        array(['down', 'up'], dtype='<U4')
        """
        self._check_params()
        for name in ("classes_", "_multilabel"):
            self.__dict__.pop(name, None)
        self._fit_classification(X, y, None, incremental=False)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> RNNClassifier:
        """One epoch on X and y; the first call needs ``classes`` (all labels). Returns self.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> clf = rnnfast.RNNClassifier("gru", (4,)).partial_fit(X, y, classes=["down", "up"])
        >>> clf.partial_fit(X, y).n_iter_
        2
        """
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ParameterError("classes: must be given on the first call to partial_fit")
            self._check_params()
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ParameterError(
                f"classes: {np.unique(classes).tolist()} differ from the first call's "
                f"{self.classes_.tolist()}"
            )
        self._fit_classification(X, y, classes, incremental=True)
        return self

    def _loss_name(self) -> str:
        return "sigmoid_cross_entropy" if self._multilabel else self._loss

    def _fit_classification(self, X: Any, y: Any, classes: Any, incremental: bool) -> None:
        self._check_y(y)
        seqs = self._read_X(X, reset=not (incremental and hasattr(self, "network_")))
        mode = resolve_mode(seqs, y, self.output_mode)
        rows = target_rows(seqs, y, mode)
        if rows.ndim == 2 and rows.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is read as one "
                "label per sample",
                DataConversionWarning,
                stacklevel=3,
            )
            rows = rows[:, 0]
        if not hasattr(self, "classes_"):
            kind = type_of_target(rows)
            if kind.startswith("continuous"):
                raise ParameterError(
                    f"Unknown label type: {kind}; y holds real values, use RNNRegressor"
                )
            self._multilabel = kind == "multilabel-indicator"
            if self._multilabel:
                self.classes_ = np.arange(rows.shape[1])
            else:
                self.classes_ = np.unique(_label_rows(rows) if classes is None else classes)
                if len(self.classes_) < 2 and classes is None:
                    raise ParameterError(
                        f"y: needs at least 2 classes to train a classifier, got "
                        f"{len(self.classes_)} class"
                    )
        self.n_features_in_ = seqs.x.shape[2]
        self._fit_sequences(seqs, self._encode(rows), mode, incremental)

    def _encode(self, rows: Array) -> Array:
        """One-hot (or indicator) float targets."""
        if self._multilabel:
            if rows.ndim != 2 or rows.shape[1] != len(self.classes_):
                raise ShapeError(
                    f"y: expected a ({len(rows)}, {len(self.classes_)}) indicator matrix, "
                    f"got shape {rows.shape}"
                )
            return _as_numeric_targets(rows)
        labels = _label_rows(rows)
        index = np.searchsorted(self.classes_, labels)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != labels
        if unknown.any():
            raise ParameterError(
                f"y: labels {np.unique(labels[unknown]).tolist()} are not in classes_ "
                f"{self.classes_.tolist()}"
            )
        return np.eye(len(self.classes_))[index]

    def decision_function(self, X: Any) -> Any:
        """Raw scores of the head, per sequence or per step like X.

        ``(..., n_classes)``; for two classes ``(...)``, the log-odds of ``classes_[1]``, as
        scikit-learn's binary classifiers return.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y).decision_function(X).shape
        (40,)
        """
        scores, seqs = self._scores(X)
        if len(self.classes_) == 2 and not self._multilabel:
            scores = scores[..., 1] - scores[..., 0]
        return self._shape_like_X(scores, seqs)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities (softmax of the scores; sigmoid per label for multi-label).

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> proba = rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y).predict_proba(X)
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
        ((40, 2), True)
        """
        scores, seqs = self._scores(X)
        return self._shape_like_X(self._probabilities(scores), seqs)

    def predict_log_proba(self, X: Any) -> Any:
        """Logarithm of :meth:`predict_proba`, computed without underflow.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> clf = rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y)
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X)))
        True
        """
        scores, seqs = self._scores(X)
        if self._multilabel:
            log_p = -np.logaddexp(0, -scores)
        else:
            log_p = scores - np.logaddexp.reduce(scores, axis=-1, keepdims=True)
        return self._shape_like_X(log_p, seqs)

    def predict(self, X: Any) -> Any:
        """Labels per sequence, or per step shaped like X (multi-label: an indicator matrix).

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y).predict(X[:3]).shape
        (3,)
        """
        scores, seqs = self._scores(X)
        return self._shape_like_X(self._labels(scores), seqs)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy over all targets.

        Every real step counts for many-to-many; multi-label needs the exact label set.

        >>> import numpy as np, rnnfast
        >>> X = np.random.default_rng(0).normal(size=(40, 5, 2))
        >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
        >>> 0 <= rnnfast.RNNClassifier("gru", (4,), max_iter=2).fit(X, y).score(X, y) <= 1
        True
        """
        scores, seqs = self._scores(X)
        rows = target_rows(seqs, y, self.output_mode_)
        if self.output_mode_ == MANY_TO_MANY:
            scores = seqs.step_rows(scores)
        predicted = self._labels(scores)
        truth = rows if self._multilabel else _label_rows(rows)
        return float(accuracy_score(truth, predicted, sample_weight=sample_weight))

    def _score_outputs(self, scores: Array, targets: Array) -> float:
        if self._multilabel:
            return float(accuracy_score(targets, scores > 0))
        return float(accuracy_score(targets.argmax(-1), scores.argmax(-1)))

    def _probabilities(self, scores: Array) -> Array:
        if self._multilabel:
            probabilities: Array = 1.0 / (1.0 + np.exp(-scores))
            return probabilities
        shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=-1, keepdims=True)
        return probabilities

    def _labels(self, scores: Array) -> Array:
        if self._multilabel:
            return (scores > 0).astype(np.int64)
        labels: Array = self.classes_[scores.argmax(axis=-1)]
        return labels

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _as_numeric_targets(rows: Array) -> Array:
    """Float targets, refusing non-numeric and non-finite values."""
    if rows.dtype.kind not in "fiub":
        try:
            rows = rows.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ShapeError(f"y: expected numeric targets, got dtype {rows.dtype}") from e
    rows = rows.astype(np.float64)
    if rows.size == 0:
        raise ShapeError("y: expected at least one target")
    if not np.isfinite(rows).all():
        raise NonFiniteError("y contains NaN or infinity")
    return rows


def _label_rows(rows: Array) -> Array:
    """Labels as a 1-D array (a column vector of labels is accepted)."""
    if rows.ndim == 2 and rows.shape[1] == 1:
        rows = rows[:, 0]
    if rows.ndim != 1:
        raise ShapeError(f"y: expected one label per sample, got shape {rows.shape}")
    if rows.dtype.kind == "f" and not np.isfinite(rows).all():
        raise NonFiniteError("y contains NaN or infinity")
    return rows
