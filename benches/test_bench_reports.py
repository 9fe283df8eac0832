"""Smoke tests of the comparison command's extras: the inference reports, the table with its
``% peak`` column, and a tiny throughput sweep saved as a PNG (skipped without matplotlib).

The real sweep and the full table are measurements, run on demand (``python -m rnnfast.bench``).
"""

from __future__ import annotations

import pytest
from rnnfast.bench import LibraryMissing, Report, reports
from rnnfast.bench import __main__ as cli
from rnnfast.bench._sweep import plot, sweep


@pytest.mark.parametrize(
    ("report", "library"),
    [(r, lib) for r in reports("inference") for lib in r.libraries],
    ids=lambda value: value.name if isinstance(value, Report) else str(value),
)
def test_report(report, library, restore_threads):
    try:
        figure = report.measure(library)
    except LibraryMissing as missing:
        pytest.skip(str(missing))
    assert figure


def test_table_has_peak_column(capsys, restore_threads):
    argv = ["--family", "inference", "--filter", "rnn-b1", "--threads", "1", "--repeat", "1"]
    assert cli.main([*argv, "--peak-size", "128"]) == 0
    out = capsys.readouterr().out
    assert "% peak" in out
    assert "matrix-product peak (float32" in out
    row = next(
        line for line in out.splitlines() if line.startswith("rnn-b1-h128 ") and "rnnfast" in line
    )
    assert row.endswith("%")


def test_isolated_rows_run_in_fresh_processes(capsys):
    argv = ["--family", "inference", "--filter", "rnn-b1", "--threads", "1", "--repeat", "1"]
    assert cli.main([*argv, "--no-peak", "--isolate"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("rnn-b1")]
    assert any(" rnnfast " in row and "1.00" in row for row in rows)


def test_sweep_plot(tmp_path, restore_threads):
    pytest.importorskip("matplotlib")
    curves = sweep([1], repeat=1, hidden_sizes=[8, 16], batch_sizes=[1, 2])
    path = tmp_path / "sweep.png"
    plot(curves, str(path))
    assert path.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    def missing(name):
        raise LibraryMissing(f"{name} is not installed")

    monkeypatch.setattr(cli, "require", missing)
    assert cli.main(["--plot", str(tmp_path / "sweep.png")]) == 2
    assert "needs matplotlib" in capsys.readouterr().err


def test_rounds_interleave_libraries_and_report_the_median(monkeypatch, capsys):
    # Each call returns the next of a slow / fast / slow phase for whichever library is timed:
    # the rounds must measure the libraries in turn and keep each one's middle value.
    calls = []
    phases = iter([3e-3, 6e-3, 1e-3, 2e-3, 9e-3, 4e-3] * 4)

    def fake_median(workload, library, threads, repeat, isolate):
        if library == "onnxruntime":
            raise LibraryMissing("not installed")
        calls.append(library)
        return next(phases)

    monkeypatch.setattr(cli, "_median", fake_median)
    argv = ["--family", "inference", "--filter", "rnn-b1", "--threads", "1", "--no-peak"]
    assert cli.main([*argv, "--rounds", "3"]) == 0
    assert calls == ["rnnfast", "torch"] * 3
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    rows = {line.split()[2]: line for line in out.splitlines() if line.startswith("rnn-b1")}
    # rnnfast got 3, 1 and 9 ms (median 3), torch 6, 2 and 4 ms (median 4).
    assert "3 ms" in rows["rnnfast"] and "4 ms" in rows["torch"] and "1.33" in rows["torch"]
    assert "skipped: not installed" in rows["onnxruntime"]
