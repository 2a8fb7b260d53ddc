"""Reading MNIST, and converting the book's list of 50,000 ``(x, y)`` tuples as every ``SGD`` call does.

Timings only (``pytest --benchmark-only``); the tests check what these functions return.
"""

import numpy as np

from fastnet import mnist_loader
from fastnet._book import validation
from fastnet.engine import Training, data_set
from fastnet.tools.bench import fastnet_training
from conftest import DATA


def test_load_data(benchmark):
    benchmark.pedantic(mnist_loader.load_data, args=(DATA,), rounds=3, warmup_rounds=1)


def test_convert_the_books_list(benchmark, mnist_lists, mnist_arrays):
    """What an ``SGD`` call spends on its training data before the first epoch: checks, stacking, CSR."""
    params = fastnet_training([784, 30, 10], "float64", *mnist_arrays).params
    training = mnist_lists[0]

    def convert():
        data = validation.examples("SGD", "training_data", training, 784, 10)
        return Training(params, data_set(data.X, data.T, 10, np.float64))

    benchmark.pedantic(convert, rounds=5, warmup_rounds=1)
    assert np.array_equal(convert().data.inputs.indptr[-1:], [np.count_nonzero(mnist_arrays[0])])
