"""One epoch of SGD (50,000 MNIST images, mini-batch 10, eta 3.0): the reference and each fastnet engine.

Run with ``pytest --benchmark-only``; the speedups over the reference are printed at the end.
"""

import random

import numpy as np
import pytest

import fastnet
from fastnet.tools.reference import ReferenceNetwork
from fastnet.tools.bench import BOOK_STEP, fastnet_training

MINI_BATCH, ETA = 10, 3.0
SIZES = {"784-30-10": [784, 30, 10], "784-100-10": [784, 100, 10]}


def fresh(cls, sizes, **kwargs):
    random.seed(0)
    np.random.seed(0)
    return cls(sizes, **kwargs)


@pytest.mark.parametrize("name", SIZES)
@pytest.mark.parametrize("backprop", ["example", "matrix"])
def test_reference(benchmark, record, mnist_lists, name, backprop):
    net = fresh(ReferenceNetwork, SIZES[name])
    training = list(mnist_lists[0])
    benchmark.pedantic(net.SGD, args=(training, 1, MINI_BATCH, ETA), kwargs={"backprop": backprop}, rounds=3)
    record(name, "reference per-example" if backprop == "example" else "reference matrix", benchmark)


@pytest.mark.parametrize("name", SIZES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fastnet_update_mini_batch(benchmark, record, mnist_lists, name, dtype):
    """The book's loop in Python, one compiled ``update_mini_batch`` per mini-batch."""
    net = fresh(fastnet.Network, SIZES[name], dtype=dtype)
    training = mnist_lists[0]

    def epoch():
        for k in range(0, len(training), MINI_BATCH):
            net.update_mini_batch(training[k : k + MINI_BATCH], ETA)

    benchmark.pedantic(epoch, rounds=3, warmup_rounds=1)
    record(name, f"fastnet update_mini_batch {dtype}", benchmark)


@pytest.mark.parametrize("name", SIZES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fastnet_epoch(benchmark, record, mnist_arrays, name, dtype):
    """``SGD``'s engine: one compiled call per epoch, the data converted once per ``SGD`` call."""
    training = fastnet_training(SIZES[name], dtype, *mnist_arrays)
    benchmark.pedantic(training.epoch, args=(MINI_BATCH, BOOK_STEP), rounds=7, warmup_rounds=1)
    record(name, f"fastnet SGD epoch {dtype}", benchmark)


@pytest.mark.parametrize("name", SIZES)
def test_fastnet_one_epoch_sgd_call(benchmark, record, mnist_lists, name):
    """``net.SGD(training_data, 1, 10, 3.0, test_data=test_data)`` on the book's lists, called once per epoch
    as a reader who changes eta between epochs does: the conversion of the lists is included."""
    net = fresh(fastnet.Network, SIZES[name])
    training, _, test = (list(part) for part in mnist_lists)
    kwargs = {"test_data": test, "log": lambda line: None}
    benchmark.pedantic(net.SGD, args=(training, 1, MINI_BATCH, ETA), kwargs=kwargs, rounds=5, warmup_rounds=1)
    record(name, "fastnet SGD, one 1-epoch call", benchmark)
