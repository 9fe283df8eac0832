"""Peak resident memory of one call, measured in a fresh process.

``tracemalloc`` only sees Python's allocator, not the native (Rust, oneDNN, onnxruntime)
buffers, so the figure is the kernel's resident-set high-water mark ``VmHWM``. It is read from
``/proc/self/status`` rather than ``getrusage``'s ``ru_maxrss``, which survives ``exec``: a
child would report its parent's peak. Before the call, writing ``5`` to
``/proc/self/clear_refs`` resets the high-water mark to the current RSS, so that peaks of the
set-up (imports, building data) do not hide the call's own.
"""

from __future__ import annotations

from ._process import run_python

__all__ = ["peak_rss_mib"]

_SCRIPT = """
import importlib
import sys

def status(field):
    with open("/proc/self/status") as lines:
        line = next(l for l in lines if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024

module, factory, library = sys.argv[1:]
run = getattr(importlib.import_module(module), factory)(library)
baseline = status("VmRSS")
try:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
except OSError:
    pass  # an older kernel: the peak then includes the set-up's
run()
print(status("VmHWM"), status("VmHWM") - baseline)
"""


def peak_rss_mib(module: str, factory: str, library: str) -> tuple[float, float]:
    """The peak RSS of a fresh process around one call, and what the call added to its RSS.

    In the new process, ``module.factory(library)`` sets up (imports, data, warm-up) and
    returns the callable to measure. Figures in MiB; LibraryMissing propagates.

    >>> peak, added = peak_rss_mib("rnnfast.bench._scaling", "forward_for_memory", "rnnfast")
    >>> peak > added > 0
    True
    """
    peak, added = (float(v) for v in run_python(_SCRIPT, module, factory, library).split())
    return peak, added
