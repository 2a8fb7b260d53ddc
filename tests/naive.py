"""Plain, obviously-correct twins of fastnet's kernels, for the tests to compare against.

The network-level twin is ``fastnet.reference`` (the book's algorithm in NumPy); these are the
smaller pieces, written the slowest and plainest way.
"""

import math

import numpy as np


def sigmoid(z):
    """sigma(z) element by element with Python floats (below -700, 1 + exp(-v) is exp(-v) to rounding)."""
    def one(v):
        v = float(v)
        return math.exp(v) if v < -700 else 1.0 / (1.0 + math.exp(-v))
    return np.vectorize(one, otypes=[np.float64])(np.asarray(z, dtype=np.float64))


def sigmoid_prime(z):
    """sigma(z) * sigma(-z), element by element."""
    return sigmoid(z) * sigmoid(-np.asarray(z, dtype=np.float64))


def numerical_gradient(cost, params, h=1e-6):
    """Central finite differences of ``cost()`` with respect to every entry of every array in ``params``."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = cost()
            p[i] = old - h
            down = cost()
            p[i] = old
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def quadratic_cost(feedforward, X, Y):
    """Sum over the columns of X of ||feedforward(x) - y||^2 / 2."""
    return 0.5 * float(np.sum((feedforward(X) - Y) ** 2))


def write_idx(path, array, magic):
    """Write ``array`` (uint8) as a gzip-compressed IDX file with the given magic number."""
    import gzip
    import struct

    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def affine(W, width, bias, row_of, coeff, terms):
    """Each example's ``bias + sum_k coeff_k * W_row(row_k)``, term by term in Python floats' order.

    ``terms[:, e] = (r, c, n)``: term k of example e is ``coeff[c + k]`` times row ``row_of[r + k]``
    of ``W`` seen as rows ``width`` wide. Returns ``(m, width)``.
    """
    rows = W.reshape(-1, width)
    out = np.empty((terms.shape[1], width), dtype=W.dtype)
    for e, (r, c, n) in enumerate(terms.T):
        z = bias.astype(np.float64)
        for k in range(n):
            z = z + float(coeff[c + k]) * rows[row_of[r + k]].astype(np.float64)
        out[e] = z
    return out


def subtract_outer(W, width, row_of, coeff, terms, scale, D):
    """A copy of ``W`` after, example by example, W_row(row_k) -= (scale * coeff_k) * D[e] for every term k."""
    rows = W.reshape(-1, width).copy()
    for e, (r, c, n) in enumerate(terms.T):
        for k in range(n):
            rows[row_of[r + k]] -= (scale * coeff[c + k]) * D[e]
    return rows.reshape(-1)


def deltas(weights, A, SP, Y):
    """Backprop's deltas, layer by layer, for a mini-batch held row-wise.

    ``weights`` are the book's (n_{l+1}, n_l) matrices; ``A[l]`` and ``SP[l]`` are the (m, n_{l+1})
    activations and sigma'(z) of layer l + 1, ``Y`` the (m, n_L) targets. Returns ``[delta_1, ...]``:
    delta_L = (a_L - y) sigma'(z_L), delta_l = (W_l^T delta_{l+1}) sigma'(z_l), in float64.
    """
    out = [(A[-1].astype(np.float64) - Y) * SP[-1]]
    for l in range(len(weights) - 1, 0, -1):
        out.insert(0, (out[0] @ weights[l].astype(np.float64)) * SP[l - 1])
    return out


def tree_sum(v):
    """The sum of ``v`` (a power-of-two length) as ``simd.total`` adds it: upper half onto lower half."""
    while len(v) > 1:
        v = v[: len(v) // 2] + v[len(v) // 2 :]
    return v[0]
