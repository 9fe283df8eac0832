"""ONNX back ends as outside references: the package's graph builder, run two ways.

The graphs come from :mod:`rnnfast.bench._onnx` (shared with the benchmarks);
:func:`run_reference_evaluator` runs them in ``onnx.reference.ReferenceEvaluator`` and
:func:`run_onnxruntime` in onnxruntime on one thread.

What the installed back ends support (onnx 1.23, onnxruntime 1.32, CPU):

* ``ReferenceEvaluator`` computes every op in the input dtype, float32 and float64 alike,
  but:

  - it **ignores** ``sequence_lens``: ``Y`` is not zero-filled past a sequence's end and
    ``Y_h`` / ``Y_c`` are taken at step ``T - 1`` (forward) or ``0`` (reverse) whatever
    the lengths, so it only matches PyTorch when every length equals ``T``;
  - its ``RNN`` only knows the ``Tanh`` and ``Affine`` activations: ``Relu`` raises
    ``RuntimeError("Unknown activation function 'Relu'.")``.

* onnxruntime implements ``RNN``, ``LSTM`` and ``GRU`` for float32 only. With float64
  an ``RNN`` model fails at session creation (``NOT_IMPLEMENTED``: no kernel) and
  ``LSTM`` / ``GRU`` models fail at run time (``RUNTIME_EXCEPTION``: "operator does not
  support double yet"). It honours ``sequence_lens`` exactly like PyTorch's packed
  sequences, including the reverse direction, which starts at each sequence's own last
  step (``Y`` is zero past the end, ``Y_h`` / ``Y_c`` of the reverse direction are the
  states after step ``0``).
"""

from __future__ import annotations

from typing import Any

import onnx
from numpy.typing import NDArray
from onnx.reference import ReferenceEvaluator
from rnnfast.bench._onnx import build_onnx_model, make_feeds, ort_session

__all__ = ["build_onnx_model", "make_feeds", "run_onnxruntime", "run_reference_evaluator"]


def run_reference_evaluator(
    model: onnx.ModelProto, feeds: dict[str, NDArray[Any]]
) -> list[NDArray[Any]]:
    """Run ``model`` with ``onnx.reference.ReferenceEvaluator``; the outputs in graph order."""
    return list(ReferenceEvaluator(model).run(None, feeds))


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, NDArray[Any]]) -> list[NDArray[Any]]:
    """Run ``model`` with onnxruntime's CPU provider on a single thread; the outputs in order."""
    return list(ort_session(model, threads=1).run(None, feeds))
