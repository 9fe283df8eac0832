"""Conversion from PyTorch modules, duck-typed: importing rnnfast never imports torch."""

from __future__ import annotations

from typing import Any

from .exceptions import ParameterError
from .recurrent import GRU, LSTM, RNN

__all__ = ["from_torch"]

_MODES = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "tanh", "RNN_RELU": "relu"}


def from_torch(module: Any) -> RNN | LSTM | GRU:
    """Builds the rnnfast network equivalent to a PyTorch ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.

    The weights are copied (float32 or float64, as in the module). rnnfast always takes batch
    first input, whatever the module's ``batch_first``. ``dropout`` only acts in training, so it
    is ignored. Refused, with :class:`~rnnfast.ParameterError`: LSTM projections
    (``proj_size > 0``), other dtypes, and anything that is not one of these three modules.

    Examples
    --------
    >>> import rnnfast
    >>> torch = __import__("pytest").importorskip("torch")
    >>> module = torch.nn.GRU(4, 8, num_layers=2, batch_first=True)
    >>> model = rnnfast.from_torch(module)
    >>> x = torch.randn(3, 5, 4)
    >>> out, h = model(x.numpy())
    >>> bool(abs(out - module(x)[0].detach().numpy()).max() < 1e-5)
    True

    """
    mode = _MODES.get(str(getattr(module, "mode", "")))
    if mode is None:
        raise ParameterError(
            f"module: expected a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}"
        )
    if getattr(module, "proj_size", 0):
        raise ParameterError(
            f"module: LSTM projections are not supported (proj_size={module.proj_size})"
        )
    weight = module.weight_ih_l0
    dtype = str(weight.dtype).removeprefix("torch.")
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"module: expected float32 or float64 weights, got {dtype}")
    common = dict(
        input_size=module.input_size,
        hidden_size=module.hidden_size,
        num_layers=module.num_layers,
        bias=bool(module.bias),
        bidirectional=bool(module.bidirectional),
        dtype=dtype,
    )
    model: RNN | LSTM | GRU
    if mode == "lstm":
        model = LSTM(**common)
    elif mode == "gru":
        model = GRU(**common)
    else:
        model = RNN(nonlinearity=mode, **common)
    model.load_state_dict(module.state_dict())
    return model
