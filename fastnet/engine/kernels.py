"""numba kernels of the network: the forward pass, backprop, the SGD step, an epoch's steps.

One SGD step on a mini-batch of m examples is the book's, phase by phase (``train_steps``):

- forward: a_{l+1} = sigma(W_l a_l + b_l) for every example, layer by layer (``_forward_layer``);
- backward: delta_L from the cost, then delta_l = (W_l^T delta_{l+1}) sigma'(z_l) (``_backward``);
- update: W_l <- decay W_l - (eta/m) sum_x delta_{l+1} a_l^T, b_l -= (eta/m) sum_x delta_{l+1}
  (``_update``; decay = 1 - eta lmbda / n is chapter 3's weight decay, 1 in chapter 1).

Layout (built by ``layout``). A network with layer sizes n_0, ..., n_L keeps its
parameters (``Params``) in two flat buffers:

- ``wt``: the transposed weight matrices W_l^T, ``n_l`` rows of ``widths[l+1]`` values in C order,
  the rows ``pitches[l]`` apart (the width, or one cache line more), one matrix after another from
  ``w_off[l]``. Row k of W_l^T holds the weights leaving neuron k of layer l, so a forward pass
  adds whole contiguous rows, and an input pixel that is zero adds nothing at all. Each matrix is
  stored as ``scale[l]`` times ``wt``'s values, so that weight decay multiplies one number per step
  (``_update`` folds the scale back into the matrix before it drifts far from 1).
- ``b``: the bias vectors, ``widths[l+1]`` values each, from ``b_off[l]``.

``widths`` pads each layer to whole SIMD blocks (``simd``); padded weights and biases are
zero, padded deltas are set to zero, so padding never reaches a real value. Per-example work
buffers hold an example's activations (or deltas) for every layer in one row of ``b.size``,
layer l+1 at ``b_off[l]``; inside the kernels they are flat, row e at ``e * b.size``. Inputs
arrive as CSR of their non-zero pixels (``SparseRows``): the first layer's forward pass and its
weight update only touch pixels that are not zero (about 150 of 784 in MNIST). The arithmetic is
the book's; only terms that are exactly zero are skipped.

The two big loops, z = W a + b and W -= c delta a^T, run one block (16 values) of a layer at a
time for the whole mini-batch: the block's sums stay in registers, and the weights it reads can
stay in cache from one example to the next. Those loops take whole buffers and positions rather
than slices (a numba slice costs a reference count), and ``terms`` says where each example's
input to the layer lies. Where the inputs are dense (every layer after the first, and a first
layer whose inputs are mostly not zero, ``SparseRows.complete``), the loops run on register tiles
instead (``simd.Tile``): the forward pass one block for ``TILE_BLOCKS`` examples at once,
so that each weight block loaded serves them all, the update one block of ``TILE_BLOCKS`` weight
rows, summed over the mini-batch in registers before it is subtracted (the book's fully
matrix-based mini-batch); what is left over (the last few examples or rows) runs one at a time.

A step can be shared among threads (``threads``): each thread runs ``train_steps`` on its
share, wide layers by columns and the rest by examples, meeting the others at a barrier between
phases. No sum is split between threads, so the result is the same bit for bit on any number of
them.

The kernels check nothing: the book-facing layer validates at the public boundary (``_book.validation``).
"""

from typing import NamedTuple

import numpy as np

from .activation import sigmoid_block
from .bundles import FLOAT, Array, declare
from .jit import kernel
from .simd import LANES, TILE_BLOCKS, add, at, fma, load, load_each, mul, repeat, splat, spread, store, store_each, total
from .threads import barrier

# How the output layer's delta comes from the target row y of an example:
QUADRATIC = 0  # delta_L = (a_L - y) sigma'(z_L), the quadratic cost (chapter 1)
CROSS_ENTROPY = 1  # delta_L = a_L - y, the cross-entropy cost (chapter 3)

FOLD_BELOW, FOLD_ABOVE = 0.5, 2.0  # a weight matrix's scale is folded back into it outside this range
# Activations, sigma'(z) and deltas that would be subnormal (below the dtype's smallest normal number)
# are set to zero: a core can take a slow assist for every subnormal operand, and in float32 (smallest
# normal 1.2e-38) saturated neurons make them often (docs/engine.md). What is lost is at most 1e-38 per
# term, far below a float32 weight's last bit.
# (Column 0 is passed to ``_forward_layer`` as ``np.int64(0)``: a literal 0 would make numba compile
# it, and everything under it, a second time for the literal.)


