"""Streaming sessions: steps against full forward passes (bit for bit), state handling, pickling,
bad input and concurrent sessions."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import rnnfast
from rnnfast.exceptions import NonFiniteError, ParameterError, ShapeError

CELLS = [
    (rnnfast.RNN, {}),
    (rnnfast.RNN, {"nonlinearity": "relu"}),
    (rnnfast.LSTM, {}),
    (rnnfast.GRU, {}),
]


def _model(cls, kwargs, dtype="float32", layers=2, bias=True):
    return cls(4, 7, num_layers=layers, bias=bias, dtype=dtype, random_state=3, **kwargs)


@pytest.mark.parametrize(("cls", "kwargs"), CELLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 3])
def test_steps_equal_a_forward_pass_bit_for_bit(cls, kwargs, dtype, batch):
    model = _model(cls, kwargs, dtype)
    x = np.random.default_rng(0).normal(size=(batch, 11, 4)).astype(dtype)
    # An initial state set on the session must act as forward's initial state.
    h0 = np.random.default_rng(1).normal(size=(2, batch, 7)).astype(dtype)
    state = (h0, h0 * 0.5) if cls is rnnfast.LSTM else h0
    full, final = model(x, state)
    session = model.stream(batch)
    session.state = state
    steps = np.stack([session.step(x[:, t]) for t in range(11)], axis=1)
    assert steps.dtype == dtype
    np.testing.assert_array_equal(steps, full)
    if cls is rnnfast.LSTM:
        np.testing.assert_array_equal(session.state[0], final[0])
        np.testing.assert_array_equal(session.state[1], final[1])
    else:
        np.testing.assert_array_equal(session.state, final)


def test_one_dimensional_steps_and_out_buffers():
    model = rnnfast.GRU(3, 5, random_state=0)
    x = np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32)
    full, _ = model(x)
    session = model.stream()
    out = np.empty(5, dtype=np.float32)
    for t in range(8):
        returned = session.step(x[t], out=out)
        assert returned is out
        np.testing.assert_array_equal(out, full[t])
    session.reset()
    np.testing.assert_array_equal(session.step(x[0].tolist()), full[0])


def test_reset_and_state_round_trip():
    model = rnnfast.LSTM(3, 4, random_state=0)
    session = model.stream(2)
    x = np.ones((2, 3), dtype=np.float32)
    first = session.step(x)
    saved = session.state
    second = session.step(x)
    session.state = saved
    np.testing.assert_array_equal(session.step(x), second)
    session.reset()
    np.testing.assert_array_equal(session.step(x), first)
    h, c = session.state
    assert h.shape == c.shape == (1, 2, 4)


def test_pickled_sessions_resume_where_they_stopped():
    model = rnnfast.LSTM(3, 6, num_layers=2, random_state=1)
    x = np.random.default_rng(3).normal(size=(10, 3)).astype(np.float32)
    full, _ = model(x)
    session = model.stream()
    for t in range(4):
        session.step(x[t])
    resumed = pickle.loads(pickle.dumps(session))
    assert resumed.batch_size == 1
    rest = np.stack([resumed.step(x[t]) for t in range(4, 10)])
    np.testing.assert_array_equal(rest, full[4:])


def test_bad_input_is_refused_with_clear_errors():
    model = rnnfast.LSTM(3, 4, random_state=0)
    session = model.stream(2)
    with pytest.raises(ShapeError, match="batch_size 2"):
        session.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ShapeError, match="x"):
        session.step(np.zeros((2, 5), dtype=np.float32))
    bad = np.zeros((2, 3), dtype=np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(NonFiniteError):
        session.step(bad)
    np.testing.assert_array_equal(session.state[0], 0)
    with pytest.raises(ShapeError, match="out"):
        session.step(np.zeros((2, 3), dtype=np.float32), out=np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="out"):
        session.step(np.zeros((2, 3), dtype=np.float32), out=np.zeros((2, 4)))
    with pytest.raises(TypeError, match="floating-point"):
        session.step(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ShapeError, match="pair"):
        session.state = np.zeros((1, 2, 4), dtype=np.float32)
    with pytest.raises(ShapeError, match="h"):
        session.state = (np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))
    with pytest.raises(NonFiniteError):
        session.state = (np.full((1, 2, 4), np.inf), np.zeros((1, 2, 4)))
    with pytest.raises(ParameterError, match="bidirectional"):
        rnnfast.GRU(3, 4, bidirectional=True).stream()
    with pytest.raises(ParameterError, match="batch_size"):
        model.stream(0)


def test_independent_sessions_run_from_many_threads():
    model = rnnfast.GRU(5, 16, num_layers=2, random_state=4)
    inputs = np.random.default_rng(5).normal(size=(8, 50, 5)).astype(np.float32)
    expected = [model(seq)[0] for seq in inputs]

    def run(seq):
        session = model.stream()
        return np.stack([session.step(x_t) for x_t in seq])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, inputs))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)
