"""Benchmark series for reservoir computing, generated from their equations (no downloads).

>>> from rnnfast.datasets import lorenz, mackey_glass, narma
>>> mackey_glass(100).shape, lorenz(50).shape
((100, 1), (50, 3))
>>> u, y = narma(200, random_state=0)
>>> u.shape, y.shape
((200, 1), (200, 1))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import check_positive_int, resolve_rng

__all__ = ["lorenz", "mackey_glass", "narma"]

Array = npt.NDArray[np.float64]
Seed = int | np.random.Generator | np.random.RandomState | None


def mackey_glass(
    n_steps: int,
    *,
    tau: int = 17,
    a: float = 0.2,
    b: float = 0.1,
    n: int = 10,
    x0: float = 1.2,
    h: float = 0.25,
    sample_every: float = 1.0,
    random_state: Seed = None,
) -> Array:
    """The Mackey-Glass delay differential equation ``dx/dt = a x(t-tau) / (1 + x(t-tau)^n) - b x``.

    Integrated with fourth-order Runge-Kutta at step ``h`` (``tau / h`` and ``sample_every / h``
    must be whole numbers; the delayed term at half steps is the mean of its grid neighbours),
    from a constant history ``x0`` (perturbed uniformly by up to 0.1 when ``random_state`` is
    given), and sampled every ``sample_every`` time units. Returns ``(n_steps, 1)``.

    >>> x = mackey_glass(500)
    >>> bool(0.2 < x.min() < x.max() < 1.5)
    True
    """
    n_steps = check_positive_int("n_steps", n_steps)
    delay = round(tau / h)
    every = round(sample_every / h)
    history = np.full(delay + 1, float(x0))
    if random_state is not None:
        history += resolve_rng(random_state).uniform(-0.1, 0.1, delay + 1)
    total = n_steps * every
    x = np.empty(delay + 1 + total)
    x[: delay + 1] = history

    def f(value: float, lagged: float) -> float:
        return float(a * lagged / (1.0 + lagged**n) - b * value)

    for i in range(delay, delay + total):
        lag0, lag1 = x[i - delay], x[i - delay + 1]
        mid = 0.5 * (lag0 + lag1)
        xi = x[i]
        k1 = f(xi, lag0)
        k2 = f(xi + 0.5 * h * k1, mid)
        k3 = f(xi + 0.5 * h * k2, mid)
        k4 = f(xi + h * k3, lag1)
        x[i + 1] = xi + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[delay + every :: every][:n_steps, np.newaxis].copy()


def _rk4(deriv: Callable[[Array], Array], state: Array, dt: float, n_steps: int) -> Array:
    out = np.empty((n_steps, state.size))
    for t in range(n_steps):
        out[t] = state
        k1 = deriv(state)
        k2 = deriv(state + 0.5 * dt * k1)
        k3 = deriv(state + 0.5 * dt * k2)
        k4 = deriv(state + dt * k3)
        state = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def lorenz(
    n_steps: int,
    *,
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    dt: float = 0.01,
    x0: Any = (1.0, 1.0, 1.0),
    random_state: Seed = None,
) -> Array:
    """The Lorenz system, integrated with fourth-order Runge-Kutta at step ``dt``.

    Starts at ``x0`` (perturbed by a standard normal draw when ``random_state`` is given).
    Returns ``(n_steps, 3)``: x, y, z.

    >>> lorenz(3)[0].tolist()
    [1.0, 1.0, 1.0]
    """
    n_steps = check_positive_int("n_steps", n_steps)
    start = np.asarray(x0, dtype=np.float64).reshape(3)
    if random_state is not None:
        start = start + resolve_rng(random_state).standard_normal(3)

    def deriv(s: Array) -> Array:
        return np.array(
            [sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]]
        )

    return _rk4(deriv, start, dt, n_steps)


def narma(n_steps: int, *, order: int = 10, random_state: Seed = None) -> tuple[Array, Array]:
    """The NARMA task of the given ``order`` (10 by default), inputs uniform in [0, 0.5].

    ``y[t+1] = 0.3 y[t] + 0.05 y[t] sum(y[t-order+1..t]) + 1.5 u[t-order+1] u[t] + 0.1``.
    Returns ``(u, y)``, each ``(n_steps, 1)``; ``y[t]`` depends on inputs up to ``u[t-1]``.

    >>> u, y = narma(50, random_state=1)
    >>> bool(np.all(np.isfinite(y)))
    True
    """
    n_steps = check_positive_int("n_steps", n_steps)
    order = check_positive_int("order", order)
    u = resolve_rng(random_state).uniform(0.0, 0.5, n_steps)
    y = np.zeros(n_steps)
    for t in range(order - 1, n_steps - 1):
        window = y[t - order + 1 : t + 1]
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * window.sum() + 1.5 * u[t - order + 1] * u[t] + 0.1
    return u[:, np.newaxis], y[:, np.newaxis]
