"""An SGD run of a chapter-6 network on the kernels of ``convnet``: the network packed once, the dropout
masks drawn from NumPy a chunk of steps at a time, a few compiled calls per epoch, batched evaluation."""

import numpy as np

from . import convnet
from .bundles import checked
from .convnet import CONV, ConvNet, ConvWork
from .inputs import labels_of
from .simd import LANES

CHUNK_STEPS = 200  # SGD steps per compiled call (and per draw of dropout masks)
EVALUATION_ROWS = 100  # inputs per pass through the layers in evaluation


class ConvNetLayer:
    """One layer as the kernels need it: ``kind`` (``convnet.CONV`` ...), ``act`` (``convnet.RELU`` ...), ``dims``
    (conv: C, H, W, F, fh, fw, ph, pw; dense: n_in, n_out), ``keep`` = 1 - p_dropout, weights and biases."""

    def __init__(self, kind, act, dims, keep, w, b):
        self.kind, self.act, self.dims, self.keep, self.w, self.b = kind, act, list(dims), float(keep), w, b

    def sizes(self):
        """(input size, output size, pre-pooling size) per example."""
        if self.kind == CONV:  # the convolution's output is kept wide: rows W long, each filter's in whole blocks
            C, H, W, F, fh, fw, ph, pw = self.dims
            oh, ow = H - fh + 1, W - fw + 1
            return C * H * W, F * (oh // ph) * (ow // pw), F * (-(-(oh * W) // LANES) * LANES)
        return self.dims[0], self.dims[1], 0


def _offsets(counts):
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64))).astype(np.int64)


def pack_convnet(layers, dtype):
    """``ConvNet`` of the ``ConvNetLayer``s ``layers`` in ``dtype`` (a copy of their parameters)."""
    sizes = [layer.sizes() for layer in layers]
    dims = np.zeros((len(layers), 8), dtype=np.int64)
    for l, layer in enumerate(layers):
        dims[l, : len(layer.dims)] = layer.dims
    w = np.concatenate([np.asarray(layer.w, dtype=dtype).ravel() for layer in layers])
    b = np.concatenate([np.asarray(layer.b, dtype=dtype).ravel() for layer in layers])
    return checked(ConvNet(
        np.array([layer.kind for layer in layers], dtype=np.int64), np.array([layer.act for layer in layers], dtype=np.int64),
        dims, np.array([layer.keep for layer in layers], dtype=np.float64),
        w, _offsets([np.size(layer.w) for layer in layers]), b, _offsets([np.size(layer.b) for layer in layers]),
        _offsets([sizes[0][0]] + [s[1] for s in sizes]), _offsets([s[1] for s in sizes]), _offsets([s[2] for s in sizes]),
        _offsets([s[0] if layer.keep < 1 else 0 for s, layer in zip(sizes, layers)])))


def unpack_convnet(net, layers):
    """The parameters of ``net`` back into the ``ConvNetLayer``s' shapes: a list of ``(w, b)``."""
    return [(net.w[net.w_off[l] : net.w_off[l + 1]].reshape(np.shape(layer.w)).copy(),
             net.b[net.b_off[l] : net.b_off[l + 1]].reshape(np.shape(layer.b)).copy()) for l, layer in enumerate(layers)]


def convnet_work(net, rows):
    """``ConvWork`` for ``rows`` examples at a time."""
    dtype, spare = net.w.dtype, 2 * LANES  # a tap's run may read (or add zeros) a block past a map's end
    return checked(ConvWork(np.zeros((rows, net.a_off[-1] + spare), dtype), np.zeros((rows, max(net.z_off[-1], 1)), dtype),
                            np.zeros((rows, net.y_off[-1] + spare), dtype), np.zeros((rows, net.a_off[-1] + spare), dtype),
                            np.zeros_like(net.w), np.zeros_like(net.b)), dtype)


def train_convnet_epoch(net, X, Y, mini_batch_size, eta, decay_term, masks, work):
    """One epoch: the n // m whole mini-batches of ``X`` (float, (n, n_0)) and ``Y`` (int64 labels) in order, a
    chunk of steps per compiled call; ``masks(steps)`` draws the dropout masks of that many steps."""
    train_convnet_steps(net, X, Y, mini_batch_size, 0, len(Y) // mini_batch_size, eta, decay_term, masks, work)


def train_convnet_steps(net, X, Y, mini_batch_size, first, last, eta, decay_term, masks, work):
    """Steps ``first`` .. ``last`` - 1 of an epoch (step k on examples k m .. (k + 1) m - 1), ``CHUNK_STEPS`` a
    compiled call."""
    if X.shape[1] != net.a_off[1] or len(X) < last * mini_batch_size or len(Y) < last * mini_batch_size:
        raise ValueError(f"train_convnet_steps: {X.shape} inputs and {len(Y)} labels for {last} steps of "
                         f"{mini_batch_size} examples of {net.a_off[1]} values")
    for start in range(first, last, CHUNK_STEPS):
        end = min(last, start + CHUNK_STEPS)
        convnet.convnet_steps(net, X, Y, masks(end - start), start, end, mini_batch_size, eta, decay_term, work)


def prepare_convnet(net, X, Y, mini_batch_size, masks, work):
    """Compile (or load from the cache) the steps and the evaluation pass for data like ``X``, ``Y``: no step runs."""
    convnet.convnet_steps(net, X, Y, masks(0), 0, 0, mini_batch_size, 1.0, 0.0, work)
    convnet_predictions(net, X[:0])


def convnet_dropout_masks(net, mini_batch_size, rng):
    """``masks(steps)``: 0/1 masks for the inputs of the layers with dropout, each entry kept with probability
    ``keep`` (``rng.random() < keep``), ``(steps, mini_batch_size, mask columns)`` in the network's dtype."""
    keep = np.concatenate([np.full(net.mask_off[l + 1] - net.mask_off[l], net.keep[l]) for l in range(len(net.kind))])

    def masks(steps):
        if keep.size == 0:
            return np.zeros((steps, mini_batch_size, 1), dtype=net.w.dtype)
        return (rng.random((steps, mini_batch_size, keep.size)) < keep).astype(net.w.dtype)

    return masks


def convnet_predictions(net, X):
    """The evaluation pass's predicted class for every row of ``X``."""
    if X.ndim != 2 or X.shape[1] != net.a_off[1]:
        raise ValueError(f"convnet_predictions: inputs of {net.a_off[1]} values expected, got {X.shape}")
    out = np.empty((len(X), int(net.dims[-1, 1])), dtype=net.w.dtype)
    convnet.convnet_outputs(net, X, out, convnet_work(net, EVALUATION_ROWS), np.zeros((1, 1, 1), dtype=net.w.dtype))
    return labels_of(out)
