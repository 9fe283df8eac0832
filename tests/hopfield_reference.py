"""Plain NumPy references for the associative memories: slow, per probe, obviously correct.

Written from the papers, independently of the native kernels: fields are recomputed from the
weights at every unit visit (no incremental bookkeeping, no low-rank factors).
"""

from __future__ import annotations

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    """SplitMix64 (Steele, Lea & Flood 2014) with rnnfast's stream seeding, in Python integers."""

    def __init__(self, seed: int, stream: int) -> None:
        self.state = (seed ^ (stream * 0xD1B54A32D192ED03)) & MASK

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def shuffle(self, items: list[int]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = (self.next_u64() * (i + 1)) >> 64
            items[i], items[j] = items[j], items[i]


def hebbian(patterns):
    xi = np.asarray(patterns, dtype=np.float64)
    w = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(w, 0.0)
    return w


def storkey(patterns, w=None):
    xi_all = np.asarray(patterns, dtype=np.float64)
    n = xi_all.shape[1]
    w = np.zeros((n, n)) if w is None else w.copy()
    for xi in xi_all:
        # h[i, j] = sum over k != i, j of w[i, k] xi[k]
        full = w * xi[None, :]
        h = full.sum(axis=1)[:, None] - np.diag(full)[:, None] - full
        dw = (np.outer(xi, xi) - xi[:, None] * h.T - h * xi[None, :]) / n
        np.fill_diagonal(dw, 0.0)
        w = w + dw
    return w


def pseudoinverse(patterns):
    xi = np.asarray(patterns, dtype=np.float64)
    w = np.linalg.pinv(xi) @ xi
    np.fill_diagonal(w, 0.0)
    return w


RULES = {"hebbian": hebbian, "storkey": storkey, "pseudoinverse": pseudoinverse}


def _step(field, threshold):
    return np.where(field >= threshold, 1.0, -1.0)


def recall_sync(w, probes, threshold=0.0, max_iter=100):
    """(states, converged, n_sweeps, cycled), one probe at a time."""
    out = []
    for s in np.asarray(probes, dtype=np.float64):
        prev, converged, cycled, sweeps = None, False, False, 0
        for sweep in range(1, max_iter + 1):
            sweeps = sweep
            new = _step(w @ s, threshold)
            if np.array_equal(new, s):
                converged = True
                break
            if prev is not None and np.array_equal(new, prev):
                cycled = True
                break
            prev, s = s, new
        out.append((s, converged, sweeps, cycled))
    return _stack(out)


def recall_async(w, probes, threshold=0.0, max_iter=100, seed=0, shuffle=True):
    out = []
    for index, s in enumerate(np.asarray(probes, dtype=np.float64)):
        s = s.copy()
        rng = SplitMix64(seed, index)
        order = list(range(s.size))
        converged, sweeps = False, 0
        for sweep in range(1, max_iter + 1):
            sweeps = sweep
            if shuffle:
                rng.shuffle(order)
            changed = False
            for i in order:
                new = 1.0 if w[i] @ s >= threshold else -1.0
                changed |= new != s[i]
                s[i] = new
            if not changed:
                converged = True
                break
        out.append((s, converged, sweeps, False))
    return _stack(out)


def _stack(rows):
    states, converged, sweeps, cycled = zip(*rows, strict=True)
    return np.array(states), np.array(converged), np.array(sweeps), np.array(cycled)


def energy(w, states, threshold=0.0):
    s = np.asarray(states, dtype=np.float64)
    return np.array([-0.5 * x @ w @ x + threshold * x.sum() for x in s])


def modern(patterns, queries, beta, steps):
    xi = np.asarray(patterns, dtype=np.float64)
    out = []
    for q in np.asarray(queries, dtype=np.float64):
        for _ in range(steps):
            z = beta * xi @ q
            p = np.exp(z - z.max())
            q = xi.T @ (p / p.sum())
        out.append(q)
    return np.array(out)


def bam(w, x, max_iter=100):
    """Returns (x, y) after alternating y = f(x W), x = f(y W^T) to a fixed point."""
    x = np.asarray(x, dtype=np.float64)
    y = _step(x @ w, 0.0)
    for _ in range(max_iter):
        new_x = _step(y @ w.T, 0.0)
        new_y = _step(new_x @ w, 0.0)
        if np.array_equal(new_x, x) and np.array_equal(new_y, y):
            break
        x, y = new_x, new_y
    return x, y
