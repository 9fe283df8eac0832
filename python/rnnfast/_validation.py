"""Argument checking and conversion shared by the public classes.

The native layer requires C-contiguous arrays of the model's dtype; this module produces them
(converting at most once) and turns every malformed argument into an exception that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .exceptions import ParameterError, ShapeError

__all__ = [
    "Batch",
    "as_batch",
    "as_float_array",
    "check_positive_int",
    "plain_float_array",
    "resolve_rng",
]


@dataclass(frozen=True)
class Batch:
    """A batch ready for the native layer.

    ``data`` is ``(batch, steps, features)``; ``lengths`` is int64 ``(batch,)`` or ``None`` when
    every sequence fills all steps; ``unbatched`` records that the caller passed one 2-D sequence,
    so results lose their batch axis again on the way out.
    """

    data: npt.NDArray[np.floating[Any]]
    lengths: npt.NDArray[np.int64] | None
    unbatched: bool


def as_float_array(
    name: str, value: Any, dtype: np.dtype[Any], *, allow_int: bool = False
) -> npt.NDArray[Any]:
    """Converts ``value`` to a C-contiguous array of ``dtype``, refusing non-float input.

    With ``allow_int`` (scikit-learn's convention for estimator data), integer and boolean input
    is converted too. Complex, string and object input is always refused.

    >>> as_float_array("x", [[1.0, 2.0]], np.dtype("float32")).dtype
    dtype('float32')
    >>> as_float_array("X", [[1, 2]], np.dtype("float64"), allow_int=True).dtype
    dtype('float64')
    """
    array = np.asarray(value)
    if array.dtype.kind == "c":
        raise TypeError(f"{name}: Complex data not supported, got dtype {array.dtype}")
    if allow_int and array.dtype.kind == "O":
        # Object arrays of numbers (as pandas produces) convert; anything else fails here.
        array = array.astype(np.float64)
    accepted = "fiub" if allow_int else "f"
    if array.dtype.kind not in accepted:
        kinds = "numeric" if allow_int else "floating-point"
        raise TypeError(f"{name}: expected a {kinds} array, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype)


def plain_float_array(
    value: Any, dtype: np.dtype[Any], ndims: tuple[int, ...]
) -> npt.NDArray[Any] | None:
    """``value`` as a C-contiguous ``dtype`` array if it is a plain float ndarray, else None.

    Plain: non-empty, finite, with one of ``ndims`` dimensions. Such an array passes every
    check of scikit-learn's ``check_array``, which costs about 0.3 ms a call (most of it
    looking for dataframe libraries); callers fall back to it for anything else, for its own
    errors and warnings.

    >>> plain_float_array(np.ones((2, 3)), np.dtype("float32"), (2,)).dtype
    dtype('float32')
    >>> plain_float_array([[1.0]], np.dtype("float64"), (2,)) is None
    True
    """
    if type(value) is not np.ndarray or value.ndim not in ndims or value.dtype.kind != "f":
        return None
    if value.size == 0:
        return None
    array = np.ascontiguousarray(value, dtype=dtype)
    return array if np.isfinite(array).all() else None


def _as_lengths(lengths: Any, batch: int) -> npt.NDArray[np.int64]:
    array = np.asarray(lengths)
    if array.dtype.kind not in "iu":
        raise TypeError(f"lengths: expected integers, got dtype {array.dtype}")
    if array.shape != (batch,):
        raise ShapeError(f"lengths: expected shape ({batch},), one per sequence, got {array.shape}")
    return np.ascontiguousarray(array, dtype=np.int64)


def _pad(
    sequences: Sequence[Any],
    dtype: np.dtype[Any],
    input_size: int | None,
    name: str,
    allow_int: bool,
) -> Batch:
    if len(sequences) == 0:
        raise ShapeError(f"{name}: expected at least one sequence, got an empty list")
    arrays = [
        as_float_array(f"{name}[{i}]", s, dtype, allow_int=allow_int)
        for i, s in enumerate(sequences)
    ]
    if input_size is None and arrays[0].ndim == 2:
        input_size = arrays[0].shape[1]
    for i, a in enumerate(arrays):
        if a.ndim != 2:
            raise ShapeError(f"{name}[{i}]: expected a 2-D (steps, features) array, got {a.shape}")
        if a.shape[1] != input_size:
            raise ShapeError(f"{name}[{i}]: expected {input_size} features, got {a.shape[1]}")
        if a.shape[0] == 0:
            raise ShapeError(f"{name}[{i}]: expected at least one time step, got 0")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    data = np.zeros((len(arrays), int(lengths.max()), arrays[0].shape[1]), dtype=dtype)
    for row, a in zip(data, arrays, strict=True):
        row[: a.shape[0]] = a
    return Batch(data, lengths, unbatched=False)


def as_batch(
    x: Any,
    lengths: Any,
    dtype: np.dtype[Any],
    input_size: int | None,
    *,
    name: str = "input",
    allow_int: bool = False,
) -> Batch:
    """Normalises the three accepted input forms to one padded batch.

    - a 2-D array ``(steps, features)``: one sequence;
    - a 3-D array ``(batch, steps, features)``, optionally with ``lengths`` for ragged batches;
    - a list of 2-D arrays of different lengths (``lengths`` then comes from the list).

    ``input_size`` None takes the feature count from the data; errors name the argument
    ``name``; ``allow_int`` accepts integer data (see :func:`as_float_array`).

    >>> b = as_batch([np.ones((2, 3)), np.ones((4, 3))], None, np.dtype("float64"), 3)
    >>> b.data.shape, b.lengths.tolist()
    ((2, 4, 3), [2, 4])
    """
    if isinstance(x, list | tuple):
        if lengths is not None:
            raise ParameterError("lengths: must be None when input is a list of sequences")
        return _pad(x, dtype, input_size, name, allow_int)
    data = as_float_array(name, x, dtype, allow_int=allow_int)
    if data.ndim not in (2, 3):
        raise ShapeError(
            f"{name}: expected a 2-D (steps, features) or 3-D (batch, steps, features) array "
            f"or a list of 2-D arrays, got shape {data.shape}. Reshape your data: one "
            "sequence of one feature is x.reshape(-1, 1)"
        )
    if input_size is not None and data.shape[-1] != input_size:
        raise ShapeError(
            f"{name}: expected {input_size} features (last axis), got {data.shape[-1]}"
        )
    if data.ndim == 2:
        if lengths is not None:
            raise ParameterError("lengths: must be None for a single 2-D sequence")
        return Batch(data[np.newaxis], None, unbatched=True)
    checked = None if lengths is None else _as_lengths(lengths, data.shape[0])
    return Batch(data, checked, unbatched=False)


def check_positive_int(name: str, value: Any) -> int:
    """Returns ``value`` if it is an integer >= 1, else raises :class:`ParameterError`.

    >>> check_positive_int("hidden_size", 4)
    4
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


def check_float_dtype(value: Any) -> np.dtype[Any]:
    """The NumPy dtype named by an estimator's ``dtype`` parameter: float32 or float64.

    >>> check_float_dtype("float32")
    dtype('float32')
    """
    if value not in ("float32", "float64", np.float32, np.float64):
        raise ParameterError(f"dtype: expected 'float32' or 'float64', got {value!r}")
    dtype: np.dtype[Any] = np.dtype(value)
    return dtype


def resolve_rng(random_state: Any) -> np.random.Generator:
    """A NumPy generator from ``None``, an int seed, a ``Generator`` or a ``RandomState``.

    >>> float(resolve_rng(0).random()) == float(resolve_rng(0).random())
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or isinstance(random_state, int | np.integer):
        return np.random.default_rng(random_state)
    raise ParameterError(
        "random_state: expected None, an int, or a numpy Generator/RandomState, "
        f"got {random_state!r}"
    )