@declare(eta=float, decay=float, rule=int)
class Step(NamedTuple):
    """What an SGD step needs besides the data: the learning rate, the weight decay factor
    1 - eta lmbda / n (1.0 for none), and the output layer's rule (``QUADRATIC`` ...)."""

    eta: float
    decay: float
    rule: int


@declare(act=Array(FLOAT, 2), sp=Array(FLOAT, 2), delta=Array(FLOAT, 1), terms=Array("int64", 3),
         starts=Array("int64", 2), scales=Array("float64", 2), all_rows=Array("int32", 1), sync=Array("int64", 1))
class Work(NamedTuple):
    """Work buffers for ``rows`` examples at a time (the kernels allocate nothing): activations and
    sigma'(z) in sets, ``(sets, rows * b.size)`` (``train_steps`` alternates between two, so that one
    step's update and the next step's forward pass never touch the same set; ``feed_forward`` gives
    each thread its own), deltas ``(rows * b.size,)``, and for each of the threads its scratch
    (``Share``: ``terms`` ``(threads, 3, rows)``, ``starts`` ``(threads, 16)``, ``scales`` ``(threads, L)``),
    the indices 0, 1, 2, ... of the widest layer, and the threads' ``sync`` (``threads.SYNC_SIZE``)."""

    act: np.ndarray
    sp: np.ndarray
    delta: np.ndarray
    terms: np.ndarray
    starts: np.ndarray
    scales: np.ndarray
    all_rows: np.ndarray
    sync: np.ndarray


@declare(terms=Array("int64", 2), starts=Array("int64", 1), scale=Array("float64", 1), all_rows=Array("int32", 1))
class Share(NamedTuple):
    """One thread's scratch, made by the kernels from ``Work``: where each example's terms lie
    (``_terms``), a tile's starts, the scales of the weight matrices it follows, and the indices 0, 1, 2, ..."""

    terms: np.ndarray
    starts: np.ndarray
    scale: np.ndarray
    all_rows: np.ndarray


@declare(W=Array(FLOAT, 1), pitch=int, row_of=Array("int32", 1), coeff=Array(FLOAT, 1), terms=Array("int64", 2),
         vectors=Array(FLOAT, 1), o=int, stride=int, first=int, last=int)
class Sums(NamedTuple):
    """A layer's sums for a mini-batch, as the dense loops read them: term k < terms[2, e] of example e is
    the coefficient coeff[terms[1, e] + k] times row row_of[terms[0, e] + k] of ``W`` (a W_l^T, its rows
    ``pitch`` apart); example e's vector (the sum's destination, or the delta of its outer product)
    lies at ``vectors[o + e * stride:]``; the loops run over the columns first:last (whole blocks)."""

    W: np.ndarray
    pitch: int
    row_of: np.ndarray
    coeff: np.ndarray
    terms: np.ndarray
    vectors: np.ndarray
    o: int
    stride: int
    first: int
    last: int


TILE_FLOAT64, TILE_FLOAT32 = TILE_BLOCKS[8], TILE_BLOCKS[4]  # as constants numba can read


@kernel(inner=True)
def _tile_size(x):
    """How many examples (or weight rows) a tile of ``x``'s dtype holds: ``TILE_BLOCKS``."""
    return TILE_FLOAT64 if x.itemsize == 8 else TILE_FLOAT32


@kernel(inner=True)
def _terms(net, data, l, rows, stride, terms):
    """Where the inputs to layer l lie, as terms of a sum: for example e, term k < terms[2, e] is
    coefficient terms[1, e] + k times the W_l^T row named at position terms[0, e] + k. Fills the
    first len(rows) columns of ``terms``.

    The first layer's terms are the input's non-zero pixels: positions in ``data.indices`` and
    ``data.values`` (all of its pixels, in ``all_rows``, when the inputs are complete rows). A later
    layer's are its real neurons: positions in ``all_rows`` (0, 1, 2, ...) and in the flat
    activations (example e's row at ``e * stride``).
    """
    for e in range(len(rows)):
        if l == 0:
            first = data.indptr[rows[e]]
            terms[0, e] = 0 if data.complete else first
            terms[1, e], terms[2, e] = first, data.indptr[rows[e] + 1] - first
        else:
            terms[0, e], terms[1, e], terms[2, e] = 0, e * stride + net.b_off[l - 1], net.sizes[l]


