"""Data in the kernels' formats: inputs as CSR of their non-zero values, targets as one-hot rows or labels."""

from typing import NamedTuple

import numpy as np

from .bundles import FLOAT, Array, checked, declare
from .jit import kernel
from .threads import available_cpus, run_shares


# Inputs with more than this fraction of non-zero entries are kept whole (``SparseRows.complete``), for
# the dense kernels' register tiles: beyond it, skipping the zeros saves less than the tiles gain
# (the crossover measured: docs/engine.md).
DENSE_INPUTS = 0.3


@declare(indptr=Array("int64", 1), indices=Array("int32", 1), values=Array(FLOAT, 1), complete=bool)
class SparseRows(NamedTuple):
    """Rows of an input matrix as CSR: row i's values are ``values[indptr[i]:indptr[i+1]]`` (n+1 ``indptr``),
    in the columns ``indices`` of the same places. Mostly sparse inputs keep only their non-zero entries;
    mostly dense ones are kept whole (``complete``: every row lists all its columns in order, and
    ``indices`` is empty)."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    complete: bool


def sparse_rows(X, dtype, threads=None):
    """The rows of ``X`` ``(n, n_0)`` in ``dtype``: their non-zero entries, or all of them when more than
    ``DENSE_INPUTS`` of the entries are not zero. Large inputs are converted on several threads."""
    X = np.ascontiguousarray(X)
    X = X if X.ndim == 2 else X.reshape(len(X), -1)
    parts = threads or max(1, min(available_cpus(), len(X) // 4096))
    counts = np.empty(len(X), dtype=np.int64)
    run_shares(_count_rows, (X, counts), parts)
    if X.size and counts.sum() > DENSE_INPUTS * X.size:
        indptr = np.arange(len(X) + 1, dtype=np.int64) * X.shape[1]
        return checked(SparseRows(indptr, np.empty(0, dtype=np.int32), X.astype(dtype).reshape(-1), True))
    indptr = np.zeros(len(X) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices, values = np.empty(indptr[-1], dtype=np.int32), np.empty(indptr[-1], dtype=dtype)
    run_shares(_copy_rows, (X, indptr, indices, values), parts)
    return checked(SparseRows(indptr, indices, values, False))


def no_rows(inputs):
    """``inputs`` with no rows, of the same types (to compile a forward pass without running one)."""
    return inputs._replace(indptr=inputs.indptr[:1], indices=inputs.indices[:0], values=inputs.values[:0])


def one_hot_targets(T, n_out, dtype):
    """Targets as dense rows ``(n, n_out)``: one-hot rows are kept, integer labels are expanded."""
    T = np.asarray(T)
    if T.ndim == 1:
        Y = np.zeros((len(T), n_out), dtype=dtype)
        Y[np.arange(len(T)), T.astype(np.int64)] = 1
        return Y
    return np.ascontiguousarray(T, dtype=dtype)


def labels_of(T):
    """Integer labels ``(n,)`` from labels or from one-hot (or any score) rows ``(n, n_L)``."""
    T = np.asarray(T)
    return T.astype(np.int64) if T.ndim == 1 else np.argmax(T, axis=1)


@declare(inputs=SparseRows, targets=Array(FLOAT, 2), labels=Array("int64", 1))
class DataSet(NamedTuple):
    """A data set of n examples converted once for the kernels: its inputs, its targets as one-hot rows
    ``(n, n_L)`` in the network's dtype (what an SGD step and a cost read), and its integer labels
    ``(n,)`` (what a score reads)."""

    inputs: SparseRows
    targets: np.ndarray
    labels: np.ndarray


def data_set(X, T, n_out, dtype):
    """``DataSet`` of inputs ``X (n, n_0)`` and targets ``T`` (labels ``(n,)`` or rows ``(n, n_out)``) in ``dtype``."""
    return checked(DataSet(sparse_rows(X, dtype), one_hot_targets(T, n_out, dtype), labels_of(T)))


@kernel(nogil=True)
def _count_rows(X, counts, part, parts):
    """counts[i] <- the number of non-zero entries of row i of ``X``, for share ``part`` of ``parts`` of the rows."""
    n, width = X.shape
    for i in range(part * n // parts, (part + 1) * n // parts):
        count = 0
        for j in range(width):
            count += X[i, j] != 0
        counts[i] = count


@kernel(nogil=True)
def _copy_rows(X, indptr, indices, values, part, parts):
    """Row i's non-zero entries of ``X`` and their columns into ``values`` and ``indices`` from indptr[i], for
    share ``part`` of ``parts`` of the rows.

    Without a branch (at the edges of a stroke one would be mispredicted): every entry is written at
    the next free place, which only a non-zero one keeps, a later row then writing over what spilt
    past the row's end; a row whose end is the end of the share's places goes by a branch instead,
    so as never to write into the next share's first place.
    """
    n, width = X.shape
    first, last = part * n // parts, (part + 1) * n // parts
    for i in range(first, last):
        k = indptr[i]
        if indptr[i + 1] < indptr[last]:
            for j in range(width):
                indices[k] = j
                values[k] = X[i, j]
                k += X[i, j] != 0
        else:
            for j in range(width):
                if X[i, j] != 0:
                    indices[k] = j
                    values[k] = X[i, j]
                    k += 1
