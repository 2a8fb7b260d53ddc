"""PyTorch, eager: the book's SGD epoch (784-100-10, mini-batch 10, eta 3.0, the quadratic cost) with autograd.

    python benchmarks/peers/torch_epoch.py float64|float32 mnist|centred

Needs PyTorch (not a fastnet dependency: install it in a venv of its own, ``pip install torch``).
Reads the MNIST that fastnet bundles, as fastnet reads it (pixel byte k as k/256), and prints the
median seconds per epoch of three epochs after a first one.
"""

import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parent.parent.parent / "data"


def idx(name, offset):
    return np.frombuffer(gzip.decompress((DATA / name).read_bytes()), np.uint8, offset=offset)


def main(dtype, data):
    X = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:50_000].astype(np.float64) / 256
    labels = idx("train-labels-idx1-ubyte.gz", 8)[:50_000]
    if data == "centred":
        X = X - X.mean(axis=0)
        X[X == 0] = 1e-3
    kind = {"float64": torch.float64, "float32": torch.float32}[dtype]
    X = torch.tensor(X, dtype=kind)
    Y = torch.eye(10, dtype=kind)[torch.tensor(labels, dtype=torch.long)]
    rng = np.random.default_rng(0)
    params = [torch.tensor(rng.standard_normal(shape), dtype=kind, requires_grad=True)
              for shape in ((100, 784), (100,), (10, 100), (10,))]

    def epoch():
        order = torch.tensor(rng.permutation(50_000))
        for k in range(0, 50_000, 10):
            rows = order[k : k + 10]
            W1, b1, W2, b2 = params
            a = torch.sigmoid(torch.sigmoid(X[rows] @ W1.T + b1) @ W2.T + b2)
            loss = 0.5 * ((a - Y[rows]) ** 2).sum() / len(rows)  # the book's step: w -= (eta/m) sum of dC_x/dw
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= 3.0 * p.grad
                    p.grad = None

    epoch()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - start)
    print(f"torch {torch.__version__} {dtype} {data}: {statistics.median(times):.3f} s per epoch ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
