"""An SGD run of a chapter-6 network on the kernels of ``convnet``: the network packed once, the dropout
masks drawn from NumPy a chunk of steps at a time, one compiled call per ``CHUNK_STEPS`` steps on the
thread count that pays (timed as it trains, as chapter 1's runs), batched evaluation."""

import time

import numpy as np

from . import convnet
from .bundles import checked
from .convnet import CONV, ConvNet, ConvWork
from .inputs import labels_of
from .driver import ThreadChoice, forced_threads
from .layout import aligned_zeros
from .simd import LANES, TILE_BLOCKS
from .threads import SYNC_SIZE, available_cpus, run_shares

CHUNK_STEPS = 200  # SGD steps per compiled call at most (and per draw of dropout masks)
EVALUATION_ROWS = 20  # inputs per pass through the layers in evaluation (100: 1.5x slower, their patches outgrow L2)


class ConvNetLayer:
    """One layer as the kernels need it: ``kind`` (``convnet.CONV`` ...), ``act`` (``convnet.RELU`` ...), ``dims``
    (conv: C, H, W, F, fh, fw, ph, pw; dense: n_in, n_out), ``keep`` = 1 - p_dropout, weights and biases."""

    def __init__(self, kind, act, dims, keep, w, b):
        self.kind, self.act, self.dims, self.keep, self.w, self.b = kind, act, list(dims), float(keep), w, b

    def sizes(self):
        """(input size, output size) per example: a dense layer's output padded to whole blocks (its ``pitch``)."""
        if self.kind == CONV:
            C, H, W, F, fh, fw, ph, pw = self.dims
            return C * H * W, F * ((H - fh + 1) // ph) * ((W - fw + 1) // pw)
        return self.dims[0], _whole_blocks(self.dims[1])

    def packed_weights(self, dtype):
        """The weights as the kernels hold them: a dense layer's rows padded with zeros to whole blocks."""
        w = np.asarray(self.w, dtype=dtype)
        if self.kind == CONV:
            return w.ravel()
        padded = np.zeros((self.dims[0], _whole_blocks(self.dims[1])), dtype=dtype)
        padded[:, : self.dims[1]] = w
        return padded.ravel()


def _whole_blocks(n):
    return -(-n // LANES) * LANES


def _offsets(counts):
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64))).astype(np.int64)


def pack_convnet(layers, dtype):
    """``ConvNet`` of the ``ConvNetLayer``s ``layers`` in ``dtype`` (a copy of their parameters). The weights start
    on a cache line, each layer's at a whole block from there (a convolution's followed by zeros), so that a
    dense layer's blocks of weights never straddle two lines."""
    sizes = [layer.sizes() for layer in layers]
    dims = np.zeros((len(layers), 8), dtype=np.int64)
    for l, layer in enumerate(layers):
        dims[l, : len(layer.dims)] = layer.dims
        if layer.kind != CONV:
            dims[l, 2] = _whole_blocks(layer.dims[1])
    weights = [layer.packed_weights(dtype) for layer in layers]
    w_off = _offsets([_whole_blocks(len(weights_l)) for weights_l in weights])
    w = aligned_zeros(w_off[-1], dtype)
    for l, weights_l in enumerate(weights):
        w[w_off[l] : w_off[l] + len(weights_l)] = weights_l
    b_off = _offsets([np.size(layer.b) for layer in layers])
    b = aligned_zeros(b_off[-1], dtype)
    b[:] = np.concatenate([np.asarray(layer.b, dtype=dtype).ravel() for layer in layers])
    return checked(ConvNet(
        np.array([layer.kind for layer in layers], dtype=np.int64), np.array([layer.act for layer in layers], dtype=np.int64),
        dims, np.array([layer.keep for layer in layers], dtype=np.float64), w, w_off, b, b_off,
        _offsets([sizes[0][0]] + [s[1] for s in sizes]), _offsets([s[1] for s in sizes]),
        _offsets([s[0] if layer.keep < 1 else 0 for s, layer in zip(sizes, layers)])))


def unpack_convnet(net, layers):
    """The parameters of ``net`` back into the ``ConvNetLayer``s' shapes: a list of ``(w, b)``."""
    unpacked = []
    for l, layer in enumerate(layers):
        w = net.w[net.w_off[l] : net.w_off[l + 1]]
        if layer.kind != CONV:
            w = w.reshape(layer.dims[0], -1)[:, : layer.dims[1]]
        else:
            w = w[: np.size(layer.w)]  # then zeros, to a whole block
        unpacked.append((w.reshape(np.shape(layer.w)).copy(), net.b[net.b_off[l] : net.b_off[l + 1]].reshape(np.shape(layer.b)).copy()))
    return unpacked


