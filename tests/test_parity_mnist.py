"""Drop-in parity on real MNIST: same seeds, same weights and the same printed lines as the book."""

import numpy as np
import pytest

import fastnet
from fastnet import mnist_loader
from fastnet.reference import ReferenceNetwork
from conftest import DATA
from helpers import measured, relative_error, seed_both


@pytest.fixture(scope="module")
def book_data():
    training, validation, test = mnist_loader.load_data_wrapper(DATA)
    return training[:3000], test[:1000]


@pytest.mark.parametrize("seed", [0, 1])
def test_two_epochs_match_the_books_algorithm(book_data, seed, capsys):
    training, test = book_data
    seed_both(seed)
    ref = ReferenceNetwork([784, 30, 10])
    ref_training = list(training)
    ref.SGD(ref_training, 2, 10, 3.0, test_data=test)
    ref_lines = capsys.readouterr().out

    seed_both(seed)
    net = fastnet.Network([784, 30, 10])
    fast_training = list(training)
    net.SGD(fast_training, 2, 10, 3.0, test_data=test)
    fast_lines = capsys.readouterr().out

    assert fast_lines == ref_lines and fast_lines.startswith("Epoch 0: ")
    error = relative_error(net.weights + net.biases, ref.weights + ref.biases)
    assert measured("MNIST, 2 epochs, vs the book", np.float64, error, 1e-10)  # measured
    assert [id(e) for e in fast_training] == [id(e) for e in ref_training]
