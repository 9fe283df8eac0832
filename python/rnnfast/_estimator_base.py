"""The machinery the recurrent estimators share: parameters, initialisation, the epoch loop.

The numeric work (forward, backward, optimizer updates of a whole epoch) is one native call
that releases the GIL; this module decides what happens between epochs, as scikit-learn's MLP
does: learning-rate schedules, convergence on ``tol`` over ``n_iter_no_change`` epochs, early
stopping on a held-out validation split, progress output, and a clean stop on Ctrl-C.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from . import _rnnfast
from ._sequence_data import MANY_TO_MANY, MANY_TO_ONE, OUTPUT_MODES, Sequences, read_X
from ._validation import resolve_rng
from .exceptions import ParameterError
from .recurrent import GRU, LSTM, RNN
from .sequence_model import SequenceModel

__all__ = ["RecurrentEstimator"]

Array = npt.NDArray[Any]

_CELLS = ("rnn", "lstm", "gru")
_SOLVERS = ("sgd", "adam", "adamw")
_SCHEDULES = ("constant", "invscaling", "adaptive")


@dataclass
class _Optimizer:
    """Parameters and optimizer memory, kept for ``warm_start`` and ``partial_fit``."""

    params: Array
    first: Array
    second: Array
    step: int
    learning_rate: float
    structure: tuple[Any, ...]


class RecurrentEstimator(BaseEstimator):  # type: ignore[misc]
    """Shared base of :class:`rnnfast.RNNRegressor` and :class:`rnnfast.RNNClassifier`."""

    _loss: str
    _optimizer: _Optimizer | None = None

    def __init__(
        self,
        cell: str = "lstm",
        hidden_sizes: tuple[int, ...] | list[int] = (64,),
        *,
        bidirectional: bool = False,
        nonlinearity: str = "tanh",
        solver: str = "adam",
        learning_rate_init: float = 1e-3,
        learning_rate: str = "constant",
        power_t: float = 0.5,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        max_iter: int = 200,
        shuffle: bool = True,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        clip_grad_norm: float | None = None,
        bptt_steps: int | None = None,
        output_mode: str = "auto",
        warm_start: bool = False,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
        verbose: int = 0,
        dtype: str = "float32",
    ) -> None:
        self.cell = cell
        self.hidden_sizes = hidden_sizes
        self.bidirectional = bidirectional
        self.nonlinearity = nonlinearity
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.clip_grad_norm = clip_grad_norm
        self.bptt_steps = bptt_steps
        self.output_mode = output_mode
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype

    # -- parameters --------------------------------------------------------------------------

    def _check_params(self) -> None:
        """Validates the hyper-parameters (in ``fit``, as scikit-learn estimators do)."""
        choices = {
            "cell": (self.cell, _CELLS),
            "nonlinearity": (self.nonlinearity, ("tanh", "relu")),
            "solver": (self.solver, _SOLVERS),
            "learning_rate": (self.learning_rate, _SCHEDULES),
            "output_mode": (self.output_mode, OUTPUT_MODES),
            "dtype": (self.dtype, ("float32", "float64")),
        }
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ParameterError(f"{name}: expected one of {allowed}, got {value!r}")
        sizes = self.hidden_sizes
        if isinstance(sizes, int | np.integer):
            sizes = (sizes,)
        if len(sizes) == 0 or not all(_is_int(h) and h >= 1 for h in sizes):
            raise ParameterError(
                f"hidden_sizes: expected a non-empty sequence of integers >= 1, got {sizes!r}"
            )
        checks: list[tuple[str, Any, Callable[[Any], bool], str]] = [
            ("learning_rate_init", self.learning_rate_init, _positive, "a number > 0"),
            ("epsilon", self.epsilon, _positive, "a number > 0"),
            ("alpha", self.alpha, _non_negative, "a number >= 0"),
            ("tol", self.tol, _non_negative, "a number >= 0"),
            ("power_t", self.power_t, _non_negative, "a number >= 0"),
            ("momentum", self.momentum, _unit, "a number in [0, 1)"),
            ("beta_1", self.beta_1, _unit, "a number in [0, 1)"),
            ("beta_2", self.beta_2, _unit, "a number in [0, 1)"),
            ("validation_fraction", self.validation_fraction, _fraction, "a number in (0, 1)"),
            ("max_iter", self.max_iter, _count, "an integer >= 1"),
            ("n_iter_no_change", self.n_iter_no_change, _count, "an integer >= 1"),
            ("batch_size", self.batch_size, _batch, "'auto' or an integer >= 1"),
            ("clip_grad_norm", self.clip_grad_norm, _optional(_positive), "None or a number > 0"),
            ("bptt_steps", self.bptt_steps, _optional(_count), "None or an integer >= 1"),
            ("verbose", self.verbose, _non_negative_int, "an integer >= 0"),
        ]
        for name, value, ok, expected in checks:
            if not ok(value):
                raise ParameterError(f"{name}: expected {expected}, got {value!r}")
        if self.bptt_steps is not None and self.bidirectional:
            raise ParameterError(
                "bptt_steps: truncated BPTT needs bidirectional=False (the reverse direction "
                "reads each sequence from its end)"
            )

    def _hidden(self) -> list[int]:
        sizes = self.hidden_sizes
        return [int(sizes)] if isinstance(sizes, int | np.integer) else [int(h) for h in sizes]

    def _cell_name(self) -> str:
        return f"rnn_{self.nonlinearity}" if self.cell == "rnn" else self.cell

    def _trainer(self, outputs: int, mode: str, batch_size: int) -> _rnnfast.Trainer:
        return _rnnfast.Trainer(
            self._cell_name(),
            self.n_features_in_,
            self._hidden(),
            bool(self.bidirectional),
            True,
            outputs,
            "last_step" if mode == MANY_TO_ONE else "every_step",
            self._loss_name(),
            solver=self.solver,
            batch_size=batch_size,
            alpha=float(self.alpha),
            momentum=float(self.momentum),
            nesterov=bool(self.nesterovs_momentum),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            clip_norm=None if self.clip_grad_norm is None else float(self.clip_grad_norm),
            bptt_steps=None if self.bptt_steps is None else int(self.bptt_steps),
        )

    def _loss_name(self) -> str:
        return self._loss

    # -- fitting -----------------------------------------------------------------------------

    def _read_X(self, X: Any, reset: bool) -> Sequences:
        n_features = None if reset else self.n_features_in_
        return read_X(X, np.dtype(self.dtype), n_features, type(self).__name__)

    def _check_y(self, y: Any) -> None:
        if y is None:
            raise ParameterError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )

    def _fit_sequences(self, seqs: Sequences, targets: Array, mode: str, incremental: bool) -> None:
        """Trains for ``max_iter`` epochs, or one when ``incremental``.

        ``targets`` are float rows, one per sequence or per real step, a column per output.
        """
        outputs = targets.shape[1]
        structure = (
            self._cell_name(),
            tuple(self._hidden()),
            bool(self.bidirectional),
            self.n_features_in_,
            outputs,
            mode,
            self.dtype,
            self.solver,
        )
        opt = self._optimizer if (self.warm_start or incremental) else None
        if opt is None or opt.structure != structure:
            opt = self._initial_optimizer(self._trainer(outputs, mode, 1), structure)
            self._optimizer = opt
            self.n_iter_ = 0
            self.t_ = 0
            self.loss_curve_: list[float] = []
            self.best_loss_: float | None = np.inf
            self.validation_scores_: list[float] | None = None
            self.best_validation_score_: float | None = None
        self.output_mode_ = mode
        self.n_outputs_ = outputs
        dtype = np.dtype(self.dtype)
        targets = np.ascontiguousarray(targets, dtype=dtype)
        padded = targets if mode == MANY_TO_ONE else seqs.pad(targets)
        rng = resolve_rng(self.random_state)
        train, validation = seqs, None
        if self.early_stopping and not incremental:
            train, padded, validation = self._split_validation(seqs, padded, mode, rng)
            self.validation_scores_ = self.validation_scores_ or []
            self.best_loss_ = None
        epochs = 1 if incremental else int(self.max_iter)
        # "auto": 32 sequences, the usual mini-batch of sequence models (scikit-learn's MLP
        # takes 200 rows, but a sequence is many rows).
        batch = 32 if self.batch_size == "auto" else int(self.batch_size)
        trainer = self._trainer(outputs, mode, min(batch, train.n))
        self._run_epochs(opt, trainer, (train, padded), validation, epochs, rng)
        self.network_ = self._network(trainer, opt.params)

    def _initial_optimizer(
        self, trainer: _rnnfast.Trainer, structure: tuple[Any, ...]
    ) -> _Optimizer:
        """PyTorch's default initialisation of each layer and of the linear head."""
        dtype = np.dtype(self.dtype)
        rng = resolve_rng(self.random_state)
        params = np.zeros(trainer.n_params, dtype=dtype)
        head_fan = self._hidden()[-1] * (2 if self.bidirectional else 1)
        for layer, _, start, shape in trainer.layout():
            fan = head_fan if layer < 0 else self._hidden()[layer]
            bound = 1.0 / np.sqrt(fan)
            size = int(np.prod(shape))
            params[start : start + size] = rng.uniform(-bound, bound, size=size)
        return _Optimizer(
            params=params,
            first=np.zeros_like(params),
            second=np.zeros_like(params),
            step=0,
            learning_rate=float(self.learning_rate_init),
            structure=structure,
        )

    def _split_validation(
        self, seqs: Sequences, padded: Array, mode: str, rng: np.random.Generator
    ) -> tuple[Sequences, Array, tuple[Sequences, Array]]:
        """Holds out ``validation_fraction`` of the data for early stopping.

        Whole sequences are held out; a single sequence gives up its final steps instead,
        which are then run from the zero state.
        """
        if seqs.n == 1:
            if mode == MANY_TO_ONE or seqs.steps < 2:
                raise ParameterError(
                    "early_stopping: one sequence with a single target leaves nothing to "
                    "validate on; pass several sequences"
                )
            cut = max(1, min(seqs.steps - 1, round(seqs.steps * (1 - self.validation_fraction))))
            head = Sequences(seqs.x[:, :cut].copy(), np.array([cut]), "batch")
            tail = Sequences(seqs.x[:, cut:].copy(), np.array([seqs.steps - cut]), "batch")
            return head, padded[:, :cut].copy(), (tail, padded[:, cut:].copy())
        n_val = min(seqs.n - 1, max(1, round(seqs.n * self.validation_fraction)))
        order = rng.permutation(seqs.n)
        val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
        train = seqs.subset(train_rows)
        valid = seqs.subset(val_rows)

        def targets(rows: Array, part: Sequences) -> Array:
            chosen = padded[rows] if mode == MANY_TO_ONE else padded[rows, : part.steps]
            return np.ascontiguousarray(chosen)

        return train, targets(train_rows, train), (valid, targets(val_rows, valid))

    def _run_epochs(
        self,
        opt: _Optimizer,
        trainer: _rnnfast.Trainer,
        data: tuple[Sequences, Array],
        validation: tuple[Sequences, Array] | None,
        epochs: int,
        rng: np.random.Generator,
    ) -> None:
        seqs, padded = data
        lengths = None if (seqs.lengths == seqs.steps).all() else seqs.lengths
        best_params = opt.params.copy()
        no_improvement = 0
        progress = _Progress(self.verbose, epochs)
        converged = False
        try:
            for _ in range(epochs):
                order = rng.permutation(seqs.n) if self.shuffle else np.arange(seqs.n)
                loss, opt.step = trainer.epoch(
                    opt.params,
                    opt.first,
                    opt.second,
                    opt.step,
                    seqs.x,
                    lengths,
                    padded,
                    order.astype(np.int64),
                    opt.learning_rate,
                )
                self.n_iter_ += 1
                self.t_ += seqs.n
                self.loss_ = float(loss)
                self.loss_curve_.append(self.loss_)
                if validation is not None:
                    score = self._validation_score(trainer, opt.params, *validation)
                    assert self.validation_scores_ is not None
                    self.validation_scores_.append(score)
                    improved = (
                        self.best_validation_score_ is None or score > self.best_validation_score_
                    )
                    stalled = (
                        self.best_validation_score_ is not None
                        and score < self.best_validation_score_ + self.tol
                    )
                    if improved:
                        self.best_validation_score_ = score
                        best_params = opt.params.copy()
                else:
                    assert self.best_loss_ is not None
                    stalled = self.loss_ > self.best_loss_ - self.tol
                    if self.loss_ < self.best_loss_:
                        self.best_loss_ = self.loss_
                        best_params = opt.params.copy()
                no_improvement = no_improvement + 1 if stalled else 0
                progress.update(self.n_iter_, self.loss_, self.validation_scores_)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    opt.learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                if no_improvement > self.n_iter_no_change:
                    if (
                        self.solver == "sgd"
                        and self.learning_rate == "adaptive"
                        and opt.learning_rate > 1e-6
                    ):
                        opt.learning_rate /= 5
                        no_improvement = 0
                        progress.note(f"learning rate set to {opt.learning_rate:g}")
                        continue
                    progress.note(
                        f"no improvement of more than tol={self.tol} for "
                        f"{self.n_iter_no_change} consecutive epochs; stopping"
                    )
                    converged = True
                    break
        except KeyboardInterrupt:
            progress.note("interrupted: keeping the best weights so far")
            opt.params[:] = best_params
            converged = True
        finally:
            progress.close()
        if validation is not None:
            opt.params[:] = best_params
        if not converged and epochs > 1:
            warnings.warn(
                f"{type(self).__name__}: max_iter={self.max_iter} epochs reached before the "
                "loss converged",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _validation_score(
        self, trainer: _rnnfast.Trainer, params: Array, seqs: Sequences, padded: Array
    ) -> float:
        network = self._network(trainer, params)
        scores = network(seqs.x, lengths=seqs.lengths)
        if self.output_mode_ == MANY_TO_MANY:
            scores, padded = seqs.step_rows(scores), seqs.step_rows(padded)
        return self._score_outputs(scores, padded)

    def _network(self, trainer: _rnnfast.Trainer, params: Array) -> SequenceModel:
        """The inference model holding (copies of) ``params``."""
        cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[self.cell]
        extra = {"nonlinearity": self.nonlinearity} if self.cell == "rnn" else {}
        hidden = self._hidden()
        states: list[dict[str, Array]] = [{} for _ in hidden]
        head: dict[str, Array] = {}
        for layer, name, start, shape in trainer.layout():
            value = params[start : start + int(np.prod(shape))].reshape(shape)
            (head if layer < 0 else states[layer])[name] = value
        layers = []
        for index, (size, state) in enumerate(zip(hidden, states, strict=True)):
            width = (
                self.n_features_in_
                if index == 0
                else hidden[index - 1] * (2 if self.bidirectional else 1)
            )
            module = cls(
                width,
                size,
                bidirectional=bool(self.bidirectional),
                dtype=self.dtype,
                random_state=0,
                **extra,
            )
            module.load_state_dict(state)
            layers.append(module)
        target = "last_step" if self.output_mode_ == MANY_TO_ONE else "every_step"
        return SequenceModel(layers, head["weight"], head["bias"], target)

    # -- prediction --------------------------------------------------------------------------

    def _scores(self, X: Any) -> tuple[Array, Sequences]:
        """The head's raw outputs: rows per sequence, or ``(n, steps, outputs)`` per step."""
        check_is_fitted(self, "network_")
        seqs = self._read_X(X, reset=False)
        return self.network_(seqs.x, lengths=seqs.lengths), seqs

    def _shape_like_X(self, values: Array, seqs: Sequences) -> Any:
        if self.output_mode_ == MANY_TO_ONE:
            return values
        return seqs.like_X(values)

    def _score_outputs(self, scores: Array, targets: Array) -> float:
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _positive(value: Any) -> bool:
    return _is_number(value) and bool(np.isfinite(value)) and value > 0


def _non_negative(value: Any) -> bool:
    return _is_number(value) and bool(np.isfinite(value)) and value >= 0


def _unit(value: Any) -> bool:
    return _is_number(value) and 0 <= value < 1


def _fraction(value: Any) -> bool:
    return _is_number(value) and 0 < value < 1


def _count(value: Any) -> bool:
    return _is_int(value) and value >= 1


def _non_negative_int(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _batch(value: Any) -> bool:
    return value == "auto" or _count(value)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


class _Progress:
    """Per-epoch loss lines (``verbose=1``) or a tqdm bar (``verbose>=2``, when installed)."""

    def __init__(self, verbose: int, epochs: int) -> None:
        self.verbose = verbose
        self.bar: Any = None
        if verbose >= 2:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=epochs, unit="epoch")

    def update(self, epoch: int, loss: float, scores: list[float] | None) -> None:
        if self.bar is not None:
            postfix = {"loss": f"{loss:.6g}"}
            if scores:
                postfix["validation"] = f"{scores[-1]:.4f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        elif self.verbose:
            line = f"Iteration {epoch}, loss = {loss:.8f}"
            if scores:
                line += f", validation score = {scores[-1]:.6f}"
            print(line, file=sys.stdout, flush=True)

    def note(self, message: str) -> None:
        if self.verbose:
            (self.bar.write if self.bar is not None else print)(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
