"""Bad arguments: a clear TypeError/ValueError naming what was wrong, and the network unchanged."""

import copy

import numpy as np
import pytest

import fastnet
from helpers import random_examples, seed_both

SIZES = [6, 4, 3]


@pytest.fixture
def net():
    seed_both(0)
    return fastnet.Network(SIZES)


@pytest.fixture
def data():
    return random_examples(np.random.default_rng(0), SIZES, 12)


@pytest.mark.parametrize(
    "sizes, error, message",
    [
        ([784], ValueError, r"at least two layers.*got 1"),
        ([], ValueError, r"at least two layers"),
        ([784, 0, 10], ValueError, r"sizes\[1\] must be a positive integer, got 0"),
        ([784, -3, 10], ValueError, r"sizes\[1\] must be a positive integer, got -3"),
        ([784, 2.5, 10], TypeError, r"sizes\[1\] must be a positive integer, got 2.5 \(float\)"),
        ([784, "30", 10], TypeError, r"sizes\[1\] must be a positive integer, got '30' \(str\)"),
        ([784, True, 10], TypeError, r"sizes\[1\] must be a positive integer"),
        (784, TypeError, r"sizes must be a list of layer sizes"),
        ("784,10", TypeError, r"sizes must be a list of layer sizes"),
    ],
)
def test_bad_sizes(sizes, error, message):
    with pytest.raises(error, match=message):
        fastnet.Network(sizes)


def test_numpy_integer_sizes_and_dtypes_are_accepted():
    assert fastnet.Network(np.array([5, 3, 2])).sizes == [5, 3, 2]
    assert fastnet.Network([5, 2], dtype="float32").weights[0].dtype == np.float32
    with pytest.raises(ValueError, match="dtype must be float64 or float32, got 'int64'"):
        fastnet.Network([5, 2], dtype="int64")


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((-1, 10, 3.0), ValueError, r"SGD: epochs must be an integer >= 0, got -1"),
        ((2.0, 10, 3.0), TypeError, r"SGD: epochs must be an integer >= 0, got 2.0 \(float\)"),
        ((2, 0, 3.0), ValueError, r"SGD: mini_batch_size must be an integer >= 1, got 0"),
        ((2, 10.5, 3.0), TypeError, r"SGD: mini_batch_size must be an integer >= 1, got 10.5"),
        ((2, 10, 0.0), ValueError, r"SGD: eta must be a finite number > 0, got 0.0"),
        ((2, 10, -1), ValueError, r"SGD: eta must be a finite number > 0, got -1"),
        ((2, 10, float("nan")), ValueError, r"SGD: eta must be a finite number > 0, got nan"),
        ((2, 10, float("inf")), ValueError, r"SGD: eta must be a finite number > 0, got inf"),
        ((2, 10, "3.0"), TypeError, r"SGD: eta must be a positive number, got '3.0' \(str\)"),
    ],
)
def test_bad_sgd_numbers(net, data, args, error, message):
    before = copy.deepcopy((net.weights, net.biases))
    with pytest.raises(error, match=message):
        net.SGD(data, *args)
    assert_unchanged(net, before)


