"""Every malformed argument raises a Python exception that names it; nothing crashes."""

import pickle

import numpy as np
import pytest
import rnnfast
from rnnfast import NonFiniteError, ParameterError, ShapeError
from rnnfast._rnnfast import Network


@pytest.fixture
def lstm():
    return rnnfast.LSTM(3, 4, num_layers=2, bidirectional=True, random_state=0)


@pytest.fixture
def x():
    return np.zeros((2, 5, 3), dtype=np.float32)


def test_shape_errors_are_value_errors():
    assert issubclass(ShapeError, ValueError)
    assert issubclass(ParameterError, ValueError)
    assert issubclass(NonFiniteError, ValueError)
    assert issubclass(ShapeError, rnnfast.RnnfastError)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros(3, dtype=np.float32), r"input: expected a 2-D .* got shape \(3,\)"),
        (np.zeros((1, 2, 2, 3), dtype=np.float32), r"input: expected a 2-D"),
        (np.zeros((2, 5, 4), dtype=np.float32), r"input: expected 3 features .*got 4"),
        (np.zeros((0, 5, 3), dtype=np.float32), r"input: expected at least one sequence"),
        (np.zeros((2, 0, 3), dtype=np.float32), r"input: expected at least one time step"),
        (np.zeros((0, 3), dtype=np.float32), r"input: expected at least one time step"),
        ([], r"input: expected at least one sequence, got an empty list"),
        ([np.zeros((2, 3)), np.zeros((0, 3))], r"input\[1\]: expected at least one time step"),
        ([np.zeros((2, 3)), np.zeros((2, 2))], r"input\[1\]: expected 3 features"),
        ([np.zeros((2, 3)), np.zeros(3)], r"input\[1\]: expected a 2-D"),
    ],
)
def test_bad_input_shapes(lstm, bad, message):
    with pytest.raises(ShapeError, match=message):
        lstm(bad)


@pytest.mark.parametrize(
    ("lengths", "error", "message"),
    [
        ([5], ShapeError, r"lengths: expected shape \(2,\)"),
        ([5, 6], ShapeError, r"lengths\[1\]: expected a length in 1..=5, got 6"),
        ([5, 0], ShapeError, r"lengths\[1\]: expected a length in 1..=5, got 0"),
        ([-1, 5], ShapeError, r"lengths\[0\]: expected a positive length, got -1"),
        ([2.5, 5.0], TypeError, r"lengths: expected integers"),
    ],
)
def test_bad_lengths(lstm, x, lengths, error, message):
    with pytest.raises(error, match=message):
        lstm(x, lengths=lengths)


def test_lengths_with_a_list_or_a_single_sequence_is_ambiguous(lstm, x):
    with pytest.raises(ParameterError, match="lengths"):
        lstm([x[0], x[1]], lengths=[5, 5])
    with pytest.raises(ParameterError, match="lengths"):
        lstm(x[0], lengths=[5])


def test_bad_states(lstm, x):
    h = np.zeros((4, 2, 4), dtype=np.float32)
    with pytest.raises(ParameterError, match=r"pair \(h0, c0\)"):
        lstm(x, h)
    with pytest.raises(ShapeError, match=r"h0: expected shape \(4, 2, 4\), got \(2, 2, 4\)"):
        lstm(x, (h[:2], h))
    with pytest.raises(ShapeError, match=r"c0: expected shape \(4, 4\), got \(4, 2, 4\)"):
        lstm(x[0], (h[:, 0], h))
    gru = rnnfast.GRU(3, 4, random_state=0)
    with pytest.raises(ShapeError, match=r"h0: expected shape \(1, 2, 4\)"):
        gru(x, np.zeros((1, 3, 4)))


