"""numba kernels of chapter 6's networks: convolution and max pooling, fully connected and softmax
layers, one SGD step per mini-batch, a chunk of mini-batches (or an evaluation) per call.

One SGD step on a mini-batch of m examples is the book's ``network3``, phase by phase (``convnet``,
the one entry), every layer on the whole mini-batch at once, each phase shared out among threads:

- forward: layer by layer, a_{l+1} = f(pool(conv(a_l, W_l)) + b_l) for a convolutional layer
  (Theano's ``conv2d``, a true convolution: the filter flipped; max pooling over whole windows),
  a_{l+1} = f((mask a_l) W_l + b_l) for a fully connected one (``mask``: dropout on the layer's
  input), and softmax((mask a_L) W + b) at the top;
- backward: dC/dz of the softmax is (a - onehot) / m, then layer by layer down, every tied maximum
  of a pooling window receiving its window's gradient, as Theano's;
- update: every parameter p -= eta (dC/dp + (lmbda / num_training_batches) p) (weights only).

Every multiply-add runs in one of two products of matrices held in registers a tile at a time
(``_product``: C = A B, or W -= eta (A B + decay W); ``_dots``: C = A B^T), the convolution
through its matrix of patches (``_patches``): with K = C fh fw, for the output positions (i, j)
that pooling keeps,

    y (F x m..) = W (F x K) cols (K x m..)      cols[(c, u, v), (e, i, j)] = x_e[c, i + fh-1-u, j + fw-1-v]
    dC/dW = dy cols^T,  dC/dcols = W^T dy,      dC/dx_e gathered back from dC/dcols

and a dense layer as z (m x n_out) = (mask a) (m x n_in) W (n_in x n_out), dC/da = dz W^T, and its
weights updated in the same pass that sums dC/dW = (mask a)^T dz.

Layout (built by ``network3``): a network's parameters are ``ConvNet``: per layer its kind, its
activation, its dimensions (``dims``: conv C, H, W, F, fh, fw, ph, pw; a dense layer n_in, n_out
and its rows' pitch, n_out rounded up to whole blocks), its keep probability 1 - p_dropout, its
weights (conv (F, C, fh, fw); dense (n_in, pitch), the columns past n_out zero) and biases at offsets
in two flat buffers (each layer's weights at a whole block, every buffer on a cache line:
``convnet_driver``). ``ConvWork`` holds one row per example of every layer's values: ``a`` the
activations (the input first, each layer's output after it, at ``a_off``), ``z`` the
pre-activations (after pooling and bias, at ``z_off``), ``g`` the gradients with respect to ``a``;
and per convolution, for the whole mini-batch, its patches and its output before pooling (a column
per kept output position of each example, grouped by place in the pooling window), which the
backward pass overwrites with dC/dy.

The kernels check nothing: ``fastnet.network3`` validates at the public boundary. They compute in
the network's dtype, as the book's Theano code does in float32.

Compile time is the reader's time, and numba optimises a kernel's code again in every kernel that
calls it. The passes of a step (``_conv_forward``, ``_dense_backward``, ...), each called from one
place, are therefore inlined into ``convnet`` by numba (``inline="always"``): a level fewer to
optimise. (Inlined, a pass takes ``convnet``'s compile options, not its own.)
"""

from typing import NamedTuple

import numpy as np

from .bundles import FLOAT, Array, declare
from .jit import kernel
from .simd import (LANES, TILE_BLOCKS, add, at, fma, larger, load, load_each, mul, put, repeat, splat, spread, store,
                   store_each, store_totals, sub, vector_registers, where_at_least, where_equal, widened)
from .simd import total as sum_block
from .threads import barrier

CONV, DENSE, SOFTMAX = 0, 1, 2  # layer kinds
LINEAR, RELU, SIGMOID, TANH = 0, 1, 2, 3  # activations
SIGMOID_LIMITS = {4: (-88.0, 15.0), 8: (-709.0, 19.0)}  # by itemsize: Theano's sigmoid is 0 and 1 beyond these
LOW32, HIGH32 = SIGMOID_LIMITS[4]
LOW64, HIGH64 = SIGMOID_LIMITS[8]
TILE_FLOAT64, TILE_FLOAT32 = TILE_BLOCKS[8], TILE_BLOCKS[4]  # as constants numba can read



