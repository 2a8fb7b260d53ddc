"""The book's API and semantics: initial draws, shapes, edits, rebinding, shuffling, array input."""

import random

import numpy as np
import pytest

import fastnet
from fastnet.tools.reference import ReferenceNetwork
from helpers import SHAPES, random_examples, relative_error, same_arrays, seed_both
from naive import numerical_gradient


@pytest.mark.parametrize("sizes", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 42])
def test_initial_parameters_are_the_books_draws(sizes, seed):
    """Biases of every layer first, then weights, all from np.random.randn."""
    np.random.seed(seed)
    net = fastnet.Network(sizes)
    np.random.seed(seed)
    biases = [np.random.randn(n, 1) for n in sizes[1:]]
    weights = [np.random.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    assert net.num_layers == len(sizes) and net.sizes == list(sizes)
    for got, want in zip(net.biases + net.weights, biases + weights):
        np.testing.assert_array_equal(got, want)


def test_feedforward_shapes_and_values():
    seed_both(0)
    net = fastnet.Network([6, 5, 3])
    ref = ReferenceNetwork.__new__(ReferenceNetwork)
    ref.weights, ref.biases = net.weights, net.biases
    X = np.random.default_rng(0).random((6, 4))
    np.testing.assert_allclose(net.feedforward(X), ref.feedforward(X), rtol=1e-14)
    assert net.feedforward(X[:, :1]).shape == (3, 1)
    np.testing.assert_allclose(net.feedforward(X[:, 0]), ref.feedforward(X[:, :1])[:, 0], rtol=1e-14)
    assert net.feedforward(X[:, 0]).shape == (3,)
    assert net.feedforward(X).shape == (3, 4)


def test_edits_and_rebinding_are_honoured():
    seed_both(1)
    net = fastnet.Network([4, 3, 2])
    x = np.ones((4, 1))
    net.weights[0][:] = 0.0  # edit in place
    net.biases[0][:] = 0.0
    hidden = np.full((3, 1), 0.5)
    np.testing.assert_allclose(net.feedforward(x), 1 / (1 + np.exp(-(net.weights[1] @ hidden + net.biases[1]))))
    net.weights = [np.zeros((3, 4)), np.zeros((2, 3))]  # rebinding
    net.biases = [np.zeros((3, 1)), np.ones((2, 1))]
    np.testing.assert_allclose(net.feedforward(x), np.full((2, 1), 1 / (1 + np.exp(-1.0))))


def test_training_rebinds_new_arrays_like_the_book():
    seed_both(2)
    net = fastnet.Network([4, 3, 2])
    before = net.weights
    first = before[0].copy()
    net.update_mini_batch(random_examples(np.random.default_rng(0), [4, 3, 2], 3), 1.0)
    assert net.weights is not before
    np.testing.assert_array_equal(before[0], first)  # an old reference still shows the old weights
    assert not np.array_equal(net.weights[0], first)
    assert all(w.flags.c_contiguous and w.shape == b.shape for w, b in zip(net.weights, before))


def test_sgd_once_per_epoch_continues_the_books_sequence(capsys):
    sizes = [8, 5, 3]
    data = random_examples(np.random.default_rng(5), sizes, 31)
    seed_both(9)
    net = fastnet.Network(sizes)
    seed_both(9)
    ref = ReferenceNetwork(sizes)
    fast_data, ref_data = list(data), list(data)
    random.seed(4)
    for _ in range(3):
        net.SGD(fast_data, 1, 4, 3.0)
    fast_state = random.getstate()
    random.seed(4)
    ref.SGD(ref_data, 3, 4, 3.0)
    assert random.getstate() == fast_state
    assert [id(e) for e in fast_data] == [id(e) for e in ref_data]
    assert relative_error(net.weights + net.biases, ref.weights + ref.biases) < 1e-12
    assert capsys.readouterr().out.count("Epoch 0 complete") == 4  # 3 fastnet calls + 1 line of the reference's 3


def test_array_input_gives_the_same_result_and_is_not_modified():
    sizes = [10, 6, 4]
    data = random_examples(np.random.default_rng(6), sizes, 25)
    X = np.stack([x.ravel() for x, _ in data])
    onehot = np.stack([y.ravel() for _, y in data])
    labels = onehot.argmax(axis=1)
    X_copy = X.copy()
    results = []
    for training in (list(data), (X, onehot), (X, labels)):
        seed_both(3)
        net = fastnet.Network(sizes)
        random.seed(8)
        scores = net.SGD(training, 2, 5, 3.0, test_data=(X, labels))
        results.append((net.weights + net.biases, scores))
    np.testing.assert_array_equal(X, X_copy)
    for weights, scores in results[1:]:
        assert same_arrays(weights, results[0][0])
        assert scores == results[0][1]


def test_evaluate_counts_the_references_correct_answers():
    seed_both(4)
    net = fastnet.Network([5, 4, 3])
    ref = ReferenceNetwork.__new__(ReferenceNetwork)
    ref.weights, ref.biases = net.weights, net.biases
    tests = random_examples(np.random.default_rng(4), [5, 4, 3], 30, labels=True)
    expected = ref.evaluate(tests)
    assert 0 < expected < 30  # some right, some wrong: a count that ignores the labels would differ
    assert net.evaluate(tests) == expected
    X = np.stack([x.ravel() for x, _ in tests])
    assert net.evaluate((X, np.array([y for _, y in tests]))) == expected


def test_cost_derivative_is_the_gradient_of_the_quadratic_cost():
    """dC/da of C = ||a - y||^2 / 2, against central differences of C."""
    net = fastnet.Network([3, 4])
    rng = np.random.default_rng(0)
    a, y = rng.random((4, 1)), rng.random((4, 1))
    numeric = numerical_gradient(lambda: 0.5 * float(np.sum((a - y) ** 2)), [a])[0]
    np.testing.assert_allclose(net.cost_derivative(a, y), numeric, rtol=1e-8)


def test_sgd_without_test_data_prints_complete_and_returns_no_scores(capsys):
    seed_both(5)
    net = fastnet.Network([3, 2])
    assert net.SGD(random_examples(np.random.default_rng(0), [3, 2], 7), 2, 3, 1.0) == []
    assert capsys.readouterr().out == "Epoch 0 complete\nEpoch 1 complete\n"


def test_examples_may_mix_column_and_flat_vectors():
    sizes = [6, 4, 3]
    data = random_examples(np.random.default_rng(7), sizes, 8)
    mixed = [(x.ravel() if i % 2 else x, y.ravel() if i % 3 else y) for i, (x, y) in enumerate(data)]
    results = []
    for training in (data, mixed):
        seed_both(2)
        net = fastnet.Network(sizes)
        net.SGD(list(training), 2, 3, 1.0, log=lambda line: None)
        results.append(net.weights + net.biases)
    assert same_arrays(results[1], results[0])
