"""A trained stack of recurrent layers with a linear head: the model the estimators fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import as_batch
from .exceptions import ParameterError, ShapeError
from .recurrent import GRU, LSTM, RNN

__all__ = ["SequenceModel"]

Array = npt.NDArray[Any]
Layer = RNN | LSTM | GRU

_TARGETS = ("last_step", "every_step")


class SequenceModel:
    """Recurrent layers, each its own width, followed by a linear head.

    This is what :class:`rnnfast.RNNRegressor` and :class:`rnnfast.RNNClassifier` store in
    ``network_``: inference runs on the native engine, with no training code involved, so a
    fitted estimator's network can be served, pickled or benchmarked on its own.

    Parameters
    ----------
    layers : list of RNN, LSTM or GRU
        One-layer networks, bottom first; each takes the previous one's output (both directions
        concatenated) as input.
    head_weight : ndarray of shape (outputs, width)
        ``width`` is the top layer's ``num_directions * hidden_size``.
    head_bias : ndarray of shape (outputs,)
    target : {"last_step", "every_step"}
        ``"last_step"``: one output row per sequence, from each direction's final state (the
        forward one at the sequence's last step, the reverse one at step 0).
        ``"every_step"``: one output row per time step.

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> model = rnnfast.SequenceModel(
    ...     [rnnfast.GRU(3, 8, random_state=0), rnnfast.GRU(8, 4, random_state=1)],
    ...     np.ones((2, 4), dtype=np.float32), np.zeros(2, dtype=np.float32), "last_step")
    >>> model(np.zeros((5, 7, 3), dtype=np.float32)).shape
    (5, 2)
    >>> model([np.ones((4, 3)), np.ones((2, 3))]).shape
    (2, 2)

    """

    def __init__(
        self, layers: Sequence[Layer], head_weight: Any, head_bias: Any, target: str
    ) -> None:
        if not layers:
            raise ParameterError("layers: expected at least one recurrent layer")
        if target not in _TARGETS:
            raise ParameterError(f"target: expected one of {_TARGETS}, got {target!r}")
        self.layers = list(layers)
        self.target = target
        dtype = self.layers[0].dtype
        for below, above in zip(self.layers, self.layers[1:], strict=False):
            width = below.num_directions * below.hidden_size
            if above.input_size != width or above.dtype != dtype:
                raise ShapeError(
                    f"layers: a layer of input_size {above.input_size} ({above.dtype}) cannot "
                    f"follow one of output width {width} ({dtype})"
                )
        top = self.layers[-1]
        width = top.num_directions * top.hidden_size
        self.head_weight = np.ascontiguousarray(head_weight, dtype=dtype)
        self.head_bias = np.ascontiguousarray(head_bias, dtype=dtype)
        outputs = self.head_bias.shape[0] if self.head_bias.ndim == 1 else -1
        if self.head_weight.shape != (outputs, width):
            raise ShapeError(
                f"head_weight: expected shape ({outputs}, {width}), got {self.head_weight.shape}"
            )

    @property
    def input_size(self) -> int:
        """Features per time step.

        >>> import rnnfast
        >>> rnnfast.SequenceModel([rnnfast.RNN(3, 2)], [[1.0, 1.0]], [0.0], "every_step").input_size
        3
        """
        return self.layers[0].input_size

    @property
    def dtype(self) -> np.dtype[Any]:
        """The precision of the weights and results.

        >>> import rnnfast
        >>> rnnfast.SequenceModel([rnnfast.RNN(3, 2)], [[1.0, 1.0]], [0.0], "last_step").dtype
        dtype('float32')
        """
        return self.layers[0].dtype

    def __call__(self, x: Any, lengths: Any = None) -> Array:
        """The head's outputs (raw scores).

        ``(batch, outputs)`` for ``"last_step"``, else ``(batch, steps, outputs)`` with zeros
        past each sequence's end; without the batch axis for a single 2-D sequence. ``x`` and
        ``lengths`` are as in :meth:`rnnfast.LSTM.forward`.

        >>> import numpy as np, rnnfast
        >>> model = rnnfast.SequenceModel([rnnfast.GRU(3, 2)], [[1.0, -1.0]], [0.5], "every_step")
        >>> model(np.zeros((4, 3), dtype=np.float32)).shape
        (4, 1)
        """
        batch = as_batch(x, lengths, self.dtype, self.input_size)
        data, seq_lengths = batch.data, batch.lengths
        state: Any = None
        for layer in self.layers:
            data, state = layer(data, lengths=seq_lengths)
        if self.target == "last_step":
            h_n = state[0] if isinstance(state, tuple) else state
            features = np.ascontiguousarray(h_n.transpose(1, 0, 2)).reshape(len(data), -1)
            scores = features @ self.head_weight.T + self.head_bias
        else:
            scores = data @ self.head_weight.T + self.head_bias
            if seq_lengths is not None:
                past_end = np.arange(data.shape[1]) >= seq_lengths[:, np.newaxis]
                scores[past_end] = 0
        result: Array = scores[0] if batch.unbatched else scores
        return result

    def __repr__(self) -> str:
        layers = ", ".join(repr(layer) for layer in self.layers)
        outputs = self.head_bias.shape[0]
        return f"SequenceModel([{layers}], outputs={outputs}, target={self.target!r})"