def convnet_work(net, rows, shares=1):
    """``ConvWork`` for ``rows`` examples at a time, on up to ``shares`` threads."""
    dtype, L = net.w.dtype, len(net.kind)
    F, K, windows, span = (np.zeros(L, np.int64) for _ in range(4))
    places = [np.zeros(0, np.int64)] * L
    for l in range(L):
        if net.kind[l] == CONV:
            C, H, W, F[l], fh, fw, ph, pw = net.dims[l]
            qh, qw = (H - fh + 1) // ph, (W - fw + 1) // pw
            K[l], windows[l] = C * fh * fw, ph * pw
            span[l] = _whole_blocks(rows * qh * qw)
            e, i, j = np.meshgrid(np.arange(rows), np.arange(qh), np.arange(qw), indexing="ij")
            places[l] = (e * net.a_off[-1] + i * ph * W + j * pw).ravel().astype(np.int64)
    width = windows * span
    tile = TILE_BLOCKS[dtype.itemsize]
    dense = [l for l in range(L) if net.kind[l] != CONV]
    neurons_in, neurons_out = (max([net.dims[l, d] for l in dense] + [1]) for d in (0, 2))  # n_in, pitch

    def zeros(*shape):  # on a cache line: a block that straddles two lines costs two loads (docs/chapter6.md)
        return aligned_zeros(int(np.prod(shape)), dtype).reshape(shape)

    return checked(ConvWork(
        zeros(rows, net.a_off[-1]), zeros(rows, max(net.z_off[-1], 1)), zeros(rows, net.a_off[-1]),
        zeros(max(np.sum(F * width), 1)), zeros(max(np.sum(K * width), 1)),
        zeros(max([K[l] * width[l] for l in range(1, L)] + [1])), zeros(neurons_out * _whole_blocks(rows)),
        zeros(neurons_in * _whole_blocks(rows)), zeros(shares, max(np.max(span), 1)), span, np.concatenate(places),
        _offsets([len(p) for p in places]), _offsets(F * width), _offsets(K * width), zeros(len(net.w)), zeros(len(net.b)),
        np.zeros((shares, tile), np.int64), np.zeros(SYNC_SIZE, np.int64),
        np.zeros(8 * shares, np.int64)), dtype)


class ConvNetRun:
    """SGD steps of the packed network ``net`` on mini-batches of ``mini_batch_size``, dropout masks from
    ``masks`` (``convnet_dropout_masks``), on one thread or on as many as there are CPUs, whichever is
    faster here and now (``driver.ThreadChoice``; ``threads``, or ``NUMBA_NUM_THREADS``, forces a count).
    Every count computes the same numbers."""

    def __init__(self, net, mini_batch_size, masks, threads=None):
        forced = threads if threads is not None else forced_threads()
        candidates = [forced] if forced is not None else [1, available_cpus()]
        self.net, self.mini_batch_size, self.masks = net, mini_batch_size, masks
        self.choice, self.work = ThreadChoice(candidates), convnet_work(net, mini_batch_size, max(candidates))

    def prepare(self, X, Y):
        """Compile (or load from the cache) the steps and the evaluation pass for data like ``X``, ``Y``: no step
        runs."""
        self._call(X, Y, 0, 0, 1.0, 0.0, 1)

    def steps(self, X, Y, first, last, eta, decay_term):
        """Steps ``first`` .. ``last`` - 1 of an epoch (step k on examples k m .. (k + 1) m - 1 of ``X`` (float,
        (n, n_0)) and ``Y`` (int64 labels)), ``decay_term`` = lmbda / num_training_batches."""
        m = self.mini_batch_size
        if X.shape[1] != self.net.a_off[1] or len(X) < last * m or len(Y) < last * m:
            raise ValueError(f"ConvNetRun.steps: {X.shape} inputs and {len(Y)} labels for {last} steps of "
                             f"{m} examples of {self.net.a_off[1]} values")
        done = first
        while done < last:
            threads, count = self.choice.plan(last - done)
            count = min(count, CHUNK_STEPS)
            start = time.perf_counter()
            self._call(X, Y, done, done + count, eta, decay_term, threads)
            self.choice.record(threads, count, time.perf_counter() - start)
            done += count

    @property
    def threads(self):
        """The thread count the steps run on now."""
        return self.choice.chosen

    def epoch(self, X, Y, eta, decay_term):
        """One epoch: the n // m whole mini-batches of ``X`` and ``Y`` in order."""
        self.steps(X, Y, 0, len(Y) // self.mini_batch_size, eta, decay_term)

    def _call(self, X, Y, first, last, eta, decay_term, threads):
        args = (self.net, X, Y, self.masks(last - first), first, last, self.mini_batch_size, eta, decay_term,
                np.zeros((0, 1), X.dtype), self.work)
        run_shares(convnet.convnet, args, threads, self.work.sync)


def convnet_dropout_masks(net, mini_batch_size, rng):
    """``masks(steps)``: 0/1 masks for the inputs of the layers with dropout, each entry kept with probability
    ``keep`` (``rng.random() < keep``), ``(steps, mini_batch_size, mask columns)`` in the network's dtype."""
    keep = np.concatenate([np.full(net.mask_off[l + 1] - net.mask_off[l], net.keep[l]) for l in range(len(net.kind))])

    def masks(steps):
        if keep.size == 0:
            return np.zeros((steps, mini_batch_size, 1), dtype=net.w.dtype)
        return (rng.random((steps, mini_batch_size, keep.size)) < keep).astype(net.w.dtype)

    return masks


def convnet_predictions(net, X, threads=1):
    """The evaluation pass's predicted class for every row of ``X``, on ``threads`` threads."""
    if X.ndim != 2 or X.shape[1] != net.a_off[1]:
        raise ValueError(f"convnet_predictions: inputs of {net.a_off[1]} values expected, got {X.shape}")
    out = np.empty((len(X), int(net.dims[-1, 1])), dtype=net.w.dtype)
    if len(X):
        work = convnet_work(net, EVALUATION_ROWS, threads)
        args = (net, X, np.zeros(0, np.int64), np.zeros((1, 1, 1), net.w.dtype), 0, 0, 0, 0.0, 0.0, out, work)
        run_shares(convnet.convnet, args, threads, work.sync)
    return labels_of(out)
