"""Forward-pass benchmarks: rnnfast against PyTorch, float32, 1 and 2 threads.

The library is a parametrize axis so each workload's rows sit side by side; competitors are
skipped when not installed. In CI these run once each as smoke tests (``--benchmark-disable``);
``make bench`` measures for real.
"""

from __future__ import annotations

import numpy as np
import pytest
import rnnfast

WORKLOADS = {
    # name: (cell, batch, steps, input_size, hidden_size, num_layers, bidirectional)
    "lstm-b1-h128": ("lstm", 1, 128, 32, 128, 1, False),
    "gru-b1-h128": ("gru", 1, 128, 32, 128, 1, False),
    "rnn-b1-h128": ("rnn_tanh", 1, 128, 32, 128, 1, False),
    "lstm-b64-h256": ("lstm", 64, 128, 32, 256, 1, False),
    "gru-b64-h256": ("gru", 64, 128, 32, 256, 1, False),
    "lstm-2x-bidi-b16-h128": ("lstm", 16, 100, 128, 128, 2, True),
}


def build(library: str, cell: str, input_size: int, hidden: int, layers: int, bidi: bool):
    """A callable running one forward pass of the given network in ``library``."""
    model = {"lstm": rnnfast.LSTM, "gru": rnnfast.GRU, "rnn_tanh": rnnfast.RNN}[cell](
        input_size, hidden, layers, bidirectional=bidi, random_state=0
    )
    if library == "rnnfast":
        return model
    torch = pytest.importorskip("torch")
    module_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[cell]
    module = module_cls(input_size, hidden, layers, bidirectional=bidi, batch_first=True)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})

    def run(x):
        with torch.inference_mode():
            return module(torch.from_numpy(x))

    return run


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("library", ["rnnfast", "torch"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_forward(benchmark, workload, library, threads, restore_threads):
    cell, batch, steps, input_size, hidden, layers, bidi = WORKLOADS[workload]
    run = build(library, cell, input_size, hidden, layers, bidi)
    if library == "torch":
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
    else:
        rnnfast.set_num_threads(threads)
    x = np.random.default_rng(0).normal(size=(batch, steps, input_size)).astype(np.float32)
    benchmark.group = f"{workload} {threads}t"
    try:
        result = benchmark(run, x)
    finally:
        if library == "torch":
            torch.set_num_threads(previous)
    assert result[0].shape == (batch, steps, (2 if bidi else 1) * hidden)
