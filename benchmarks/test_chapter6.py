"""Chapter 6's networks (``fastnet.network3``): seconds per epoch of 50,000 images, mini-batch 10, the book's
hyper-parameters, timed on 200 mini-batches and scaled to an epoch; float32 (the book's arithmetic) and
float64; on one thread and on every CPU (forced: a run chooses between the two as it trains). PyTorch's
figures for the same networks: ``benchmarks/peers/torch_conv_epoch.py``."""

import numpy as np
import pytest

from fastnet import engine
from fastnet.network3 import Network
from fastnet.tools.experiments import chapter_6_layers

M, STEPS, EPOCH_STEPS = 10, 200, 5000
NETWORKS = {"two conv ReLU, FC 100": ("relu", 0.1), "two conv ReLU, FC 1000 x 2 with dropout": ("dropout", 0.0)}


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("threads", sorted({1, engine.available_cpus()}))
def test_network3_epoch(benchmark, record, mnist_arrays, name, dtype, threads):
    kind, lmbda = NETWORKS[name]
    np.random.seed(0)
    net = Network(chapter_6_layers(kind, M), M, dtype=np.dtype(dtype))
    X, y = mnist_arrays
    X, y = np.ascontiguousarray(X[: STEPS * M], dtype=dtype), y[: STEPS * M].astype(np.int64)
    packed = engine.pack_convnet([layer._spec() for layer in net.layers], net.dtype)
    run = engine.ConvNetRun(packed, M, engine.convnet_dropout_masks(packed, M, np.random.default_rng(0)), threads=threads)
    run.prepare(X, y)
    benchmark.pedantic(run.epoch, args=(X, y, 0.03, lmbda / EPOCH_STEPS), rounds=3, warmup_rounds=1)
    record(f"chapter 6, {name}", f"fastnet network3 {dtype}, {threads} thread{'s' if threads > 1 else ''}", benchmark,
           scale=EPOCH_STEPS / STEPS)
