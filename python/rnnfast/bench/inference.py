"""Forward passes of trained networks: rnnfast against PyTorch, float32."""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import GRU, LSTM, RNN, set_num_threads
from . import Runner, Workload
from ._libraries import torch_with_threads

_CELLS = {"lstm": (LSTM, 4), "gru": (GRU, 3), "rnn": (RNN, 1)}


def _setup(
    cell: str,
    batch: int,
    steps: int,
    input_size: int,
    hidden: int,
    layers: int,
    bidirectional: bool,
    library: str,
    threads: int,
) -> Runner:
    model = _CELLS[cell][0](input_size, hidden, layers, bidirectional=bidirectional, random_state=0)
    x = np.random.default_rng(0).normal(size=(batch, steps, input_size)).astype(np.float32)
    if library == "rnnfast":
        set_num_threads(threads)
        return partial(model, x)
    torch = torch_with_threads(threads)
    module_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    module = module_cls(input_size, hidden, layers, bidirectional=bidirectional, batch_first=True)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    tensor = torch.from_numpy(x)

    def run() -> object:
        with torch.inference_mode():
            return module(tensor)

    return run


def _workload(
    cell: str,
    batch: int,
    steps: int,
    input_size: int,
    hidden: int,
    layers: int = 1,
    bidirectional: bool = False,
) -> Workload:
    dirs = 2 if bidirectional else 1
    gates = _CELLS[cell][1] * hidden
    per_step = sum(
        gates * ((input_size if layer == 0 else dirs * hidden) + hidden) for layer in range(layers)
    )
    stack = f"{layers}x{'bidi-' if bidirectional else ''}"
    return Workload(
        family="inference",
        name=f"{cell}-{stack if layers > 1 or bidirectional else ''}b{batch}-h{hidden}",
        description=(
            f"{cell.upper()} {layers} layer(s){' bidirectional' if bidirectional else ''}, "
            f"batch {batch}, {steps} steps, {input_size} in, {hidden} hidden"
        ),
        libraries=("rnnfast", "torch"),
        setup=partial(_setup, cell, batch, steps, input_size, hidden, layers, bidirectional),
        flops=2.0 * dirs * batch * steps * per_step,
    )


WORKLOADS = [
    _workload("lstm", 1, 128, 32, 128),
    _workload("gru", 1, 128, 32, 128),
    _workload("rnn", 1, 128, 32, 128),
    _workload("lstm", 64, 128, 32, 256),
    _workload("gru", 64, 128, 32, 256),
    _workload("lstm", 16, 100, 128, 128, layers=2, bidirectional=True),
]
