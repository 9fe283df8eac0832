"""How the estimators read X and y, and shape their predictions like X.

X is one 2-D sequence ``(steps, features)`` (rows are time steps, what a scaler in a
``Pipeline`` produces), a 3-D batch ``(sequences, steps, features)`` of equal lengths, or a list
of 2-D sequences of different lengths.

y holds one target per sequence (many-to-one) or one per time step (many-to-many). With
``output_mode="auto"`` the shape decides: y whose leading axes match X's time axes, ``(steps,
...)`` for one sequence, ``(sequences, steps, ...)`` for a batch, a list of ``(steps_i, ...)``
arrays for a list, is per step; y with one leading entry per sequence is per sequence. A batch
y of shape ``(sequences, steps)`` is read per step; pass ``output_mode="many_to_one"`` when it
holds ``steps`` outputs per sequence instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import as_batch
from .exceptions import NonFiniteError, ParameterError, ShapeError

__all__ = [
    "MANY_TO_MANY",
    "MANY_TO_ONE",
    "OUTPUT_MODES",
    "Sequences",
    "read_X",
    "resolve_mode",
    "target_rows",
]

MANY_TO_ONE = "many_to_one"
MANY_TO_MANY = "many_to_many"
OUTPUT_MODES = ("auto", MANY_TO_ONE, MANY_TO_MANY)

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Sequences:
    """X as a padded batch, with the form it came in (``single``, ``batch`` or ``list``)."""

    x: Array
    lengths: npt.NDArray[np.int64]
    form: str

    @property
    def n(self) -> int:
        """Number of sequences."""
        return int(self.x.shape[0])

    @property
    def steps(self) -> int:
        """Padded length."""
        return int(self.x.shape[1])

    def subset(self, rows: Any) -> Sequences:
        """The sequences ``rows``, as a batch trimmed to their longest length."""
        lengths = self.lengths[rows]
        steps = int(lengths.max())
        return Sequences(np.ascontiguousarray(self.x[rows, :steps]), lengths, "list")

    def step_rows(self, values: Array) -> Array:
        """The real steps of a padded ``(n, steps, ...)`` array, concatenated in order."""
        mask = np.arange(values.shape[1]) < self.lengths[:, np.newaxis]
        return values[mask]

    def pad(self, rows: Array) -> Array:
        """Inverse of :meth:`step_rows`: real-step rows to a zero-padded ``(n, steps, ...)``."""
        out = np.zeros((self.n, self.steps, *rows.shape[1:]), dtype=rows.dtype)
        out[np.arange(self.steps) < self.lengths[:, np.newaxis]] = rows
        return out

    def like_X(self, values: Array) -> Any:
        """Per-step ``(n, steps, ...)`` values in X's form.

        One array for one sequence, the padded batch for a batch, a list of arrays for a list.
        """
        if self.form == "single":
            return values[0]
        if self.form == "list":
            return [values[i, :length] for i, length in enumerate(self.lengths)]
        return values


def read_X(X: Any, dtype: np.dtype[Any], n_features: int | None, owner: str = "") -> Sequences:
    """Reads X in any of its three forms; refuses empty, sparse, non-numeric and non-finite data.

    A list of 2-D arrays is a batch of ragged sequences; any other list (of rows, say) is read
    as an array. ``owner`` names the estimator in the feature-count error.

    >>> import numpy as np
    >>> s = read_X([np.ones((3, 2)), np.ones((5, 2))], np.dtype("float32"), None)
    >>> s.x.shape, s.lengths.tolist(), s.form
    ((2, 5, 2), [3, 5], 'list')
    """
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError("X: sparse data is not supported; pass a dense array (X.toarray())")
    ragged = isinstance(X, list | tuple) and len(X) > 0 and np.ndim(X[0]) == 2
    if not ragged:
        X = np.asarray(X) if not isinstance(X, np.ndarray) else X
        if X.ndim == 2 and 0 in X.shape:
            rows, features = X.shape
            what = f"{rows} sample(s)" if rows == 0 else f"{features} feature(s)"
            raise ShapeError(f"X: {what} (shape={X.shape}) while a minimum of 1 is required.")
        if n_features is not None and X.ndim in (2, 3) and X.shape[-1] != n_features:
            raise ShapeError(
                f"X has {X.shape[-1]} features, but {owner or 'the estimator'} is expecting "
                f"{n_features} features as input."
            )
        if np.iscomplexobj(X):
            raise ShapeError("X: Complex data not supported")
    batch = as_batch(X, None, dtype, n_features, name="X", allow_int=True)
    if batch.data.size == 0:
        raise ShapeError(
            f"X: expected at least one time step and one feature, got {batch.data.shape}"
        )
    n, steps = batch.data.shape[:2]
    lengths = batch.lengths if batch.lengths is not None else np.full(n, steps, dtype=np.int64)
    form = "single" if batch.unbatched else "list" if ragged else "batch"
    seqs = Sequences(batch.data, lengths, form)
    if not np.isfinite(seqs.step_rows(batch.data)).all():
        raise NonFiniteError("X contains NaN or infinity")
    return seqs


def resolve_mode(seqs: Sequences, y: Any, output_mode: str) -> str:
    """Whether ``y`` is per sequence or per step (see the module's docstring).

    >>> import numpy as np
    >>> s = read_X(np.zeros((4, 10, 2)), np.dtype("float64"), None)
    >>> resolve_mode(s, np.zeros(4), "auto"), resolve_mode(s, np.zeros((4, 10)), "auto")
    ('many_to_one', 'many_to_many')
    """
    if output_mode not in OUTPUT_MODES:
        raise ParameterError(f"output_mode: expected one of {OUTPUT_MODES}, got {output_mode!r}")
    if output_mode != "auto":
        return output_mode
    if seqs.form == "list":
        per_step = isinstance(y, list | tuple) and all(np.ndim(item) >= 1 for item in y)
        return MANY_TO_MANY if per_step and len(y) > 0 else MANY_TO_ONE
    shape = np.asarray(y).shape
    time_axes = (seqs.steps,) if seqs.form == "single" else (seqs.n, seqs.steps)
    if shape[: len(time_axes)] == time_axes:
        return MANY_TO_MANY
    if seqs.form == "single":
        if len(shape) >= 1 and shape[0] == 1:
            return MANY_TO_ONE
        raise ShapeError(
            f"y: X is one sequence of {seqs.steps} steps, so y needs one target per step "
            f"(leading axis {seqs.steps}) or one in all (leading axis 1); got shape {shape}"
        )
    return MANY_TO_ONE


def target_rows(seqs: Sequences, y: Any, mode: str) -> Array:
    """The targets as rows: one per sequence, or one per real step in sequence order.

    >>> import numpy as np
    >>> s = read_X([np.zeros((2, 1)), np.zeros((3, 1))], np.dtype("float64"), None)
    >>> target_rows(s, [np.array([1, 2]), np.array([3, 4, 5])], "many_to_many").tolist()
    [1, 2, 3, 4, 5]
    """
    if mode == MANY_TO_ONE:
        rows = np.asarray(y)
        if rows.ndim == 0 or rows.shape[0] != seqs.n:
            raise ShapeError(
                f"y: expected one target per sequence ({seqs.n}), got shape {rows.shape}"
            )
        return rows
    if seqs.form == "list":
        if not isinstance(y, list | tuple) or len(y) != seqs.n:
            raise ShapeError(
                f"y: expected a list of {seqs.n} per-step target arrays, one per sequence"
            )
        items = [np.asarray(item) for item in y]
        for i, (item, length) in enumerate(zip(items, seqs.lengths, strict=True)):
            if item.ndim == 0 or item.shape[0] != length:
                raise ShapeError(
                    f"y[{i}]: expected {length} targets (one per step), got shape {item.shape}"
                )
        return np.concatenate(items)
    rows = np.asarray(y)
    time_axes = (seqs.steps,) if seqs.form == "single" else (seqs.n, seqs.steps)
    if rows.shape[: len(time_axes)] != time_axes:
        raise ShapeError(
            f"y: expected one target per step, leading shape {time_axes}, got {rows.shape}"
        )
    return rows.reshape((seqs.n * seqs.steps, *rows.shape[len(time_axes) :]))
