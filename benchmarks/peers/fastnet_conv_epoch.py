"""fastnet's network3: the book's chapter-6 networks, one SGD step per mini-batch of 10, timed as
``torch_conv_epoch.py`` times PyTorch's (the same networks, the same protocol).

    python benchmarks/peers/fastnet_conv_epoch.py float32|float64 THREADS

Prints, for each network, the median milliseconds of a mini-batch over 3 rounds of 500 mini-batches
(after 100 to warm up, its kernels compiled or loaded before) and the seconds of a 50,000-image epoch
that makes.
"""

import statistics
import sys
import time

import numpy as np

from fastnet import engine, mnist_loader
from fastnet.tools.experiments import chapter_6_layers

M = 10


def networks():
    """The book's chapter-6 networks: (name, layers, lmbda, eta), named as ``torch_conv_epoch.py`` names them."""
    return [("conv 20x5x5, FC 100 sigmoid", chapter_6_layers("conv", M), 0.0, 0.1),
            ("two conv ReLU, FC 100 (the book's 99.23%)", chapter_6_layers("relu", M), 0.1, 0.03),
            ("two conv ReLU, FC 1000 x 2 with dropout", chapter_6_layers("dropout", M), 0.0, 0.03)]


def main(dtype, threads):
    (X, y), _, _ = mnist_loader.load_data()
    X, y = np.ascontiguousarray(X, dtype=dtype), y.astype(np.int64)
    np.random.seed(0)
    for name, layers, lmbda, eta in networks():
        net = engine.pack_convnet([layer._spec() for layer in layers], np.dtype(dtype))
        run = engine.ConvNetRun(net, M, engine.convnet_dropout_masks(net, M, np.random.default_rng(0)), threads=threads)
        run.prepare(X, y)
        run.steps(X, y, 0, 100, eta, lmbda / 5000)
        times = []
        for r in range(3):
            start = time.perf_counter()
            run.steps(X, y, 100 + 500 * r, 600 + 500 * r, eta, lmbda / 5000)
            times.append((time.perf_counter() - start) / 500)
        ms = statistics.median(times) * 1000
        print(f"fastnet {dtype}, {threads} thread(s), {name}: {ms:.3f} ms a mini-batch, {ms * 5:.2f} s an epoch of "
              f"50,000 images", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
