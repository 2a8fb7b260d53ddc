"""The flat parameter buffers the kernels work on, and the book's lists of arrays users see.

``pack`` copies ``net.weights`` / ``net.biases`` into the kernels' layout (see ``kernels``);
``unpack`` makes fresh lists of fresh arrays from it, as the book's code rebinds ``self.weights``
after every step. Each weight matrix is stored as a scalar times a matrix, W_l = scale[l] V_l,
so that weight decay (chapter 3) shrinks one number per step instead of every weight; the scale
is 1 unless the weights decay, and ``unpack`` multiplies it in.

Every layer after the input is stored ``width`` wide: its size rounded up to whole SIMD blocks of
16 values (``simd``), so the kernels' loops over a layer have no scalar remainder (a
10-neuron output layer would be nothing but remainder). The padding holds zero weights and zero
biases, and the kernels keep it out of every real result. The buffers start on a cache line.
"""

from typing import NamedTuple

import numpy as np

from .bundles import FLOAT, Array, checked, declare
from .simd import LANES

CACHE_LINE = 64


@declare(sizes=Array("int64", 1), widths=Array("int64", 1), pitches=Array("int64", 1), w_off=Array("int64", 1),
         b_off=Array("int64", 1), wt=Array(FLOAT, 1), b=Array(FLOAT, 1), scale=Array("float64", 1))
class Params(NamedTuple):
    """A network's parameters in the kernels' layout: its layer sizes n_0 .. n_L (``sizes``, L+1 of them);
    ``widths``, n_0 and then each n_l padded to whole blocks; ``pitches``, how far apart the rows of each
    W_l^T lie in ``wt`` (L); ``w_off``, where each W_l^T starts in ``wt`` (n_l rows, of which ``widths[l+1]``
    values are used) and ``b_off``, where each b_l starts in ``b`` (and each layer's activations in a row
    of a work buffer), L+1 each; every V_l^T flat in ``wt`` and every b_l flat in ``b``; and ``scale``,
    W_l = scale[l] V_l (L)."""

    sizes: np.ndarray
    widths: np.ndarray
    pitches: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray
    wt: np.ndarray
    b: np.ndarray
    scale: np.ndarray


def offsets(counts):
    """Start of each block in a buffer of blocks of ``counts`` values, and the end: [0, c0, c0+c1, ...]."""
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))


def padded(sizes):
    """Layer widths: the input's size, then every later size rounded up to whole blocks (16 values)."""
    widths = -(-np.asarray(sizes, dtype=np.int64) // LANES) * LANES
    widths[0] = sizes[0]
    return widths


def pitches(widths, dtype):
    """The distance between rows of each W_l^T: ``widths[l+1]``, plus one cache line when a row would
    otherwise be a whole number of KiB long.

    Rows whose starts are such a power of two apart (a 1024-wide float32 layer: 4 KiB) fall into
    the same few sets of the L1 cache and evict each other (docs/engine.md). The extra line is
    never read.
    """
    itemsize = np.dtype(dtype).itemsize
    aliased = (widths[1:] * itemsize) % 1024 == 0
    return widths[1:] + np.where(aliased, CACHE_LINE // itemsize, 0)


def aligned_zeros(n, dtype):
    """A zero vector of ``n`` values whose start is aligned to a cache line (64 bytes).

    NumPy only promises 16 bytes; a 128-byte float64 block that starts mid-line spans three cache lines
    instead of two.
    """
    itemsize = np.dtype(dtype).itemsize
    buffer = np.zeros(n + CACHE_LINE // itemsize, dtype=dtype)
    start = (-buffer.ctypes.data % CACHE_LINE) // itemsize
    return buffer[start : start + n]


def pack(weights, biases, dtype):
    """Copy the book's ``weights`` (n_{l+1}, n_l) and ``biases`` (n_{l+1}, 1) into ``Params`` (every scale 1)."""
    sizes = np.array([weights[0].shape[1]] + [w.shape[0] for w in weights], dtype=np.int64)
    widths = padded(sizes)
    row_pitches = pitches(widths, dtype)
    w_off = offsets(sizes[:-1] * row_pitches)
    b_off = offsets(widths[1:])
    wt = aligned_zeros(w_off[-1], dtype)
    b = aligned_zeros(b_off[-1], dtype)
    for l, (w, v) in enumerate(zip(weights, biases)):
        wt[w_off[l] : w_off[l + 1]].reshape(sizes[l], -1)[:, : sizes[l + 1]] = w.T
        b[b_off[l] : b_off[l] + sizes[l + 1]] = np.ravel(v)
    return checked(Params(sizes, widths, row_pitches, w_off, b_off, wt, b, np.ones(len(weights))))


def unpack(params):
    """Return fresh lists ``(weights, biases)`` in the book's shapes from ``Params``."""
    sizes, w_off, b_off = params.sizes, params.w_off, params.b_off
    weights, biases = [], []
    for l in range(len(sizes) - 1):
        wt_l = params.wt[w_off[l] : w_off[l + 1]].reshape(sizes[l], -1)[:, : sizes[l + 1]].T
        scale = params.scale[l]
        weights.append(np.ascontiguousarray(wt_l) if scale == 1 else (wt_l * wt_l.dtype.type(scale)).copy(order="C"))
        biases.append(params.b[b_off[l] : b_off[l] + sizes[l + 1]].reshape(-1, 1).copy())
    return weights, biases
