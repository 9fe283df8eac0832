"""rnnfast against the plain-NumPy reference (tests/reference.py) over randomized networks.

Tolerances: float64 runs must agree to 1e-12 absolute (both compute in double precision; only
summation order differs). float32 runs are compared with the reference evaluated in float64 on
the same (float32-rounded) weights and inputs, so the difference is rnnfast's float32 rounding
alone: a few ulp of 1 per operation on values bounded by 1 (tanh/sigmoid outputs), accumulated
over at most a few dozen dependent steps, well inside 1e-5.
"""

import numpy as np
import rnnfast
from hypothesis import given
from hypothesis import strategies as st
from reference import random_params, reference_forward

CLASSES = {
    "lstm": (rnnfast.LSTM, {}),
    "gru": (rnnfast.GRU, {}),
    "rnn_tanh": (rnnfast.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnnfast.RNN, {"nonlinearity": "relu"}),
}
TOL = {"float32": 1e-5, "float64": 1e-12}


@st.composite
def cases(draw):
    cell = draw(st.sampled_from(list(CLASSES)))
    case = {
        "cell": cell,
        "dtype": draw(st.sampled_from(["float32", "float64"])),
        "num_layers": draw(st.integers(1, 3)),
        "bidirectional": draw(st.booleans()),
        "bias": draw(st.booleans()),
        "batch": draw(st.integers(1, 5)),
        "steps": draw(st.integers(1, 9)),
        "input_size": draw(st.integers(1, 6)),
        "hidden_size": draw(st.integers(1, 9)),
        "ragged": draw(st.booleans()),
        "with_state": draw(st.booleans()),
        # Large inputs drive the gates into saturation, where approximations are weakest.
        "scale": draw(st.sampled_from([0.1, 1.0, 8.0])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    return case


def make_model(case, rng):
    """The case's network, loaded with random weights drawn from ``rng``."""
    cls, extra = CLASSES[case["cell"]]
    dims = (case["input_size"], case["hidden_size"], case["num_layers"])
    model = cls(
        *dims, bias=case["bias"], bidirectional=case["bidirectional"], dtype=case["dtype"], **extra
    )
    params = random_params(case["cell"], *dims, case["bidirectional"], case["bias"], rng, scale=0.6)
    model.load_state_dict(params)
    return model


def run_case(case):
    rng = np.random.default_rng(case["seed"])
    model = make_model(case, rng)
    params = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    shape = (case["batch"], case["steps"], case["input_size"])
    x = (rng.normal(size=shape) * case["scale"]).astype(model.dtype)
    lengths = rng.integers(1, case["steps"] + 1, size=case["batch"]) if case["ragged"] else None
    states = case["num_layers"] * (2 if case["bidirectional"] else 1)
    state_shape = (states, case["batch"], case["hidden_size"])
    h0 = rng.normal(size=state_shape).astype(model.dtype) if case["with_state"] else None
    c0 = rng.normal(size=state_shape).astype(model.dtype) if case["with_state"] else None
    state = None if h0 is None else ((h0, c0) if case["cell"] == "lstm" else h0)
    got_out, got_state = model(x, state, lengths=lengths)
    want_out, want_h, want_c = reference_forward(
        case["cell"],
        params,
        x.astype(np.float64),
        num_layers=case["num_layers"],
        bidirectional=case["bidirectional"],
        lengths=lengths,
        h0=h0,
        c0=c0,
    )
    return model, got_out, got_state, (want_out, want_h, want_c)


@given(cases())
def test_matches_numpy_reference(case):
    model, out, state, (want_out, want_h, want_c) = run_case(case)
    tol = TOL[case["dtype"]]
    assert out.dtype == model.dtype
    np.testing.assert_allclose(out, want_out, rtol=0, atol=tol)
    if case["cell"] == "lstm":
        np.testing.assert_allclose(state[0], want_h, rtol=0, atol=tol)
        np.testing.assert_allclose(state[1], want_c, rtol=0, atol=tol)
    else:
        np.testing.assert_allclose(state, want_h, rtol=0, atol=tol)


@given(cases())
def test_list_input_equals_padded_input_with_lengths(case):
    rng = np.random.default_rng(case["seed"])
    model = make_model(case, rng)
    x = rng.normal(size=(case["batch"], case["steps"], case["input_size"]))
    lengths = rng.integers(1, case["steps"] + 1, size=case["batch"])
    from_list = model([row[:n] for row, n in zip(x, lengths, strict=True)])
    # Same padded width as the list gives, so both runs do identical products: bitwise equal.
    from_padded = model(x[:, : int(lengths.max())], lengths=lengths)
    np.testing.assert_array_equal(from_list[0], from_padded[0])
    np.testing.assert_array_equal(np.asarray(from_list[1]), np.asarray(from_padded[1]))


def test_single_sequence_equals_batch_of_one():
    model = rnnfast.GRU(3, 4, num_layers=2, bidirectional=True, random_state=0)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    h0 = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
    out, h = model(x, h0)
    out_b, h_b = model(x[None], h0[:, None])
    np.testing.assert_array_equal(out, out_b[0])
    np.testing.assert_array_equal(h, h_b[:, 0])
