"""Cross-checks of the outside references: reference.py against torch, ONNX against reference.py.

The ONNX back ends have known gaps (see the ``onnx_reference`` module docstring); the
affected combinations are skipped with the reason rather than silently left out.
"""

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from reference import CELLS, random_params, reference_forward

F64_TOL = 1e-10
F32_TOL = 1e-5
INPUT, HIDDEN, BATCH, STEPS = 3, 4, 5, 6
LENGTHS = np.array([STEPS, 1, 3, STEPS - 1, 2])


def make_case(
    cell: str, num_layers: int, bidirectional: bool, bias: bool, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """Random params, batch-first input and nonzero initial states for one network."""
    rng = np.random.default_rng(seed)
    params = random_params(cell, INPUT, HIDDEN, num_layers, bidirectional, bias, rng)
    states = (2 if bidirectional else 1) * num_layers
    x = rng.normal(size=(BATCH, STEPS, INPUT))
    h0 = rng.normal(size=(states, BATCH, HIDDEN))
    c0 = rng.normal(size=(states, BATCH, HIDDEN)) if cell == "lstm" else None
    return params, x, h0, c0


def assert_close(actual: list[Any], expected: list[Any], tol: float) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), e, rtol=0, atol=tol)


# --- reference.py against torch ---------------------------------------------------------


def torch_module(
    torch: ModuleType, cell: str, num_layers: int, bidirectional: bool, bias: bool
) -> Any:
    kwargs = {
        "input_size": INPUT,
        "hidden_size": HIDDEN,
        "num_layers": num_layers,
        "bias": bias,
        "batch_first": True,
        "bidirectional": bidirectional,
    }
    if cell.startswith("rnn"):
        return torch.nn.RNN(nonlinearity=cell[4:], **kwargs).double()
    return getattr(torch.nn, cell.upper())(**kwargs).double()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(
    ("num_layers", "bias", "ragged", "with_state"),
    [(1, True, False, False), (2, False, True, True), (3, True, True, True)],
)
def test_reference_matches_torch(
    cell: str, bidirectional: bool, num_layers: int, bias: bool, ragged: bool, with_state: bool
) -> None:
    torch = pytest.importorskip("torch")
    params, x, h0, c0 = make_case(cell, num_layers, bidirectional, bias, seed=num_layers)
    lengths = LENGTHS if ragged else None
    module = torch_module(torch, cell, num_layers, bidirectional, bias)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()}, strict=True)

    state = None
    if with_state:
        h0_t = torch.from_numpy(h0)
        state = (h0_t, torch.from_numpy(c0)) if cell == "lstm" else h0_t
    xt = torch.from_numpy(x)
    with torch.no_grad():
        if ragged:
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                xt, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False
            )
            out, final = module(packed, state)
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=STEPS
            )
        else:
            out, final = module(xt, state)
    expected = [out, *(final if cell == "lstm" else (final,))]

    output, h_n, c_n = reference_forward(
        cell,
        params,
        x,
        num_layers=num_layers,
        bidirectional=bidirectional,
        lengths=lengths,
        h0=h0 if with_state else None,
        c0=c0 if with_state else None,
    )
    assert (c_n is None) == (cell != "lstm")
    actual = [output, h_n] if c_n is None else [output, h_n, c_n]
    assert_close(actual, [t.numpy() for t in expected], F64_TOL)


def test_reference_computes_in_float64() -> None:
    params, x, h0, _ = make_case("gru", 2, True, True, seed=7)
    x32, h32 = x.astype(np.float32), h0.astype(np.float32)
    got = reference_forward("gru", params, x32, num_layers=2, bidirectional=True, h0=h32)
    want = reference_forward(
        "gru",
        params,
        x32.astype(np.float64),
        num_layers=2,
        bidirectional=True,
        h0=h32.astype(np.float64),
    )
    assert got[0].dtype == got[1].dtype == np.float64
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_random_params_shapes_and_bounds() -> None:
    params = random_params("lstm", 3, 4, 2, True, False, np.random.default_rng(0), scale=0.1)
    assert sorted(params) == sorted(
        f"weight_{kind}_l{k}{suffix}"
        for kind in ("ih", "hh")
        for k in (0, 1)
        for suffix in ("", "_reverse")
    )
    assert params["weight_ih_l0"].shape == (16, 3)
    assert params["weight_ih_l1_reverse"].shape == (16, 8)
    assert params["weight_hh_l1"].shape == (16, 4)
    assert all(np.abs(p).max() < 0.1 for p in params.values())


