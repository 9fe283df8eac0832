"""Runs a measurement in a fresh Python interpreter, where this process's state cannot leak in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping

from . import LibraryMissing

__all__ = ["run_python"]


def run_python(script: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Runs ``script`` (dedented) with ``args`` in a new interpreter and returns its stdout.

    Raises :class:`LibraryMissing` when the child failed on one, RuntimeError with the child's
    last line of stderr for any other failure.

    >>> run_python("import sys; print(sys.argv[1])", "hello").strip()
    'hello'
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        last = lines[-1] if lines else f"exit status {done.returncode}"
        if "LibraryMissing" in last:
            raise LibraryMissing(last.split(":", 1)[-1].strip())
        raise RuntimeError(last)
    return done.stdout
