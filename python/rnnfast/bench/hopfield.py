"""Associative memories: rnnfast against batched NumPy and the ``hopfieldnetwork`` package.

Recall workloads: 1024 units, 10 random patterns (Hebbian), 256 probes with 10% of their bits
flipped, float32 in rnnfast and NumPy (``hopfieldnetwork``, one probe at a time, computes in
float64); every library runs each probe to a fixed point. The thread count applies to rnnfast
and to the BLAS under NumPy (which ``hopfieldnetwork`` calls too). The last workload times
storing patterns in a Storkey network.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import HopfieldNetwork, set_num_threads
from . import Runner, Workload
from ._libraries import require

UNITS, PATTERNS, PROBES, NOISE = 1024, 10, 256, 0.1


def _problem(units: int, patterns: int, probes: int) -> tuple[npt.NDArray[Any], ...]:
    """Random bipolar patterns and probes that are copies of them with ``NOISE`` bits flipped."""
    rng = np.random.default_rng(0)
    stored = rng.choice(np.array([-1, 1], dtype=np.int8), size=(patterns, units))
    noisy = stored[rng.integers(0, patterns, probes)].copy()
    flips = int(NOISE * units)
    for row in noisy:
        row[rng.choice(units, flips, replace=False)] *= -1
    return stored, noisy


def numpy_sync_recall(
    weights: npt.NDArray[np.float32], probes: npt.NDArray[np.float32], max_iter: int = 100
) -> npt.NDArray[np.float32]:
    """Batched synchronous recall to a fixed point with dense weights: ``S ← sign(S W)``.

    The NumPy reference of the benchmark (ties to +1, like rnnfast); stops when no probe changes.
    """
    states = probes
    for _ in range(max_iter):
        new = np.where(states @ weights >= 0, np.float32(1), np.float32(-1))
        if np.array_equal(new, states):
            break
        states = new
    return states


def _recall_setup(update: str, library: str, threads: int) -> Runner:
    stored, probes = _problem(UNITS, PATTERNS, PROBES)
    if library == "rnnfast":
        set_num_threads(threads)
        net = HopfieldNetwork(update=update, random_state=0).fit(stored)
        return partial(net.predict, probes)
    require("threadpoolctl").threadpool_limits(threads, user_api="blas")
    if library == "numpy":
        xi = stored.astype(np.float32)
        weights = xi.T @ xi / np.float32(UNITS)
        np.fill_diagonal(weights, 0)
        return partial(numpy_sync_recall, weights, probes.astype(np.float32))
    package = require("hopfieldnetwork")
    net = package.HopfieldNetwork(N=UNITS)
    net.train_pattern(stored.T)

    def run() -> object:
        for probe in probes:
            net.set_initial_neurons_state(probe.copy())
            net.update_neurons(0, update, run_max=True)
        return net.S

    return run


def _storkey_setup(units: int, patterns: int, library: str, threads: int) -> Runner:
    stored, _ = _problem(units, patterns, 1)
    set_num_threads(threads)
    net = HopfieldNetwork(rule="storkey")
    return partial(net.fit, stored)


_RECALL = f"{UNITS} units, {PATTERNS} Hebbian patterns, {PROBES} probes with 10% noise, float32"

WORKLOADS = [
    Workload(
        family="hopfield",
        name="hopfield-sync-n1024",
        description=f"synchronous recall to a fixed point: {_RECALL}",
        libraries=("rnnfast", "numpy", "hopfieldnetwork"),
        setup=partial(_recall_setup, "sync"),
    ),
    Workload(
        family="hopfield",
        name="hopfield-async-n1024",
        description=f"asynchronous recall (random order per sweep): {_RECALL}",
        libraries=("rnnfast", "hopfieldnetwork"),
        setup=partial(_recall_setup, "async"),
    ),
    Workload(
        family="hopfield",
        name="storkey-fit-500x4096",
        description="storing 500 random patterns in a 4096-unit Storkey network, float32",
        libraries=("rnnfast",),
        setup=partial(_storkey_setup, 4096, 500),
        # The blocked rule's two matrix products per block of k patterns: 2kn² + 4kn² flops.
        flops=6.0 * 500 * 4096 * 4096,
    ),
]
