"""One LSTM step at a time from Python: rnnfast's streaming session against ``nn.LSTMCell``.

This is the embedded-service case: a Python loop feeds one time step per call and carries the
state. Each timed call is one step of a single sequence (32 features in, 64 hidden), float32.
``rnnfast`` calls ``session.step(x)``, which allocates its output; ``rnnfast-out`` calls
``session.step(x, out=buf)``, which allocates nothing.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import LSTM, set_num_threads
from . import LibraryMissing, Runner, Workload
from ._libraries import torch_with_threads

__all__ = ["step_workload"]

FEATURES, HIDDEN = 32, 64


def _setup(library: str, threads: int) -> Runner:
    model = LSTM(FEATURES, HIDDEN, random_state=0)
    x = np.random.default_rng(0).normal(size=FEATURES).astype(np.float32)
    if library.startswith("rnnfast"):
        # Written against the streaming API before it merged: skipped, not failed, without it.
        if not hasattr(model, "stream"):
            raise LibraryMissing("rnnfast streaming API not built yet")
        set_num_threads(threads)
        session = model.stream(batch_size=1)
        if library == "rnnfast-out":
            return partial(session.step, x, out=np.empty(HIDDEN, dtype=np.float32))
        return partial(session.step, x)
    torch = torch_with_threads(threads)
    cell = torch.nn.LSTMCell(FEATURES, HIDDEN)
    cell.load_state_dict(
        {name.removesuffix("_l0"): torch.from_numpy(v) for name, v in model.state_dict().items()}
    )
    # Weights without gradients keep autograd out of the step, like a loop wrapped once in
    # inference_mode (entering the context manager per step would add its own cost).
    cell.requires_grad_(False)
    tensor = torch.from_numpy(x[None])
    state = [cell(tensor)]

    def step() -> object:
        state[0] = cell(tensor, state[0])
        return state[0][0]

    return step


def step_workload() -> Workload:
    """The streaming-step workload of the ``inference`` family.

    >>> step_workload().flops
    49152.0
    """
    return Workload(
        family="inference",
        name="lstm-step-h64",
        description=f"one LSTM step ({FEATURES} in, {HIDDEN} hidden) called from Python, float32",
        libraries=("rnnfast", "rnnfast-out", "torch"),
        setup=_setup,
        flops=2.0 * 4 * HIDDEN * (FEATURES + HIDDEN),
    )
