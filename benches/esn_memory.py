"""Peak memory of fitting an ESN on a long series: ``python benches/esn_memory.py STEPS DTYPE``.

Prints the resident set size before the fit (Python, NumPy and the input) and its peak during
the fit of a 2000-unit reservoir on ``STEPS`` steps of Mackey-Glass (a 20,000-step series
repeated). The issue's goal: under 200 MiB beyond the input for 1,000,000 steps.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import rnnfast
from rnnfast.datasets import mackey_glass


def main(steps: int, dtype: str) -> None:
    series = mackey_glass(20_001)
    u = np.resize(series[:-1], (steps, 1)).astype(dtype)
    y = np.resize(series[1:], (steps, 1)).astype(dtype)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    rnnfast.ESNRegressor(
        2000, spectral_radius=1.25, leak_rate=0.3, washout=100, dtype=dtype, random_state=0
    ).fit(u, y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"steps={steps} dtype={dtype} input={(u.nbytes + y.nbytes) / 2**20:.1f} MiB "
        f"rss_before_fit={before:.0f} MiB peak={peak:.0f} MiB beyond={peak - before:.0f} MiB "
        f"fit={time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
