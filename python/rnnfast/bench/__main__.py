"""``python -m rnnfast.bench``: every library side by side in one process, as a table.

Usage: ``python -m rnnfast.bench [--family NAME ...] [--threads 1 2] [--repeat 7]
[--filter TEXT]``. Each row is the median wall time of one call; ``ratio`` is the competitor's
time over rnnfast's (above 1: rnnfast is faster); ``GFLOP/s`` is shown where the workload states
its operation count.
"""

from __future__ import annotations

import argparse
import sys

from . import LibraryMissing, families, reports, time_call, workloads


def main(argv: list[str] | None = None) -> int:
    """Runs the selected workloads and prints the comparison table."""
    parser = argparse.ArgumentParser(prog="python -m rnnfast.bench", description=__doc__)
    parser.add_argument("--family", action="append", choices=families(), help="repeatable")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=7, help="samples per row (median)")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this")
    args = parser.parse_args(argv)
    selected = [
        w
        for family in (args.family or families())
        for w in workloads(family)
        if args.filter in w.name
    ]
    header = (
        f"{'workload':<28} {'thr':>3} {'library':<12} {'median':>11} {'ratio':>7} {'GFLOP/s':>8}"
    )
    print(header)
    print("-" * len(header))
    for workload in selected:
        for threads in args.threads:
            baseline = None
            for library in workload.libraries:
                try:
                    run = workload.setup(library, threads)
                except LibraryMissing as missing:
                    print(f"{workload.name:<28} {threads:>3} {library:<12} skipped: {missing}")
                    continue
                median = time_call(run, repeat=args.repeat).median
                baseline = median if baseline is None else baseline
                ratio = f"{median / baseline:7.2f}"
                gflops = f"{workload.flops / median / 1e9:8.1f}" if workload.flops else ""
                print(
                    f"{workload.name:<28} {threads:>3} {library:<12} "
                    f"{_format_time(median):>11} {ratio} {gflops}",
                    flush=True,
                )
    extra = [r for family in (args.family or families()) for r in reports(family)]
    if extra:
        print()
        for report in extra:
            if args.filter not in report.name:
                continue
            for library in report.libraries:
                try:
                    figure = report.measure(library)
                except LibraryMissing as missing:
                    figure = f"skipped: {missing}"
                print(f"{report.name:<28} {library:<12} {figure}", flush=True)
    return 0


def _format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


if __name__ == "__main__":
    sys.exit(main())
