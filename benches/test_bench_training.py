"""Training benchmarks (the ``training`` family of :mod:`rnnfast.bench`): one epoch each."""

from __future__ import annotations

from bench_cases import bench_cases, run_case


@bench_cases("training")
def test_training_epoch(benchmark, workload, library, threads, restore_threads):
    run_case(benchmark, workload, library, threads)
