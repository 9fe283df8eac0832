"""rnnfast demo: a stacked bidirectional LSTM over a ragged batch, checked and timed.

Run with ``make demo``. Builds a 2-layer bidirectional LSTM, runs a batch of sequences of
different lengths, compares every output and final state with the plain-NumPy reference of the
test suite, and prints the time per sequence (and PyTorch's, when torch is installed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import rnnfast

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import reference_forward


def best_time(fn, repeats: int = 20) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    input_size, hidden, layers = 32, 128, 2
    model = rnnfast.LSTM(input_size, hidden, layers, bidirectional=True, random_state=0)
    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 101, size=16)
    sequences = [rng.normal(size=(n, input_size)).astype(np.float32) for n in lengths]
    print(f"rnnfast {rnnfast.__version__}: {model!r}")
    print(f"SIMD level {rnnfast.simd_arch()}, {rnnfast.get_num_threads()} threads")
    print(f"batch of {len(sequences)} sequences, lengths {lengths.min()}..{lengths.max()}")

    output, (h_n, c_n) = model(sequences)

    padded = np.zeros((len(sequences), lengths.max(), input_size))
    for row, seq in zip(padded, sequences, strict=True):
        row[: len(seq)] = seq
    params = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    ref_out, ref_h, ref_c = reference_forward(
        "lstm", params, padded, num_layers=layers, bidirectional=True, lengths=lengths
    )
    error = max(np.abs(a - b).max() for a, b in ((output, ref_out), (h_n, ref_h), (c_n, ref_c)))
    print(f"max |rnnfast - NumPy reference| = {error:.2e} (float32 against float64)")
    if error > 1e-5:
        raise SystemExit("mismatch with the reference")

    seconds = best_time(lambda: model(sequences))
    per_sequence = seconds / len(sequences) * 1e6
    print(f"rnnfast: {seconds * 1e3:.2f} ms per batch, {per_sequence:.0f} µs per sequence")
    try:
        import torch
    except ImportError:
        print("(install torch to compare with PyTorch)")
        return
    module = torch.nn.LSTM(input_size, hidden, layers, bidirectional=True, batch_first=True)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(padded.astype(np.float32)),
        torch.from_numpy(lengths),
        batch_first=True,
        enforce_sorted=False,
    )
    with torch.no_grad():
        torch_seconds = best_time(lambda: module(packed))
    ratio = torch_seconds / seconds
    print(f"torch:   {torch_seconds * 1e3:.2f} ms per batch ({ratio:.1f}x rnnfast's time)")


if __name__ == "__main__":
    main()
