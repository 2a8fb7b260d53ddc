"""The sigmoid as the book's code writes it, for the book's per-example path and for readers.

``sigmoid`` and ``sigmoid_prime`` are what ``network.sigmoid`` and ``network2.sigmoid_prime`` give a
reader. In float64 (and for Python numbers) they are the book's own expressions, 1 / (1 + exp(-z))
and sigmoid(z) (1 - sigmoid(z)), bit for bit, so that a reader's exercise built on them (chapter 2's
matrix-based ``update_mini_batch``, say) computes the book's bits; exp's overflow for z below about
-709 gives 0 without a warning. The book has no float32; in float32 they are the engine's sigmoid
and sigma', computed in float64 from z and rounded once (``engine.activation``), so that a saturated
neuron keeps its slope where a float32 s (1 - s) would lose every digit.
"""

import numpy as np

from .. import engine


def book_sigmoid(z):
    """1.0 / (1.0 + np.exp(-z)), the book's expression (in the caller's ``np.errstate``)."""
    return 1.0 / (1.0 + np.exp(-z))


def book_sigmoid_prime(z):
    """sigmoid(z) * (1 - sigmoid(z)), the book's expression (in the caller's ``np.errstate``)."""
    return book_sigmoid(z) * (1 - book_sigmoid(z))


def sigmoid(z):
    """The logistic function sigma(z) = 1 / (1 + exp(-z)): the book's expression in float64, exactly 0 and 1
    in its limits."""
    if np.result_type(z) == np.float32:
        return engine.sigmoid(z)
    with np.errstate(over="ignore"):
        return book_sigmoid(z)


def sigmoid_prime(z):
    """Derivative of the sigmoid, sigma(z) * (1 - sigma(z)): the book's expression in float64; 0.25 at 0."""
    if np.result_type(z) == np.float32:
        return engine.sigmoid_prime(z)
    with np.errstate(over="ignore"):
        return book_sigmoid_prime(z)
