"""What ``fastnet bench`` measures: seconds per epoch against the plain-NumPy reference, and the
book's whole run as a reader sees it.

- The scaling table: one epoch is 50,000 MNIST images at eta 3.0. fastnet runs whole epochs
  (after one warm-up epoch) and reports the median. The book's per-example reference is slow, so
  it trains on the first ``REFERENCE_IMAGES`` images and its time is scaled up to 50,000, as the
  table says. ``benchmarks/test_scaling.py`` measures the same cases under pytest-benchmark.
- The reader's runs: ``python -m fastnet`` (the book's 30-epoch 784-100-10 run) in a fresh process,
  timed from its start to its first epoch line and to its last line: with an empty compile cache,
  with a warm one, and warm with another process keeping one core busy.
  ``benchmarks/test_reader_runs.py`` measures the same.
"""

import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, redirect_stdout

import numpy as np

from ..engine import QUADRATIC, Step, Training, data_set
from ..network import Network
from .progress import Progress
from .reference import ReferenceNetwork

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
    ([784, 30, 30, 30, 10], 10),
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
    return Training(net._params(), data_set(X, y, sizes[-1], net.dtype))


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


def scaling_table(X, y, repeats=3, progress=None):
    """Measure every case and dtype on ``(X, y)``; return the Markdown table as a string.

    ``progress`` (a ``fastnet.progress.Progress``) hears of each case and each measurement done."""
    progress = Progress(1, stream=io.StringIO()) if progress is None else progress
    training_list = book_examples(X, y, REFERENCE_IMAGES)
    lines = [
        f"| network | dtype | threads | fastnet s/epoch | reference s/epoch (from {REFERENCE_IMAGES:,} images, scaled) | speedup |",
        "|---|---|---|---|---|---|",
    ]
    for sizes, mini_batch_size in CASES:
        progress.begin(case_name(sizes, mini_batch_size))
        reference = reference_seconds(sizes, mini_batch_size, training_list)
        progress.epoch()
        for dtype in DTYPES:
            seconds, threads = fastnet_seconds(sizes, mini_batch_size, dtype, X, y, repeats)
            progress.epoch()
            lines.append(
                f"| {case_name(sizes, mini_batch_size)} | {dtype} | {threads} | {seconds:.3f} | {reference:.1f} "
                f"| {reference / seconds:.0f}x |"
            )
    return "\n".join(lines)


READER_RUN = []  # the arguments of the reader's run: none, the book's 784-100-10 for 30 epochs
BUSY_SECONDS = 900  # the busy process stops by itself after this, whatever happens to its parent


def run_timed(args, cache_dir):
    """Run ``python -m fastnet *args`` in a fresh process with numba's cache in ``cache_dir``; return
    ``(seconds to the first epoch line, seconds to the last line, stdout, stderr)`` from its start."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    start = time.perf_counter()
    job = subprocess.Popen([sys.executable, "-m", "fastnet", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    first, lines = None, []
    for line in job.stdout:
        lines.append(line)
        if first is None and line.startswith("Epoch "):
            first = time.perf_counter() - start
    job.wait()
    last = time.perf_counter() - start
    err = job.stderr.read()
    if job.returncode != 0:
        raise RuntimeError(f"python -m fastnet {' '.join(args)} failed: {err.strip()}")
    return first, last, "".join(lines), err


@contextmanager
def busy_core():
    """Another process keeping one core busy while the block runs (and never longer than ``BUSY_SECONDS``)."""
    spin = f"import time\nend = time.time() + {BUSY_SECONDS}\nwhile time.time() < end: pass"
    job = subprocess.Popen([sys.executable, "-c", spin])
    try:
        yield
    finally:
        job.kill()
        job.wait()


def reader_runs(args=None, progress=None):
    """Time the reader's run cold, warm and warm beside a busy core: ``[(name, first, last), ...]``."""
    args = READER_RUN if args is None else args
    tick = progress.epoch if progress is not None else (lambda: None)
    with tempfile.TemporaryDirectory(prefix="fastnet-cache-") as cache:
        cold = run_timed(args, cache)
        tick()
        warm = run_timed(args, cache)
        tick()
        with busy_core():
            busy = run_timed(args, cache)
        tick()
    return [("empty compile cache", *cold[:2]), ("warm cache", *warm[:2]), ("warm cache, one core busy", *busy[:2])]


def reader_runs_table(runs):
    """The reader's runs as a Markdown table."""
    lines = ["| `python -m fastnet` | first epoch line | last line |", "|---|---|---|"]
    lines += [f"| {name} | {first:.1f} s | {last:.1f} s |" for name, first, last in runs]
    return "\n".join(lines)
