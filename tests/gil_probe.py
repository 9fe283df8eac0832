"""Whether a call releases the GIL: a pure-Python counter in another thread must keep running."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


def ticks_during(call: Callable[[], object]) -> tuple[int, float]:
    """How far a Python counter in another thread advanced while ``call()`` ran, and its time.

    Only the counter's progress well inside the call counts: away from its start and end by
    two switch intervals, since around those edges the interpreter may preempt the caller and
    let the counter run even if the call itself holds the GIL throughout.
    """
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def count() -> None:
        ticks = 0
        while not done.is_set():
            ticks += 1
            if ticks % 256 == 0:
                samples.append((time.perf_counter(), ticks))

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.01)
    start = time.perf_counter()
    call()
    end = time.perf_counter()
    done.set()
    counter.join()
    margin = 2 * sys.getswitchinterval()
    inside = [ticks for at, ticks in samples if start + margin < at < end - margin]
    return (inside[-1] - inside[0] if inside else 0), end - start
