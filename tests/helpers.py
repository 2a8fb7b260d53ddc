"""Small helpers shared by the tests."""

import random

import numba
import numpy as np


def seed_both(seed):
    """Seed both generators the book's code draws from."""
    random.seed(seed)
    np.random.seed(seed)


MEASURED = {}  # (comparison, dtype name) -> the largest error seen (conftest.py prints them on request)


def measured_close(name, dtype, got, want, tolerance, each=False):
    """True when ``got`` is within ``tolerance`` of ``want``: the largest |got - want| over the largest
    |want| (or over 1 when that is smaller), or with ``each`` every value's own relative error; never
    when either holds a NaN or an infinity. Records the error in ``MEASURED`` under ``(name, dtype)``."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        return False
    if each:
        error = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300), initial=0.0))
    else:
        error = float(np.max(np.abs(got - want), initial=0.0) / max(float(np.max(np.abs(want), initial=0.0)), 1.0))
    key = (name, np.dtype(dtype).name)
    MEASURED[key] = max(MEASURED.get(key, 0.0), error)
    return error <= tolerance


def measured(name, dtype, error, tolerance):
    """Record ``error`` under ``(name, dtype)`` in ``MEASURED``; True when it is within ``tolerance``."""
    key = (name, np.dtype(dtype).name)
    MEASURED[key] = max(MEASURED.get(key, 0.0), float(error))
    return error <= tolerance


def relative_error(actual, expected):
    """max |actual - expected| / max |expected| over lists of arrays, the worst pair; infinity when the
    lists differ in length or shapes, or any value of either is a NaN or an infinity (so that no
    comparison with a tolerance can pass)."""
    actual, expected = list(actual), list(expected)
    if len(actual) != len(expected):
        return np.inf
    errors = []
    for a, e in zip(actual, expected):
        a, e = np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64)
        if a.shape != e.shape or not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
            return np.inf
        errors.append(float(np.max(np.abs(a - e), initial=0.0)) / max(float(np.max(np.abs(e), initial=0.0)), 1e-300))
    return max(errors, default=0.0)


def same_arrays(actual, expected):
    """True when two lists of arrays are equal array by array, bit for bit (``np.array_equal``), and all finite."""
    actual, expected = list(actual), list(expected)
    return len(actual) == len(expected) and all(
        np.array_equal(a, e) and np.all(np.isfinite(a)) for a, e in zip(actual, expected))


def random_examples(rng, sizes, n, sparsity=0.5, labels=False):
    """``n`` book-style examples ``(x (n_0, 1), y)`` with about ``sparsity`` of the inputs exactly 0.

    ``y`` is a one-hot column, or an int label when ``labels``.
    """
    X = rng.random((n, sizes[0])) * (rng.random((n, sizes[0])) >= sparsity)
    digits = rng.integers(0, sizes[-1], n)
    eye = np.eye(sizes[-1])
    return [(x.reshape(-1, 1), int(d) if labels else eye[:, [d]]) for x, d in zip(X, digits)]


SHAPES = [[2, 3, 1], [784, 10], [784, 30, 10], [784, 30, 30, 10], [5, 1], [1, 4, 2], [7, 16, 9, 3]]


@numba.njit
def run_kernel(kernel, *args):
    """Call one of fastnet's inner kernels from a test: they are compiled without a Python wrapper."""
    return kernel(*args)
