"""rnnfast against ONNX's reference evaluator and onnxruntime, weights mapped to ONNX's layout.

What each reference can check (see tests/onnx_reference.py): the reference evaluator ignores
``sequence_lens`` and has no ReLU RNN, so it covers full-length batches of the other cells, in
float32 and float64; onnxruntime runs these operators in float32 only, ragged batches included.
Tolerances: 1e-12 where both sides compute in float64, 1e-5 in float32 (the issue's bar).
"""

import numpy as np
import pytest
import rnnfast

onnx_reference = pytest.importorskip("onnx_reference")
pytest.importorskip("onnx")

CELLS = {
    "lstm": lambda **kw: rnnfast.LSTM(**kw),
    "gru": lambda **kw: rnnfast.GRU(**kw),
    "rnn_tanh": lambda **kw: rnnfast.RNN(nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: rnnfast.RNN(nonlinearity="relu", **kw),
}
CONFIGS = [(1, False, True), (2, True, True), (2, False, False)]


def compare(cell, dtype, num_layers, bidirectional, bias, ragged, runner):
    model = CELLS[cell](
        input_size=5,
        hidden_size=7,
        num_layers=num_layers,
        bias=bias,
        bidirectional=bidirectional,
        dtype=dtype,
        random_state=3,
    )
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 6, 5)).astype(dtype)
    lengths = np.array([6, 2, 5, 1]) if ragged else None
    states = num_layers * (2 if bidirectional else 1)
    h0 = rng.normal(size=(states, 4, 7)).astype(dtype)
    c0 = rng.normal(size=(states, 4, 7)).astype(dtype)
    out, state = model(x, (h0, c0) if cell == "lstm" else h0, lengths=lengths)
    onnx_model = onnx_reference.build_onnx_model(
        cell,
        model.state_dict(),
        input_size=5,
        hidden_size=7,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
    )
    feeds = onnx_reference.make_feeds(
        cell,
        x,
        hidden_size=7,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
        lengths=lengths,
        h0=h0,
        c0=c0 if cell == "lstm" else None,
    )
    expected = runner(onnx_model, feeds)
    got = [out, *state] if cell == "lstm" else [out, state]
    tol = 1e-12 if dtype == "float64" else 1e-5
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=tol)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("num_layers", "bidirectional", "bias"), CONFIGS)
def test_matches_onnx_reference_evaluator(cell, dtype, num_layers, bidirectional, bias):
    compare(
        cell, dtype, num_layers, bidirectional, bias, False, onnx_reference.run_reference_evaluator
    )


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize(("num_layers", "bidirectional", "bias"), CONFIGS)
def test_matches_onnxruntime(cell, ragged, num_layers, bidirectional, bias):
    pytest.importorskip("onnxruntime")
    compare(
        cell, "float32", num_layers, bidirectional, bias, ragged, onnx_reference.run_onnxruntime
    )
