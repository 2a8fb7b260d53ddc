"""The flat parameter buffers the kernels work on, and the book's lists of arrays users see.

``pack`` copies ``net.weights`` / ``net.biases`` into the kernels' layout (each weight matrix
transposed, all layers in one buffer: see ``fastnet.kernels``); ``unpack`` makes fresh lists of
fresh arrays from it, as the book's code rebinds ``self.weights`` after every step.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Packed:
    """A network's parameters in the kernels' layout."""

    sizes: np.ndarray  # int64 (L+1,): n_0 .. n_L
    w_off: np.ndarray  # int64 (L+1,): where W_l^T starts in wt
    b_off: np.ndarray  # int64 (L+1,): where b_l starts in b (and layer l+1 in activation rows)
    wt: np.ndarray  # all W_l^T, flat
    b: np.ndarray  # all b_l, flat

    @property
    def n_out(self):
        """Size of the output layer."""
        return int(self.sizes[-1])

    def kernel_args(self):
        """The leading arguments every kernel takes."""
        return self.sizes, self.w_off, self.b_off, self.wt, self.b


def offsets(counts):
    """Start of each block in a buffer of blocks of ``counts`` values, and the end: [0, c0, c0+c1, ...]."""
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))


def pack(weights, biases, dtype):
    """Copy the book's ``weights`` (n_{l+1}, n_l) and ``biases`` (n_{l+1}, 1) into a ``Packed``."""
    sizes = np.array([weights[0].shape[1]] + [w.shape[0] for w in weights], dtype=np.int64)
    wt = np.concatenate([np.asarray(w, dtype=dtype).T.ravel() for w in weights])
    b = np.concatenate([np.asarray(v, dtype=dtype).ravel() for v in biases])
    return Packed(sizes, offsets(sizes[:-1] * sizes[1:]), offsets(sizes[1:]), wt, b)


def unpack(packed):
    """Return fresh lists ``(weights, biases)`` in the book's shapes from a ``Packed``."""
    sizes, w_off, b_off = packed.sizes, packed.w_off, packed.b_off
    weights, biases = [], []
    for l in range(len(sizes) - 1):
        wt_l = packed.wt[w_off[l] : w_off[l + 1]].reshape(sizes[l], sizes[l + 1])
        weights.append(np.ascontiguousarray(wt_l.T))
        biases.append(packed.b[b_off[l] : b_off[l + 1]].reshape(-1, 1).copy())
    return weights, biases
