"""Inference for trained Elman RNN, LSTM and GRU networks, with PyTorch's conventions.

Equations, gate order (LSTM ``i, f, g, o``; GRU ``r, z, n``), the two bias vectors and the
parameter names and shapes (``weight_ih_l0``, ``weight_hh_l0_reverse``, ...) are PyTorch's, so a
``state_dict()`` moves between the two libraries unchanged. Input is always batch first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from . import _rnnfast
from ._validation import as_batch, as_float_array, check_positive_int, resolve_rng
from .exceptions import ParameterError, ShapeError

__all__ = ["GRU", "LSTM", "RNN"]

Array = npt.NDArray[np.floating[Any]]
State = Array | tuple[Array, Array]

_DTYPES = ("float32", "float64")


class _RecurrentNetwork:
    """Shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    _gates: ClassVar[int]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        bidirectional: bool = False,
        dtype: str | np.dtype[Any] | type = "float32",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = bool(bias)
        self.bidirectional = bool(bidirectional)
        try:
            self.dtype: np.dtype[Any] = np.dtype(dtype)
        except TypeError as e:
            raise ParameterError(f"dtype: expected 'float32' or 'float64', got {dtype!r}") from e
        if self.dtype.name not in _DTYPES:
            raise ParameterError(f"dtype: expected 'float32' or 'float64', got {self.dtype.name!r}")
        # PyTorch's default initialisation: every parameter uniform in +-1/sqrt(hidden_size),
        # drawn in float64 so both precisions of one seed hold the same weights up to rounding.
        rng = resolve_rng(random_state)
        bound = 1.0 / np.sqrt(self.hidden_size)
        self._params = {
            name: rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            for name, shape in self._parameter_shapes()
        }
        self._native = self._build_native()

    # -- description -------------------------------------------------------------------------

    @property
    def _cell(self) -> str:
        return type(self).__name__.lower()

    @property
    def num_directions(self) -> int:
        """2 for a bidirectional network, else 1."""
        return 2 if self.bidirectional else 1

    def _parameter_shapes(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        rows = self._gates * self.hidden_size
        for layer in range(self.num_layers):
            cols = self.input_size if layer == 0 else self.num_directions * self.hidden_size
            for suffix in ("", "_reverse")[: self.num_directions]:
                yield f"weight_ih_l{layer}{suffix}", (rows, cols)
                yield f"weight_hh_l{layer}{suffix}", (rows, self.hidden_size)
                if self.bias:
                    yield f"bias_ih_l{layer}{suffix}", (rows,)
                    yield f"bias_hh_l{layer}{suffix}", (rows,)

    def _extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        options = [f"num_layers={self.num_layers}"] if self.num_layers != 1 else []
        options += [self._extra_repr()] if self._extra_repr() else []
        options += ["bias=False"] if not self.bias else []
        options += ["bidirectional=True"] if self.bidirectional else []
        options += [f"dtype='{self.dtype.name}'"]
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}, {', '.join(options)})"

    def _build_native(self) -> _rnnfast.Network:
        return _rnnfast.Network(
            self._cell,
            self.input_size,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.bias,
            self.dtype.name,
            list(self._params.values()),
        )

    # -- parameters --------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Array]:
        """Copies of the parameters under PyTorch's names, in PyTorch's order.

        >>> import rnnfast
        >>> sorted(rnnfast.GRU(3, 4, random_state=0).state_dict())
        ['bias_hh_l0', 'bias_ih_l0', 'weight_hh_l0', 'weight_ih_l0']
        """
        return {name: value.copy() for name, value in self._params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Replaces the parameters with those of ``state_dict``.

        Values may be anything :func:`numpy.asarray` accepts, PyTorch tensors included, so
        ``model.load_state_dict(torch_module.state_dict())`` works. Values are converted to the
        model's dtype. With ``strict=False``, missing names keep their current values and unknown
        names are ignored. Nothing changes unless every given value is valid.

        >>> import rnnfast
        >>> a, b = rnnfast.LSTM(2, 3, random_state=0), rnnfast.LSTM(2, 3, random_state=1)
        >>> b.load_state_dict(a.state_dict())
        >>> x = np.ones((1, 4, 2), dtype=np.float32)
        >>> bool(np.array_equal(a(x)[0], b(x)[0]))
        True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict: expected a mapping, got {type(state_dict).__name__}")
        expected = dict(self._parameter_shapes())
        if strict:
            missing = [k for k in expected if k not in state_dict]
            unexpected = [k for k in state_dict if k not in expected]
            if missing or unexpected:
                raise ParameterError(
                    f"state_dict: missing keys {missing}, unexpected keys {unexpected}"
                )
        params = dict(self._params)
        for name, shape in expected.items():
            if name in state_dict:
                value = as_float_array(name, _to_numpy(state_dict[name]), self.dtype)
                if value.shape != shape:
                    raise ShapeError(f"{name}: expected shape {shape}, got {value.shape}")
                # Always own the data: even a converted array may share memory with a tensor.
                params[name] = value.copy()
        previous, self._params = self._params, params
        try:
            self._native = self._build_native()
        except Exception:
            self._params = previous
            raise

    # -- inference ---------------------------------------------------------------------------

    def forward(
        self, x: Any, state: State | None = None, lengths: Any = None
    ) -> tuple[Array, State]:
        """Runs the network over a batch of sequences; returns ``(output, state)``.

        Parameters
        ----------
        x : array-like or list of array-like
            ``(batch, steps, input_size)``, or one sequence ``(steps, input_size)``, or a list of
            2-D sequences of different lengths (padded internally). Always batch first. Floating
            point input of the other precision is converted once to the model's dtype; integer
            input is refused.
        state : array or (array, array), optional
            Initial state, zeros when omitted: ``h0`` of shape
            ``(num_layers * num_directions, batch, hidden_size)`` (without the batch axis for a
            single 2-D sequence); for :class:`LSTM` a pair ``(h0, c0)``.
        lengths : array-like of int, optional
            Length of each sequence of a padded 3-D ``x`` (each in ``1..steps``). Padding is
            never read, so it may hold anything.

        Returns
        -------
        output : ndarray
            ``(batch, steps, num_directions * hidden_size)``: the last layer's hidden state at
            every step, both directions concatenated, zero past each sequence's end.
        state : ndarray or (ndarray, ndarray)
            Final state, shaped like ``state``, taken at each sequence's own last step (the
            reverse direction ends at step 0).

        Raises
        ------
        ShapeError
            On a wrong number of dimensions, feature count, state shape, empty batch,
            zero-length sequence or a length outside ``1..steps``.
        NonFiniteError
            If the input (within each sequence's length) or the state contains NaN or infinity.
        TypeError
            On non-float input.

        Notes
        -----
        A network of several layers keeps the buffers of its inner layers' outputs (at most
        two, of up to 64 MiB each) for its next call, which then writes them again instead of
        faulting fresh pages in; they are freed with the model.

        Examples
        --------
        >>> import numpy as np, rnnfast
        >>> lstm = rnnfast.LSTM(8, 16, num_layers=2, bidirectional=True, random_state=0)
        >>> x = np.random.default_rng(0).normal(size=(3, 10, 8)).astype(np.float32)
        >>> out, (h, c) = lstm(x, lengths=[10, 7, 2])
        >>> out.shape, h.shape, c.shape
        ((3, 10, 32), (4, 3, 16), (4, 3, 16))
        >>> bool((out[2, 2:] == 0).all())
        True

        """
        batch = as_batch(x, lengths, self.dtype, self.input_size)
        h0, c0 = self._split_state(state, batch)
        output, h_n, c_n = self._native.forward(batch.data, batch.lengths, h0, c0)
        if batch.unbatched:
            output, h_n = output[0], h_n[:, 0]
            c_n = None if c_n is None else c_n[:, 0]
        return output, self._join_state(h_n, c_n)

    __call__ = forward

    def stream(self, batch_size: int = 1) -> _rnnfast.Stream:
        """Opens a streaming session: the network run one time step per call.

        The session keeps the recurrent state in native memory between calls and runs the
        weights the model has now (later changes to the model do not reach it). ``n`` calls to
        ``step`` give exactly the outputs, to the last bit, of one :meth:`forward` over the
        same ``n`` steps. Sessions are independent: many may run at once, from different
        threads; one session must not be stepped from two threads at once. Pickling a session
        saves its state with its model.

        Parameters
        ----------
        batch_size : int, default 1
            Sequences stepped together.

        Returns
        -------
        Stream
            ``step(x, out=None)``: ``x`` of shape ``(input_size,)`` (batch size 1) or
            ``(batch_size, input_size)``; returns the last layer's new hidden state, shaped
            ``(hidden_size,)`` or ``(batch_size, hidden_size)``, or writes it into ``out`` (a
            C-contiguous array of the model's dtype and that shape) without allocating.
            ``reset()`` zeroes the state; ``state`` gets or sets it, shaped as :meth:`forward`
            returns it (``(num_layers, batch_size, hidden_size)``, a pair ``(h, c)`` for LSTM).
            Steps keep the GIL: they take microseconds, less than releasing it costs.

        Raises
        ------
        ParameterError
            For a bidirectional network (its backward direction needs the whole sequence) or a
            batch size below 1.

        Examples
        --------
        >>> import numpy as np, rnnfast
        >>> lstm = rnnfast.LSTM(3, 5, num_layers=2, random_state=0)
        >>> session = lstm.stream()
        >>> x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
        >>> outputs = np.stack([session.step(x_t) for x_t in x])
        >>> full, (h, c) = lstm(x)
        >>> bool(np.array_equal(outputs, full)), bool(np.array_equal(session.state[0][:, 0], h))
        (True, True)
        >>> buffer = np.empty(5, dtype=np.float32)
        >>> _ = session.step(x[0], out=buffer)
        >>> session.reset()

        """
        batch_size = check_positive_int("batch_size", batch_size)
        return _rnnfast.Stream(self._native, batch_size, self)

    def _split_state(self, state: Any, batch: Any) -> tuple[Array | None, Array | None]:
        if state is None:
            return None, None
        return self._state_array("h0", state, batch), None

    def _join_state(self, h_n: Array, c_n: Array | None) -> State:
        return h_n

    def _state_array(self, name: str, value: Any, batch: Any) -> Array:
        array = as_float_array(name, value, self.dtype)
        layers = self.num_layers * self.num_directions
        if batch.unbatched:
            expected: tuple[int, ...] = (layers, self.hidden_size)
            if array.shape != expected:
                raise ShapeError(f"{name}: expected shape {expected}, got {array.shape}")
            return array[:, np.newaxis]
        expected = (layers, batch.data.shape[0], self.hidden_size)
        if array.shape != expected:
            raise ShapeError(f"{name}: expected shape {expected}, got {array.shape}")
        return array

    # -- pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_native"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._native = self._build_native()


def _to_numpy(value: Any) -> Any:
    """Detaches PyTorch tensors (without importing torch); passes anything else through."""
    detach = getattr(value, "detach", None)
    if callable(detach):
        return detach().cpu().numpy()
    return value


class RNN(_RecurrentNetwork):
    """Elman recurrent network: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Parameters
    ----------
    input_size, hidden_size : int
        Features per time step, and units per layer and direction.
    num_layers : int, default 1
        Stacked layers; each takes the previous layer's output (both directions concatenated).
    nonlinearity : {"tanh", "relu"}, default "tanh"
    bias : bool, default True
        Whether the layers have the two bias vectors ``bias_ih`` and ``bias_hh``.
    bidirectional : bool, default False
    dtype : {"float32", "float64"}, default "float32"
        Precision of the weights, the computation and the results.
    random_state : int, numpy Generator or None
        Seed of PyTorch's default initialisation (uniform in ``+-1/sqrt(hidden_size)``).

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> rnn = rnnfast.RNN(4, 8, nonlinearity="relu", random_state=0)
    >>> out, h = rnn(np.ones((5, 4), dtype=np.float32))
    >>> out.shape, h.shape
    ((5, 8), (1, 8))

    """

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        bidirectional: bool = False,
        dtype: str | np.dtype[Any] | type = "float32",
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ParameterError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            bidirectional=bidirectional,
            dtype=dtype,
            random_state=random_state,
        )

    @property
    def _cell(self) -> str:
        return f"rnn_{self.nonlinearity}"

    def _extra_repr(self) -> str:
        return "nonlinearity='relu'" if self.nonlinearity == "relu" else ""


