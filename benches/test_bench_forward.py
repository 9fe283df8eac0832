"""Forward-pass benchmarks (the ``inference`` family of :mod:`rnnfast.bench`).

The library is a parametrize axis so each workload's rows sit side by side; competitors are
skipped when not installed. In CI these run once each as smoke tests (``--benchmark-disable``);
``make bench`` measures for real.
"""

from __future__ import annotations

from bench_cases import bench_cases, run_case

CASES = bench_cases("inference")


@CASES
def test_forward(benchmark, workload, library, threads, restore_threads):
    run_case(benchmark, workload, library, threads)
