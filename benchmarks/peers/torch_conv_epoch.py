"""PyTorch, eager: the book's chapter-6 networks, one SGD step per mini-batch of 10, timed.

    python benchmarks/peers/torch_conv_epoch.py float32|float64 THREADS

The yardstick of issue 19 (fastnet's network3 is to be 3x faster). Needs PyTorch (not a fastnet
dependency: install it in a venv of its own). Trains on MNIST as fastnet bundles it (pixel byte k as
k/256) with the book's hyper-parameters, and prints, for each network, the median milliseconds of a
mini-batch over 3 rounds of 500 mini-batches (after 100 to warm up) and the seconds of a 50,000-image
epoch that makes.
"""

import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DATA = Path(__file__).resolve().parent.parent.parent / "data"


def idx(name, offset):
    return np.frombuffer(gzip.decompress((DATA / name).read_bytes()), np.uint8, offset=offset)


def conv(filters, maps, generator, kind):
    return [torch.randn(filters, maps, 5, 5, generator=generator, dtype=kind) * 0.1,
            torch.zeros(filters, dtype=kind)]


def dense(n_in, n_out, generator, kind):
    return [torch.randn(n_in, n_out, generator=generator, dtype=kind) / n_out ** 0.5, torch.zeros(n_out, dtype=kind)]


def networks(kind):
    """The book's chapter-6 networks: (name, parameters, forward(x, params, training), lmbda, eta)."""
    g = torch.Generator().manual_seed(0)

    def one_conv(x, p, training):
        a = torch.sigmoid(F.max_pool2d(F.conv2d(x, p[0]), 2) + p[1][None, :, None, None])
        a = torch.sigmoid(a.reshape(len(x), -1) @ p[2] + p[3])
        return a @ p[4] + p[5]

    def two_conv(x, p, training):
        a = torch.relu(F.max_pool2d(F.conv2d(x, p[0]), 2) + p[1][None, :, None, None])
        a = torch.relu(F.max_pool2d(F.conv2d(a, p[2]), 2) + p[3][None, :, None, None])
        a = torch.relu(a.reshape(len(x), -1) @ p[4] + p[5])
        return a @ p[6] + p[7]

    def dropout(x, p, training):
        a = torch.relu(F.max_pool2d(F.conv2d(x, p[0]), 2) + p[1][None, :, None, None])
        a = torch.relu(F.max_pool2d(F.conv2d(a, p[2]), 2) + p[3][None, :, None, None]).reshape(len(x), -1)
        for w, b in ((p[4], p[5]), (p[6], p[7])):
            a = torch.relu(F.dropout(a, 0.5, training) @ w + b)
        return F.dropout(a, 0.5, training) @ p[8] + p[9]

    return [
        ("conv 20x5x5, FC 100 sigmoid", conv(20, 1, g, kind) + dense(2880, 100, g, kind) + dense(100, 10, g, kind),
         one_conv, 0.0, 0.1),
        ("two conv ReLU, FC 100 (the book's 99.23%)", conv(20, 1, g, kind) + conv(40, 20, g, kind)
         + dense(640, 100, g, kind) + dense(100, 10, g, kind), two_conv, 0.1, 0.03),
        ("two conv ReLU, FC 1000 x 2 with dropout", conv(20, 1, g, kind) + conv(40, 20, g, kind)
         + dense(640, 1000, g, kind) + dense(1000, 1000, g, kind) + dense(1000, 10, g, kind), dropout, 0.0, 0.03),
    ]


def main(dtype, threads):
    torch.set_num_threads(threads)
    kind = {"float64": torch.float64, "float32": torch.float32}[dtype]
    X = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)[:50_000] / 256, dtype=kind)
    y = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8)[:50_000].astype(np.int64))
    for name, params, forward, lmbda, eta in networks(kind):
        for p in params:
            p.requires_grad_(True)
        weights = params[0::2]

        def steps(first, count):
            for i in range(first, first + count):
                xb, yb = X[i * 10 : (i + 1) * 10], y[i * 10 : (i + 1) * 10]
                cost = F.cross_entropy(forward(xb, params, True), yb)
                cost = cost + 0.5 * lmbda * sum((w * w).sum() for w in weights) / 5000
                grads = torch.autograd.grad(cost, params)
                with torch.no_grad():
                    for p, g in zip(params, grads):
                        p -= eta * g

        steps(0, 100)
        times = []
        for r in range(3):
            start = time.perf_counter()
            steps(100 + 500 * r, 500)
            times.append((time.perf_counter() - start) / 500)
        ms = statistics.median(times) * 1000
        print(f"PyTorch {torch.__version__} {dtype}, {threads} thread(s), {name}: {ms:.3f} ms a mini-batch, "
              f"{ms * 5:.2f} s an epoch of 50,000 images", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
