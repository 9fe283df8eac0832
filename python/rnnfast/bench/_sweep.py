"""Throughput of an LSTM forward pass against hidden size and batch size, and its plot.

Three panels: hidden size at batch 1 and at batch 64, and batch size at hidden 256 (32 inputs,
64 steps: long enough for the steady state, short enough to keep the sweep to a minute or two).
Each panel has one curve per library and thread count. The plot needs matplotlib (the ``plot``
extra); :func:`plot` raises :class:`~rnnfast.bench.LibraryMissing` without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import LibraryMissing, time_call
from ._forward import LIBRARIES, Network, forward_runner
from ._libraries import require

__all__ = ["Curve", "plot", "sweep"]

HIDDEN_SIZES = (32, 64, 128, 256, 512)
BATCH_SIZES = (1, 4, 16, 64, 256)
STEPS, INPUTS = 64, 32


@dataclass
class Curve:
    """GFLOP/s of one library and thread count along one panel's axis."""

    panel: str
    axis: str
    library: str
    threads: int
    sizes: list[int] = field(default_factory=list)
    gflops: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The legend entry."""
        return f"{self.library}, {self.threads} thread(s)"


def _panels(
    hidden_sizes: Sequence[int], batch_sizes: Sequence[int]
) -> list[tuple[str, str, list[tuple[int, Network]]]]:
    """(title, axis name, [(size, network)]) of each panel."""
    return [
        *(
            (
                f"LSTM, batch {batch}",
                "hidden size",
                [(h, Network("lstm", batch, STEPS, INPUTS, h)) for h in hidden_sizes],
            )
            for batch in (1, 64)
        ),
        (
            "LSTM, hidden 256",
            "batch size",
            [(b, Network("lstm", b, STEPS, INPUTS, 256)) for b in batch_sizes],
        ),
    ]


def sweep(
    threads: Sequence[int],
    repeat: int = 3,
    libraries: Sequence[str] = LIBRARIES["float32"],
    hidden_sizes: Sequence[int] = HIDDEN_SIZES,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Curve]:
    """Measures every panel for each library installed and each thread count.

    ``progress`` receives a line of text per point measured.

    >>> curves = sweep([1], repeat=1, libraries=["rnnfast"], hidden_sizes=[8], batch_sizes=[2])
    >>> [(c.panel, c.sizes) for c in curves]
    [('LSTM, batch 1', [8]), ('LSTM, batch 64', [8]), ('LSTM, hidden 256', [2])]
    """
    curves = []
    for title, axis, points in _panels(hidden_sizes, batch_sizes):
        for library in libraries:
            for n_threads in threads:
                curve = Curve(title, axis, library, n_threads)
                for size, net in points:
                    try:
                        run = forward_runner(net, library, n_threads)
                    except LibraryMissing:
                        break
                    seconds = time_call(run, repeat=repeat, min_time=0.02).median
                    curve.sizes.append(size)
                    curve.gflops.append(net.flops / seconds / 1e9)
                    point = f"{axis} {size}"
                    progress(f"{title:<18} {point:>16}  {curve.label:<28} {curve.gflops[-1]:8.1f}")
                if curve.sizes:
                    curves.append(curve)
    return curves


def plot(curves: Sequence[Curve], path: str) -> None:
    """Saves the curves as a PNG, one panel each, GFLOP/s against size on log-2 axes."""
    figure_module = require("matplotlib.figure")
    titles = list(dict.fromkeys(c.panel for c in curves))
    # One colour per library, one line style per thread count, the same in every panel.
    colours = {lib: f"C{k}" for k, lib in enumerate(dict.fromkeys(c.library for c in curves))}
    line_styles = ("-", "--", ":", "-.")
    styles = {t: line_styles[k % 4] for k, t in enumerate(sorted({c.threads for c in curves}))}
    figure = figure_module.Figure(figsize=(5 * len(titles), 4), layout="constrained")
    axes = figure.subplots(1, len(titles), squeeze=False)[0]
    for ax, title in zip(axes, titles, strict=True):
        for curve in (c for c in curves if c.panel == title):
            ax.plot(
                curve.sizes,
                curve.gflops,
                color=colours[curve.library],
                linestyle=styles[curve.threads],
                marker="o",
                label=curve.label,
            )
            ax.set_xlabel(curve.axis)
            # Powers of two as plain numbers: the sizes people type, not 2^k.
            ax.set_xscale("log", base=2)
            ax.set_xticks(curve.sizes, labels=[str(size) for size in curve.sizes])
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.set_ylabel("GFLOP/s")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(f"LSTM forward, {STEPS} steps, {INPUTS} inputs, float32")
    figure.savefig(path, dpi=120)
