"""Associative-memory benchmarks (the ``hopfield`` family of :mod:`rnnfast.bench`).

In CI these run once each as smoke tests (``--benchmark-disable``); the ``hopfieldnetwork``
competitor is skipped unless installed.
"""

from __future__ import annotations

from bench_cases import bench_cases, run_case

CASES = bench_cases("hopfield")


@CASES
def test_hopfield(benchmark, workload, library, threads, restore_threads):
    run_case(benchmark, workload, library, threads)
