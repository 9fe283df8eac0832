"""Type stubs of the native module (see rust/rnnfast-py)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

class Network:
    def __new__(
        cls,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        bias: bool,
        dtype: str,
        weights: list[npt.NDArray[Any]],
    ) -> Network: ...
    @property
    def dtype(self) -> str: ...
    def forward(
        self,
        x: npt.NDArray[np.floating[Any]],
        lengths: npt.NDArray[np.int64] | None = None,
        h0: npt.NDArray[np.floating[Any]] | None = None,
        c0: npt.NDArray[np.floating[Any]] | None = None,
    ) -> tuple[
        npt.NDArray[np.floating[Any]],
        npt.NDArray[np.floating[Any]],
        npt.NDArray[np.floating[Any]] | None,
    ]: ...

_Floats = npt.NDArray[np.floating[Any]]

class Stream:
    """A network stepped one time step per call (``model.stream(batch_size)``)."""

    def __new__(cls, network: Network, batch_size: int, owner: object) -> Stream: ...
    @property
    def batch_size(self) -> int: ...
    def step(self, x: npt.ArrayLike, out: _Floats | None = None) -> _Floats: ...
    def reset(self) -> None: ...
    @property
    def state(self) -> _Floats | tuple[_Floats, _Floats]: ...
    @state.setter
    def state(self, value: _Floats | tuple[_Floats, _Floats]) -> None: ...
    def __getstate__(self) -> dict[str, Any]: ...
    def __setstate__(self, state: dict[str, Any]) -> None: ...

def hopfield_learn(rule: str, weights: _Floats, patterns: _Floats) -> _Floats: ...
def hopfield_recall(
    probes: _Floats,
    memory: list[_Floats],
    threshold: float,
    update: str,
    max_iter: int,
    seed: int,
    shuffle: bool,
) -> tuple[_Floats, npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.bool_]]: ...
def modern_hopfield_retrieve(
    patterns: _Floats, queries: _Floats, beta: float, max_iter: int
) -> _Floats: ...
def bam_recall(
    weights: _Floats, probes: _Floats, max_iter: int
) -> tuple[_Floats, _Floats, npt.NDArray[np.bool_], npt.NDArray[np.int64]]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def simd_arch() -> str: ...

class Trainer:
    def __new__(
        cls,
        cell: str,
        input_size: int,
        hidden_sizes: list[int],
        bidirectional: bool,
        bias: bool,
        outputs: int,
        target: str,
        loss: str,
        *,
        solver: str = "adam",
        batch_size: int = 32,
        alpha: float = 0.0,
        momentum: float = 0.9,
        nesterov: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        clip_norm: float | None = None,
        bptt_steps: int | None = None,
    ) -> Trainer: ...
    @property
    def n_params(self) -> int: ...
    def layout(self) -> list[tuple[int, str, int, list[int]]]: ...
    def epoch(
        self,
        params: npt.NDArray[np.floating[Any]],
        first: npt.NDArray[np.floating[Any]],
        second: npt.NDArray[np.floating[Any]],
        step: int,
        x: npt.NDArray[np.floating[Any]],
        lengths: npt.NDArray[np.int64] | None,
        targets: npt.NDArray[np.floating[Any]],
        order: npt.NDArray[np.int64],
        learning_rate: float,
    ) -> tuple[float, int]: ...
    def loss_and_gradient(
        self,
        params: npt.NDArray[np.floating[Any]],
        x: npt.NDArray[np.floating[Any]],
        targets: npt.NDArray[np.floating[Any]],
        lengths: npt.NDArray[np.int64] | None = None,
        h0: npt.NDArray[np.floating[Any]] | None = None,
        c0: npt.NDArray[np.floating[Any]] | None = None,
    ) -> tuple[
        float,
        npt.NDArray[np.floating[Any]],
        npt.NDArray[np.floating[Any]],
        npt.NDArray[np.floating[Any]],
        npt.NDArray[np.floating[Any]] | None,
    ]: ...

# Echo state networks: `reservoir` is (indptr, indices, values, input_weights, bias, leak_rate,
# activation, state_noise, noise_seed, n_layers); see rust/rnnfast-py/src/esn.rs.
Reservoir = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.floating[Any]],
    npt.NDArray[np.floating[Any]],
    npt.NDArray[np.floating[Any]],
    float,
    str,
    float,
    int,
    int,
]

def esn_spectral_radius(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    n: int,
) -> float: ...
def esn_run(
    reservoir: Reservoir,
    x: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    h0: npt.NDArray[np.floating[Any]] | None = None,
    coef: npt.NDArray[np.floating[Any]] | None = None,
    intercept: npt.NDArray[np.floating[Any]] | None = None,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]: ...
def esn_pool(
    reservoir: Reservoir,
    x: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    washout: int = 0,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]: ...
def esn_ridge(
    features: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
    alpha: float = 1e-6,
    threads: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def esn_fit_ridge(
    reservoir: Reservoir,
    x: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    h0: npt.NDArray[np.floating[Any]] | None = None,
    washout: int = 0,
    alpha: float = 1e-6,
    threads: int | None = None,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.floating[Any]], int
]: ...
def esn_forecast(
    reservoir: Reservoir,
    h0: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    n_steps: int,
) -> npt.NDArray[np.floating[Any]]: ...
def nvar_run(
    map: tuple[int, int, int, int],
    x: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    history: npt.NDArray[np.floating[Any]] | None = None,
    coef: npt.NDArray[np.floating[Any]] | None = None,
    intercept: npt.NDArray[np.floating[Any]] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.floating[Any]]: ...
def nvar_fit(
    map: tuple[int, int, int, int],
    x: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    alpha: float = 1e-6,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]: ...
def nvar_forecast(
    map: tuple[int, int, int, int],
    window: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    n_steps: int,
) -> npt.NDArray[np.floating[Any]]: ...
def esn_fit_online(
    reservoir: Reservoir,
    x: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    weights: npt.NDArray[np.float64],
    p: npt.NDArray[np.float64] | None,
    rule: str,
    rate: float,
    lengths: npt.NDArray[np.int64] | None = None,
    h0: npt.NDArray[np.floating[Any]] | None = None,
    washout: int = 0,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64] | None, npt.NDArray[np.floating[Any]]
]: ...
def esn_closed_loop(
    reservoir: Reservoir,
    h0: npt.NDArray[np.floating[Any]],
    y0: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    n_steps: int,
    exogenous: npt.NDArray[np.floating[Any]] | None = None,
    stream: int = 0,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]: ...