# --- onnx_reference.py against reference.py ------------------------------------------------


def onnx_case(
    cell: str, bidirectional: bool, ragged: bool, dtype: type[np.floating[Any]], num_layers: int = 2
) -> tuple[ModuleType, dict[str, np.ndarray], Any, list[np.ndarray], dict[str, np.ndarray]]:
    """Module, params, model, float64 reference outputs and feeds for one ONNX comparison."""
    pytest.importorskip("onnx")
    onnx_reference = pytest.importorskip("onnx_reference")
    params, x, h0, c0 = make_case(cell, num_layers, bidirectional, True, seed=11)
    lengths = LENGTHS if ragged else None
    model = onnx_reference.build_onnx_model(
        cell,
        params,
        input_size=INPUT,
        hidden_size=HIDDEN,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
    )
    feeds = onnx_reference.make_feeds(
        cell,
        x,
        hidden_size=HIDDEN,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=dtype,
        lengths=lengths,
        h0=h0,
        c0=c0,
    )
    # Compare with the reference run on the inputs as the model sees them.
    expected = reference_forward(
        cell,
        params,
        feeds["X"],
        num_layers=num_layers,
        bidirectional=bidirectional,
        lengths=lengths,
        h0=feeds["initial_h"],
        c0=feeds.get("initial_c"),
    )
    return onnx_reference, params, model, [e for e in expected if e is not None], feeds


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnx_reference_evaluator(
    cell: str, bidirectional: bool, ragged: bool, dtype: type[np.floating[Any]]
) -> None:
    if cell == "rnn_relu":
        pytest.skip("onnx.reference's RNN only implements the Tanh and Affine activations")
    if ragged:
        pytest.skip("onnx.reference ignores sequence_lens (no zero fill, Y_h at step T-1 / 0)")
    onnx_reference, _, model, expected, feeds = onnx_case(cell, bidirectional, ragged, dtype)
    outputs = onnx_reference.run_reference_evaluator(model, feeds)
    assert all(o.dtype == dtype for o in outputs)
    assert_close(outputs, expected, F64_TOL if dtype == np.float64 else F32_TOL)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnxruntime(
    cell: str, bidirectional: bool, ragged: bool, dtype: type[np.floating[Any]]
) -> None:
    pytest.importorskip("onnxruntime")
    if dtype == np.float64:
        pytest.skip("onnxruntime implements RNN, LSTM and GRU for float32 only")
    onnx_reference, _, model, expected, feeds = onnx_case(cell, bidirectional, ragged, dtype)
    outputs = onnx_reference.run_onnxruntime(model, feeds)
    assert all(o.dtype == dtype for o in outputs)
    assert_close(outputs, expected, F32_TOL)


def test_onnx_model_has_dynamic_batch_and_time() -> None:
    pytest.importorskip("onnxruntime")
    onnx_reference, params, model, _, _ = onnx_case("lstm", True, False, np.float32)
    rng = np.random.default_rng(3)
    for batch, steps in [(1, 1), (2, 9)]:
        x = rng.normal(size=(batch, steps, INPUT)).astype(np.float32)
        feeds = onnx_reference.make_feeds(
            "lstm", x, hidden_size=HIDDEN, num_layers=2, bidirectional=True, dtype=np.float32
        )
        expected = reference_forward("lstm", params, x, num_layers=2, bidirectional=True)
        assert_close(onnx_reference.run_onnxruntime(model, feeds), list(expected), F32_TOL)
