"""Validation and conversion of binary ``{0, 1}`` / bipolar ``{-1, +1}`` state arrays.

The native kernels work on bipolar states in the model's float dtype; the estimators accept
either encoding, remember which one they were fitted with, and answer in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.utils import check_array

from .exceptions import EncodingError, NonFiniteError, ParameterError, ShapeError

__all__ = [
    "ENCODINGS",
    "as_float_matrix",
    "as_states",
    "check_choice",
    "check_dtype",
    "from_bipolar",
]

#: Values of the ``encoding`` parameter ("auto" detects the encoding in ``fit``).
ENCODINGS = ("auto", "binary", "bipolar")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Returns ``value`` if it is one of ``choices``, else raises :class:`ParameterError`.

    >>> check_choice("update", "sync", ("sync", "async"))
    'sync'
    """
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{name}: expected one of {choices}, got {value!r}")
    return value


def check_dtype(value: Any) -> np.dtype[Any]:
    """The float32 or float64 dtype named by ``value``, else :class:`ParameterError`.

    >>> check_dtype("float64")
    dtype('float64')
    """
    try:
        dtype: np.dtype[Any] = np.dtype(value)
    except TypeError as e:
        raise ParameterError(f"dtype: expected 'float32' or 'float64', got {value!r}") from e
    if dtype.name not in ("float32", "float64"):
        raise ParameterError(f"dtype: expected 'float32' or 'float64', got {dtype.name!r}")
    return dtype


def _numeric_2d(name: str, value: Any, owner: str, n_units: int | None) -> npt.NDArray[Any]:
    # scikit-learn's check_array refuses sparse and complex input and converts object arrays of
    # numbers, with the messages its estimator checks expect; shapes are checked here. A numeric
    # ndarray needs none of that (check_array costs more than a small recall).
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return _check_2d(name, value, owner, n_units)
    try:
        array: npt.NDArray[Any] = check_array(
            value,
            accept_sparse=False,
            dtype="numeric",
            ensure_all_finite=False,
            ensure_2d=False,
            allow_nd=True,
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=name,
        )
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from e
    return _check_2d(name, array, owner, n_units)


def _check_2d(
    name: str, array: npt.NDArray[Any], owner: str, n_units: int | None
) -> npt.NDArray[Any]:
    if array.ndim != 2:
        raise ShapeError(
            f"{name}: expected a 2-D array (n_samples, n_units), got shape {array.shape}. "
            "Reshape your data with array.reshape(1, -1) for a single sample."
        )
    for axis, what in enumerate(("sample", "feature")):
        if array.shape[axis] == 0:
            raise ShapeError(
                f"{name}: found array with 0 {what}(s) (shape={array.shape}) while a minimum "
                "of 1 is required."
            )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if n_units is not None and array.shape[1] != n_units:
        raise ShapeError(
            f"{name} has {array.shape[1]} features, but {owner} is expecting {n_units} "
            "features as input"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise NonFiniteError(f"{name} contains NaN or infinity")
    return array


def as_float_matrix(
    name: str, value: Any, dtype: np.dtype[Any], owner: str, n_units: int | None = None
) -> npt.NDArray[Any]:
    """Checks that ``value`` is a finite, non-empty 2-D numeric array; returns it in ``dtype``.

    >>> as_float_matrix("X", [[1, 2]], np.dtype("float64"), "doc")
    array([[1., 2.]])
    """
    return np.ascontiguousarray(_numeric_2d(name, value, owner, n_units), dtype=dtype)


def _is_bipolar(array: npt.NDArray[Any]) -> bool:
    return bool(np.all(np.abs(array) == 1))


def _is_binary(array: npt.NDArray[Any]) -> bool:
    return bool(np.all((array == 0) | (array == 1)))


def as_states(
    name: str,
    value: Any,
    dtype: np.dtype[Any],
    encoding: str,
    owner: str,
    n_units: int | None = None,
) -> tuple[npt.NDArray[Any], str]:
    """Checks ``value`` and returns it as C-contiguous bipolar ``dtype`` states, with its encoding.

    ``encoding`` is "binary", "bipolar" or "auto" (detected: bipolar when every value is ±1,
    binary when every value is 0 or 1; an all-ones array counts as bipolar). Binary states map to
    bipolar as ``2 x - 1``.

    >>> states, enc = as_states("X", [[0, 1, 1]], np.dtype("float32"), "auto", "doc")
    >>> states.tolist(), enc
    ([[-1.0, 1.0, 1.0]], 'binary')
    """
    array = _numeric_2d(name, value, owner, n_units)
    if encoding == "auto":
        encoding = "bipolar" if _is_bipolar(array) else "binary" if _is_binary(array) else ""
        if not encoding:
            values = np.unique(array)
            shown = f"{values[:5].tolist()}{' ...' if values.size > 5 else ''}"
            raise EncodingError(
                f"{name}: expected binary {{0, 1}} or bipolar {{-1, +1}} values, got {shown}"
            )
    elif not (_is_bipolar(array) if encoding == "bipolar" else _is_binary(array)):
        expected = "{-1, +1}" if encoding == "bipolar" else "{0, 1}"
        raise EncodingError(f"{name}: expected {encoding} values {expected}")
    if encoding == "binary":
        array = 2 * array.astype(dtype) - 1
    return np.ascontiguousarray(array, dtype=dtype), encoding


def from_bipolar(states: npt.NDArray[Any], encoding: str) -> npt.NDArray[np.int8]:
    """Bipolar states as int8 in ``encoding`` ("binary" maps -1 to 0).

    >>> from_bipolar(np.array([[-1.0, 1.0]]), "binary").tolist()
    [[0, 1]]
    """
    signs = states.astype(np.int8)
    return (signs + 1) // 2 if encoding == "binary" else signs
