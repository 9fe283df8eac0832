"""Side-by-side benchmarks of rnnfast and its competitors, shared by two front ends.

Each public module of this package is one *family* of workloads (``inference``, ``training``,
``esn``, ``hopfield``, ...) and defines ``WORKLOADS``, a list of :class:`Workload`. The same
workloads drive both ``python -m rnnfast.bench`` (every library in one process, a table of times
and ratios) and the pytest-benchmark suites under ``benches/`` (the library as a parametrize
axis). A family is found by its module name alone: adding a module adds its workloads.

Competitors are optional: a workload's ``setup`` raises :class:`LibraryMissing` when one is not
installed, and both front ends skip that row.

>>> from rnnfast.bench import families, workloads
>>> "inference" in families()
True
>>> w = workloads("inference")[0]
>>> run = w.setup("rnnfast", 1)
>>> _ = run()
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LibraryMissing",
    "Report",
    "Timing",
    "Workload",
    "families",
    "reports",
    "time_call",
    "workloads",
]


class LibraryMissing(RuntimeError):
    """A competitor library needed by a benchmark row is not installed."""


Runner = Callable[[], object]


@dataclass(frozen=True)
class Workload:
    """One benchmark problem, runnable in several libraries.

    ``setup(library, threads)`` builds the model and data in ``library`` (one of ``libraries``)
    restricted to ``threads`` threads, and returns the callable to time; everything outside that
    callable is excluded from the measurement. ``flops`` (per call), when given, turns times into
    GFLOP/s, and with ``dtype`` into a fraction of the machine's matrix-product peak in that
    dtype. The first entry of ``libraries`` is rnnfast, the baseline of every ratio.
    """

    family: str
    name: str
    description: str
    libraries: tuple[str, ...]
    setup: Callable[[str, int], Runner]
    flops: float | None = None
    dtype: str = "float32"


@dataclass(frozen=True)
class Report:
    """A measurement other than time (peak memory, accuracy), one text per library.

    A family module may list these in ``REPORTS``; ``measure(library)`` returns the figure as
    text, or raises :class:`LibraryMissing`.
    """

    family: str
    name: str
    description: str
    libraries: tuple[str, ...]
    measure: Callable[[str], str]


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated calls, in seconds."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median time."""
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        """The shortest time."""
        return min(self.times)


def time_call(run: Runner, repeat: int = 7, min_time: float = 0.05) -> Timing:
    """Times ``run`` after one warm-up call: ``repeat`` samples, each at least ``min_time`` long.

    A sample repeats the call as often as needed to last ``min_time`` (short calls are otherwise
    dominated by timer resolution) and records the mean time per call.

    >>> t = time_call(lambda: sum(range(100)), repeat=3, min_time=0.001)
    >>> len(t.times), t.best <= t.median
    (3, True)
    """
    run()
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-9)
    inner = max(1, int(min_time / once))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            run()
        samples.append((time.perf_counter() - start) / inner)
    return Timing(tuple(samples))


def families() -> list[str]:
    """The names of the workload families, sorted.

    >>> from rnnfast.bench import families
    >>> families() == sorted(families())
    True
    """
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def workloads(family: str | None = None) -> list[Workload]:
    """The workloads of one family, or of every family when ``family`` is None.

    >>> from rnnfast.bench import workloads
    >>> all(w.libraries[0] == "rnnfast" for w in workloads())
    True
    """
    return [w for module in _modules(family) for w in module.WORKLOADS]


def reports(family: str | None = None) -> list[Report]:
    """The extra measurements of one family, or of every family when ``family`` is None.

    >>> from rnnfast.bench import reports
    >>> all(r.libraries for r in reports())
    True
    """
    return [r for module in _modules(family) for r in getattr(module, "REPORTS", [])]


def _modules(family: str | None) -> list[Any]:
    names = families() if family is None else [family]
    return [importlib.import_module(f"{__name__}.{name}") for name in names]
