"""How the forward pass scales: with sequence length, with threads, and in memory.

Three :class:`~rnnfast.bench.Report` figures per library, each against the issue's goal:

* sequence-length linearity: time per step of an LSTM (batch 1, 32 in, 128 hidden) at 512,
  1024 and 4096 steps, as its deviation from the time per step at 128 (goal: within 10%);
* thread scaling: an LSTM at batch 64 (128 steps, 256 hidden), time on 1 thread over time on
  2 (goal: at least 1.7x);
* peak memory of that forward call in a fresh process, next to the size of its output (goal:
  the output plus O(batch x hidden) scratch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from . import Report, time_call
from ._forward import LIBRARIES, Network, forward_runner
from ._memory import peak_rss_mib

__all__ = ["REPORTS", "forward_for_memory"]

_REPEAT = 3
_LATENCY = Network("lstm", 1, 128, 32, 128)
_THROUGHPUT = Network("lstm", 64, 128, 32, 256)
_LENGTHS = (128, 512, 1024, 4096)


def _median(net: Network, library: str, threads: int) -> float:
    return time_call(forward_runner(net, library, threads), repeat=_REPEAT).median


def sequence_linearity(library: str) -> str:
    """Time per step at 128 steps and the deviation from it at longer sequences, one thread."""
    per_step = [_median(replace(_LATENCY, steps=n), library, 1) / n for n in _LENGTHS]
    deviations = ", ".join(
        f"{t / per_step[0] - 1:+.1%} at {n}"
        for n, t in zip(_LENGTHS[1:], per_step[1:], strict=True)
    )
    return f"{per_step[0] * 1e6:.3g} us/step at {_LENGTHS[0]} steps; {deviations} (goal ±10%)"


def thread_scaling(library: str) -> str:
    """Speed-up of two threads over one at batch 64."""
    one, two = (_median(_THROUGHPUT, library, threads) for threads in (1, 2))
    return (
        f"1 thread {one * 1e3:.3g} ms, 2 threads {two * 1e3:.3g} ms: {one / two:.2f}x (goal ≥1.7x)"
    )


def forward_for_memory(library: str) -> object:
    """Set-up of the memory measurement: the batch-64 forward call, after a small warm-up.

    The warm-up (batch 1, 2 steps) starts thread pools and lazy initialisation, so that the
    measured call shows the memory that grows with the problem.
    """
    forward_runner(replace(_THROUGHPUT, batch=1, steps=2), library, 1)()
    return forward_runner(_THROUGHPUT, library, 1)


def peak_memory(library: str) -> str:
    """What one batch-64 forward call adds to a fresh process's resident memory."""
    _, added = peak_rss_mib(__name__, "forward_for_memory", library)
    net = _THROUGHPUT
    output = net.batch * net.steps * net.hidden * 4 / 2**20
    return (
        f"{added:.1f} MiB added by one call: its output {output:.1f} MiB, "
        f"{added - output:.1f} MiB beyond it"
    )


def _report(name: str, description: str, measure: Callable[[str], str]) -> Report:
    return Report("inference", name, description, LIBRARIES["float32"], measure)


REPORTS = [
    _report(
        "lstm-b1-h128-seq-linearity",
        "LSTM batch 1, 32 in, 128 hidden: time per step from 128 to 4096 steps",
        sequence_linearity,
    ),
    _report(
        "lstm-b64-h256-threads",
        "LSTM batch 64, 128 steps, 32 in, 256 hidden: 1-thread over 2-thread time",
        thread_scaling,
    ),
    _report(
        "lstm-b64-h256-peak-memory",
        "LSTM batch 64, 128 steps, 256 hidden: RSS added by one forward call",
        peak_memory,
    ),
]
