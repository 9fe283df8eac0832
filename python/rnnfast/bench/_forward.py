"""Forward passes of one recurrent network in rnnfast, PyTorch and onnxruntime.

Every library gets the same weights (rnnfast's ``state_dict``, PyTorch's layout) and the same
batch-first input, except onnxruntime, which gets it time-major: its recurrent operators have
no batch-first layout, and the transposes a batch-first graph would need are not what is
being compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from .. import GRU, LSTM, RNN, set_num_threads
from . import LibraryMissing, Runner, Workload
from ._libraries import require, torch_with_threads

__all__ = ["LIBRARIES", "Network", "forward_runner", "forward_workload"]

_CELLS = {"lstm": (LSTM, 4), "gru": (GRU, 3), "rnn": (RNN, 1)}
_ONNX_CELLS = {"lstm": "lstm", "gru": "gru", "rnn": "rnn_tanh"}

LIBRARIES = {"float32": ("rnnfast", "torch", "onnxruntime"), "float64": ("rnnfast", "torch")}
"""The libraries compared for each dtype (onnxruntime's recurrent operators are float32 only)."""


@dataclass(frozen=True)
class Network:
    """The shape of one benchmark network and of its input (batch first)."""

    cell: str
    batch: int
    steps: int
    input_size: int
    hidden: int
    layers: int = 1
    bidirectional: bool = False
    dtype: str = "float32"

    @property
    def flops(self) -> float:
        """Multiply-adds of the input and recurrent products of one forward call, times two."""
        dirs = 2 if self.bidirectional else 1
        gates = _CELLS[self.cell][1] * self.hidden
        per_step = sum(
            gates * ((self.input_size if layer == 0 else dirs * self.hidden) + self.hidden)
            for layer in range(self.layers)
        )
        return 2.0 * dirs * self.batch * self.steps * per_step


def forward_runner(net: Network, library: str, threads: int) -> Runner:
    """The forward call of ``net`` in ``library`` on ``threads`` threads, ready to time.

    >>> run = forward_runner(Network("gru", 2, 5, 3, 4), "rnnfast", 1)
    >>> out, h = run()
    >>> out.shape
    (2, 5, 4)
    """
    model = _CELLS[net.cell][0](
        net.input_size,
        net.hidden,
        net.layers,
        bidirectional=net.bidirectional,
        dtype=net.dtype,
        random_state=0,
    )
    x = np.random.default_rng(0).normal(size=(net.batch, net.steps, net.input_size))
    x = x.astype(net.dtype)
    if library == "rnnfast":
        set_num_threads(threads)
        return partial(model, x)
    if library == "torch":
        return _torch_runner(net, model.state_dict(), x, threads)
    if library == "onnxruntime":
        return _onnxruntime_runner(net, model.state_dict(), x, threads)
    raise LibraryMissing(f"no forward pass written for {library}")


def _torch_runner(
    net: Network, weights: dict[str, np.ndarray], x: np.ndarray, threads: int
) -> Runner:
    torch = torch_with_threads(threads)
    module_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[net.cell]
    module = module_cls(
        net.input_size,
        net.hidden,
        net.layers,
        bidirectional=net.bidirectional,
        batch_first=True,
        dtype=getattr(torch, net.dtype),
    )
    module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    tensor = torch.from_numpy(x)

    def run() -> object:
        with torch.inference_mode():
            return module(tensor)

    return run


def _onnxruntime_runner(
    net: Network, weights: dict[str, np.ndarray], x: np.ndarray, threads: int
) -> Runner:
    if net.dtype != "float32":
        raise LibraryMissing("onnxruntime runs recurrent operators in float32 only")
    require("onnx")
    require("onnxruntime")
    from ._onnx import build_onnx_model, make_feeds, ort_session

    cell, layers, bidi = _ONNX_CELLS[net.cell], net.layers, net.bidirectional
    model = build_onnx_model(
        cell,
        weights,
        input_size=net.input_size,
        hidden_size=net.hidden,
        num_layers=layers,
        bidirectional=bidi,
        dtype=np.float32,
        time_major=True,
    )
    feeds = make_feeds(
        cell,
        x,
        hidden_size=net.hidden,
        num_layers=layers,
        bidirectional=bidi,
        dtype=np.float32,
        time_major=True,
    )
    return partial(ort_session(model, threads).run, None, feeds)


def forward_workload(net: Network) -> Workload:
    """The forward pass of ``net`` as a workload of the ``inference`` family.

    >>> forward_workload(Network("lstm", 64, 128, 32, 256)).name
    'lstm-b64-h256'
    """
    stack = f"{net.layers}x{'bidi-' if net.bidirectional else ''}"
    default = f"{net.cell}-{stack if net.layers > 1 or net.bidirectional else ''}b{net.batch}"
    suffix = "" if net.dtype == "float32" else "-f64"
    return Workload(
        family="inference",
        name=f"{default}-h{net.hidden}{suffix}",
        description=(
            f"{net.cell.upper()} {net.layers} layer(s)"
            f"{' bidirectional' if net.bidirectional else ''}, batch {net.batch}, "
            f"{net.steps} steps, {net.input_size} in, {net.hidden} hidden, {net.dtype}"
        ),
        libraries=LIBRARIES[net.dtype],
        setup=partial(forward_runner, net),
        flops=net.flops,
        dtype=net.dtype,
    )
