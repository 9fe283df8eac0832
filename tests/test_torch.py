"""Parity with PyTorch (skipped without torch): the issue's bar is 1e-5 (f32) and 1e-12 (f64)."""

import numpy as np
import pytest
import rnnfast

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
MODULES = {
    "lstm": lambda **kw: nn.LSTM(**kw),
    "gru": lambda **kw: nn.GRU(**kw),
    "rnn_tanh": lambda **kw: nn.RNN(nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: nn.RNN(nonlinearity="relu", **kw),
}


def torch_forward(module, x, lengths, state):
    """Runs a batch-first module; ragged batches go through packed sequences."""
    xt = torch.from_numpy(x)
    with torch.no_grad():
        if lengths is None:
            out, st = module(xt, state)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False
            )
            out, st = module(packed, state)
            out, _ = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=x.shape[1]
            )
    return out.numpy(), st


def as_tuple(state):
    """An LSTM state is already a pair; other cells' single array becomes a 1-tuple."""
    return state if isinstance(state, tuple) else (state,)


def as_numpy(state):
    return tuple(s.numpy() for s in state) if isinstance(state, tuple) else state.numpy()


@pytest.mark.parametrize("cell", list(MODULES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("num_layers", "bidirectional", "bias", "ragged"),
    [
        (1, False, True, False),
        (2, True, True, True),
        (3, False, False, True),
        (2, True, False, False),
    ],
)
def test_matches_torch(cell, dtype, num_layers, bidirectional, bias, ragged):
    torch.manual_seed(0)
    module = MODULES[cell](
        input_size=7,
        hidden_size=12,
        num_layers=num_layers,
        bias=bias,
        bidirectional=bidirectional,
        batch_first=True,
    ).to(dtype)
    model = rnnfast.from_torch(module)
    assert model.dtype == np.dtype(str(dtype).removeprefix("torch."))
    rng = np.random.default_rng(1)
    batch, steps = 5, 9
    x = rng.normal(size=(batch, steps, 7)).astype(model.dtype)
    lengths = [9, 3, 7, 1, 9] if ragged else None
    shape = (num_layers * (2 if bidirectional else 1), batch, 12)
    h0 = torch.from_numpy(rng.normal(size=shape).astype(model.dtype))
    state = (
        (h0, torch.from_numpy(rng.normal(size=shape).astype(model.dtype))) if cell == "lstm" else h0
    )
    want_out, want_state = torch_forward(module, x, lengths, state)
    np_state = as_numpy(state)
    got_out, got_state = model(x, np_state, lengths=lengths)
    tol = TOL[dtype]
    np.testing.assert_allclose(got_out, want_out, rtol=0, atol=tol)
    for got, want in zip(as_tuple(got_state), as_tuple(as_numpy(want_state)), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)


def test_unbatched_input_matches_torch():
    torch.manual_seed(3)
    module = nn.LSTM(4, 6, num_layers=2, batch_first=True)
    model = rnnfast.from_torch(module)
    x = np.random.default_rng(0).normal(size=(11, 4)).astype(np.float32)
    with torch.no_grad():
        want_out, (want_h, want_c) = module(torch.from_numpy(x))
    out, (h, c) = model(x)
    np.testing.assert_allclose(out, want_out.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(h, want_h.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(c, want_c.numpy(), atol=1e-5, rtol=0)


def test_load_state_dict_accepts_torch_tensors():
    module = nn.GRU(3, 5, bidirectional=True, batch_first=True)
    model = rnnfast.GRU(3, 5, bidirectional=True)
    model.load_state_dict(module.state_dict())
    for name, tensor in module.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], tensor.numpy())
    assert list(model.state_dict()) == list(module.state_dict())


def test_default_initialisation_has_torch_shapes_and_range():
    module = nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    model = rnnfast.LSTM(3, 16, num_layers=2, bidirectional=True, random_state=0)
    for (name, tensor), (ours, value) in zip(
        module.state_dict().items(), model.state_dict().items(), strict=True
    ):
        assert name == ours
        assert value.shape == tuple(tensor.shape)
        assert np.abs(value).max() <= 0.25


def test_refuses_what_it_cannot_represent():
    with pytest.raises(rnnfast.ParameterError, match="proj_size=3"):
        rnnfast.from_torch(nn.LSTM(4, 8, proj_size=3))
    with pytest.raises(rnnfast.ParameterError, match="float16"):
        rnnfast.from_torch(nn.GRU(4, 8).half())
    with pytest.raises(rnnfast.ParameterError, match="got Linear"):
        rnnfast.from_torch(nn.Linear(4, 8))


def test_dropout_is_ignored_at_inference():
    torch.manual_seed(0)
    module = nn.GRU(4, 8, num_layers=2, dropout=0.5, batch_first=True).eval()
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
    want, _ = torch_forward(module, x, None, None)
    np.testing.assert_allclose(rnnfast.from_torch(module)(x)[0], want, atol=1e-5, rtol=0)
