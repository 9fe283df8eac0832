"""Turns the workloads of :mod:`rnnfast.bench` into pytest-benchmark cases."""

from __future__ import annotations

import pytest
from rnnfast.bench import LibraryMissing, Workload, workloads


def bench_cases(family: str, threads: tuple[int, ...] = (1, 2)):
    """A parametrize decorator over (workload, library, threads) of one family."""
    return pytest.mark.parametrize(
        ("workload", "library", "threads"),
        [(w, lib, t) for w in workloads(family) for lib in w.libraries for t in threads],
        ids=lambda value: value.name if isinstance(value, Workload) else str(value),
    )


def run_case(benchmark, workload: Workload, library: str, threads: int) -> None:
    """Sets the case up (skipping a missing competitor) and times its callable."""
    try:
        run = workload.setup(library, threads)
    except LibraryMissing as missing:
        pytest.skip(str(missing))
    benchmark.group = f"{workload.name} {threads}t"
    benchmark(run)
