"""Chapter 3 (``network2``): one epoch with cross-entropy and lmbda = 5.0 against the plain-NumPy
``ReferenceNetwork2`` and against chapter 1's epoch of the same network, the four monitors' cost,
and centred MNIST (no zero pixel, so dense first layers).

The reference trains on ``REFERENCE_IMAGES`` images, scaled up to the 50,000 of an epoch.
"""

import contextlib
import io
import random
import statistics
import time

import numpy as np
import pytest

import fastnet.network2 as network2
from fastnet.tools.bench import BOOK_STEP, EPOCH_IMAGES, REFERENCE_IMAGES, book_examples, fastnet_training
from fastnet.engine.kernels import CROSS_ENTROPY, Step
from fastnet.tools.reference import ReferenceNetwork2

SIZES = {"784-30-10": [784, 30, 10], "784-100-10": [784, 100, 10]}
CHAPTER_3_STEP = Step(0.5, 1 - 0.5 * (5.0 / EPOCH_IMAGES), CROSS_ENTROPY)  # eta 0.5, lmbda 5.0, n 50,000


def reference_epoch(sizes, training):
    random.seed(0)
    np.random.seed(0)
    net = ReferenceNetwork2(sizes)
    with contextlib.redirect_stdout(io.StringIO()):
        net.SGD(list(training), 1, 10, 0.5, lmbda=5.0 * len(training) / EPOCH_IMAGES)  # the decay of a full epoch


@pytest.mark.parametrize("name", SIZES)
def test_chapter3_reference(benchmark, record, mnist_arrays, name):
    training = book_examples(*mnist_arrays, REFERENCE_IMAGES)
    benchmark.pedantic(reference_epoch, args=(SIZES[name], training), rounds=1)
    record(f"chapter 3, {name}", "reference per-example", benchmark, scale=EPOCH_IMAGES / REFERENCE_IMAGES)


def alternate(benchmark, first, second, rounds):
    """Run ``first`` then ``second`` each round under the benchmark; return their median seconds."""
    times = ([], [])

    def both():
        for function, kept in zip((first, second), times):
            start = time.perf_counter()
            function()
            kept.append(time.perf_counter() - start)

    first(), second()
    benchmark.pedantic(both, rounds=rounds)
    return tuple(statistics.median(kept) for kept in times)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", SIZES)
def test_chapter3_epoch_against_chapter1(benchmark, record, mnist_arrays, name, dtype):
    """network2's epoch (cross-entropy, weight decay) and chapter 1's of the same network, alternating."""
    chapter3 = fastnet_training(SIZES[name], dtype, *mnist_arrays)
    chapter1 = fastnet_training(SIZES[name], dtype, *mnist_arrays)
    three, one = alternate(benchmark, lambda: chapter3.epoch(10, CHAPTER_3_STEP), lambda: chapter1.epoch(10, BOOK_STEP), 5)
    record.value(f"chapter 3, {name}", f"fastnet network2 epoch {dtype}", three)
    record.value(f"chapter 3, {name}", f"fastnet chapter 1 epoch {dtype}", one)
    record.note(f"chapter 3, {name}", f"{dtype}: network2's epoch takes {three / one:.2f}x chapter 1's")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_chapter3_sgd_with_all_four_monitors(benchmark, record, mnist_arrays, dtype):
    """One SGD call of 784-100-10 with all four monitors (a forward pass over the 50,000 training and
    10,000 evaluation images) against the same call without them, alternating."""
    X, y = mnist_arrays
    evaluation = (X[-10_000:], y[-10_000:])
    net = network2.Network([784, 100, 10], dtype=dtype)
    quiet = {"log": lambda line: None}
    monitors = {f"monitor_{w}_{what}": True for w in ("evaluation", "training") for what in ("cost", "accuracy")}
    watched, plain = alternate(benchmark, lambda: net.SGD((X, y), 1, 10, 0.5, lmbda=5.0, evaluation_data=evaluation,
                                                          **monitors, **quiet),
                               lambda: net.SGD((X, y), 1, 10, 0.5, lmbda=5.0, **quiet), 3)
    case = "chapter 3, one SGD call of 784-100-10"
    record.value(case, f"fastnet, four monitors {dtype}", watched)
    record.value(case, f"fastnet, no monitor {dtype}", plain)
    record.note(case, f"{dtype}: the four monitors add {watched / plain - 1:.0%}")


def centred(X):
    """MNIST minus its mean image, no pixel left exactly zero: every input pixel is a term."""
    Xc = X - X.mean(axis=0)
    Xc[Xc == 0] = 1e-3
    return Xc


def test_centred_reference(benchmark, record, mnist_arrays):
    from fastnet.tools.bench import reference_epoch as chapter1_reference

    X, y = mnist_arrays
    training = book_examples(centred(X.astype(np.float64)), y, REFERENCE_IMAGES)
    benchmark.pedantic(chapter1_reference, args=([784, 100, 10], 10, training), rounds=1)
    record("centred MNIST, 784-100-10", "reference per-example", benchmark, scale=EPOCH_IMAGES / REFERENCE_IMAGES)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_centred_fastnet(benchmark, record, mnist_arrays, dtype):
    X, y = mnist_arrays
    training = fastnet_training([784, 100, 10], dtype, centred(X.astype(np.float64)), y)
    assert training.data.inputs.complete
    benchmark.pedantic(training.epoch, args=(10, BOOK_STEP), rounds=3, warmup_rounds=1)
    record("centred MNIST, 784-100-10", f"fastnet SGD epoch {dtype}", benchmark)
