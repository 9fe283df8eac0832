"""Echo state networks end to end (build the reservoir, fit, predict): rnnfast against ReservoirPy.

The workloads are the issue's: Mackey-Glass one-step-ahead prediction (10,000 training and 2,000
test steps, leak rate 0.3, spectral radius 1.25, connectivity 0.1, ridge 1e-6) with 1000 and 100
units, 500 sequences of 100 steps (3 features, 5 one-hot targets) through 300 units, and NVAR
(delay 2, order 2, ridge 2.5e-6: the NG-RC paper's Lorenz model) predicting the next step of a
Lorenz series sampled at dt = 0.025 (10,000 training and 2,000 test steps). Both
libraries get the same data and hyper-parameters (ReservoirPy's defaults otherwise: no bias,
input connectivity 0.1); each timed call returns its test NRMSE so accuracy can be compared too.
One seed's NRMSE says little (over seeds 0-7 at 1000 units, each library's ranged 1.09e-3 to
1.28e-3, and ReservoirPy once 4.3e-3), so ``REPORTS`` gives the median over eight seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .. import ESNRegressor, NVARRegressor, set_num_threads
from ..datasets import lorenz, mackey_glass
from ..metrics import nrmse
from . import Report, Runner, Workload
from ._libraries import require

_TRAIN, _TEST, _WASHOUT = 10_000, 2_000, 100
_LEAK, _RADIUS, _DENSITY, _ALPHA = 0.3, 1.25, 0.1, 1e-6


def _reservoirpy(units: int, threads: int, seed: int = 0) -> Any:
    """A ReservoirPy ESN with the workloads' hyper-parameters, limited to ``threads``."""
    nodes = require("reservoirpy.nodes")
    require("threadpoolctl").threadpool_limits(threads)
    reservoir = nodes.Reservoir(units, lr=_LEAK, sr=_RADIUS, rc_connectivity=_DENSITY, seed=seed)
    return reservoir >> nodes.Ridge(ridge=_ALPHA)


_LIBRARIES = ("rnnfast", "rnnfast-float64", "reservoirpy")


def _rnnfast(library: str, units: int, threads: int, washout: int, seed: int = 0) -> ESNRegressor:
    set_num_threads(threads)
    dtype = "float64" if library == "rnnfast-float64" else "float32"
    return ESNRegressor(
        units,
        spectral_radius=_RADIUS,
        leak_rate=_LEAK,
        density=_DENSITY,
        bias_scaling=0.0,
        alpha=_ALPHA,
        washout=washout,
        dtype=dtype,
        random_state=seed,
    )


def _setup_mackey_glass(
    units: int, library: str, threads: int, seed: int = 0
) -> Callable[[], float]:
    series = mackey_glass(_TRAIN + _TEST + 1)
    x, y = series[:-1], series[1:]
    train, test = slice(0, _TRAIN), slice(_TRAIN, None)
    if library.startswith("rnnfast"):

        def run() -> float:
            esn = _rnnfast(library, units, threads, _WASHOUT, seed).fit(x[train], y[train])
            return nrmse(y[test], esn.predict(x[test]))

        return run
    _reservoirpy(units, threads, seed)

    def run_rpy() -> float:
        esn = _reservoirpy(units, threads, seed)
        esn.fit(x[train], y[train], warmup=_WASHOUT)
        return nrmse(y[test], esn.run(x[test]))

    return run_rpy


def _median_nrmse(units: int, library: str) -> str:
    """The median test NRMSE of the Mackey-Glass workload over reservoirs of seeds 0-7."""
    scores = [_setup_mackey_glass(units, library, 1, seed)() for seed in range(8)]
    return f"median {np.median(scores):.3e} (min {min(scores):.3e}, max {max(scores):.3e})"


def _setup_batch(n_seq: int, steps: int, units: int, library: str, threads: int) -> Runner:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_seq, steps, 3))
    labels = rng.integers(0, 5, n_seq)
    y = np.zeros((n_seq, steps, 5))
    y[np.arange(n_seq), :, labels] = 1.0
    if library.startswith("rnnfast"):

        def run() -> float:
            esn = _rnnfast(library, units, threads, 0).fit(x, y)
            return nrmse(y, esn.predict(x))

        return run
    _reservoirpy(units, threads)

    def run_rpy() -> float:
        esn = _reservoirpy(units, threads)
        esn.fit(list(x), list(y))
        return nrmse(y, np.stack(esn.run(list(x))))

    return run_rpy


def _setup_nvar(library: str, threads: int) -> Runner:
    """NVAR on Lorenz: fit on the training steps, predict the test steps (which continue them)."""
    series = lorenz(_TRAIN + _TEST + 1, dt=0.025)
    x, y = series[:-1], series[1:]
    train, test = slice(0, _TRAIN), slice(_TRAIN, None)
    if library.startswith("rnnfast"):
        set_num_threads(threads)
        dtype = "float64" if library == "rnnfast-float64" else "float32"

        def run() -> float:
            model = NVARRegressor(delay=2, order=2, alpha=2.5e-6, dtype=dtype)
            return nrmse(y[test], model.fit(x[train], y[train]).predict(x[test]))

        return run
    nodes = require("reservoirpy.nodes")
    require("threadpoolctl").threadpool_limits(threads)

    def run_rpy() -> float:
        model = nodes.NVAR(delay=2, order=2, strides=1) >> nodes.Ridge(ridge=2.5e-6)
        model.fit(x[train], y[train], warmup=1)
        return nrmse(y[test], model.run(x[test]))

    return run_rpy


def _mackey_glass(units: int) -> Workload:
    return Workload(
        family="esn",
        name=f"mackey-glass-{units}",
        description=f"Mackey-Glass, {units} units, {_TRAIN} train + {_TEST} test steps",
        libraries=_LIBRARIES,
        setup=partial(_setup_mackey_glass, units),
    )


WORKLOADS = [
    _mackey_glass(1000),
    _mackey_glass(100),
    Workload(
        family="esn",
        name="batch-500x100-300",
        description="500 sequences x 100 steps, 3 in, 5 one-hot out, 300 units: fit + run",
        libraries=_LIBRARIES,
        setup=partial(_setup_batch, 500, 100, 300),
    ),
    Workload(
        family="esn",
        name="nvar-lorenz",
        description=f"NVAR delay 2 order 2, Lorenz, {_TRAIN} train + {_TEST} test steps",
        libraries=_LIBRARIES,
        setup=_setup_nvar,
    ),
]

REPORTS = [
    Report(
        family="esn",
        name=f"mackey-glass-{units}-nrmse",
        description=f"Mackey-Glass, {units} units: test NRMSE over seeds 0-7",
        libraries=("rnnfast-float64", "rnnfast", "reservoirpy"),
        measure=partial(_median_nrmse, units),
    )
    for units in (1000, 100)
]
