"""numba kernels of the chapter-1 network: the forward pass, backprop, the SGD step, an epoch.

Layout (built by ``fastnet.layout``). A network with layer sizes n_0, ..., n_L keeps its
parameters in two flat buffers:

- ``wt``: the transposed weight matrices W_l^T, shape ``(n_l, widths[l+1])`` in C order, one after
  another from ``w_off[l]``. Row k of W_l^T holds the weights leaving neuron k of layer l, so a
  forward pass adds whole contiguous rows, and an input pixel that is zero adds nothing at all.
- ``b``: the bias vectors, ``widths[l+1]`` values each, from ``b_off[l]``.

``widths`` pads each layer to whole SIMD iterations; padded weights and biases are zero, padded
deltas are set to zero, so padding never reaches a real value. Per-example work buffers
``(m, b.size)`` hold an example's activations (or deltas) for every layer in one row, layer l+1
at ``b_off[l]``. Inputs arrive as CSR of their non-zero pixels (``indptr``, ``indices``,
``values``, one row per example): the first layer's forward pass and its weight update only touch
pixels that are not zero (about 150 of 784 in MNIST). The arithmetic is the book's; only terms
that are exactly zero are skipped.

The kernels check nothing: ``fastnet.network`` validates at the public boundary.
"""

import numpy as np
from numba import njit

from .activation import logistic
from .jit import CACHE

# Let LLVM re-associate sums (to vectorise dot products) and fuse multiply-adds. Rounding changes
# at the level of the last bit, as it does between BLAS builds; no assumption about NaN or inf.
FASTMATH = {"reassoc", "contract"}


@njit(cache=CACHE, fastmath=FASTMATH)
def _add_rows(z, W, rows, coeffs):
    """z += sum_k coeffs[k] * W[rows[k]]: four rows per pass, so z is loaded and stored a quarter as often."""
    n = len(rows)
    k = 0
    while k + 4 <= n:
        r0, r1, r2, r3 = rows[k], rows[k + 1], rows[k + 2], rows[k + 3]
        c0, c1, c2, c3 = coeffs[k], coeffs[k + 1], coeffs[k + 2], coeffs[k + 3]
        for j in range(len(z)):
            z[j] += (c0 * W[r0, j] + c1 * W[r1, j]) + (c2 * W[r2, j] + c3 * W[r3, j])
        k += 4
    for k in range(k, n):
        c, r = coeffs[k], rows[k]
        for j in range(len(z)):
            z[j] += c * W[r, j]


@njit(cache=CACHE, fastmath=FASTMATH)
def _subtract_outer(W, rows, coeffs, d, scale):
    """W[rows[k]] -= (scale * coeffs[k]) * d for every k: one example's rank-1 step on the rows it touches."""
    for k in range(len(rows)):
        c, r = scale * coeffs[k], rows[k]
        for j in range(len(d)):
            W[r, j] -= c * d[j]


@njit(cache=CACHE, fastmath=FASTMATH)
def _weights(sizes, widths, w_off, wt, l):
    """W_l^T as a ``(n_l, widths[l+1])`` view of ``wt``."""
    return wt[w_off[l] : w_off[l + 1]].reshape((sizes[l], widths[l + 1]))


@njit(cache=CACHE, fastmath=FASTMATH)
def _forward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, row, a, sp, all_rows):
    """Feed input ``row`` forward: a_{l+1} = sigma(W_l a_l + b_l), filling ``a`` and ``sp`` = sigma'(z).

    The first layer adds the rows of W_0^T of the input's non-zero pixels; a later layer adds the
    rows of its real neurons (``all_rows`` is 0, 1, 2, ...).
    """
    for l in range(len(sizes) - 1):
        W = _weights(sizes, widths, w_off, wt, l)
        z = a[b_off[l] : b_off[l + 1]]
        z[:] = 0
        if l == 0:
            first, last = indptr[row], indptr[row + 1]
            _add_rows(z, W, indices[first:last], values[first:last])
        else:
            _add_rows(z, W, all_rows[: sizes[l]], a[b_off[l - 1] : b_off[l]])
        for j in range(widths[l + 1]):
            s, s_minus = logistic(z[j] + b[b_off[l] + j])
            z[j] = s
            sp[b_off[l] + j] = s * s_minus


