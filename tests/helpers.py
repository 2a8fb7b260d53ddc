"""Small helpers shared by the tests."""

import random

import numpy as np


def seed_both(seed):
    """Seed both generators the book's code draws from."""
    random.seed(seed)
    np.random.seed(seed)


def relative_error(actual, expected):
    """max |actual - expected| / max |expected| over lists of arrays, the worst pair."""
    return max(
        float(np.max(np.abs(a - e)) / max(float(np.max(np.abs(e))), 1e-300)) for a, e in zip(actual, expected)
    )


def random_examples(rng, sizes, n, sparsity=0.5, labels=False):
    """``n`` book-style examples ``(x (n_0, 1), y)`` with about ``sparsity`` of the inputs exactly 0.

    ``y`` is a one-hot column, or an int label when ``labels``.
    """
    X = rng.random((n, sizes[0])) * (rng.random((n, sizes[0])) >= sparsity)
    digits = rng.integers(0, sizes[-1], n)
    eye = np.eye(sizes[-1])
    return [(x.reshape(-1, 1), int(d) if labels else eye[:, [d]]) for x, d in zip(X, digits)]


SHAPES = [[2, 3, 1], [784, 10], [784, 30, 10], [784, 30, 30, 10], [5, 1], [1, 4, 2], [7, 16, 9, 3]]
