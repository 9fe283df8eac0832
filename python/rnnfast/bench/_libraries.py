"""Imports of competitor libraries with their thread count set, or :class:`LibraryMissing`."""

from __future__ import annotations

import importlib
from types import ModuleType

from . import LibraryMissing

__all__ = ["require", "torch_with_threads"]


def require(name: str) -> ModuleType:
    """Imports ``name`` or raises :class:`LibraryMissing`.

    >>> require("math").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise LibraryMissing(f"{name} is not installed") from e


def torch_with_threads(threads: int) -> ModuleType:
    """Imports torch restricted to ``threads`` intra-op threads, or raises LibraryMissing."""
    torch = require("torch")
    torch.set_num_threads(threads)
    return torch
