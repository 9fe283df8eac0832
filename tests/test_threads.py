"""Concurrency: many Python threads on one model, thread-count invariance, GIL release, fork."""

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import rnnfast
from gil_probe import ticks_during


@pytest.fixture
def restore_threads():
    before = rnnfast.get_num_threads()
    yield
    rnnfast.set_num_threads(before)


def test_eight_threads_on_one_model_match_serial_calls():
    model = rnnfast.LSTM(8, 32, num_layers=2, bidirectional=True, random_state=0)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(4, 20 + i, 8)).astype(np.float32) for i in range(32)]
    serial = [model(x)[0] for x in inputs]
    barrier = threading.Barrier(8)

    def work(i):
        if i < 8:
            barrier.wait()  # start the first eight calls together
        return model(inputs[i])[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(work, range(len(inputs))))
    for got, want in zip(concurrent, serial, strict=True):
        np.testing.assert_array_equal(got, want)


def test_split_recurrences_from_eight_threads_match_serial_calls(restore_threads):
    # Batch 1 on two threads splits each step by hidden units; eight such calls at once share
    # the pool, so helpers are often late or absent and callers must finish alone.
    rnnfast.set_num_threads(2)
    model = rnnfast.LSTM(8, 128, num_layers=2, random_state=2)
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=(1, 60 + i, 8)).astype(np.float32) for i in range(24)]
    rnnfast.set_num_threads(1)
    serial = [model(x)[0] for x in inputs]
    rnnfast.set_num_threads(2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda x: model(x)[0], inputs))
    for got, want in zip(concurrent, serial, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell", [rnnfast.LSTM, rnnfast.GRU, rnnfast.RNN])
def test_thread_count_does_not_change_results(cell, restore_threads):
    model = cell(16, 64, num_layers=2, bidirectional=True, random_state=1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(70, 40, 16)).astype(np.float32)
    lengths = rng.integers(1, 41, size=70)
    results = []
    for n in (1, 2, 3):
        rnnfast.set_num_threads(n)
        results.append(model(x, lengths=lengths))
    for out, state in results[1:]:
        np.testing.assert_array_equal(out, results[0][0])
        np.testing.assert_array_equal(np.asarray(state), np.asarray(results[0][1]))


def test_forward_releases_the_gil(restore_threads):
    """A pure-Python counter keeps running while a long forward call is in flight."""
    rnnfast.set_num_threads(1)
    model = rnnfast.GRU(64, 256, random_state=0)
    # Long enough (about 0.1 s) for a window well inside the call: the probe ignores two switch
    # intervals (10 ms) at each end.
    x = np.zeros((8, 4000, 64), dtype=np.float32)
    during, elapsed = ticks_during(lambda: model(x))
    # Had the call held the GIL, the counter could not have moved inside it.
    assert elapsed > 0.04
    assert during > 1000


def _child_forward(queue):
    model = rnnfast.GRU(8, 64, random_state=0)
    queue.put(float(model(np.ones((32, 50, 8), dtype=np.float32))[0].sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_parallel_forward_works_in_a_forked_child(restore_threads):
    rnnfast.set_num_threads(2)
    model = rnnfast.GRU(8, 64, random_state=0)
    expected = float(model(np.ones((32, 50, 8), dtype=np.float32))[0].sum())  # pool now running
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_forward, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "the child hung or crashed"
    assert queue.get(timeout=5) == expected
