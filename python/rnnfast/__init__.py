"""rnnfast: fast recurrent networks for Python, on a Rust core.

>>> import numpy as np, rnnfast
>>> model = rnnfast.LSTM(4, 8, random_state=0)
>>> output, (h, c) = model(np.zeros((2, 5, 4), dtype=np.float32))
>>> output.shape
(2, 5, 8)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _rnnfast, datasets
from ._rnnfast import Stream
from ._torch import from_torch
from .exceptions import (
    EncodingError,
    NonFiniteError,
    NumericalError,
    ParameterError,
    RnnfastError,
    ShapeError,
)
from .recurrent import GRU, LSTM, RNN
from .sequence_model import SequenceModel

if TYPE_CHECKING:
    from . import metrics
    from .esn import ESNRegressor
    from .esn_classifier import ESNClassifier
    from .estimators import RNNClassifier, RNNRegressor
    from .hopfield import HopfieldNetwork
    from .memories import BAM, ModernHopfield
    from .nvar import NVARRegressor
    from .reservoir import Reservoir

__version__: str = _rnnfast.__version__

# The scikit-learn estimators (and `metrics`) load on first use: importing scikit-learn and SciPy
# costs about 90 MiB and a second, which a service that only runs the inference engine should
# not pay. Attribute -> the module that defines it ("metrics" is itself a module).
_LAZY = {
    "BAM": "memories",
    "ESNClassifier": "esn_classifier",
    "ESNRegressor": "esn",
    "HopfieldNetwork": "hopfield",
    "ModernHopfield": "memories",
    "NVARRegressor": "nvar",
    "RNNClassifier": "estimators",
    "RNNRegressor": "estimators",
    "Reservoir": "reservoir",
    "metrics": "metrics",
}

__all__ = [
    "BAM",
    "GRU",
    "LSTM",
    "RNN",
    "ESNClassifier",
    "ESNRegressor",
    "EncodingError",
    "HopfieldNetwork",
    "ModernHopfield",
    "NVARRegressor",
    "NonFiniteError",
    "NumericalError",
    "ParameterError",
    "RNNClassifier",
    "RNNRegressor",
    "Reservoir",
    "RnnfastError",
    "SequenceModel",
    "ShapeError",
    "Stream",
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnfast' has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    value = loaded if module == name else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