class LSTM(_RecurrentNetwork):
    """Long short-term memory network, PyTorch's ``nn.LSTM`` equations (gates ``i, f, g, o``).

    Parameters are those of :class:`RNN` without ``nonlinearity``. The state is a pair
    ``(h, c)``, each ``(num_layers * num_directions, batch, hidden_size)``.

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> lstm = rnnfast.LSTM(3, 5, random_state=0)
    >>> out, (h, c) = lstm([np.ones((4, 3)), np.ones((2, 3))])
    >>> out.shape, h.shape
    ((2, 4, 5), (1, 2, 5))
    >>> bool(np.allclose(out[1, 1], h[0, 1]))
    True

    """

    _gates = 4

    def _split_state(self, state: Any, batch: Any) -> tuple[Array | None, Array | None]:
        if state is None:
            return None, None
        if not isinstance(state, tuple | list) or len(state) != 2:
            raise ParameterError("state: an LSTM state is a pair (h0, c0)")
        return self._state_array("h0", state[0], batch), self._state_array("c0", state[1], batch)

    def _join_state(self, h_n: Array, c_n: Array | None) -> State:
        assert c_n is not None
        return h_n, c_n


class GRU(_RecurrentNetwork):
    """Gated recurrent unit network, PyTorch's ``nn.GRU`` equations (gates ``r, z, n``).

    The reset gate multiplies the hidden projection including its bias,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (ONNX's ``linear_before_reset=1``).
    Parameters are those of :class:`RNN` without ``nonlinearity``.

    Examples
    --------
    >>> import numpy as np, rnnfast
    >>> gru = rnnfast.GRU(3, 5, bidirectional=True, dtype="float64", random_state=0)
    >>> out, h = gru(np.zeros((2, 6, 3)), lengths=[6, 3])
    >>> out.shape, h.shape, out.dtype
    ((2, 6, 10), (2, 2, 5), dtype('float64'))

    """

    _gates = 3