@pytest.mark.parametrize("where", ["input", "h0", "c0"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(lstm, x, where, value):
    h, c = np.zeros((4, 2, 4)), np.zeros((4, 2, 4))
    {"input": x, "h0": h, "c0": c}[where][1, 1, 0] = value
    names = {"input": "input sequence 1", "h0": "initial hidden", "c0": "initial cell"}
    with pytest.raises(NonFiniteError, match=names[where]):
        lstm(x, (h, c))


def test_non_finite_padding_is_never_read(lstm, x):
    x[1, 3:] = np.nan
    out, _ = lstm(x, lengths=[5, 3])
    assert np.isfinite(out).all()
    assert (out[1, 3:] == 0).all()


def test_non_float_input_is_refused(lstm):
    with pytest.raises(TypeError, match="input: expected a floating-point array, got dtype int64"):
        lstm(np.zeros((2, 5, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="input: expected a floating-point array"):
        lstm(np.array([["a", "b", "c"]]))


def test_other_precision_and_strided_input_are_converted_once(lstm, x):
    wide = np.zeros((2, 5, 6), dtype=np.float64)
    out, _ = lstm(wide[:, :, ::2])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, lstm(x)[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 0}, "input_size: expected an integer >= 1, got 0"),
        ({"hidden_size": -3}, "hidden_size"),
        ({"num_layers": 1.5}, "num_layers"),
        ({"hidden_size": True}, "hidden_size"),
        ({"dtype": "float16"}, "dtype: expected 'float32' or 'float64', got 'float16'"),
        ({"dtype": "not-a-dtype"}, "dtype"),
        ({"nonlinearity": "sigmoid"}, "nonlinearity"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    args = {"input_size": 3, "hidden_size": 4} | kwargs
    with pytest.raises(ParameterError, match=message):
        rnnfast.RNN(**args)


def test_load_state_dict_errors_leave_the_model_unchanged(lstm, x):
    before = lstm(x)[0]
    good = lstm.state_dict()
    with pytest.raises(ParameterError, match=r"missing keys \['weight_ih_l0'\]"):
        lstm.load_state_dict({k: v for k, v in good.items() if k != "weight_ih_l0"})
    with pytest.raises(ParameterError, match=r"unexpected keys \['extra'\]"):
        lstm.load_state_dict(good | {"extra": np.zeros(1)})
    with pytest.raises(ShapeError, match=r"weight_hh_l1: expected shape \(16, 4\), got \(4, 16\)"):
        lstm.load_state_dict(good | {"weight_hh_l1": good["weight_hh_l1"].T})
    with pytest.raises(NonFiniteError, match="bias_ih_l1_reverse"):
        lstm.load_state_dict(good | {"bias_ih_l1_reverse": np.full(16, np.nan)})
    with pytest.raises(TypeError, match="state_dict: expected a mapping"):
        lstm.load_state_dict([("weight_ih_l0", good["weight_ih_l0"])])
    np.testing.assert_array_equal(lstm(x)[0], before)


def test_set_num_threads_rejects_bad_counts():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError):
            rnnfast.set_num_threads(bad)


def test_native_layer_checks_dtype_contiguity_and_shape():
    w = [np.zeros((4, 3), np.float32), np.zeros((4, 4), np.float32)]
    net = Network("rnn_tanh", 3, 4, 1, False, False, "float32", w)
    x = np.zeros((2, 5, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="input: expected a numpy array of f32, got float64"):
        net.forward(x.astype(np.float64))
    with pytest.raises(TypeError, match="input: expected a C-contiguous array"):
        net.forward(np.zeros((2, 5, 6), np.float32)[:, :, ::2])
    with pytest.raises(ShapeError, match=r"input: expected shape \(\*, \*, 3\)"):
        net.forward(x[..., :2].copy())
    with pytest.raises(ShapeError, match=r"weight_ih\[0\]: expected shape \(4, 3\), got \[3, 4\]"):
        Network("rnn_tanh", 3, 4, 1, False, False, "float32", [w[0].T.copy(), w[1]])
    with pytest.raises(ShapeError, match="weights: expected 2 arrays"):
        Network("rnn_tanh", 3, 4, 1, False, False, "float32", w[:1])
    with pytest.raises(ParameterError, match="cell"):
        Network("jordan", 3, 4, 1, False, False, "float32", w)
    with pytest.raises(ParameterError, match="hidden_size: must be at least 1"):
        Network("rnn_tanh", 3, 0, 1, False, False, "float32", [w[0][:0], w[1][:0, :0]])
    with pytest.raises(TypeError):
        pickle.dumps(net)
