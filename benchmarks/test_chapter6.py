"""Chapter 6's networks (``fastnet.network3``): seconds per epoch of 50,000 images, mini-batch 10, the book's
hyper-parameters, timed on 200 mini-batches and scaled to an epoch; on one thread and on every CPU
(forced: a run chooses between the two as it trains). float32 (the book's arithmetic) and float64
take turns, a round of each, so that their ratio is measured on the same host at the same time.
PyTorch's figures for the same networks: ``benchmarks/peers/torch_conv_epoch.py``."""

import time

import numpy as np
import pytest

from fastnet import engine
from fastnet.network3 import Network
from fastnet.tools.experiments import chapter_6_layers

M, STEPS, EPOCH_STEPS, ROUNDS = 10, 200, 5000, 5
NETWORKS = {"two conv ReLU, FC 100": ("relu", 0.1), "two conv ReLU, FC 1000 x 2 with dropout": ("dropout", 0.0)}


def epoch_of(kind, lmbda, dtype, threads, mnist_arrays):
    """``STEPS`` SGD steps of a ``kind`` network in ``dtype`` on ``threads``, ready to run (compiled, warmed)."""
    np.random.seed(0)
    net = Network(chapter_6_layers(kind, M), M, dtype=np.dtype(dtype))
    X, y = mnist_arrays
    X, y = np.ascontiguousarray(X[: STEPS * M], dtype=dtype), y[: STEPS * M].astype(np.int64)
    packed = engine.pack_convnet([layer._spec() for layer in net.layers], net.dtype)
    run = engine.ConvNetRun(packed, M, engine.convnet_dropout_masks(packed, M, np.random.default_rng(0)), threads=threads)
    run.prepare(X, y)
    run.epoch(X, y, 0.03, lmbda / EPOCH_STEPS)
    return lambda: run.epoch(X, y, 0.03, lmbda / EPOCH_STEPS)


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("threads", sorted({1, engine.available_cpus()}))
def test_network3_epoch(benchmark, record, mnist_arrays, name, threads):
    kind, lmbda = NETWORKS[name]
    single, double = (epoch_of(kind, lmbda, dtype, threads, mnist_arrays) for dtype in ("float32", "float64"))
    in_float32 = []

    def float32_first():
        start = time.perf_counter()
        single()
        in_float32.append(time.perf_counter() - start)

    benchmark.pedantic(double, setup=float32_first, rounds=ROUNDS)
    case, on = f"chapter 6, {name}", f"{threads} thread{'s' if threads > 1 else ''}"
    record.value(case, f"fastnet network3 float32, {on}", float(np.median(in_float32)) * EPOCH_STEPS / STEPS)
    record(case, f"fastnet network3 float64, {on}", benchmark, scale=EPOCH_STEPS / STEPS)
    record.note(case, f"{on}: float64 {benchmark.stats.stats.median / np.median(in_float32):.2f}x float32 "
                      f"(medians of {ROUNDS} rounds taking turns)")
