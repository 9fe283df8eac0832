"""Build ONNX models equivalent to PyTorch-style recurrent networks, as an outside reference.

:func:`build_onnx_model` turns the PyTorch-named ``params`` dict used by
``reference.py`` into a graph of standard ONNX ``RNN`` / ``LSTM`` / ``GRU`` nodes (one per
layer, ``layout=0``), so results can be compared with ``onnx.reference.ReferenceEvaluator``
(:func:`run_reference_evaluator`) and onnxruntime (:func:`run_onnxruntime`).

Models use opset 22 and IR version 10 (the IR version that introduced opset 22).

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

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from numpy.typing import ArrayLike, DTypeLike, NDArray
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

__all__ = [
    "IR_VERSION",
    "OPSET",
    "build_onnx_model",
    "make_feeds",
    "run_onnxruntime",
    "run_reference_evaluator",
]

OPSET = 22
"""ONNX default-domain opset of the built models."""

IR_VERSION = 10
"""ONNX IR version of the built models."""

# ONNX op type and, for each ONNX gate block, the index of the PyTorch gate block
# (LSTM: torch i,f,g,o -> ONNX i,o,f,c; GRU: torch r,z,n -> ONNX z,r,h).
_OP_TYPE = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}
_GATE_ORDER = {"rnn_tanh": [0], "rnn_relu": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}


def _onnx_gates(a: ArrayLike, cell: str) -> NDArray[np.float64]:
    """Reorder the gate blocks stacked along axis 0 from PyTorch's order to ONNX's."""
    blocks = np.split(np.asarray(a, dtype=np.float64), len(_GATE_ORDER[cell]), axis=0)
    return np.concatenate([blocks[g] for g in _GATE_ORDER[cell]], axis=0)


def build_onnx_model(
    cell: str,
    params: Mapping[str, ArrayLike],
    *,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    dtype: DTypeLike,
) -> onnx.ModelProto:
    """Build an ONNX model computing the same network as ``reference.reference_forward``.

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
        Cell kind.
    params : dict of str to array_like
        PyTorch-named parameters (``weight_ih_l{k}``, ``weight_hh_l{k}``, optional
        ``bias_ih_l{k}`` / ``bias_hh_l{k}``, ``_reverse`` variants). A missing bias is zero.
    input_size : int
        Features of the network input ``I``.
    hidden_size : int
        Hidden features ``H``.
    num_layers : int
        Number of stacked layers (one ONNX recurrent node each).
    bidirectional : bool
        Whether each layer runs both directions (``D = 2``).
    dtype : {numpy.float32, numpy.float64}
        Element type of the weights and of every float input and output.

    Returns
    -------
    onnx.ModelProto
        A checked model with inputs ``X`` (B, T, I), ``sequence_lens`` (B,) int32,
        ``initial_h`` (num_layers*D, B, H) and, for LSTM, ``initial_c``; outputs ``Y``
        (B, T, D*H), ``Y_h`` and, for LSTM, ``Y_c`` (num_layers*D, B, H). ``B`` and ``T``
        are dynamic.
    """
    if cell not in _OP_TYPE:
        raise ValueError(f"unknown cell {cell!r}; expected one of {tuple(_OP_TYPE)}")
    np_dtype = np.dtype(dtype)
    if np_dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {np_dtype}")
    elem = helper.np_dtype_to_tensor_dtype(np_dtype)
    num_dirs = 2 if bidirectional else 1
    states = num_layers * num_dirs
    is_lstm = cell == "lstm"
    gate_rows = len(_GATE_ORDER[cell]) * hidden_size

    def tensor(name: str, value: ArrayLike, tensor_dtype: DTypeLike) -> TensorProto:
        return numpy_helper.from_array(np.asarray(value, dtype=tensor_dtype), name)

    initializers = [tensor("flatten_last_two", [0, 0, -1], np.int64)]
    nodes = [helper.make_node("Transpose", ["X"], ["X_l0"], perm=[1, 0, 2])]
    attrs: dict[str, Any] = {
        "hidden_size": hidden_size,
        "direction": "bidirectional" if bidirectional else "forward",
        "layout": 0,
    }
    if cell.startswith("rnn"):
        attrs["activations"] = ["Tanh" if cell == "rnn_tanh" else "Relu"] * num_dirs
    if cell == "gru":
        attrs["linear_before_reset"] = 1

    for layer in range(num_layers):
        suffixes = [f"_l{layer}", f"_l{layer}_reverse"][:num_dirs]
        zero_bias = np.zeros(gate_rows)
        w = [_onnx_gates(params["weight_ih" + s], cell) for s in suffixes]
        r = [_onnx_gates(params["weight_hh" + s], cell) for s in suffixes]
        b = [
            np.concatenate(
                [
                    _onnx_gates(params.get("bias_ih" + s, zero_bias), cell),
                    _onnx_gates(params.get("bias_hh" + s, zero_bias), cell),
                ]
            )
            for s in suffixes
        ]
        initializers += [
            tensor(f"W_l{layer}", np.stack(w), np_dtype),
            tensor(f"R_l{layer}", np.stack(r), np_dtype),
            tensor(f"B_l{layer}", np.stack(b), np_dtype),
            tensor(f"state_start_l{layer}", [layer * num_dirs], np.int64),
            tensor(f"state_end_l{layer}", [(layer + 1) * num_dirs], np.int64),
        ]
        bounds = [f"state_start_l{layer}", f"state_end_l{layer}"]
        nodes.append(helper.make_node("Slice", ["initial_h", *bounds], [f"h0_l{layer}"]))
        inputs = [f"X_l{layer}", f"W_l{layer}", f"R_l{layer}", f"B_l{layer}", "sequence_lens"]
        inputs.append(f"h0_l{layer}")
        outputs = [f"Y_l{layer}", f"Y_h_l{layer}"]
        if is_lstm:
            nodes.append(helper.make_node("Slice", ["initial_c", *bounds], [f"c0_l{layer}"]))
            inputs.append(f"c0_l{layer}")
            outputs.append(f"Y_c_l{layer}")
        nodes.append(helper.make_node(_OP_TYPE[cell], inputs, outputs, **attrs))
        # Y is (T, D, B, H): the next layer wants (T, B, D*H), the graph output (B, T, D*H).
        last = layer == num_layers - 1
        perm = [2, 0, 1, 3] if last else [0, 2, 1, 3]
        nodes += [
            helper.make_node("Transpose", [f"Y_l{layer}"], [f"Y_t_l{layer}"], perm=perm),
            helper.make_node(
                "Reshape",
                [f"Y_t_l{layer}", "flatten_last_two"],
                ["Y" if last else f"X_l{layer + 1}"],
            ),
        ]

    nodes.append(
        helper.make_node("Concat", [f"Y_h_l{k}" for k in range(num_layers)], ["Y_h"], axis=0)
    )
    state_shape: list[str | int] = [states, "batch", hidden_size]
    graph_inputs = [
        helper.make_tensor_value_info("X", elem, ["batch", "time", input_size]),
        helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("initial_h", elem, state_shape),
    ]
    graph_outputs = [
        helper.make_tensor_value_info("Y", elem, ["batch", "time", num_dirs * hidden_size]),
        helper.make_tensor_value_info("Y_h", elem, state_shape),
    ]
    if is_lstm:
        nodes.append(
            helper.make_node("Concat", [f"Y_c_l{k}" for k in range(num_layers)], ["Y_c"], axis=0)
        )
        graph_inputs.append(helper.make_tensor_value_info("initial_c", elem, state_shape))
        graph_outputs.append(helper.make_tensor_value_info("Y_c", elem, state_shape))

    graph = helper.make_graph(
        nodes, f"{cell}_reference", graph_inputs, graph_outputs, initializer=initializers
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="rnnfast-tests",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def make_feeds(
    cell: str,
    x: ArrayLike,
    *,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    dtype: DTypeLike,
    lengths: ArrayLike | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> dict[str, NDArray[Any]]:
    """Build the input dict of a :func:`build_onnx_model` model.

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
        Cell kind (decides whether ``initial_c`` is fed).
    x : array_like, shape (B, T, I)
        Batch-first input.
    hidden_size : int
        Hidden features ``H``.
    num_layers : int
        Number of stacked layers.
    bidirectional : bool
        Whether the layers are bidirectional.
    dtype : {numpy.float32, numpy.float64}
        Element type the model was built with.
    lengths : array_like of int, shape (B,), optional
        Sequence lengths; all ``T`` when absent.
    h0, c0 : array_like, shape (num_layers * D, B, H), optional
        Initial states; zeros when absent (``c0`` is ignored unless ``cell == "lstm"``).

    Returns
    -------
    dict of str to ndarray
        ``X``, ``sequence_lens``, ``initial_h`` and, for LSTM, ``initial_c``.
    """
    xs = np.asarray(x, dtype=dtype)
    batch, steps, _ = xs.shape
    state_shape = ((2 if bidirectional else 1) * num_layers, batch, hidden_size)
    feeds = {
        "X": xs,
        "sequence_lens": np.asarray(
            np.full(batch, steps) if lengths is None else lengths, dtype=np.int32
        ),
        "initial_h": np.zeros(state_shape, dtype) if h0 is None else np.asarray(h0, dtype),
    }
    if cell == "lstm":
        feeds["initial_c"] = np.zeros(state_shape, dtype) if c0 is None else np.asarray(c0, dtype)
    return feeds


def run_reference_evaluator(
    model: onnx.ModelProto, feeds: dict[str, NDArray[Any]]
) -> list[NDArray[Any]]:
    """Run ``model`` with ``onnx.reference.ReferenceEvaluator``.

    Parameters
    ----------
    model : onnx.ModelProto
        Model to evaluate.
    feeds : dict of str to ndarray
        Graph inputs by name.

    Returns
    -------
    list of ndarray
        The graph outputs, in graph order.
    """
    return list(ReferenceEvaluator(model).run(None, feeds))


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, NDArray[Any]]) -> list[NDArray[Any]]:
    """Run ``model`` with onnxruntime's CPU provider on a single thread.

    onnxruntime is imported here, not at module level, so that the rest of this module
    stays usable without it.

    Parameters
    ----------
    model : onnx.ModelProto
        Model to run.
    feeds : dict of str to ndarray
        Graph inputs by name.

    Returns
    -------
    list of ndarray
        The graph outputs, in graph order.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return list(session.run(None, feeds))
