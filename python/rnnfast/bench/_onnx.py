"""ONNX graphs equivalent to rnnfast's (PyTorch-style) recurrent networks, and sessions to run them.

:func:`build_onnx_model` turns a PyTorch-named parameter dict (``model.state_dict()``) into a
graph of standard ONNX ``RNN`` / ``LSTM`` / ``GRU`` nodes (one per layer, ``layout=0``),
converting the gate order at this edge. The benchmarks run it in onnxruntime
(:func:`ort_session`); the tests also compare it with ONNX's reference evaluator.

Models use opset 22 and IR version 10 (the IR version that introduced opset 22). onnxruntime
(1.32, CPU) implements these operators for float32 only: with float64 an ``RNN`` model fails at
session creation and ``LSTM`` / ``GRU`` models at run time. It honours ``sequence_lens``
exactly like PyTorch's packed sequences. This module needs ``onnx`` (the benchmarks import it
only through :func:`~rnnfast.bench._libraries.require`).

>>> import numpy as np, rnnfast
>>> net = rnnfast.LSTM(3, 4, random_state=0)
>>> model = build_onnx_model(
...     "lstm", net.state_dict(), input_size=3, hidden_size=4, num_layers=1,
...     bidirectional=False, dtype=np.float32)
>>> x = np.ones((2, 5, 3), dtype=np.float32)
>>> feeds = make_feeds("lstm", x, hidden_size=4, num_layers=1, bidirectional=False,
...                    dtype=np.float32)
>>> y, h, c = ort_session(model, threads=1).run(None, feeds)
>>> bool(np.allclose(y, net(x)[0], atol=1e-5))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from numpy.typing import ArrayLike, DTypeLike, NDArray
from onnx import TensorProto, helper, numpy_helper

from ._libraries import require

__all__ = ["IR_VERSION", "OPSET", "build_onnx_model", "make_feeds", "ort_session"]

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
    time_major: bool = False,
) -> onnx.ModelProto:
    """Build an ONNX model computing the same network as rnnfast's ``forward``.

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
    time_major : bool, default False
        Whether ``X`` and ``Y`` are (T, B, ...), the layout of ONNX's recurrent operators
        (onnxruntime has no batch-first ``layout=1``): this spares the graph its transposes.

    Returns
    -------
    onnx.ModelProto
        A checked model with inputs ``X`` (B, T, I), ``sequence_lens`` (B,) int32,
        ``initial_h`` (num_layers*D, B, H) and, for LSTM, ``initial_c``; outputs ``Y``
        (B, T, D*H), ``Y_h`` and, for LSTM, ``Y_c`` (num_layers*D, B, H). ``B`` and ``T``
        are dynamic and swap places in ``X`` and ``Y`` when ``time_major``.

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
    first_input = "X" if time_major else "X_t"
    nodes = [] if time_major else [helper.make_node("Transpose", ["X"], ["X_t"], perm=[1, 0, 2])]
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
        layer_input = first_input if layer == 0 else f"X_l{layer}"
        inputs = [layer_input, f"W_l{layer}", f"R_l{layer}", f"B_l{layer}", "sequence_lens"]
        inputs.append(f"h0_l{layer}")
        outputs = [f"Y_l{layer}", f"Y_h_l{layer}"]
        if is_lstm:
            nodes.append(helper.make_node("Slice", ["initial_c", *bounds], [f"c0_l{layer}"]))
            inputs.append(f"c0_l{layer}")
            outputs.append(f"Y_c_l{layer}")
        nodes.append(helper.make_node(_OP_TYPE[cell], inputs, outputs, **attrs))
        # Y is (T, D, B, H): the next layer wants (T, B, D*H), the graph output (B, T, D*H).
        last = layer == num_layers - 1
        perm = [2, 0, 1, 3] if last and not time_major else [0, 2, 1, 3]
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
    leading = ["time", "batch"] if time_major else ["batch", "time"]
    graph_inputs = [
        helper.make_tensor_value_info("X", elem, [*leading, input_size]),
        helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("initial_h", elem, state_shape),
    ]
    graph_outputs = [
        helper.make_tensor_value_info("Y", elem, [*leading, num_dirs * hidden_size]),
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
        producer_name="rnnfast",
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
    time_major: bool = False,
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
    time_major : bool, default False
        Whether the model was built ``time_major``: ``X`` is then fed as (T, B, I).

    Returns
    -------
    dict of str to ndarray
        ``X``, ``sequence_lens``, ``initial_h`` and, for LSTM, ``initial_c``.

    """
    xs = np.asarray(x, dtype=dtype)
    batch, steps, _ = xs.shape
    state_shape = ((2 if bidirectional else 1) * num_layers, batch, hidden_size)
    feeds = {
        "X": np.ascontiguousarray(xs.transpose(1, 0, 2)) if time_major else xs,
        "sequence_lens": np.asarray(
            np.full(batch, steps) if lengths is None else lengths, dtype=np.int32
        ),
        "initial_h": np.zeros(state_shape, dtype) if h0 is None else np.asarray(h0, dtype),
    }
    if cell == "lstm":
        feeds["initial_c"] = np.zeros(state_shape, dtype) if c0 is None else np.asarray(c0, dtype)
    return feeds


def ort_session(model: onnx.ModelProto, threads: int) -> Any:
    """An onnxruntime CPU session of ``model`` limited to ``threads`` threads.

    Execution is sequential (one node after the other, as the graph is a chain), so the
    inter-op pool is unused and gets one thread; ``threads`` sizes the intra-op pool that
    parallelises inside a node. Raises :class:`~rnnfast.bench.LibraryMissing` without
    onnxruntime.
    """
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
