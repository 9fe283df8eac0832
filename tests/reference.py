"""Plain-NumPy reference implementation of PyTorch's recurrent layers (inference only).

This module is deliberately slow and simple: it loops over sequences and time steps
one at a time and computes everything in float64, whatever the input dtype. It is the
independent oracle ``rnnfast`` is tested against, and is itself cross-checked against
``torch.nn.RNN`` / ``torch.nn.LSTM`` / ``torch.nn.GRU`` in ``test_references.py``.

Conventions follow PyTorch exactly:

* parameters are named ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
  ``bias_hh_l{k}`` (plus a ``_reverse`` suffix for the backward direction), with the
  gates stacked along the first axis in PyTorch's order (LSTM ``i, f, g, o``;
  GRU ``r, z, n``);
* inputs are batch-first ``(B, T, I)``;
* ragged ``lengths`` behave like ``pack_padded_sequence(enforce_sorted=False)`` followed
  by ``pad_packed_sequence``: output rows past a sequence's end are zero, the final
  state is the one at the sequence's own last step, and the reverse direction starts
  at that step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CELLS", "GATES", "random_params", "reference_forward"]

F64 = NDArray[np.float64]

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
"""Supported cell kinds."""

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
"""Number of gate blocks stacked in each weight matrix, per cell kind."""


def _sigmoid(v: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-v))


def _step(
    cell: str,
    x_t: F64,
    h: F64,
    c: F64 | None,
    w_ih: F64,
    w_hh: F64,
    b_ih: F64,
    b_hh: F64,
) -> tuple[F64, F64 | None]:
    """Advance one cell of one sequence by one time step; return the new ``(h, c)``."""
    gi = w_ih @ x_t + b_ih
    gh = w_hh @ h + b_hh
    if cell == "rnn_tanh":
        return np.tanh(gi + gh), None
    if cell == "rnn_relu":
        return np.maximum(gi + gh, 0.0), None
    if cell == "lstm":
        assert c is not None
        i, f, g, o = np.split(gi + gh, 4)
        c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c_new), c_new
    # gru
    i_r, i_z, i_n = np.split(gi, 3)
    h_r, h_z, h_n = np.split(gh, 3)
    r = _sigmoid(i_r + h_r)
    z = _sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h, None


def reference_forward(
    cell: str,
    params: Mapping[str, ArrayLike],
    x: ArrayLike,
    *,
    num_layers: int,
    bidirectional: bool,
    lengths: ArrayLike | None = None,
    h0: ArrayLike | None = None,
    c0: ArrayLike | None = None,
) -> tuple[F64, F64, F64 | None]:
    """Run a (stacked, optionally bidirectional) recurrent network, PyTorch semantics.

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
        Cell kind.
    params : dict of str to array_like
        PyTorch-named parameters (see the module docstring). Bias entries may be
        absent, meaning no bias.
    x : array_like, shape (B, T, I)
        Batch-first input.
    num_layers : int
        Number of stacked layers.
    bidirectional : bool
        Whether each layer also runs a reverse direction.
    lengths : array_like of int, shape (B,), optional
        Per-sequence lengths, each in ``1..T``. All ``T`` when absent.
    h0 : array_like, shape (num_layers * D, B, H), optional
        Initial hidden state (``D = 2`` if bidirectional else 1). Zeros when absent.
    c0 : array_like, shape (num_layers * D, B, H), optional
        Initial cell state, LSTM only. Zeros when absent.

    Returns
    -------
    output : ndarray of float64, shape (B, T, D * H)
        Last layer's outputs, ``[forward, reverse]`` concatenated on the last axis,
        zero past each sequence's length.
    h_n : ndarray of float64, shape (num_layers * D, B, H)
        Final hidden state of every layer and direction (layer-major).
    c_n : ndarray of float64, shape (num_layers * D, B, H), or None
        Final cell state for LSTM, None for the other cells.
    """
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 3:
        raise ValueError(f"x must be (B, T, I), got shape {xs.shape}")
    batch, steps, _ = xs.shape
    num_dirs = 2 if bidirectional else 1
    hidden = np.asarray(params["weight_hh_l0"]).shape[1]

    if lengths is None:
        lens = np.full(batch, steps, dtype=np.int64)
    else:
        lens = np.asarray(lengths, dtype=np.int64)
        if lens.shape != (batch,) or lens.min() < 1 or lens.max() > steps:
            raise ValueError(f"lengths must be (B,) with entries in 1..{steps}, got {lens}")

    state_shape = (num_layers * num_dirs, batch, hidden)
    h_init = np.zeros(state_shape) if h0 is None else np.asarray(h0, dtype=np.float64)
    c_init = np.zeros(state_shape) if c0 is None else np.asarray(c0, dtype=np.float64)
    if h_init.shape != state_shape or c_init.shape != state_shape:
        raise ValueError(f"h0 and c0 must have shape {state_shape}")
    h_n = np.zeros(state_shape)
    c_n = np.zeros(state_shape)

    layer_input = xs
    for layer in range(num_layers):
        layer_output = np.zeros((batch, steps, num_dirs * hidden))
        for direction in range(num_dirs):
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            w_ih = np.asarray(params["weight_ih" + suffix], dtype=np.float64)
            w_hh = np.asarray(params["weight_hh" + suffix], dtype=np.float64)
            zero_bias = np.zeros(w_hh.shape[0])
            b_ih = np.asarray(params.get("bias_ih" + suffix, zero_bias), dtype=np.float64)
            b_hh = np.asarray(params.get("bias_hh" + suffix, zero_bias), dtype=np.float64)
            state = layer * num_dirs + direction
            cols = slice(direction * hidden, (direction + 1) * hidden)
            for b in range(batch):
                h = h_init[state, b]
                c = c_init[state, b] if cell == "lstm" else None
                order = range(lens[b]) if direction == 0 else reversed(range(lens[b]))
                for t in order:
                    h, c = _step(cell, layer_input[b, t], h, c, w_ih, w_hh, b_ih, b_hh)
                    layer_output[b, t, cols] = h
                h_n[state, b] = h
                if c is not None:
                    c_n[state, b] = c
        layer_input = layer_output
    return layer_input, h_n, (c_n if cell == "lstm" else None)


def random_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    bias: bool,
    rng: np.random.Generator,
    scale: float | None = None,
) -> dict[str, F64]:
    """Draw random PyTorch-named parameters for a recurrent network.

    Parameters
    ----------
    cell : {"rnn_tanh", "rnn_relu", "lstm", "gru"}
        Cell kind (fixes the number of gates ``G``).
    input_size : int
        Features of the network input.
    hidden_size : int
        Hidden features ``H``; layers after the first take ``D * H`` inputs.
    num_layers : int
        Number of stacked layers.
    bidirectional : bool
        Whether to also draw the ``_reverse`` parameters.
    bias : bool
        Whether to draw ``bias_ih_*`` / ``bias_hh_*`` entries.
    rng : numpy.random.Generator
        Source of randomness.
    scale : float, optional
        Half-width of the uniform distribution; ``1 / sqrt(H)`` (PyTorch's default
        initialisation) when absent.

    Returns
    -------
    dict of str to ndarray of float64
        ``weight_ih`` (G*H, in), ``weight_hh`` (G*H, H) and, with ``bias``,
        ``bias_ih`` / ``bias_hh`` (G*H,) for every layer and direction.

    Examples
    --------
    >>> p = random_params("gru", 3, 4, 2, True, True, np.random.default_rng(0))
    >>> p["weight_ih_l1_reverse"].shape
    (12, 8)
    """
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    bound = 1.0 / np.sqrt(hidden_size) if scale is None else scale
    num_dirs = 2 if bidirectional else 1
    rows = GATES[cell] * hidden_size
    params: dict[str, F64] = {}
    for layer in range(num_layers):
        in_features = input_size if layer == 0 else num_dirs * hidden_size
        for direction in range(num_dirs):
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            params["weight_ih" + suffix] = rng.uniform(-bound, bound, (rows, in_features))
            params["weight_hh" + suffix] = rng.uniform(-bound, bound, (rows, hidden_size))
            if bias:
                params["bias_ih" + suffix] = rng.uniform(-bound, bound, rows)
                params["bias_hh" + suffix] = rng.uniform(-bound, bound, rows)
    return params
