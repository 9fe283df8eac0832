"""Echo state network benchmarks (the ``esn`` family of :mod:`rnnfast.bench`).

ReservoirPy rows are skipped unless it is installed (``pip install reservoirpy``); in CI each
case runs once as a smoke test.
"""

from __future__ import annotations

from bench_cases import bench_cases, run_case

CASES = bench_cases("esn")


@CASES
def test_esn(benchmark, workload, library, threads, restore_threads):
    run_case(benchmark, workload, library, threads)
