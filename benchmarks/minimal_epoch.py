"""The yardstick for fastnet's cold start: the shortest honest numba SGD epoch, in one function.

    python benchmarks/minimal_epoch.py [float64|float32] [hidden]

Reads the bundled MNIST directly, trains 784-hidden-10 for one epoch (mini-batch 10, eta 3.0,
the book's algorithm with sparse input) in one ``njit(cache=True)`` function, and prints the
book's line with the seconds since the process started. ``benchmarks/test_cold_start.py`` runs it
in a fresh process with an empty numba cache beside ``python -m fastnet --epochs 1``.
"""

import time

START = time.perf_counter()

import gzip  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


@njit(cache=True)
def epoch(W1, b1, W2, b2, indptr, indices, values, labels, order, m, eta):
    """One epoch of the book's SGD: W1 (784, h) and W2 (h, 10) are stored transposed, inputs as CSR."""
    h, o = W1.shape[1], W2.shape[1]
    a1, d1 = np.empty((m, h), W1.dtype), np.empty((m, h), W1.dtype)
    a2, d2 = np.empty((m, o), W1.dtype), np.empty((m, o), W1.dtype)
    for start in range(0, len(order), m):
        rows = order[start : start + m]
        for e in range(len(rows)):  # forward and backward, every example on the same weights
            r, a, d, out, dout = rows[e], a1[e], d1[e], a2[e], d2[e]
            a[:] = b1
            for p in range(indptr[r], indptr[r + 1]):
                v, w = values[p], W1[indices[p]]
                for j in range(h):
                    a[j] += v * w[j]
            out[:] = b2
            for j in range(h):
                a[j] = 1 / (1 + np.exp(-a[j]))
                w = W2[j]
                for k in range(o):
                    out[k] += a[j] * w[k]
            for k in range(o):
                out[k] = 1 / (1 + np.exp(-out[k]))
                dout[k] = (out[k] - (k == labels[r])) * out[k] * (1 - out[k])
            for j in range(h):
                w, s = W2[j], 0.0
                for k in range(o):
                    s += w[k] * dout[k]
                d[j] = s * a[j] * (1 - a[j])
        c = eta / len(rows)
        for e in range(len(rows)):  # the update: W -= (eta / m) sum of delta a^T
            a, d, dout = a1[e], d1[e], d2[e]
            for p in range(indptr[rows[e]], indptr[rows[e] + 1]):
                v, w = c * values[p], W1[indices[p]]
                for j in range(h):
                    w[j] -= v * d[j]
            for j in range(h):
                b1[j] -= c * d[j]
                v, w = c * a[j], W2[j]
                for k in range(o):
                    w[k] -= v * dout[k]
            for k in range(o):
                b2[k] -= c * dout[k]


def idx(name, offset):
    return np.frombuffer(gzip.decompress((DATA / name).read_bytes()), np.uint8, offset=offset)


def main(dtype="float64", hidden=100):
    images = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:50_000].astype(dtype) / 256
    labels = idx("train-labels-idx1-ubyte.gz", 8)[:50_000].astype(np.int64)
    test_x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(dtype) / 256
    test_y = idx("t10k-labels-idx1-ubyte.gz", 8)
    rows, columns = np.nonzero(images)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=len(images)))))
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((784, hidden)).astype(dtype), rng.standard_normal(hidden).astype(dtype)
    W2, b2 = rng.standard_normal((hidden, 10)).astype(dtype), rng.standard_normal(10).astype(dtype)
    epoch(W1, b1, W2, b2, indptr, columns.astype(np.int32), images[rows, columns], labels,
          rng.permutation(len(labels)), 10, 3.0)
    out = 1 / (1 + np.exp(-(1 / (1 + np.exp(-(test_x @ W1 + b1))) @ W2 + b2)))  # NumPy, not numba
    correct = int(np.sum(np.argmax(out, axis=1) == test_y))
    print(f"Epoch 0: {correct} / {len(test_y)}  ({time.perf_counter() - START:.2f} s since start)", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:3]])
