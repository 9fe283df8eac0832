"""The machine a comparison ran on, printed above its table.

Ratios against a competitor depend on the CPU as well as on the code: a host that runs AVX-512
instructions on half-width units (AMD Zen 4) moves them by tens of percent against one that
does not (Zen 5). A table that names its CPU can be compared with figures recorded elsewhere.
"""

from __future__ import annotations

import os
import platform

from .. import get_num_threads, simd_arch

__all__ = ["describe_machine"]

# x86 family 0x19 (25) is AMD Zen 3 and Zen 4, told apart by the model; 0x1A (26) is Zen 5.
_AMD_GENERATIONS = {
    (25, range(0x00, 0x10)): "Zen 3",
    (25, range(0x10, 0x20)): "Zen 4",
    (25, range(0x20, 0x60)): "Zen 3",
    (25, range(0x60, 0x80)): "Zen 4",
    (25, range(0xA0, 0xB0)): "Zen 4",
    (26, range(0x00, 0x100)): "Zen 5",
}


def describe_machine(cpuinfo: str | None = None) -> str:
    r"""One line naming the CPU, its core count and the kernels rnnfast chose.

    ``cpuinfo`` is the text of ``/proc/cpuinfo`` (read when not given; other systems report
    what :mod:`platform` knows).

    >>> line = describe_machine("vendor_id : AuthenticAMD\ncpu family : 26\nmodel : 2\n"
    ...                         "model name : AMD EPYC\n")
    >>> line.startswith("AMD EPYC (x86 family 26 model 2: AMD Zen 5)")
    True
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                cpuinfo = handle.read()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    family, model = fields.get("cpu family"), fields.get("model")
    if family is not None and model is not None and family.isdigit() and model.isdigit():
        detail = f"x86 family {family} model {model}"
        if fields.get("vendor_id") == "AuthenticAMD":
            generation = _amd_generation(int(family), int(model))
            detail += f": AMD {generation}" if generation else ""
        name = f"{name} ({detail})"
    return (
        f"{name}, {os.cpu_count()} logical CPUs; rnnfast kernels: {simd_arch()}, "
        f"{get_num_threads()} threads by default"
    )


def _amd_generation(family: int, model: int) -> str | None:
    for (fam, models), generation in _AMD_GENERATIONS.items():
        if fam == family and model in models:
            return generation
    return None
