"""The machine's matrix-product peak: the yardstick of the ``% peak`` column.

NumPy's OpenBLAS multiplies two large square matrices (``a @ b``), best of several. It runs in
a fresh interpreter because OpenBLAS fixes its thread count and its kernel when it is loaded:
``OPENBLAS_NUM_THREADS`` (and the OpenMP / MKL equivalents) must be set before numpy is
imported, which cannot be undone in a process that already imported it (``threadpoolctl``
could limit the threads but not the kernel). The child also drops ``OPENBLAS_CORETYPE`` and
``OPENBLAS_L2_SIZE``, which CI pins (to Haswell) for reproducible test results and which would
hide the AVX-512 kernel that defines this machine's peak.
"""

from __future__ import annotations

import functools
import os

from ._process import run_python

__all__ = ["matmul_peak_gflops"]

_SCRIPT = """
import sys
import time
import numpy as np

size, repeat, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
a, b = (rng.random((size, size)).astype(dtype) for _ in range(2))
a @ b  # warm-up: thread start, page faults
best = float("inf")
for _ in range(repeat):
    start = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - start)
print(2.0 * size**3 / best / 1e9)
"""

_PINNED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@functools.cache
def matmul_peak_gflops(
    threads: int, dtype: str = "float32", size: int = 2048, repeat: int = 5
) -> float:
    """GFLOP/s of NumPy's ``a @ b`` on ``size`` x ``size`` matrices with ``threads`` threads.

    Measured once per process and arguments (cached).

    >>> matmul_peak_gflops(1, size=64, repeat=1) > 0
    True
    """
    env = {k: v for k, v in os.environ.items() if k not in _PINNED}
    env.update(dict.fromkeys(_THREAD_VARIABLES, str(threads)))
    return float(run_python(_SCRIPT, str(size), str(repeat), dtype, env=env))