def bad_example(data, i, x=None, y=None):
    data = list(data)
    x0, y0 = data[i]
    data[i] = (x0 if x is None else x, y0 if y is None else y)
    return data


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda d: [], ValueError, r"training_data is empty"),
        (lambda d: "abc", TypeError, r"training_data must be a list \(or other iterable\) of \(x, y\) pairs"),
        (lambda d: 42, TypeError, r"training_data must be a list \(or other iterable\) of \(x, y\) pairs.*got 42 \(int\)"),
        (lambda d: iter([]), ValueError, r"training_data is empty: .* \(a zip or generator can be read only once\)"),
        (lambda d: d[:3] + [d[3][0]] + d[4:], TypeError, r"training_data\[3\] must be an \(x, y\) tuple"),
        (lambda d: bad_example(d, 5, x=np.zeros((5, 1))), ValueError,
         r"training_data\[5\] input x must have shape \(6, 1\), got an array of shape \(5, 1\)"),
        (lambda d: bad_example(d, 2, x=np.zeros((2, 3))), ValueError, r"training_data\[2\] input x must have shape \(6, 1\)"),
        (lambda d: bad_example(d, 4, y=np.zeros((2, 1))), ValueError,
         r"training_data\[4\] target y must have shape \(3, 1\), got an array of shape \(2, 1\)"),
        (lambda d: bad_example(d, 1, x=[["a"]] * 6), TypeError, r"training_data\[1\] input x must be numeric"),
        (lambda d: bad_example(d, 1, x=[None] * 6), TypeError, r"training_data\[1\] input x must be numeric"),
        (lambda d: bad_example(d, 7, x=np.full((6, 1), np.nan)), ValueError,
         r"training_data\[7\] input x contains NaN or infinity"),
        (lambda d: bad_example(d, 8, y=np.array([[0.0], [np.inf], [0.0]])), ValueError,
         r"training_data\[8\] target y contains NaN or infinity"),
        (lambda d: bad_example(d, 6, y="one"), TypeError, r"training_data\[6\] target y must be an integer label 0..2 or a \(3, 1\) column"),
    ],
)
def test_bad_training_data(net, data, make, error, message):
    before = copy.deepcopy((net.weights, net.biases))
    with pytest.raises(error, match=message):
        net.SGD(make(data), 1, 4, 3.0)
    assert_unchanged(net, before)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: t[:2] + [(t[2][0], 3)] + t[3:], r"test_data\[2\] label is 3, outside the output range 0..2"),
        (lambda t: t[:2] + [(t[2][0], -1)] + t[3:], r"test_data\[2\] label is -1, outside the output range 0..2"),
        (lambda t: (np.zeros((4, 6)), np.array([0, 1, 2, 9])), r"test_data labels\[3\] is 9, outside the output range"),
        (lambda t: (np.zeros((4, 5)), np.array([0, 1, 2, 0])), r"test_data inputs X must have shape \(n, 6\)"),
        (lambda t: (np.full((4, 6), np.nan), np.array([0, 1, 2, 0])), r"test_data X\[0\] contains NaN or infinity"),
    ],
)
def test_bad_test_data(net, data, make, message):
    test = random_examples(np.random.default_rng(1), SIZES, 5, labels=True)
    before = copy.deepcopy((net.weights, net.biases))
    with pytest.raises(ValueError, match="^SGD: " + message):
        net.SGD(data, 1, 4, 3.0, test_data=make(test))
    with pytest.raises(ValueError, match="^evaluate: " + message):
        net.evaluate(make(test))
    assert_unchanged(net, before)


def test_array_training_data_checks(net):
    X, labels = np.zeros((4, 6)), np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"training_data targets must be labels \(4,\) or one-hot rows \(4, 3\)"):
        net.SGD((X, np.zeros((4, 2))), 1, 2, 1.0)
    with pytest.raises(TypeError, match=r"training_data labels must be integers, got dtype float64"):
        net.SGD((X, labels.astype(float)), 1, 2, 1.0)
    with pytest.raises(ValueError, match=r"training_data is empty"):
        net.SGD((X[:0], labels[:0]), 1, 2, 1.0)


def test_feedforward_checks(net):
    with pytest.raises(ValueError, match=r"feedforward: a must have shape \(6,\), \(6, 1\) or \(6, k\).*got an array of shape \(5, 1\)"):
        net.feedforward(np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"feedforward: a must have shape"):
        net.feedforward(np.zeros((6, 1, 1)))
    with pytest.raises(ValueError, match=r"feedforward: a contains NaN or infinity"):
        net.feedforward(np.full(6, np.inf))
    with pytest.raises(TypeError, match=r"feedforward: a must be numeric"):
        net.feedforward("abcdef")


def test_backprop_and_update_mini_batch_checks(net, data):
    before = copy.deepcopy((net.weights, net.biases))
    with pytest.raises(ValueError, match=r"backprop: x must have shape \(6, 1\), got an array of shape \(7, 1\)"):
        net.backprop(np.zeros((7, 1)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"backprop: y must have shape \(3, 1\)"):
        net.backprop(np.zeros((6, 1)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"update_mini_batch: eta must be a finite number > 0"):
        net.update_mini_batch(data[:3], -2.0)
    with pytest.raises(ValueError, match=r"update_mini_batch: mini_batch\[1\] input x must have shape"):
        net.update_mini_batch(bad_example(data[:3], 1, x=np.zeros(2)), 1.0)
    assert_unchanged(net, before)


def test_edited_parameters_of_the_wrong_shape_are_named(net, data):
    net.weights[1] = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"weights\[1\] must be a numeric array of shape \(3, 4\), got an array of shape \(3, 5\)"):
        net.SGD(data, 1, 4, 3.0)
    net.weights = net.weights[:1]
    with pytest.raises(ValueError, match=r"weights must be a list of 2 arrays"):
        net.feedforward(np.zeros(6))


def assert_unchanged(net, before):
    weights, biases = before
    for got, want in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_array_equal(got, want)