def _fits_two_tiles(itemsize):
    """Whether two tiles' accumulators leave room in the vector registers for the operands: 20 of AVX-512's
    32 (both dtypes) or 16 of NEON's 32 in float32; not AVX2's 16, nor NEON's float64 (32)."""
    vector_bytes, registers = vector_registers()
    return 2 * TILE_BLOCKS[itemsize] * max(1, LANES * itemsize // vector_bytes) <= registers - 8


PAIRED64, PAIRED32 = _fits_two_tiles(8), _fits_two_tiles(4)  # products take two blocks (or rows) of B at once
# A stride of 1 and an offset of 0 typed int64: a literal 1 or 0 in a call would make numba compile the
# products once more for each place it appears (compile time is the reader's time).
UNIT, ORIGIN = np.int64(1), np.int64(0)
FALSE, TRUE = np.bool_(False), np.bool_(True)  # flags typed bool, for the same reason
PRODUCT_COLUMNS = 8 * LANES  # B's rows of a band of this many columns: 500 rows of a convolution's patches, 256 KB
STEP_BYTES = 128 * 1024  # a dense layer's weights pass dC/da and their step this much at a time (_dense_backward)
DOTS_BYTES = 32 * 1024  # a tile of A's rows in ``_dots`` is taken in pieces of at most this: an L1 cache (48 KB on Zen 5)


@declare(kind=Array("int64", 1), act=Array("int64", 1), dims=Array("int64", 2), keep=Array("float64", 1),
         w=Array(FLOAT, 1), w_off=Array("int64", 1), b=Array(FLOAT, 1), b_off=Array("int64", 1),
         a_off=Array("int64", 1), z_off=Array("int64", 1), mask_off=Array("int64", 1))
class ConvNet(NamedTuple):
    """A chapter-6 network in the kernels' layout: L layers' kinds, activations, dimensions ``(L, 8)``, keep
    probabilities, weights and biases (flat, from ``w_off[l]`` and ``b_off[l]``, L+1 offsets each), and
    where each layer's values lie in an example's rows of the work buffers (``a_off``: L+2 offsets, the
    input first; ``z_off``, ``mask_off``: L+1 offsets each)."""

    kind: np.ndarray
    act: np.ndarray
    dims: np.ndarray
    keep: np.ndarray
    w: np.ndarray
    w_off: np.ndarray
    b: np.ndarray
    b_off: np.ndarray
    a_off: np.ndarray
    z_off: np.ndarray
    mask_off: np.ndarray


@declare(a=Array(FLOAT, 2), z=Array(FLOAT, 2), g=Array(FLOAT, 2), y=Array(FLOAT, 1), cols=Array(FLOAT, 1),
         dcols=Array(FLOAT, 1), dz_t=Array(FLOAT, 1), da_t=Array(FLOAT, 1), pool=Array(FLOAT, 2),
         span=Array("int64", 1), places=Array("int64", 1),
         places_off=Array("int64", 1), y_off=Array("int64", 1), cols_off=Array("int64", 1), dw=Array(FLOAT, 1),
         db=Array(FLOAT, 1), starts=Array("int64", 2), sync=Array("int64", 1), turns=Array("int64", 1))
class ConvWork(NamedTuple):
    """Work buffers for up to ``a.shape[0]`` examples at a time: per example the activations, pre-activations and
    gradients; per convolution l the outputs before pooling ``y`` (F rows of ph pw ``span[l]``, from
    ``y_off[l]``) and the patches ``cols`` (K rows as long, from ``cols_off[l]``; ``places`` says where
    their columns read an input map, ``_patches``); ``dcols``, room for one layer's dC/dcols; ``dz_t`` and
    ``da_t``, room for a dense layer's dC/dz and dC/da transposed (a row per neuron, a column per example,
    whole blocks: ``_dense_backward``); the step's dC/dW of the convolutions and dC/db; per share (thread)
    of a step, room for one filter's pooled values, a tile's row starts, and its count of meetings
    (``turns[8 t]``); ``sync`` for the meetings (``threads.barrier``)."""

    a: np.ndarray
    z: np.ndarray
    g: np.ndarray
    y: np.ndarray
    cols: np.ndarray
    dcols: np.ndarray
    dz_t: np.ndarray
    da_t: np.ndarray
    pool: np.ndarray
    span: np.ndarray
    places: np.ndarray
    places_off: np.ndarray
    y_off: np.ndarray
    cols_off: np.ndarray
    dw: np.ndarray
    db: np.ndarray
    starts: np.ndarray
    sync: np.ndarray
    turns: np.ndarray


@kernel(inner=True)
def _activation(code, z, low, high):
    """f(z) for the activation ``code`` (in float64), Theano's sigmoid 0 below ``low`` and 1 above ``high``."""
    if code == RELU:
        return max(0.0, z)
    if code == SIGMOID:
        if z < low:
            return 0.0
        if z > high:
            return 1.0
        return 1.0 / (1.0 + np.exp(-z))
    if code == TANH:
        return np.tanh(z)
    return z


@kernel(inner=True)
def _slope(code, z, low, high):
    """f'(z), as Theano differentiates f: ReLU's is 1 at 0, the sigmoid's y (1 - y) of its limited y."""
    if code == RELU:
        return 1.0 if z >= 0 else 0.0
    if code == SIGMOID:
        s = _activation(code, z, low, high)
        return s * (1.0 - s)
    if code == TANH:
        t = np.tanh(z)
        return 1.0 - t * t
    return 1.0


@kernel(inner=True)
def _activations(code, z, zi, a, ai, n, low, high):
    """a[ai + i] = f(z[zi + i]) for i < n (``_activation``): ReLU and linear a block at a time, the others, and what
    is left after whole blocks, one value at a time in float64."""
    whole = n - n % LANES if code == RELU or code == LINEAR else 0
    zero = splat(z.dtype.type(0))
    for i in range(0, whole, LANES):
        block = load(z, zi + i)
        store(a, ai + i, larger(block, zero) if code == RELU else block)
    for i in range(whole, n):
        put(a, ai + i, _activation(code, np.float64(at(z, zi + i)), low, high))


@kernel(inner=True)
def _times_slopes(code, g, gi, z, zi, out, oi, n, low, high):
    """out[oi + i] = g[gi + i] f'(z[zi + i]) for i < n (``_slope``): ReLU (g where z >= 0, else 0) and linear a
    block at a time, the others, and what is left after whole blocks, one value at a time in float64."""
    whole = n - n % LANES if code == RELU or code == LINEAR else 0
    zero = splat(z.dtype.type(0))
    for i in range(0, whole, LANES):
        block = load(g, gi + i)
        store(out, oi + i, where_at_least(load(z, zi + i), zero, block) if code == RELU else block)
    for i in range(whole, n):
        put(out, oi + i, at(g, gi + i) * _slope(code, np.float64(at(z, zi + i)), low, high))


@kernel(inner=True)
def _copy(x, xi, y, yi, n):
    """y[yi : yi + n] = x[xi : xi + n], a block at a time."""
    whole = n - n % LANES
    for i in range(0, whole, LANES):
        store(y, yi + i, load(x, xi + i))
    for i in range(whole, n):
        put(y, yi + i, at(x, xi + i))


@kernel(inner=True)
def _zero(x, xi, n):
    """x[xi : xi + n] = 0."""
    for i in range(xi, xi + n):
        put(x, i, 0.0)


@kernel(inner=True)
def _times(x, xi, y, yi, n):
    """x[xi : xi + n] *= y[yi : yi + n] (a layer's values by their dropout mask)."""
    for i in range(n):
        put(x, xi + i, at(x, xi + i) * at(y, yi + i))


@kernel(inner=True)
def _sum64(x, n):
    """x[0] + ... + x[n - 1] in float64: a block at a time in 16 partial sums (one chain of additions would wait
    on each), added up by ``total``'s tree, then what is left after whole blocks."""
    whole = n - n % LANES
    sums = splat(0.0)
    for i in range(0, whole, LANES):
        sums = add(sums, widened(load(x, i)))
    s = sum_block(sums)
    for i in range(whole, n):
        s += at(x, i)
    return s


@kernel(inner=True)
def _limits(x):
    """Theano's sigmoid limits for ``x``'s dtype (``SIGMOID_LIMITS``)."""
    return (LOW32, HIGH32) if x.itemsize == 4 else (LOW64, HIGH64)


@kernel(inner=True)
def _tile(x):
    """Rows per tile (E) in ``x``'s dtype: ``TILE_BLOCKS``."""
    return TILE_FLOAT64 if x.itemsize == 8 else TILE_FLOAT32


@kernel(inner=True)
def _paired(x):
    """Whether products in ``x``'s dtype take two blocks of B at once (``PAIRED64``, ``PAIRED32``)."""
    return PAIRED64 if x.itemsize == 8 else PAIRED32


@kernel(inner=True)
def _part(n, share):
    """Share (t, parts)'s part [first, last) of n things."""
    t, parts = share
    return n * t // parts, n * (t + 1) // parts


@kernel(inner=True)
def _whole(n):
    """n rounded up to whole blocks (an int64)."""
    return np.int64(-(-n // LANES) * LANES)


@kernel(inner=True)
def _blocks_part(n, share):
    """Share (t, parts)'s part of n columns (whole blocks), in whole blocks."""
    first, last = _part(n // LANES, share)
    return first * LANES, last * LANES


@kernel(inner=True)
def _meet(work, share):
    """Wait until every share of the step has come this far (nothing to wait for with one share); False if the
    call was aborted (a thread failed to start: ``threads.run_shares``), when the shares must stop."""
    t, parts = share
    if parts == 1:
        return True
    work.turns[8 * t] += 1
    return barrier(work.sync, parts, work.turns[8 * t])


@kernel(inner=True)
def _store_tile(C, at_, ldc, acc, descend, rate, shrink):
    """C's E blocks at ``at_``, ``at_ + ldc``, ... <- acc, or, to ``descend``, C -= rate (acc + shrink C)."""
    if descend:
        old = load_each(C, at_, ldc)
        acc = sub(old, mul(rate, add(acc, mul(shrink, old))))
    store_each(C, at_, ldc, acc)


@kernel(inner=True)
def _product(A, a0, ars, acs, B, b0, ldb, C, c0, ldc, M, first, last, K, descend, eta, decay, starts):
    """For i < M and the columns first <= j < last (whole blocks): s_ij = sum over k < K of A[a0 + i ars + k acs] B[b0 + k ldb + j];
    then C[c0 + i ldc + j] = s_ij, or, to ``descend``, C -= eta (s_ij + decay C).

    E rows of C at a time, one block of columns (two where registers allow, ``_paired``): their sums
    stay in registers while k runs, each block of B loaded once for E rows, a band of
    ``PRODUCT_COLUMNS`` columns for every tile in turn (then the rows left over, one at a time). Every
    column's sum takes its k in order, the same whichever way it is grouped: equal columns of B give
    bitwise-equal sums.
    """
    size, zero = _tile(C), splat(C.dtype.type(0))
    zeros, rate, shrink = repeat(zero), repeat(splat(C.dtype.type(eta))), repeat(splat(C.dtype.type(decay)))
    whole = M - M % size
    for columns in range(first, last, PRODUCT_COLUMNS):  # a band of B's columns stays in the L2 cache for every tile
        for i in range(0, whole, size):
            for q in range(size):
                starts[q] = a0 + (i + q) * ars
            j, end = columns, min(last, columns + PRODUCT_COLUMNS)
            while j < end:
                if _paired(C) and j + LANES < end:  # two blocks of columns: each A value loaded once for both
                    acc, more = zeros, zeros
                    for k in range(K):
                        a, row = spread(A, starts, k * acs), b0 + k * ldb + j
                        acc = fma(a, repeat(load(B, row)), acc)
                        more = fma(a, repeat(load(B, row + LANES)), more)
                    _store_tile(C, c0 + i * ldc + j, ldc, acc, descend, rate, shrink)
                    _store_tile(C, c0 + i * ldc + j + LANES, ldc, more, descend, rate, shrink)
                    j += 2 * LANES
                else:
                    acc = zeros
                    for k in range(K):
                        acc = fma(spread(A, starts, k * acs), repeat(load(B, b0 + k * ldb + j)), acc)
                    _store_tile(C, c0 + i * ldc + j, ldc, acc, descend, rate, shrink)
                    j += LANES
    for i in range(whole, M):  # the rows left over, one at a time
        for j in range(first, last, LANES):
            one = zero
            for k in range(K):
                one = fma(splat(A[a0 + i * ars + k * acs]), load(B, b0 + k * ldb + j), one)
            at_ = c0 + i * ldc + j
            if descend:
                old = load(C, at_)
                one = sub(old, mul(splat(C.dtype.type(eta)), add(one, mul(splat(C.dtype.type(decay)), old))))
            store(C, at_, one)


@kernel(inner=True)
def _dots(A, a0, lda, B, b0, ldb, C, c0, ldc, M, first, last, P):
    """C[c0 + i ldc + j] = sum over p < P (whole blocks) of A[a0 + i lda + p] B[b0 + j ldb + p], for i < M and
    first <= j < last.

    E rows of A at a time against one row of B (two where registers allow, ``_paired``): their partial
    sums stay in registers as blocks, which are added up at the end (``store_totals``, ``total``'s tree).
    Where E rows of A would not fit ``DOTS_BYTES``, the rows are taken in equal pieces of whole blocks, every
    tile against every row of B piece by piece, so that a tile's piece stays in the L1 cache while the rows
    of B pass (one at a time, the tile came from L2 or beyond for each); C sums the pieces' sums in order.
    """
    size, zero = _tile(C), splat(C.dtype.type(0))
    zeros = repeat(zero)
    whole = M - M % size
    parts = -(-size * P * C.itemsize // DOTS_BYTES)  # pieces of the rows, a tile's piece of A within the L1 cache
    for piece in range(parts):
        p0, p1 = _blocks_part(P, (piece, parts))
        later = piece > 0  # the pieces' sums added up in C
        for i in range(0, whole, size):
            j = first
            while j < last:
                if _paired(C) and j + 1 < last:  # two rows of B: each block of A loaded once for both
                    acc, more = zeros, zeros
                    for p in range(p0, p1, LANES):
                        a = load_each(A, a0 + i * lda + p, lda)
                        acc = fma(a, repeat(load(B, b0 + j * ldb + p)), acc)
                        more = fma(a, repeat(load(B, b0 + (j + 1) * ldb + p)), more)
                    store_totals(C, c0 + i * ldc + j, ldc, acc, later)
                    store_totals(C, c0 + i * ldc + j + 1, ldc, more, later)
                    j += 2
                else:
                    acc = zeros
                    for p in range(p0, p1, LANES):
                        acc = fma(load_each(A, a0 + i * lda + p, lda), repeat(load(B, b0 + j * ldb + p)), acc)
                    store_totals(C, c0 + i * ldc + j, ldc, acc, later)
                    j += 1
    for i in range(whole, M):
        for j in range(first, last):
            one = zero
            for p in range(0, P, LANES):
                one = fma(load(A, a0 + i * lda + p), load(B, b0 + j * ldb + p), one)
            put(C, c0 + i * ldc + j, sum_block(one))


@kernel(inner=True)
def _conv_shape(net, l):
    """Layer l's C, H, W, F, fh, fw, ph, pw, its pooled maps' rows and columns (qh, qw), the length K = C fh fw
    of its filters and the size Q = qh qw of a pooled map."""
    C, H, W, F, fh, fw, ph, pw = (net.dims[l, 0], net.dims[l, 1], net.dims[l, 2], net.dims[l, 3], net.dims[l, 4],
                                  net.dims[l, 5], net.dims[l, 6], net.dims[l, 7])
    qh, qw = (H - fh + 1) // ph, (W - fw + 1) // pw
    return C, H, W, F, fh, fw, ph, pw, qh, qw, C * fh * fw, qh * qw


@kernel(inner=True)
def _patches(net, l, work, m, gather, share):
    """Layer l's patches for the m examples: cols[(c, u, v), (s, e, i, j)] = x_e[c, i ph + s_u + fh-1-u,
    j pw + s_v + fw-1-v], the filter flipped as in Theano's ``conv2d``; or, to ``gather`` them back, dC/dx_e at
    those places = the sum of dC/dcols there (dC/dx_e zero first). The share's part of the rows (c, u, v),
    to gather: of the maps c.

    A column is an output position (i ph + s_u, j pw + s_v) of a window s = (s_u, s_v) of the pooling: the
    columns of one s form a run of ``span[l]`` (whole blocks: the m examples' pooled maps, then zeros), so
    that the pooling takes the maximum of ph pw runs block by block; positions that pooling drops have no
    column. Column t of a run reads example e's map at ``places[t]`` = e (row of ``a``) + i ph W + j pw.
    """
    C, H, W, F, fh, fw, ph, pw, qh, qw, K, Q = _conv_shape(net, l)
    S, xo, places = work.span[l], net.a_off[l], work.places[work.places_off[l] : work.places_off[l + 1]]
    N = ph * pw * S
    x, g = work.a.reshape(work.a.size), work.g.reshape(work.g.size)
    first, last = _part(C, share) if gather else _part(K, share)
    if gather:
        for e in range(m):
            _zero(work.g[e], xo + first * H * W, (last - first) * H * W)
        first, last = first * fh * fw, last * fh * fw
    for row in range(first, last):
        c, u, v = row // (fh * fw), row // fw % fh, row % fw
        for su in range(ph):
            for sv in range(pw):
                column = row * N + (su * pw + sv) * S
                source = xo + (c * H + su + fh - 1 - u) * W + sv + fw - 1 - v
                if gather:
                    for t in range(m * Q):
                        here = source + at(places, t)
                        put(g, here, at(g, here) + at(work.dcols, column + t))
                else:
                    target = work.cols_off[l] + column
                    for t in range(m * Q):
                        put(work.cols, target + t, at(x, source + at(places, t)))


@kernel(inner=True)
def _window_maximum(y, first, S, windows):
    """The block-wise maximum of the ``windows`` runs of y that start at ``first``, ``S`` apart: each lane the
    maximum of one pooling window."""
    top = load(y, first)
    for s in range(1, windows):
        top = larger(top, load(y, first + s * S))
    return top


@kernel(inner=True, inline="always")
def _conv_forward(net, l, work, m, share):
    """y = W cols (every filter's outputs for the m examples); z = the maximum of each pooling window plus the
    filter's bias, a_{l+1} = f(z). Each phase in shares: rows of the patches, columns of y, filters."""
    C, H, W, F, fh, fw, ph, pw, qh, qw, K, Q = _conv_shape(net, l)
    S, yo, zo, ao, bo = work.span[l], work.y_off[l], net.z_off[l], net.a_off[l + 1], net.b_off[l]
    N = ph * pw * S
    _patches(net, l, work, m, FALSE, share)
    _meet(work, share)
    first, last = _blocks_part(N, share)
    _product(net.w, net.w_off[l], K, UNIT, work.cols, work.cols_off[l], N, work.y, yo, N, F, first, last, K, FALSE, 0.0,
             0.0, work.starts[share[0]])
    _meet(work, share)
    low, high = _limits(work.z)
    pool, z, a = work.pool[share[0]], work.z.reshape(work.z.size), work.a.reshape(work.a.size)  # flat: no row views
    first, last = _part(F, share)
    for f in range(first, last):
        bias = splat(net.b[bo + f])
        for p in range(0, S, LANES):
            store(pool, p, add(_window_maximum(work.y, yo + f * N + p, S, ph * pw), bias))
        for e in range(m):
            zi = e * work.z.shape[1] + zo + f * Q
            _copy(pool, e * Q, z, zi, Q)
            _activations(net.act[l], z, zi, a, e * work.a.shape[1] + ao + f * Q, Q, low, high)


@kernel(inner=True, inline="always")
def _dense_forward(net, l, work, m, masks, s, share):
    """z = (mask a_l) W_l + b_l in training (the masks of step s), (1 - p) (a_l W_l) + b_l in evaluation (s < 0);
    a_{l+1} = f(z) (softmax: ``_softmax``). In training the mask multiplies a_l where it lies, for the
    backward pass to reuse."""
    training = s >= 0
    n_in, n_out, pitch = net.dims[l, 0], net.dims[l, 1], net.dims[l, 2]
    xo, zo, bo, mo = net.a_off[l], net.z_off[l], net.b_off[l], net.mask_off[l]
    e0, e1 = _part(m, share)
    if training and net.keep[l] < 1:
        for e in range(e0, e1):
            _times(work.a[e], xo, masks[s, e], mo, n_in)
        _meet(work, share)
    a, z = work.a.reshape(work.a.size), work.z.reshape(work.z.size)
    first, last = _blocks_part(pitch, share)
    _product(a, xo, work.a.shape[1], UNIT, net.w, net.w_off[l], pitch, z, zo, work.z.shape[1], m, first, last, n_in,
             FALSE, 0.0, 0.0, work.starts[share[0]])
    _meet(work, share)
    keep, (low, high) = work.z.dtype.type(net.keep[l]), _limits(work.z)
    for e in range(e0, e1):
        row = work.z[e]
        for n in range(n_out):
            product = at(row, zo + n) if training or net.keep[l] == 1 else keep * at(row, zo + n)  # rounded
            put(row, zo + n, product + at(net.b, bo + n))
        if net.kind[l] == DENSE:
            _activations(net.act[l], row, zo, work.a[e], net.a_off[l + 1], n_out, low, high)


@kernel(inner=True, inline="always")
def _softmax(net, l, work, m, share):
    """a_{l+1} = softmax(z), exp(z - max z) / sum, as Theano's, for the share's part of the m examples."""
    n_out, zo, ao = net.dims[l, 1], net.z_off[l], net.a_off[l + 1]
    first, last = _part(m, share)
    for e in range(first, last):
        z, a = work.z[e], work.a[e]
        top = z[zo]
        for n in range(1, n_out):
            top = max(top, z[zo + n])
        total = 0.0
        for n in range(n_out):
            a[ao + n] = np.exp(z[zo + n] - top)
            total += a[ao + n]
        for n in range(n_out):
            a[ao + n] /= total


@kernel(inner=True, inline="always")
def _dense_backward(net, l, work, m, masks, s, eta, decay, share):
    """From dC/da_{l+1} (softmax: dC/dz) in ``work.g``: dC/db_l, dC/da_l (unless l is the first), and W_l -= eta
    (dC/dW_l + decay W_l), dC/dW_l = (mask a_l)^T dz summed in the same pass.

    dC/da_l = dz W_l^T: where the m rows of dz fit one tile, E rows of dz against each row of W_l
    (``_dots``, reading W_l once); where they do not (float64 on AVX-512, AVX2), transposed, (dC/da_l)^T
    = W_l dz^T, a product that loads each value of W_l once for a tile of its rows whatever m
    (``_dots`` would read W_l once per tile of dz); dz^T and the result lie in ``dz_t`` and ``da_t``,
    a row per neuron. Row k of W_l gives column k of dC/da_l, then takes its step: each share takes its
    rows of W_l ``STEP_BYTES`` at a time through both, so that W_l passes through the caches once for the
    two (it is megabytes in the 1,000-wide layers, read from L3 or memory)."""
    n_in, n_out, pitch = net.dims[l, 0], net.dims[l, 1], net.dims[l, 2]
    xo, zo, go, bo, mo = net.a_off[l], net.z_off[l], net.a_off[l + 1], net.b_off[l], net.mask_off[l]
    low, high = _limits(work.z)
    ld = _whole(work.a.shape[0])  # a row of dz_t and da_t: room for every example, whole blocks
    size = _tile(work.g)
    transposed = m > size
    first, last = _part(pitch, share)
    used = max(0, min(last, n_out) - first)  # the share's neurons; the rest of its part is padding
    for e in range(m):
        row = work.g[e]
        if net.kind[l] == DENSE:
            _times_slopes(net.act[l], row, go + first, work.z[e], zo + first, row, go + first, used, low, high)
        _zero(row, go + first + used, last - first - used)
        for n in range(first, first + used):
            put(work.db, bo + n, at(work.db, bo + n) + at(row, go + n))
            if transposed:
                put(work.dz_t, n * ld + e, at(row, go + n))
    _meet(work, share)
    a, g = work.a.reshape(work.a.size), work.g.reshape(work.g.size)
    ga, gg, t, wo = work.a.shape[1], work.g.shape[1], share[0], net.w_off[l]
    rows = max(size, STEP_BYTES // (pitch * work.g.itemsize) // size * size)  # rows of W_l at a time, whole tiles
    first, last = _part(n_in, share)
    for k0 in range(first, last, rows):
        k1 = min(last, k0 + rows)
        if l > 0 and transposed:  # dC/da_l[:, k] for the rows k of W_l, from them as they are
            _product(net.w, wo + k0 * pitch, pitch, UNIT, work.dz_t, ORIGIN, ld, work.da_t, k0 * ld, ld, k1 - k0, ORIGIN,
                     _whole(m), n_out, FALSE, 0.0, 0.0, work.starts[t])
        elif l > 0:
            _dots(g, go, gg, net.w, wo, pitch, g, xo, gg, m, k0, k1, pitch)
        _product(a, xo + k0, UNIT, ga, g, go, gg, net.w, wo + k0 * pitch, pitch, k1 - k0, ORIGIN, pitch, m, TRUE,
                 np.float64(eta), np.float64(decay), work.starts[t])  # then their step
    if l > 0 and transposed:
        for e in range(m):
            row = work.g[e]
            for k in range(first, last):
                put(row, xo + k, at(work.da_t, k * ld + e))
    if l > 0 and net.keep[l] < 1:
        for e in range(m):
            _times(work.g[e], xo + first, masks[s, e], mo + first, last - first)


@kernel(inner=True, inline="always")
def _conv_backward(net, l, work, m, share):
    """From dC/da_{l+1} in ``work.g``: through the activation, the pooling (every tied maximum of a window takes
    the window's gradient: dC/dy replaces y), the bias and the convolution: dC/dW_l, dC/db_l, and dC/da_l
    (unless l is the first)."""
    C, H, W, F, fh, fw, ph, pw, qh, qw, K, Q = _conv_shape(net, l)
    S, yo, co, zo, go, bo = work.span[l], work.y_off[l], work.cols_off[l], net.z_off[l], net.a_off[l + 1], net.b_off[l]
    N = ph * pw * S
    low, high = _limits(work.z)
    t = share[0]
    pool = work.pool[t]
    g, z = work.g.reshape(work.g.size), work.z.reshape(work.z.size)  # flat: no row view made for each call
    first, last = _part(F, share)
    for f in range(first, last):
        for e in range(m):
            _times_slopes(net.act[l], g, e * work.g.shape[1] + go + f * Q, z, e * work.z.shape[1] + zo + f * Q, pool,
                          e * Q, Q, low, high)
        work.db[bo + f] = _sum64(pool, m * Q)  # dC/db, summed in float64 as Theano sums float32
        _zero(pool, m * Q, S - m * Q)
        for p in range(0, S, LANES):  # the window's gradient at each of its maxima
            top = _window_maximum(work.y, yo + f * N + p, S, ph * pw)
            dz = load(pool, p)
            for s in range(ph * pw):
                at_ = yo + f * N + s * S + p
                store(work.y, at_, where_equal(load(work.y, at_), top, dz))
    _meet(work, share)
    first, last = _part(K, share)
    _dots(work.y, yo, N, work.cols, co, N, work.dw, net.w_off[l], K, F, first, last, N)
    if l > 0:
        first, last = _blocks_part(N, share)
        _product(net.w, net.w_off[l], UNIT, K, work.y, yo, N, work.dcols, ORIGIN, N, K, first, last, F, FALSE, 0.0, 0.0,
                 work.starts[t])
        _meet(work, share)
        _patches(net, l, work, m, TRUE, share)


@kernel(inner=True, inline="always")
def _output_gradient(net, work, Y, start, m, share):
    """dC/dz of the softmax, (a - onehot) / m, for the m examples (labels ``Y[start : start + m]``); dC/db zero."""
    L = len(net.kind)
    top, n_out = net.a_off[L], net.dims[L - 1, 1]
    first, last = _part(m, share)
    for e in range(first, last):
        a, g = work.a[e], work.g[e]
        for n in range(n_out):
            put(g, top + n, (at(a, top + n) - (1.0 if Y[start + e] == n else 0.0)) / m)
    first, last = _part(len(work.db), share)
    _zero(work.db, first, last - first)


@kernel(inner=True, inline="always")
def _update(net, work, eta, decay, share):
    """p -= eta (dC/dp + decay p) for the convolutions' weights, p -= eta dC/dp for every bias (the dense layers'
    weights took theirs in ``_dense_backward``)."""
    for l in range(len(net.kind)):
        if net.kind[l] == CONV:
            first, last = _part(net.w_off[l + 1] - net.w_off[l], share)
            for i in range(net.w_off[l] + first, net.w_off[l] + last):
                put(net.w, i, at(net.w, i) - eta * (at(work.dw, i) + decay * at(net.w, i)))
    first, last = _part(len(net.b), share)
    for i in range(first, last):
        put(net.b, i, at(net.b, i) - eta * at(work.db, i))


@kernel(nogil=True)
def convnet(net, X, Y, masks, first, last, m, eta, decay_term, out, work, t, parts):
    """Chapter 6's one compiled entry. With ``out`` empty: SGD steps first .. last-1, step k on the examples
    k m .. (k + 1) m - 1 of ``X`` and ``Y`` (the book never shuffles), with the dropout masks
    ``masks[k - first]``, ``decay_term`` = lmbda / num_training_batches. Else: row i of ``out`` <- the
    evaluation pass's output (softmax, dropout as (1 - p) scaling) for row i of ``X``, ``work.a.shape[0]``
    rows at a time (``Y`` and ``masks`` unread).

    Share t of ``parts`` (``threads.run_shares``): every phase of a step is divided among the shares, which
    meet between phases; each number is computed by one share, in the same order whatever ``parts``."""
    share, rate, decay = (t, parts), net.w.dtype.type(eta), net.w.dtype.type(decay_term)
    work.turns[8 * t] = 0  # meetings counted from this call's first (``run_shares`` resets ``sync``)
    evaluating, L = len(out) > 0, len(net.kind)
    chunk = work.a.shape[0] if evaluating else m
    steps = -(-len(out) // chunk) if evaluating else last - first
    for step in range(steps):
        start = step * chunk if evaluating else (first + step) * m
        rows = min(chunk, len(out) - start) if evaluating else m
        s = step - steps if evaluating else step  # the step's dropout masks; s < 0: evaluation, no dropout
        e0, e1 = _part(rows, share)
        for e in range(e0, e1):
            _copy(X[start + e], ORIGIN, work.a[e], ORIGIN, X.shape[1])
        if not _meet(work, share):
            return
        for l in range(L):  # forward
            if net.kind[l] == CONV:
                _conv_forward(net, l, work, rows, share)
            else:
                _dense_forward(net, l, work, rows, masks, s, share)
                if net.kind[l] == SOFTMAX:
                    _softmax(net, l, work, rows, share)
            if not _meet(work, share):
                return
        if evaluating:
            for e in range(e0, e1):
                for n in range(out.shape[1]):
                    out[start + e, n] = work.a[e, net.a_off[L] + n]
            continue
        _output_gradient(net, work, Y, start, m, share)  # backward: the gradients summed over the mini-batch
        if not _meet(work, share):
            return
        for l in range(L - 1, -1, -1):  # (a dense layer's weights take their step on the way)
            if net.kind[l] == CONV:
                _conv_backward(net, l, work, m, share)
            else:
                _dense_backward(net, l, work, m, masks, s, rate, decay, share)
            if not _meet(work, share):
                return
        _update(net, work, rate, decay, share)  # update
        _meet(work, share)
