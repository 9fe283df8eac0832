"""Plain-NumPy loss of a recurrent stack with a linear head: the oracle of the training tests.

It runs each layer with :func:`reference.reference_forward` (float64, one step at a time), so it
shares no code with the native training path, then applies the head and the loss with NumPy.
Finite differences of this function are what the native gradients are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from reference import reference_forward

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Model:
    """The native ``Trainer``'s configuration, as the reference needs it."""

    cell: str
    hidden_sizes: tuple[int, ...]
    bidirectional: bool
    target: str  # "last_step" or "every_step"
    loss: str
    alpha: float = 0.0


def split(layout: list[tuple[int, str, int, list[int]]], flat: F64):
    """Per-layer PyTorch state dicts and the head, from the flat vector and its layout."""
    layers: dict[int, dict[str, F64]] = {}
    head: dict[str, F64] = {}
    for layer, name, start, shape in layout:
        value = flat[start : start + int(np.prod(shape))].reshape(shape)
        (head if layer < 0 else layers.setdefault(layer, {}))[name] = value
    return [layers[k] for k in sorted(layers)], head


def loss(
    model: Model,
    layout,
    flat: F64,
    x: F64,
    targets: F64,
    lengths=None,
    states=None,
) -> float:
    """Mean loss over the samples plus the L2 penalty; ``states`` are per-layer ``(h0, c0)``."""
    layers, head = split(layout, flat)
    n, steps = x.shape[:2]
    lengths = np.full(n, steps) if lengths is None else np.asarray(lengths)
    out = x
    for k, params in enumerate(layers):
        h0, c0 = (None, None) if states is None else states[k]
        out, h_n, _ = reference_forward(
            model.cell,
            params,
            out,
            num_layers=1,
            bidirectional=model.bidirectional,
            lengths=lengths,
            h0=h0,
            c0=c0,
        )
    if model.target == "last_step":
        features = h_n.transpose(1, 0, 2).reshape(n, -1)
        truth = targets
    else:
        mask = np.arange(steps) < lengths[:, None]
        features, truth = out[mask], targets[mask]
    scores = features @ head["weight"].T + head["bias"]
    per_sample = _loss_rows(model.loss, scores, truth)
    weights = [v for layer in layers for k, v in layer.items() if k.startswith("weight")]
    weights.append(head["weight"])
    penalty = 0.5 * model.alpha * sum(float((w**2).sum()) for w in weights)
    return float((per_sample.sum() + penalty) / len(per_sample))


def _loss_rows(kind: str, z: F64, y: F64) -> F64:
    if kind == "squared_error":
        return 0.5 * ((z - y) ** 2).sum(axis=1)
    if kind == "softmax_cross_entropy":
        log_p = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
        return -(y * log_p).sum(axis=1)
    return (np.logaddexp(0, z) - y * z).sum(axis=1)


def numeric_gradient(f, point: F64, coords, eps: float = 1e-6) -> F64:
    """Central differences of ``f`` at ``point`` along the coordinates ``coords``."""
    grad = np.zeros(len(coords))
    for i, k in enumerate(coords):
        step = np.zeros_like(point)
        step[k] = eps
        grad[i] = (f(point + step) - f(point - step)) / (2 * eps)
    return grad


def relative_error(a: F64, b: F64) -> float:
    """``|a - b| / (|a| + |b|)`` over whole vectors."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