@kernel(inner=True)
def _affine(sums, bias, scale, e0, m):
    """For each example e0 <= e < m: its vector = bias + scale * sum_k coeff_k (W row row_k) (``Sums``).

    Block by block, each block's sum in registers; two running sums (even and odd k) keep two
    chains of fused multiply-adds in flight, and meet at the end.
    """
    W, pitch, row_of, coeff, terms, out, o, stride, first, last = sums
    s = splat(W.dtype.type(scale))
    for j in range(first, last, LANES):
        for e in range(e0, m):
            r, c, n = terms[0, e], terms[1, e], terms[2, e]
            even = odd = splat(W.dtype.type(0))
            for k in range(0, n - 1, 2):
                even = fma(splat(at(coeff, c + k)), load(W, at(row_of, r + k) * pitch + j), even)
                odd = fma(splat(at(coeff, c + k + 1)), load(W, at(row_of, r + k + 1) * pitch + j), odd)
            if n % 2:
                even = fma(splat(at(coeff, c + n - 1)), load(W, at(row_of, r + n - 1) * pitch + j), even)
            store(out, o + e * stride + j, fma(s, add(even, odd), load(bias, j)))


@kernel(inner=True)
def _affine_tiles(sums, bias, scale, tiles, n, starts):
    """For the first ``tiles`` tiles of examples (E consecutive examples each): each example's vector =
    bias + scale * sum_k coeff[terms[1, e] + k] (W row k) over all n rows (``Sums``; ``row_of`` unused).

    A tile's E sums of one block stay in registers while k runs: each block of W is loaded once for
    E examples.
    """
    W, pitch, _, coeff, terms, out, o, stride, first, last = sums
    size = _tile_size(W)
    s, zero = repeat(splat(W.dtype.type(scale))), repeat(splat(W.dtype.type(0)))
    for t in range(0, tiles * size, size):
        for q in range(size):
            starts[q] = terms[1, t + q]
        for j in range(first, last, LANES):
            acc = zero
            for k in range(n):
                acc = fma(spread(coeff, starts, k), repeat(load(W, k * pitch + j)), acc)
            store_each(out, o + t * stride + j, stride, fma(s, acc, repeat(load(bias, j))))


@kernel(inner=True)
def _subtract_outer(sums, m, scale):
    """For each example e < m in turn: (W row row_k) -= (scale coeff_k) d_e for every term k, d_e its
    vector (``Sums``).

    Block by block; each weight still takes the examples' terms in the mini-batch's order.
    """
    W, pitch, row_of, coeff, terms, d, o, stride, first, last = sums
    for j in range(first, last, LANES):
        for e in range(m):
            r, c, n = terms[0, e], terms[1, e], terms[2, e]
            d_block = load(d, o + e * stride + j)
            for k in range(n):
                i = at(row_of, r + k) * pitch + j
                store(W, i, fma(splat(-scale * at(coeff, c + k)), d_block, load(W, i)))


@kernel(inner=True)
def _subtract_tiles(sums, m, tiles, scale, starts):
    """For the first ``tiles`` tiles of E weight rows: (W row k) -= scale sum_e coeff[terms[1, e] + k] d_e,
    d_e example e's vector (``Sums``; ``row_of`` unused): the mini-batch's sum for E rows of one block
    stays in registers over its m examples, then goes into W with one rounding."""
    W, pitch, _, coeff, terms, d, o, stride, first, last = sums
    size = _tile_size(W)
    minus, zero = repeat(splat(-scale)), repeat(splat(W.dtype.type(0)))
    for t in range(0, tiles * size, size):
        for q in range(size):
            starts[q] = t + q
        for j in range(first, last, LANES):
            acc = zero
            for e in range(m):
                acc = fma(spread(coeff, starts, terms[1, e]), repeat(load(d, o + e * stride + j)), acc)
            store_each(W, t * pitch + j, pitch, fma(minus, acc, load_each(W, t * pitch + j, pitch)))


@kernel(inner=True)
def _smallest_normal(x):
    """The smallest normal number of ``x``'s dtype (float32 2^-126, float64 2^-1022)."""
    return x.dtype.type(2.0**-126 if x.itemsize == 4 else 2.0**-1022)


@kernel(inner=True)
def _activate(z, sp, first, last):
    """z <- sigma(z) and sp <- sigma'(z) in place in the columns first:last (whole blocks), both from z,
    subnormal values as zero (``activation.sigmoid_block``)."""
    for j in range(first, last, LANES):
        s, d = sigmoid_block(load(z, j))
        store(z, j, s)
        store(sp, j, d)


