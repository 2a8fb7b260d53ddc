"""Data in the kernels' formats: inputs as CSR of their non-zero values, targets as one-hot rows or labels."""

from dataclasses import dataclass

import numpy as np


@dataclass
class SparseRows:
    """Rows of an input matrix as CSR: row i's non-zero values are ``values[indptr[i]:indptr[i+1]]``."""

    indptr: np.ndarray  # int64 (n+1,)
    indices: np.ndarray  # int32: column of each value
    values: np.ndarray  # the network's dtype

    @classmethod
    def from_dense(cls, X, dtype):
        """CSR of the rows of ``X`` ``(n, n_0)``, keeping only the entries that are not zero."""
        X = np.asarray(X)
        nonzero = X != 0
        indptr = np.zeros(len(X) + 1, dtype=np.int64)
        np.cumsum(np.count_nonzero(nonzero, axis=1), out=indptr[1:])
        indices = (np.flatnonzero(nonzero) % X.shape[1]).astype(np.int32)
        return cls(indptr, indices, X[nonzero].astype(dtype))

    def kernel_args(self):
        return self.indptr, self.indices, self.values


def is_array_pair(data):
    """True when ``data`` is ``(X, Y)`` of arrays rather than the book's list of ``(x, y)`` tuples."""
    return isinstance(data, tuple) and len(data) == 2 and all(isinstance(a, np.ndarray) for a in data)


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
