"""Native training gradients against PyTorch autograd (skipped without torch).

Same model in both: PyTorch's recurrent module (packed for ragged batches), a linear head on
each direction's final state or on every real step, mean loss over the samples. float64, so
the tolerance (1e-10 relative) only has to absorb summation order.
"""

from __future__ import annotations

import numpy as np
import pytest
from rnnfast import _rnnfast
from training_reference import split

torch = pytest.importorskip("torch")

MODULES = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}


def torch_loss(cell, layout, params, x, y, lengths, bidirectional, target, loss):
    layers, head = split(layout, params)
    out = torch.from_numpy(x)
    tensors = []
    h_n = None
    for state in layers:
        kwargs = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
        cols = state["weight_ih_l0"].shape[1]
        hidden = state["weight_hh_l0"].shape[1]
        module = getattr(torch.nn, MODULES[cell])(
            cols,
            hidden,
            batch_first=True,
            bidirectional=bidirectional,
            dtype=torch.float64,
            **kwargs,
        )
        module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        tensors.extend(module.parameters())
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            out, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
        )
        result, h_n = module(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(
            result, batch_first=True, total_length=x.shape[1]
        )
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
    weight = torch.from_numpy(head["weight"].copy()).requires_grad_()
    bias = torch.from_numpy(head["bias"].copy()).requires_grad_()
    tensors += [weight, bias]
    if target == "last_step":
        features = h_n.transpose(0, 1).reshape(len(x), -1)
        truth = torch.from_numpy(y)
    else:
        mask = torch.from_numpy(np.arange(x.shape[1]) < lengths[:, None])
        features, truth = out[mask], torch.from_numpy(y)[mask]
    scores = features @ weight.T + bias
    if loss == "squared_error":
        per_sample = 0.5 * ((scores - truth) ** 2).sum(1)
    else:
        per_sample = -(truth * torch.log_softmax(scores, 1)).sum(1)
    value = per_sample.mean()
    value.backward()
    return value.item(), tensors


@pytest.mark.parametrize("cell", list(MODULES))
@pytest.mark.parametrize("target", ["last_step", "every_step"])
@pytest.mark.parametrize("loss", ["squared_error", "softmax_cross_entropy"])
def test_gradients_match_torch_autograd(cell, target, loss):
    rng = np.random.default_rng(0)
    lengths = np.array([7, 3, 5, 1], dtype=np.int64)
    x = rng.normal(size=(4, 7, 3))
    shape = (4, 3) if target == "last_step" else (4, 7, 3)
    y = rng.normal(size=shape) if loss == "squared_error" else rng.dirichlet(np.ones(3), shape[:-1])
    trainer = _rnnfast.Trainer(cell, 3, [5, 4], True, True, 3, target, loss)
    params = rng.uniform(-0.5, 0.5, trainer.n_params)
    native_loss, grad, *_ = trainer.loss_and_gradient(params, x, y, lengths)
    layout = trainer.layout()
    value, tensors = torch_loss(cell, layout, params, x, y, lengths, True, target, loss)
    assert native_loss == pytest.approx(value, rel=1e-12)
    # Module parameters come out in state_dict order, which is the flat layout's order.
    expected = np.concatenate([t.grad.numpy().ravel() for t in tensors])
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-13)
