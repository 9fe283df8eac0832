"""Training by BPTT: one epoch of the issue's reference workload, rnnfast against PyTorch.

LSTM(8 -> 64) + Linear(64 -> 1) on each sequence's last step, squared error, Adam (learning
rate 1e-3, no weight penalty), mini-batches of 32 sequences of 50 steps, 2048 sequences per
epoch (64 updates). rnnfast runs it through ``RNNRegressor.partial_fit`` (one epoch, Python
overhead included); PyTorch through the usual ``zero_grad`` / ``backward`` / ``step`` loop.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import RNNRegressor, set_num_threads
from . import Report, Runner, Workload, _memory
from ._libraries import torch_with_threads

SEQUENCES, STEPS, FEATURES, HIDDEN, BATCH = 2048, 50, 8, 64, 32


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SEQUENCES, STEPS, FEATURES)).astype(np.float32)
    return x, np.tanh(x[:, -5:, :].sum(axis=(1, 2)) / 4).astype(np.float32)


def _setup(library: str, threads: int) -> Runner:
    x, y = _data()
    if library == "rnnfast":
        set_num_threads(threads)
        model = RNNRegressor(
            "lstm",
            (HIDDEN,),
            batch_size=BATCH,
            alpha=0.0,
            learning_rate_init=1e-3,
            random_state=0,
        )
        return partial(model.partial_fit, x, y)
    torch = torch_with_threads(threads)
    torch.manual_seed(0)

    class Net(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(FEATURES, HIDDEN, batch_first=True)
            self.head = torch.nn.Linear(HIDDEN, 1)

        def forward(self, batch: object) -> object:
            _, (h, _) = self.lstm(batch)
            return self.head(h[-1])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y[:, None])

    def epoch() -> object:
        order = torch.randperm(SEQUENCES)
        for start in range(0, SEQUENCES, BATCH):
            rows = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(net(inputs[rows]), targets[rows])
            loss.backward()
            optimizer.step()
        return loss

    return epoch


def three_epochs(library: str) -> Runner:
    """Set-up of the memory measurement: three epochs of the workload in ``library``."""
    epoch = _setup(library, 1)

    def run() -> None:
        for _ in range(3):
            epoch()

    return run


def peak_rss_mib(library: str) -> str:
    """Peak resident memory of a fresh process that trains three epochs.

    Also reports how much of it training added to the process once the library was imported
    and the data built.
    """
    peak, added = _memory.peak_rss_mib(__name__, "three_epochs", library)
    return f"{peak:.0f} MiB peak, {added:.0f} MiB added by training"


_FLOPS_PER_EPOCH = 2.0 * SEQUENCES * STEPS * 4 * HIDDEN * (3 * HIDDEN + 2 * FEATURES)

WORKLOADS = [
    Workload(
        family="training",
        name="lstm-train-epoch",
        description=(
            f"one epoch: LSTM({FEATURES}->{HIDDEN}) + Linear, MSE, Adam, batch {BATCH}, "
            f"{STEPS} steps, {SEQUENCES} sequences"
        ),
        libraries=("rnnfast", "torch"),
        setup=_setup,
        flops=_FLOPS_PER_EPOCH,
    )
]

REPORTS = [
    Report(
        family="training",
        name="lstm-train-peak-rss",
        description="peak RSS of a process training 3 epochs of lstm-train-epoch",
        libraries=("rnnfast", "torch"),
        measure=peak_rss_mib,
    )
]
