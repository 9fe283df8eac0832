"""rnnfast: fast recurrent networks for Python, on a Rust core.

>>> import numpy as np, rnnfast
>>> model = rnnfast.LSTM(4, 8, random_state=0)
>>> output, (h, c) = model(np.zeros((2, 5, 4), dtype=np.float32))
>>> output.shape
(2, 5, 8)
"""

from . import _rnnfast, datasets, metrics
from ._torch import from_torch
from .esn import ESNRegressor
from .esn_classifier import ESNClassifier
from .exceptions import NonFiniteError, ParameterError, RnnfastError, ShapeError
from .nvar import NVARRegressor
from .recurrent import GRU, LSTM, RNN
from .reservoir import Reservoir

__version__: str = _rnnfast.__version__

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "ESNClassifier",
    "ESNRegressor",
    "NVARRegressor",
    "NonFiniteError",
    "ParameterError",
    "Reservoir",
    "RnnfastError",
    "ShapeError",
    "__version__",
    "datasets",
    "from_torch",
    "get_num_threads",
    "metrics",
    "set_num_threads",
    "simd_arch",
]


def set_num_threads(n: int) -> None:
    """Sets how many threads rnnfast's kernels may use; 1 turns parallelism off.

    The default is the ``RNNFAST_NUM_THREADS`` environment variable, else every core. Results do
    not depend on the thread count.

    >>> import rnnfast
    >>> before = rnnfast.get_num_threads()
    >>> rnnfast.set_num_threads(1)
    >>> rnnfast.get_num_threads()
    1
    >>> rnnfast.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(f"n: expected an integer >= 1, got {n!r}")
    _rnnfast.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads rnnfast's kernels may use.

    >>> import rnnfast
    >>> rnnfast.get_num_threads() >= 1
    True
    """
    return _rnnfast.get_num_threads()


def simd_arch() -> str:
    """The SIMD level the activation kernels run on: ``"avx512"``, ``"avx2"`` or ``"scalar"``.

    Set ``RNNFAST_FORCE_ARCH`` before import to force a lower level.

    >>> import rnnfast
    >>> rnnfast.simd_arch() in {"avx512", "avx2", "scalar"}
    True
    """
    return _rnnfast.simd_arch()
