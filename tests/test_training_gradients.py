"""Native BPTT gradients against finite differences of an independent NumPy loss, in float64.

Every cell, stacked (layers of different widths), bidirectional, ragged, both heads, every
loss, the L2 penalty, and truncated BPTT (whose gradient is that of the windowed loss with each
window's initial state held fixed). Tolerance: relative error of the whole gradient below 1e-6,
the issue's bound; central differences with eps=1e-6 carry about 1e-10 of rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from rnnfast import _rnnfast
from training_reference import Model, loss, numeric_gradient, relative_error

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make(model: Model, n_out: int = 2, bptt_steps=None):
    return _rnnfast.Trainer(
        model.cell,
        3,
        list(model.hidden_sizes),
        model.bidirectional,
        True,
        n_out,
        model.target,
        model.loss,
        alpha=model.alpha,
        bptt_steps=bptt_steps,
    )


def data(model: Model, rng, n_out=2, lengths=(6, 3, 5)):
    n, steps = len(lengths), max(lengths)
    x = rng.normal(size=(n, steps, 3))
    shape = (n, n_out) if model.target == "last_step" else (n, steps, n_out)
    if model.loss == "squared_error":
        y = rng.normal(size=shape)
    else:
        y = rng.uniform(size=shape)  # soft targets exercise the general gradient
    return x, y, np.asarray(lengths, dtype=np.int64)


def check(model: Model, seed: int = 0, coords: int = 60):
    rng = np.random.default_rng(seed)
    trainer = make(model)
    params = rng.uniform(-0.6, 0.6, trainer.n_params)
    x, y, lengths = data(model, rng)
    native_loss, grad, *_ = trainer.loss_and_gradient(params, x, y, lengths)
    layout = trainer.layout()
    reference_loss = loss(model, layout, params, x, y, lengths)
    assert native_loss == pytest.approx(reference_loss, rel=1e-12)
    picked = rng.choice(trainer.n_params, size=min(coords, trainer.n_params), replace=False)
    numeric = numeric_gradient(lambda p: loss(model, layout, p, x, y, lengths), params, picked)
    assert relative_error(numeric, grad[picked]) < 1e-6


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("target", ["last_step", "every_step"])
def test_single_layer(cell, target):
    check(Model(cell, (4,), False, target, "squared_error"))


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_bidirectional_ragged_layers_of_different_widths(cell):
    check(Model(cell, (4, 3), True, "last_step", "squared_error"))
    check(Model(cell, (3, 5), True, "every_step", "squared_error"), seed=1)


@pytest.mark.parametrize("kind", ["softmax_cross_entropy", "sigmoid_cross_entropy"])
def test_classification_losses_with_l2_penalty(kind):
    check(Model("lstm", (4,), False, "every_step", kind, alpha=0.3))
    check(Model("gru", (4,), True, "last_step", kind, alpha=0.1), seed=2)


def test_input_and_initial_state_gradients():
    model = Model("lstm", (4,), False, "every_step", "squared_error")
    rng = np.random.default_rng(3)
    trainer = make(model)
    params = rng.uniform(-0.6, 0.6, trainer.n_params)
    x, y, lengths = data(model, rng)
    h0, c0 = rng.normal(size=(2, 1, 3, 4)) * 0.5
    _, _, d_x, d_h0, d_c0 = trainer.loss_and_gradient(
        params, x, y, lengths, h0.ravel().copy(), c0.ravel().copy()
    )
    layout = trainer.layout()

    def f_state(flat_state):
        h, c = flat_state.reshape(2, 1, 3, 4)
        return loss(model, layout, params, x, y, lengths, states=[(h, c)])

    state = np.concatenate([h0.ravel(), c0.ravel()])
    numeric = numeric_gradient(f_state, state, range(state.size))
    assert relative_error(numeric, np.concatenate([d_h0, d_c0])) < 1e-6
    real = [(b, t, f) for b in range(3) for t in range(lengths[b]) for f in range(3)]
    flat_index = [np.ravel_multi_index(i, x.shape) for i in real]

    def f_x(flat_x):
        states = [(h0, c0)]
        return loss(model, layout, params, flat_x.reshape(x.shape), y, lengths, states)

    numeric = numeric_gradient(f_x, x.ravel(), flat_index)
    assert relative_error(numeric, d_x.ravel()[flat_index]) < 1e-6
    padding = np.arange(x.shape[1]) >= lengths[:, None]
    assert (d_x[padding] == 0).all()


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt(cell):
    """The truncated gradient is the gradient of the sum of window losses, each window starting
    from the state the network reached (with the current weights) held constant."""
    model = Model(cell, (4, 3), False, "every_step", "squared_error")
    rng = np.random.default_rng(4)
    k = 2
    trainer = make(model, bptt_steps=k)
    params = rng.uniform(-0.6, 0.6, trainer.n_params)
    x, y, lengths = data(model, rng)
    _, grad, *_ = trainer.loss_and_gradient(params, x, y, lengths)
    layout = trainer.layout()
    steps = x.shape[1]
    windows = []
    for t0 in range(0, steps, k):
        t1 = min(t0 + k, steps)
        live = lengths > t0
        states = window_states(model, layout, params, x[live], lengths[live], t0)
        win_len = np.minimum(lengths[live] - t0, t1 - t0)
        share = win_len.sum() / lengths.sum()
        windows.append((live, states, win_len, share, t0, t1))

    def truncated_loss(p):
        total = 0.0
        for live, states, win_len, share, t0, t1 in windows:
            xw, yw = x[live, t0:t1], y[live, t0:t1]
            total += share * loss(model, layout, p, xw, yw, win_len, states)
        return total

    coords = rng.choice(trainer.n_params, size=60, replace=False)
    numeric = numeric_gradient(truncated_loss, params, coords)
    assert relative_error(numeric, grad[coords]) < 1e-6


def window_states(model, layout, params, x, lengths, t0):
    """Each layer's state after the first ``t0`` steps, with the weights ``params``."""
    from reference import reference_forward
    from training_reference import split

    if t0 == 0:
        return None
    layers, _ = split(layout, params)
    out, states = x[:, :t0], []
    for layer in layers:
        out, h_n, c_n = reference_forward(model.cell, layer, out, num_layers=1, bidirectional=False)
        states.append((h_n, c_n))
    return states