@njit(cache=CACHE, fastmath=FASTMATH)
def _backward(sizes, widths, w_off, b_off, wt, y, a, sp, delta):
    """Fill ``delta`` for every layer: delta_L = (a_L - y) sigma'(z_L), delta_l = (W_l^T delta_{l+1}) sigma'(z_l)."""
    L = len(sizes) - 1
    delta[b_off[L - 1] : b_off[L]] = 0
    for j in range(sizes[L]):
        i = b_off[L - 1] + j
        delta[i] = (a[i] - y[j]) * sp[i]
    for l in range(L - 1, 0, -1):
        W = _weights(sizes, widths, w_off, wt, l)
        d_out = delta[b_off[l] : b_off[l + 1]]
        delta[b_off[l - 1] : b_off[l]] = 0
        for k in range(sizes[l]):
            s = wt.dtype.type(0)
            for j in range(widths[l + 1]):
                s += W[k, j] * d_out[j]
            delta[b_off[l - 1] + k] = s * sp[b_off[l - 1] + k]


@njit(cache=CACHE, fastmath=FASTMATH)
def forward_backward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, delta):
    """Backprop each example of ``rows``: fill its row of ``act`` (activations) and ``delta``.

    The per-example gradient is dC/db_l = delta_{l+1}, dC/dW_l = delta_{l+1} a_l^T; the
    parameters are not changed, so every example of a mini-batch sees the same network.
    """
    sp = np.empty(act.shape[1], dtype=act.dtype)
    all_rows = np.arange(sizes.max(), dtype=np.int32)
    for e in range(len(rows)):
        _forward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows[e], act[e], sp, all_rows)
        _backward(sizes, widths, w_off, b_off, wt, Y[rows[e]], act[e], sp, delta[e])


@njit(cache=CACHE, fastmath=FASTMATH)
def descend(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta):
    """One SGD step from the backprop of ``rows``: W_l -= (eta/m) sum_x delta a^T, b_l -= (eta/m) sum_x delta."""
    m = len(rows)
    scale = wt.dtype.type(eta / m)
    for i in range(b.size):
        g = delta[0, i]
        for e in range(1, m):
            g += delta[e, i]
        b[i] -= scale * g
    all_rows = np.arange(sizes.max(), dtype=np.int32)
    for l in range(len(sizes) - 1):
        W = _weights(sizes, widths, w_off, wt, l)
        for e in range(m):
            d = delta[e, b_off[l] : b_off[l + 1]]
            if l == 0:
                first, last = indptr[rows[e]], indptr[rows[e] + 1]
                _subtract_outer(W, indices[first:last], values[first:last], d, scale)
            else:
                _subtract_outer(W, all_rows[: sizes[l]], act[e, b_off[l - 1] : b_off[l]], d, scale)


@njit(cache=CACHE)
def train_epoch(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, order, mini_batch_size, eta):
    """One epoch of SGD: the mini-batches ``order[k : k + mini_batch_size]``, one step each."""
    act = np.empty((mini_batch_size, b.size), dtype=wt.dtype)
    delta = np.empty((mini_batch_size, b.size), dtype=wt.dtype)
    for start in range(0, len(order), mini_batch_size):
        rows = order[start : start + mini_batch_size]
        forward_backward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, delta)
        descend(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta)


@njit(cache=CACHE)
def feedforward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, out):
    """Fill row i of ``out`` with the network's output for input row i."""
    a = np.empty(b.size, dtype=wt.dtype)
    sp = np.empty(b.size, dtype=wt.dtype)
    all_rows = np.arange(sizes.max(), dtype=np.int32)
    start = b_off[len(sizes) - 2]
    for i in range(out.shape[0]):
        _forward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, i, a, sp, all_rows)
        out[i] = a[start : start + out.shape[1]]
