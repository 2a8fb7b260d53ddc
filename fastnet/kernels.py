"""numba kernels of the chapter-1 network: the sigmoid, the forward pass, backprop, the SGD step.

Layout. A network with layer sizes n_0, ..., n_L keeps its parameters in two flat buffers:

- ``wt``: the transposed weight matrices W_l^T, shape ``(n_l, n_{l+1})`` in C order, one after
  another from ``w_off[l]``. Row k of W_l^T holds the weights leaving neuron k of layer l, so a
  forward pass adds whole contiguous rows, and an input pixel that is zero adds nothing at all.
- ``b``: the bias vectors one after another from ``b_off[l]``.

Per-example work buffers ``(m, sum(n_1..n_L))`` hold an example's activations (or deltas) for every
layer in one row, layer l+1 at ``b_off[l]``. Inputs arrive as CSR of their non-zero pixels
(``indptr``, ``indices``, ``values``, one row per example), so the first layer's forward pass and its
weight update only touch the pixels that are not zero (about 150 of 784 in MNIST). The arithmetic
is the book's; only terms that are exactly zero are skipped.

The kernels check nothing: ``fastnet.network`` validates at the public boundary.
"""

import math

import numpy as np
from numba import njit, vectorize

# Let LLVM re-associate sums (to vectorise dot products) and fuse multiply-adds. Rounding changes
# at the level of the last bit, as it does between BLAS builds; no assumption about NaN or inf.
FASTMATH = {"reassoc", "contract"}


@njit(cache=True, inline="always")
def _logistic(z):
    """Return ``(sigma(z), sigma(-z))`` from one ``exp(-|z|)``, which never overflows."""
    e = math.exp(-abs(z))
    r = 1 / (1 + e)
    if z >= 0:
        return r, e * r
    return e * r, r


@vectorize(["float32(float32)", "float64(float64)"], cache=True)
def sigmoid(z):
    """The logistic function sigma(z) = 1 / (1 + exp(-z)), exactly 0 and 1 in its limits."""
    return _logistic(z)[0]


@vectorize(["float32(float32)", "float64(float64)"], cache=True)
def sigmoid_prime(z):
    """Derivative of the sigmoid, sigma(z) * (1 - sigma(z)) = sigma(z) * sigma(-z); 0.25 at 0."""
    s, s_minus = _logistic(z)
    return s * s_minus


@njit(cache=True, fastmath=FASTMATH)
def _forward(sizes, w_off, b_off, wt, b, indptr, indices, values, row, a, sp):
    """Feed input ``row`` forward: a_{l+1} = sigma(W_l a_l + b_l), filling ``a`` and ``sp`` = sigma'(z)."""
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = wt[w_off[l] : w_off[l + 1]].reshape((n_in, n_out))
        z = a[b_off[l] : b_off[l + 1]]
        z[:] = 0
        if l == 0:
            for k in range(indptr[row], indptr[row + 1]):
                p, v = indices[k], values[k]
                for j in range(n_out):
                    z[j] += v * W[p, j]
        else:
            a_in = a[b_off[l - 1] : b_off[l]]
            for k in range(n_in):
                for j in range(n_out):
                    z[j] += a_in[k] * W[k, j]
        for j in range(n_out):
            s, s_minus = _logistic(z[j] + b[b_off[l] + j])
            z[j] = s
            sp[b_off[l] + j] = s * s_minus


@njit(cache=True, fastmath=FASTMATH)
def _backward(sizes, w_off, b_off, wt, y, a, sp, delta):
    """Fill ``delta`` for every layer: delta_L = (a_L - y) sigma'(z_L), delta_l = (W_l^T delta_{l+1}) sigma'(z_l)."""
    L = len(sizes) - 1
    for j in range(sizes[L]):
        i = b_off[L - 1] + j
        delta[i] = (a[i] - y[j]) * sp[i]
    for l in range(L - 1, 0, -1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = wt[w_off[l] : w_off[l + 1]].reshape((n_in, n_out))
        d_out = delta[b_off[l] : b_off[l + 1]]
        for k in range(n_in):
            s = 0.0
            for j in range(n_out):
                s += W[k, j] * d_out[j]
            delta[b_off[l - 1] + k] = s * sp[b_off[l - 1] + k]


@njit(cache=True, fastmath=FASTMATH)
def forward_backward(sizes, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, delta):
    """Backprop each example of ``rows``: fill its row of ``act`` (activations) and ``delta``.

    The per-example gradient is dC/db_l = delta_{l+1}, dC/dW_l = delta_{l+1} a_l^T; the
    parameters are not changed, so every example of a mini-batch sees the same network.
    """
    sp = np.empty(act.shape[1], dtype=act.dtype)
    for e in range(len(rows)):
        _forward(sizes, w_off, b_off, wt, b, indptr, indices, values, rows[e], act[e], sp)
        _backward(sizes, w_off, b_off, wt, Y[rows[e]], act[e], sp, delta[e])


@njit(cache=True, fastmath=FASTMATH)
def descend(sizes, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta):
    """One SGD step from the backprop of ``rows``: W_l -= (eta/m) sum_x delta a^T, b_l -= (eta/m) sum_x delta."""
    m = len(rows)
    scale = wt.dtype.type(eta / m)
    for i in range(b.size):
        g = delta[0, i]
        for e in range(1, m):
            g += delta[e, i]
        b[i] -= scale * g
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = wt[w_off[l] : w_off[l + 1]].reshape((n_in, n_out))
        for e in range(m):
            d = delta[e, b_off[l] : b_off[l + 1]]
            if l == 0:
                for k in range(indptr[rows[e]], indptr[rows[e] + 1]):
                    c = scale * values[k]
                    p = indices[k]
                    for j in range(n_out):
                        W[p, j] -= c * d[j]
            else:
                a_in = act[e, b_off[l - 1] : b_off[l]]
                for k in range(n_in):
                    c = scale * a_in[k]
                    for j in range(n_out):
                        W[k, j] -= c * d[j]


@njit(cache=True)
def train_epoch(sizes, w_off, b_off, wt, b, indptr, indices, values, Y, order, mini_batch_size, eta):
    """One epoch of SGD: the mini-batches ``order[k : k + mini_batch_size]``, one step each."""
    width = b.size
    act = np.empty((mini_batch_size, width), dtype=wt.dtype)
    delta = np.empty((mini_batch_size, width), dtype=wt.dtype)
    for start in range(0, len(order), mini_batch_size):
        rows = order[start : start + mini_batch_size]
        forward_backward(sizes, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, delta)
        descend(sizes, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta)


@njit(cache=True)
def feedforward(sizes, w_off, b_off, wt, b, indptr, indices, values, out):
    """Fill row i of ``out`` with the network's output for input row i."""
    a = np.empty(b.size, dtype=wt.dtype)
    sp = np.empty(b.size, dtype=wt.dtype)
    L = len(sizes) - 1
    for i in range(out.shape[0]):
        _forward(sizes, w_off, b_off, wt, b, indptr, indices, values, i, a, sp)
        out[i] = a[b_off[L - 1] :]