@kernel(inner=True)
def _share(width, part, parts):
    """Columns ``first:last`` of a layer ``width`` wide that share ``part`` of ``parts`` gets: whole
    blocks, in order, one more to each of the first ``blocks % parts`` shares (a one-block layer
    goes all to share 0)."""
    each, more = divmod(width // LANES, parts)
    first = part * each + min(part, more)
    return first * LANES, (first + each + (part < more)) * LANES


@kernel(inner=True)
def _examples(m, part, parts, size):
    """Examples ``lo:hi`` of m that share ``part`` of ``parts`` gets: whole tiles of ``size`` (the last one
    may be short), so that which examples a dense layer computes in a tile never depends on how many
    shares there are, and neither do the results' bits."""
    tiles = -(-m // size)
    return min(m, part * tiles // parts * size), min(m, (part + 1) * tiles // parts * size)


@kernel(inner=True)
def _dense(data, l):
    """True when layer l's inputs are dense: every layer's after the first, and the first's when its
    inputs are complete rows."""
    return l > 0 or data.complete


@kernel(inner=True)
def _forward_layer(net, share, data, rows, act, sp, l, first, last):
    """Layer l of the forward pass, a_{l+1} = sigma(W_l a_l + b_l) and sigma'(z), for every example of
    ``rows``, in the columns first:last of the layer: dense inputs in tiles of examples, the rest
    (and sparse inputs) one example at a time."""
    stride, m, o = net.b.size, len(rows), net.b_off[l]
    W, bias = net.wt[net.w_off[l] : net.w_off[l + 1]], net.b[o : net.b_off[l + 1]]
    _terms(net, data, l, rows, stride, share.terms)
    row_of = data.indices if l == 0 and not data.complete else share.all_rows
    sums = Sums(W, net.pitches[l], row_of, data.values if l == 0 else act, share.terms, act, o, stride, first, last)
    tiles = m // _tile_size(W) if _dense(data, l) else 0
    _affine_tiles(sums, bias, share.scale[l], tiles, net.sizes[l], share.starts)
    _affine(sums, bias, share.scale[l], tiles * _tile_size(W), m)
    for e in range(m):
        _activate(act, sp, e * stride + o + first, e * stride + o + last)


@kernel(inner=True)
def _backward(net, share, Y, rule, rows, act, sp, delta):
    """The deltas of every example of ``rows`` from its activations: delta_L by ``rule``, then
    delta_l = (W_l^T delta_{l+1}) sigma'(z_l) layer by layer down to l = 1 (subnormal ones as zero).

    Element k of V_l^T delta_{l+1} is the dot product of row k of V_l^T with delta_{l+1}, whole
    blocks at a time (the padding of both is zero), times the scale; row k is read once for the
    whole mini-batch.
    """
    L, m, stride, scale = len(net.sizes) - 1, len(rows), net.b.size, share.scale
    tiny = _smallest_normal(delta)
    for e in range(m):
        out = e * stride + net.b_off[L - 1]
        for j in range(net.sizes[L]):
            a, y, s = act[out + j], Y[rows[e], j], sp[out + j]
            d = (a - y) * s if rule == QUADRATIC else a - y
            delta[out + j] = d if abs(d) >= tiny else 0
        for j in range(net.sizes[L], net.widths[L]):
            delta[out + j] = 0
    for l in range(L - 1, 0, -1):
        pitch = net.pitches[l]
        for e in range(m):
            for i in range(e * stride + net.b_off[l - 1] + net.sizes[l], e * stride + net.b_off[l]):
                delta[i] = 0
        for k in range(net.sizes[l]):
            row = net.w_off[l] + k * pitch
            for e in range(m):
                d = e * stride + net.b_off[l]
                s = mul(load(net.wt, row), load(delta, d))
                for j in range(LANES, net.widths[l + 1], LANES):
                    s = fma(load(net.wt, row + j), load(delta, d + j), s)
                i = e * stride + net.b_off[l - 1] + k
                d = total(s) * scale[l] * sp[i]
                delta[i] = d if abs(d) >= tiny else 0


@kernel(inner=True)
def _fold(W, pitch, rows, scale, first, last):
    """W <- scale W in the columns first:last of its ``rows`` rows."""
    s = splat(W.dtype.type(scale))
    for k in range(rows):
        for j in range(first, last, LANES):
            store(W, k * pitch + j, mul(s, load(W, k * pitch + j)))


@kernel(inner=True)
def _update(net, share, step, data, rows, act, delta, part, parts):
    """The step's update from the backprop of ``rows``, on share ``part`` of ``parts`` of every layer's
    columns: W_l <- decay W_l - (eta/m) sum_x delta a^T, b_l -= (eta/m) sum_x delta.

    The decay goes into the layer's scale; when the scale leaves [1/2, 2], this share folds it into
    its columns of the matrix (every share reaches the same decision from the same numbers). Dense
    inputs update in tiles of weight rows, the rows left over (and sparse inputs) one example at a time.
    """
    m, stride, terms, scale = len(rows), net.b.size, share.terms, share.scale
    c = step.eta / m
    for l in range(len(net.sizes) - 1):
        first, last = _share(net.widths[l + 1], part, parts)
        W, pitch = net.wt[net.w_off[l] : net.w_off[l + 1]], net.pitches[l]
        for i in range(net.b_off[l] + first, net.b_off[l] + last):
            g = delta[i]
            for e in range(1, m):
                g += delta[e * stride + i]
            net.b[i] -= net.b.dtype.type(c) * g
        s = scale[l] * step.decay
        if not FOLD_BELOW <= s <= FOLD_ABOVE:
            _fold(W, pitch, net.sizes[l], s, first, last)
            s = 1.0
        scale[l] = s
        _terms(net, data, l, rows, stride, terms)
        step_size = W.dtype.type(c / s)
        coeff, o = data.values if l == 0 else act, net.b_off[l]
        if not _dense(data, l):
            _subtract_outer(Sums(W, pitch, data.indices, coeff, terms, delta, o, stride, first, last), m, step_size)
            continue
        sums = Sums(W, pitch, share.all_rows, coeff, terms, delta, o, stride, first, last)
        size = _tile_size(W)
        tiles = net.sizes[l] // size
        _subtract_tiles(sums, m, tiles, step_size, share.starts)
        for e in range(m):  # the rows left over, one example at a time
            terms[0, e] += tiles * size
            terms[1, e] += tiles * size
            terms[2, e] -= tiles * size
        _subtract_outer(sums, m, step_size)


@kernel(nogil=True)
def train_steps(net, data, Y, order, first, last, m, step, work, part, parts):
    """Steps first .. last-1 of an epoch, step k on the mini-batch order[k m : (k+1) m], share ``part``
    of ``parts`` of each (all of it when parts = 1).

    Phase by phase: the forward pass of the wide layers (at least a block per share) by columns,
    the rest of the forward pass and the deltas by examples, then the update by columns; the
    shares meet at a barrier after each phase. Returns False if the run was aborted.
    """
    L, stride = len(net.sizes) - 1, net.b.size
    share = Share(work.terms[part], work.starts[part], work.scales[part], work.all_rows)
    for l in range(L):  # every share follows the same scales in its own copy; share 0 writes them back
        share.scale[l] = net.scale[l]
    wide = 0
    while wide < L and net.widths[wide + 1] // LANES >= parts:
        wide += 1
    passed = 0
    for k in range(first, last):
        rows = order[k * m : (k + 1) * m]
        act, sp = work.act[k % 2], work.sp[k % 2]
        if wide == 0 and k > first:  # no phase by columns: the last update must be over before anyone reads W
            passed += 1
            if not barrier(work.sync, parts, passed):
                return False
        for l in range(wide):
            first_column, last_column = _share(net.widths[l + 1], part, parts)
            _forward_layer(net, share, data, rows, act, sp, l, first_column, last_column)
            passed += 1
            if not barrier(work.sync, parts, passed):
                return False
        lo, hi = _examples(len(rows), part, parts, _tile_size(act))
        mine = slice(lo * stride, hi * stride)
        for l in range(wide, L):
            _forward_layer(net, share, data, rows[lo:hi], act[mine], sp[mine], l, np.int64(0), net.widths[l + 1])
        _backward(net, share, Y, step.rule, rows[lo:hi], act[mine], sp[mine], work.delta[mine])
        passed += 1
        if not barrier(work.sync, parts, passed):
            return False
        _update(net, share, step, data, rows, act, work.delta, part, parts)
    if part == 0:
        for l in range(L):
            net.scale[l] = share.scale[l]
    return True


@kernel(nogil=True)
def feed_forward(net, data, order, out, work, part, parts):
    """Row e of ``out`` <- the network's output for input row order[e], for share ``part`` of ``parts``
    of the rows, ``work.act.shape[1] // b.size`` rows at a time in the thread's own buffers."""
    L, stride, n = len(net.sizes) - 1, net.b.size, out.shape[0]
    act, sp = work.act[part], work.sp[part]
    share = Share(work.terms[part], work.starts[part], net.scale, work.all_rows)
    chunk, start = act.size // stride, net.b_off[L - 1]
    lo, hi = _examples(n, part, parts, chunk)  # chunks of whole tiles
    for first in range(lo, hi, chunk):
        rows = order[first : min(first + chunk, hi)]
        for l in range(L):
            _forward_layer(net, share, data, rows, act, sp, l, np.int64(0), net.widths[l + 1])
        for e in range(len(rows)):
            for i in range(out.shape[1]):
                out[first + e, i] = act[e * stride + start + i]
