"""Drop-in parity on real MNIST: same seeds, same weights and the same printed lines as the book."""

import numpy as np
import pytest

import fastnet
from fastnet import mnist_loader
from fastnet.tools.reference import ReferenceNetwork
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


@pytest.mark.parametrize("cost, large", [("cross-entropy", False), ("cross-entropy", True), ("quadratic", False)])
def test_chapter_3_two_epochs_match_the_books_algorithm(book_data, cost, large):
    """network2 with lmbda = 5, every monitor on: the same accuracies, costs and weights as the book's algorithm."""
    import contextlib
    import io

    import fastnet.network2 as network2
    from fastnet.tools.reference import ReferenceNetwork2

    training, test = book_data
    seed_both(12345678)
    ref = ReferenceNetwork2([784, 30, 10], cost=cost)
    if large:
        ref.large_weight_initializer()
    ref_training = list(training)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        want = ref.SGD(ref_training, 2, 10, 0.5, 5.0, test,
                       monitor=("training cost", "training accuracy", "evaluation cost", "evaluation accuracy"))
    seed_both(12345678)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost if cost == "cross-entropy" else network2.QuadraticCost)
    if large:
        net.large_weight_initializer()
    fast_training, lines = list(training), []
    got = net.SGD(fast_training, 2, 10, 0.5, lmbda=5.0, evaluation_data=test, monitor_evaluation_cost=True,
                  monitor_evaluation_accuracy=True, monitor_training_cost=True, monitor_training_accuracy=True,
                  log=lines.append)
    ref_lines = out.getvalue().splitlines()
    assert [line for line in lines if not line.startswith("Cost")] == [line for line in ref_lines if not line.startswith("Cost")]
    assert got[1] == want[1] and got[3] == want[3]
    costs = np.array(got[0] + got[2]) / np.array(want[0] + want[2]) - 1
    assert measured(f"MNIST chapter 3, {cost}, costs vs the book", np.float64, np.max(np.abs(costs)), 1e-10)
    error = relative_error(net.weights + net.biases, ref.weights + ref.biases)
    assert measured(f"MNIST chapter 3, {cost}, weights vs the book", np.float64, error, 1e-10)
    assert [id(e) for e in fast_training] == [id(e) for e in ref_training]
