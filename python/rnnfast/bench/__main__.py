"""``python -m rnnfast.bench``: every library side by side in one process, as a table.

Usage: ``python -m rnnfast.bench [--family NAME ...] [--threads 1 2] [--repeat 7]
[--rounds 1] [--filter TEXT] [--isolate] [--no-peak] [--plot PATH.png]``. Each row is the
median wall time of one call; ``ratio`` is the competitor's time over rnnfast's (above 1:
rnnfast is faster); ``GFLOP/s`` is shown where the workload states its operation count, and
``% peak`` relates it to the machine's matrix-product peak in the workload's dtype with as many
threads, measured once per run with NumPy in a fresh process (see ``rnnfast.bench._peak``). The
families' reports (scaling, memory) follow the table.

``--rounds N`` measures every library of a row N times in turn and reports the median of the
rounds' medians, so that a slow phase of a shared host does not land on one library's row.

``--isolate`` measures every row in a fresh interpreter. Without it, the thread pools of the
libraries measured before a row (torch's OpenMP threads, onnxruntime's) may still be spinning
on the cores while it runs, which penalises multi-threaded rows; use it for figures to record.

``--plot PATH.png`` runs the throughput sweep instead (LSTM GFLOP/s against hidden size and
batch size, each library installed, each ``--threads``) and saves it; it needs matplotlib
(``pip install 'rnnfast[plot]'``).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from . import LibraryMissing, Workload, families, reports, time_call, workloads
from ._libraries import require
from ._machine import describe_machine
from ._peak import matmul_peak_gflops
from ._process import run_python
from ._sweep import plot, sweep

Peaks = dict[tuple[str, int], float]


def main(argv: list[str] | None = None) -> int:
    """Runs the selected workloads and prints the comparison table (or saves the sweep plot)."""
    parser = argparse.ArgumentParser(prog="python -m rnnfast.bench", description=__doc__)
    parser.add_argument("--family", action="append", choices=families(), help="repeatable")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=7, help="samples per row (median)")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this")
    parser.add_argument("--isolate", action="store_true", help="each row in a fresh process")
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds per row (median of medians)"
    )
    parser.add_argument("--no-peak", action="store_true", help="skip the peak measurement")
    parser.add_argument("--peak-size", type=int, default=2048, help="matrix order of the peak")
    parser.add_argument("--plot", metavar="PATH", help="run the throughput sweep, save a PNG")
    parser.add_argument("--sweep-repeat", type=int, default=3, help="samples per sweep point")
    args = parser.parse_args(argv)
    if args.plot:
        return _sweep_and_plot(args.plot, args.threads, args.sweep_repeat)
    names = args.family or families()
    selected = [w for family in names for w in workloads(family) if args.filter in w.name]
    if selected:
        print(f"machine: {describe_machine()}")
        peaks = {} if args.no_peak else _measure_peaks(selected, args.threads, args.peak_size)
        _print_table(selected, args.threads, (args.repeat, args.rounds), peaks, args.isolate)
    extra = [r for family in names for r in reports(family) if args.filter in r.name]
    if extra and selected:
        print()
    for report in extra:
        for library in report.libraries:
            try:
                figure = report.measure(library)
            except LibraryMissing as missing:
                figure = f"skipped: {missing}"
            except RuntimeError as failure:  # a measurement's child process failed
                figure = f"failed: {failure}"
            print(f"{report.name:<28} {library:<12} {figure}", flush=True)
    return 0


def _measure_peaks(selected: list[Workload], threads: list[int], size: int) -> Peaks:
    dtypes = sorted({w.dtype for w in selected if w.flops})
    peaks = {(d, t): matmul_peak_gflops(t, d, size) for d in dtypes for t in threads}
    for (dtype, n_threads), gflops in peaks.items():
        print(
            f"matrix-product peak ({dtype}, numpy a @ b, {size}x{size}, best of 5): "
            f"{n_threads} thread(s) {gflops:.1f} GFLOP/s"
        )
    return peaks


def _print_table(
    selected: list[Workload],
    threads: list[int],
    samples: tuple[int, int],
    peaks: Peaks,
    isolate: bool,
) -> None:
    """One row per workload, thread count and library; ``samples`` is ``(repeat, rounds)``."""
    header = (
        f"{'workload':<28} {'thr':>3} {'library':<12} {'median':>11} {'ratio':>7} "
        f"{'GFLOP/s':>8} {'% peak':>6}"
    )
    print(header)
    print("-" * len(header))
    for workload in selected:
        for n_threads in threads:
            baseline = None
            medians = _interleaved_medians(workload, n_threads, samples, isolate)
            for library, median in medians.items():
                row = f"{workload.name:<28} {n_threads:>3} {library:<12}"
                if isinstance(median, LibraryMissing):
                    print(f"{row} skipped: {median}")
                    continue
                baseline = median if baseline is None else baseline
                figures = f"{_format_time(median):>11} {median / baseline:7.2f}"
                if workload.flops:
                    gflops = workload.flops / median / 1e9
                    peak = peaks.get((workload.dtype, n_threads))
                    figures += f" {gflops:8.1f} " + (f"{gflops / peak:6.1%}" if peak else "")
                print(f"{row} {figures}", flush=True)


def _interleaved_medians(
    workload: Workload, threads: int, samples: tuple[int, int], isolate: bool
) -> dict[str, float | LibraryMissing]:
    """Each library's median time: the median over rounds that measure the libraries in turn.

    ``samples`` is ``(repeat, rounds)``: each round times ``repeat`` calls of every library. A
    slow phase of a noisy host then weighs on every library alike instead of on one row.
    """
    repeat, rounds = samples
    times: dict[str, list[float]] = {}
    missing: dict[str, LibraryMissing] = {}
    for _ in range(max(rounds, 1)):
        for library in workload.libraries:
            if library in missing:
                continue
            try:
                median = _median(workload, library, threads, repeat, isolate)
            except LibraryMissing as why:
                missing[library] = why
                continue
            times.setdefault(library, []).append(median)
    return {
        library: missing[library] if library in missing else statistics.median(times[library])
        for library in workload.libraries
    }


_ROW_SCRIPT = """
import sys
from rnnfast.bench import time_call, workloads
family, name, library, threads, repeat = sys.argv[1:]
(workload,) = [w for w in workloads(family) if w.name == name]
print(time_call(workload.setup(library, int(threads)), repeat=int(repeat)).median)
"""


def _median(workload: Workload, library: str, threads: int, repeat: int, isolate: bool) -> float:
    """The median time of one call, measured here or in a fresh interpreter."""
    if isolate:
        args = (workload.family, workload.name, library, str(threads), str(repeat))
        return float(run_python(_ROW_SCRIPT, *args))
    return time_call(workload.setup(library, threads), repeat=repeat).median


def _sweep_and_plot(path: str, threads: list[int], repeat: int) -> int:
    try:
        require("matplotlib")
    except LibraryMissing:
        print("--plot needs matplotlib: pip install 'rnnfast[plot]'", file=sys.stderr)
        return 2
    print(f"{'panel':<18} {'size':>16}  {'library':<28} {'GFLOP/s':>8}")
    plot(sweep(threads, repeat, progress=lambda line: print(line, flush=True)), path)
    print(f"saved {path}")
    return 0


def _format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


if __name__ == "__main__":
    sys.exit(main())
