"""fastnet's compiled backprop and SGD step against the plain-NumPy reference and finite differences."""

import numpy as np
import pytest

import fastnet
from fastnet.tools.reference import ReferenceNetwork, backprop_matrix
from helpers import SHAPES, measured, random_examples, relative_error, seed_both
from naive import numerical_gradient, quadratic_cost


# Tolerances about 10x the largest relative error measured (FASTNET_PRINT_ERRORS=1 prints them):
TOL = {
    "backprop": 6e-13,  # measured 6.0e-14
    "update_mini_batch": 4e-15,  # measured 3.6e-16
    "matrix": 2e-14,  # measured 1.6e-15
    "differences": 5e-7,  # measured 5.2e-8: the differences' own error, h = 1e-6
    "sgd": 2e-12,  # measured 1.9e-13
    "float32 x1": 4e-6,  # measured 3.4e-7
    "float32 x4": 4e-6,  # measured 3.8e-7
}


def twin_networks(sizes, seed, dtype=np.float64):
    """A fastnet network and a reference network with the same initial parameters."""
    seed_both(seed)
    ref = ReferenceNetwork(sizes)
    seed_both(seed)
    return fastnet.Network(sizes, dtype=dtype), ref


@pytest.mark.parametrize("sizes", SHAPES)
@pytest.mark.parametrize("seed", range(4))
def test_backprop_matches_reference(sizes, seed):
    net, ref = twin_networks(sizes, seed)
    rng = np.random.default_rng(seed)
    for x, y in random_examples(rng, sizes, 3, sparsity=[0.0, 0.5, 1.0][seed % 3]):
        nb, nw = net.backprop(x, y)
        rb, rw = ref.backprop(x, y)
        assert [a.shape for a in nb + nw] == [a.shape for a in rb + rw]
        assert measured("backprop vs reference", np.float64, relative_error(nb + nw, rb + rw), TOL["backprop"])


@pytest.mark.parametrize("sizes", SHAPES)
@pytest.mark.parametrize("m", [1, 2, 10])
def test_update_mini_batch_matches_reference(sizes, m):
    net, ref = twin_networks(sizes, seed=m)
    batch = random_examples(np.random.default_rng(m), sizes, m)
    net.update_mini_batch(batch, 3.0)
    ref.update_mini_batch(batch, 3.0)
    assert measured("update_mini_batch vs reference", np.float64, relative_error(net.weights + net.biases, ref.weights + ref.biases), TOL["update_mini_batch"])


@pytest.mark.parametrize("sizes", [[2, 3, 1], [784, 10], [20, 30, 10], [9, 8, 7, 5]])
def test_backprop_matrix_reference_matches_per_example_sum(sizes):
    _, ref = twin_networks(sizes, seed=1)
    batch = random_examples(np.random.default_rng(1), sizes, 6)
    nb, nw = backprop_matrix(ref.weights, ref.biases, np.hstack([x for x, _ in batch]), np.hstack([y for _, y in batch]))
    grads = [ref.backprop(x, y) for x, y in batch]
    sum_b = [sum(g[0][l] for g in grads) for l in range(len(nb))]
    sum_w = [sum(g[1][l] for g in grads) for l in range(len(nw))]
    assert measured("matrix reference vs per-example", np.float64, relative_error(nb + nw, sum_b + sum_w), TOL["matrix"])


@pytest.mark.parametrize("sizes", [[2, 3, 1], [6, 10], [5, 4, 3], [4, 5, 5, 3]])
@pytest.mark.parametrize("seed", range(3))
def test_gradients_match_finite_differences(sizes, seed):
    """Both backprops (fastnet's, and the reference's matrix one) against central differences."""
    net, ref = twin_networks(sizes, seed)
    batch = random_examples(np.random.default_rng(seed), sizes, 4, sparsity=0.3)
    X = np.hstack([x for x, _ in batch])
    Y = np.hstack([y for _, y in batch])
    params = ref.biases + ref.weights
    numeric = numerical_gradient(lambda: quadratic_cost(ref.feedforward, X, Y), params)

    per_example = [net.backprop(x, y) for x, y in batch]
    fast = [sum(g[0][l] for g in per_example) for l in range(len(sizes) - 1)]
    fast += [sum(g[1][l] for g in per_example) for l in range(len(sizes) - 1)]
    assert measured("backprop vs differences", np.float64, relative_error(fast, numeric), TOL["differences"])

    nb, nw = backprop_matrix(ref.weights, ref.biases, X, Y)
    assert measured("matrix reference vs differences", np.float64, relative_error(nb + nw, numeric), TOL["differences"])


@pytest.mark.parametrize("sizes", SHAPES)
@pytest.mark.parametrize("mini_batch_size", [1, 3, 10])
def test_sgd_matches_reference(sizes, mini_batch_size, capsys):
    """Whole epochs, including a short last mini-batch (23 examples), follow the book to rounding."""
    net, ref = twin_networks(sizes, seed=mini_batch_size)
    rng = np.random.default_rng(mini_batch_size)
    data = random_examples(rng, sizes, 23)
    test = random_examples(rng, sizes, 9, labels=True)
    fast_data, ref_data = list(data), list(data)
    seed_both(7)
    scores = net.SGD(fast_data, 3, mini_batch_size, 2.0, test_data=test)
    fast_out = capsys.readouterr().out
    seed_both(7)
    ref.SGD(ref_data, 3, mini_batch_size, 2.0, test_data=test)
    assert fast_out == capsys.readouterr().out
    assert fast_out.splitlines()[-1] == f"Epoch 2: {scores[-1]} / 9"
    assert [id(e) for e in fast_data] == [id(e) for e in ref_data]
    assert measured("SGD vs reference", np.float64, relative_error(net.weights + net.biases, ref.weights + ref.biases), TOL["sgd"])


@pytest.mark.parametrize("sizes", [[784, 30, 10], [5, 4, 3]])
@pytest.mark.parametrize("gain", [1, 4])
def test_float32_follows_float64(sizes, gain):
    """float32 training stays within its rounding of float64's, also with the weights x4, where most
    neurons saturate (|z| of 10 or more). (sigma' computed from the float32 activation instead of
    from z moves these weights too little to see: test_kernels.py's sigma' tests catch that.)"""
    net64, _ = twin_networks(sizes, seed=3)
    net32, _ = twin_networks(sizes, seed=3, dtype=np.float32)
    for net in (net64, net32):
        net.weights = [(gain * w).astype(w.dtype) for w in net.weights]
    data = random_examples(np.random.default_rng(3), sizes, 40)
    for net in (net64, net32):
        seed_both(11)
        net.SGD(list(data), 2, 10, 1.0)
    assert all(w.dtype == np.float32 for w in net32.weights + net32.biases)
    error = relative_error(net32.weights + net32.biases, net64.weights + net64.biases)
    assert measured(f"float32 vs float64, weights x{gain}", np.float32, error, TOL[f"float32 x{gain}"])
