"""Forward passes of trained networks: rnnfast against PyTorch and onnxruntime.

The issue's workloads in float32 (onnxruntime through ONNX ``LSTM`` / ``GRU`` / ``RNN``
nodes), the LSTM ones again in float64 (rnnfast and PyTorch: onnxruntime has no float64
recurrent kernels), one streaming LSTM step called from Python, and ``REPORTS`` on how the
forward pass scales with sequence length, threads and memory.
"""

from __future__ import annotations

from ._forward import Network, forward_workload
from ._scaling import REPORTS
from ._streaming import step_workload

__all__ = ["REPORTS", "WORKLOADS"]

WORKLOADS = [
    forward_workload(Network("lstm", 1, 128, 32, 128)),
    forward_workload(Network("gru", 1, 128, 32, 128)),
    forward_workload(Network("rnn", 1, 128, 32, 128)),
    forward_workload(Network("lstm", 64, 128, 32, 256)),
    forward_workload(Network("gru", 64, 128, 32, 256)),
    forward_workload(Network("lstm", 16, 100, 128, 128, layers=2, bidirectional=True)),
    forward_workload(Network("lstm", 1, 128, 32, 128, dtype="float64")),
    forward_workload(Network("lstm", 64, 128, 32, 256, dtype="float64")),
    step_workload(),
]
