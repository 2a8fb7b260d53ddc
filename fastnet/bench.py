"""Seconds per epoch of fastnet's SGD against the plain-NumPy reference: the scaling table.

One epoch is 50,000 MNIST images at eta 3.0. fastnet runs whole epochs (after one warm-up epoch)
and reports the median. The book's per-example reference is slow, so it trains on the first
``REFERENCE_IMAGES`` images and its time is scaled up to 50,000, as the table says.
``benchmarks/test_scaling.py`` measures the same cases under pytest-benchmark.
"""

import io
import random
import statistics
import time
from contextlib import redirect_stdout

import numpy as np

from .kernels import QUADRATIC, Step
from .network import Network
from .reference import ReferenceNetwork
from .training import Training

EPOCH_IMAGES = 50_000
REFERENCE_IMAGES = 2_000
CASES = [  # (layer sizes, mini-batch size)
    ([784, 30, 10], 10),
    ([784, 100, 10], 10),
    ([784, 300, 10], 10),
    ([784, 1000, 10], 10),
    ([784, 100, 10], 1),
    ([784, 100, 10], 100),
    ([784, 100, 100, 10], 10),
]
DTYPES = ["float64", "float32"]
BOOK_STEP = Step(3.0, 1.0, QUADRATIC)  # chapter 1's step: eta 3.0, no weight decay, the quadratic cost


def case_name(sizes, mini_batch_size):
    """A case's label, e.g. '784-100-10, mini-batch 10'."""
    return f"{'-'.join(map(str, sizes))}, mini-batch {mini_batch_size}"


def fastnet_training(sizes, dtype, X, y, seed=0):
    """A ``Training`` of a freshly seeded network on ``(X, y)``, ready to run epochs."""
    random.seed(seed)
    np.random.seed(seed)
    net = Network(sizes, dtype=dtype)
    return Training(net._params(), X, y)


def reference_epoch(sizes, mini_batch_size, training, seed=0):
    """Train a seeded reference network for one epoch on the list ``training``, quietly."""
    random.seed(seed)
    np.random.seed(seed)
    net = ReferenceNetwork(sizes)
    with redirect_stdout(io.StringIO()):
        net.SGD(list(training), 1, mini_batch_size, 3.0)


def fastnet_seconds(sizes, mini_batch_size, dtype, X, y, repeats=3):
    """Median seconds of one fastnet epoch on ``(X, y)`` (one warm-up epoch first), and its thread count."""
    training = fastnet_training(sizes, dtype, X, y)
    training.epoch(mini_batch_size, BOOK_STEP)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        training.epoch(mini_batch_size, BOOK_STEP)
        times.append(time.perf_counter() - start)
    return statistics.median(times), training.threads(mini_batch_size)


def reference_seconds(sizes, mini_batch_size, training):
    """Seconds of one reference epoch, measured on ``REFERENCE_IMAGES`` images and scaled to 50,000."""
    start = time.perf_counter()
    reference_epoch(sizes, mini_batch_size, training[:REFERENCE_IMAGES])
    return (time.perf_counter() - start) * EPOCH_IMAGES / REFERENCE_IMAGES


def book_examples(X, y, n):
    """The first ``n`` examples of ``(X, y)`` as the book's list of ``(x (784, 1), one-hot (10, 1))``."""
    eye = np.eye(10)
    return [(X[i].reshape(-1, 1), eye[:, [y[i]]]) for i in range(n)]


def scaling_table(X, y, repeats=3, progress=print):
    """Measure every case and dtype on ``(X, y)``; return the Markdown table as a string."""
    training_list = book_examples(X, y, REFERENCE_IMAGES)
    lines = [
        f"| network | dtype | threads | fastnet s/epoch | reference s/epoch (from {REFERENCE_IMAGES:,} images, scaled) | speedup |",
        "|---|---|---|---|---|---|",
    ]
    for sizes, mini_batch_size in CASES:
        progress(f"  {case_name(sizes, mini_batch_size)} ...")
        reference = reference_seconds(sizes, mini_batch_size, training_list)
        for dtype in DTYPES:
            seconds, threads = fastnet_seconds(sizes, mini_batch_size, dtype, X, y, repeats)
            lines.append(
                f"| {case_name(sizes, mini_batch_size)} | {dtype} | {threads} | {seconds:.3f} | {reference:.1f} "
                f"| {reference / seconds:.0f}x |"
            )
    return "\n".join(lines)
