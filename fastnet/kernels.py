"""numba kernels of the chapter-1 network: the forward pass, backprop, the SGD step, an epoch.

Layout (built by ``fastnet.layout``). A network with layer sizes n_0, ..., n_L keeps its
parameters in two flat buffers:

- ``wt``: the transposed weight matrices W_l^T, ``n_l`` rows of ``widths[l+1]`` values in C order,
  the rows a pitch apart (``_pitch``: the width, or one cache line more), one matrix after
  another from ``w_off[l]``. Row k of W_l^T holds the weights leaving neuron k of layer l, so a
  forward pass adds whole contiguous rows, and an input pixel that is zero adds nothing at all.
- ``b``: the bias vectors, ``widths[l+1]`` values each, from ``b_off[l]``.

``widths`` pads each layer to whole SIMD blocks (``fastnet.simd``); padded weights and biases are
zero, padded deltas are set to zero, so padding never reaches a real value. Per-example work
buffers hold an example's activations (or deltas) for every layer in one row of ``b.size``,
layer l+1 at ``b_off[l]``; inside the kernels they are flat, row e at ``e * b.size``. Inputs
arrive as CSR of their non-zero pixels (``indptr``, ``indices``, ``values``, one row per example):
the first layer's forward pass and its weight update only touch pixels that are not zero (about
150 of 784 in MNIST). The arithmetic is the book's; only terms that are exactly zero are skipped.

The two big loops, z = W a + b and W -= c delta a^T, run one block (16 values) of a layer at a
time for the whole mini-batch: the block's sums stay in registers, and the weights it reads can
stay in cache from one example to the next (in float32 about half of them stay in L1; float64's
128-byte blocks mostly come back from L2). Those loops take whole buffers and positions rather than
slices (a numba slice costs a reference count), and ``terms`` says where each example's input to
the layer lies.

A big enough SGD step is shared among threads (``_on_threads``): wide layers by columns, narrow
layers and the deltas by examples. No sum is split between threads, so the result is the same bit
for bit on any number of them.

The kernels check nothing: ``fastnet.network`` validates at the public boundary.
"""

import numpy as np
from numba import njit, prange

from .activation import logistic
from .jit import CACHE
from .simd import LANES, add, at, fma, load, mul, splat, store, total


@njit(cache=CACHE)
def _find_terms(sizes, b_off, indptr, l, rows, stride, terms):
    """Where the inputs to layer l lie, as terms of a sum: for example e, term k < terms[2, e] is
    coefficient terms[1, e] + k times the W_l^T row named at position terms[0, e] + k. Fills and
    returns the first len(rows) columns of ``terms``.

    The first layer's terms are the input's non-zero pixels: positions in ``indices`` and
    ``values``. A later layer's are its real neurons: positions in ``all_rows`` (0, 1, 2, ...) and
    in the flat activations (example e's row at ``e * stride``).
    """
    for e in range(len(rows)):
        if l == 0:
            first = indptr[rows[e]]
            terms[0, e], terms[1, e], terms[2, e] = first, first, indptr[rows[e] + 1] - first
        else:
            terms[0, e], terms[1, e], terms[2, e] = 0, e * stride + b_off[l - 1], sizes[l]
    return terms[:, : len(rows)]


@njit(cache=CACHE)
def _affine(out, o, stride, W, pitch, bias, row_of, coeff, terms, first, last):
    """For each example e: out[o + e * stride:] = bias + sum_k coeff_k * (W row row_k, rows ``pitch`` apart),
    in the columns first:last (whole blocks).

    Block by block, each block's sum in registers; two running sums (even and odd k) keep two
    chains of fused multiply-adds in flight, and meet at the end.
    """
    for j in range(first, last, LANES):
        for e in range(terms.shape[1]):
            r, c, n = terms[0, e], terms[1, e], terms[2, e]
            even = load(bias, j)
            odd = splat(W.dtype.type(0))
            for k in range(0, n - 1, 2):
                even = fma(splat(at(coeff, c + k)), load(W, at(row_of, r + k) * pitch + j), even)
                odd = fma(splat(at(coeff, c + k + 1)), load(W, at(row_of, r + k + 1) * pitch + j), odd)
            if n % 2:
                even = fma(splat(at(coeff, c + n - 1)), load(W, at(row_of, r + n - 1) * pitch + j), even)
            store(out, o + e * stride + j, add(even, odd))


@njit(cache=CACHE)
def _subtract_outer(W, pitch, row_of, coeff, terms, scale, d, o, stride, first, last):
    """For each example e in turn: (W row row_k) -= (scale coeff_k) d_e for every term k, d_e = d[o + e * stride:],
    rows ``pitch`` apart, in the columns first:last (whole blocks).

    Block by block; each weight still takes the examples' terms in the mini-batch's order.
    """
    for j in range(first, last, LANES):
        for e in range(terms.shape[1]):
            r, c, n = terms[0, e], terms[1, e], terms[2, e]
            d_block = load(d, o + e * stride + j)
            for k in range(n):
                i = at(row_of, r + k) * pitch + j
                store(W, i, fma(splat(-scale * at(coeff, c + k)), d_block, load(W, i)))


@njit(cache=CACHE)
def _activate(z, sp):
    """z <- sigma(z) and sp <- sigma'(z), in place (a loop LLVM vectorises)."""
    for i in range(len(z)):
        s, s_minus = logistic(z[i])
        z[i] = s
        sp[i] = s * s_minus


@njit(cache=CACHE)
def _pitch(sizes, w_off, l):
    """How far apart the rows of W_l^T lie in ``wt`` (``fastnet.layout.pitches``)."""
    return (w_off[l + 1] - w_off[l]) // sizes[l]


@njit(cache=CACHE)
def _whole():
    """The share ``(part, parts) = (0, 1)``, a whole layer, as int64 values: a literal 0 or 1 in a
    call would make numba compile the kernel a second time, for the literal."""
    return np.int64(0), np.int64(1)


@njit(cache=CACHE)
def _share(width, part, parts):
    """Columns ``first:last`` of a layer ``width`` wide that share ``part`` of ``parts`` gets: whole
    blocks, the larger shares first (a one-block layer goes all to share 0)."""
    blocks = width // LANES
    return (part * blocks + parts - 1) // parts * LANES, ((part + 1) * blocks + parts - 1) // parts * LANES


@njit(cache=CACHE)
def _forward_layer(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, sp, work, l, part, parts):
    """Layer l of the forward pass, a_{l+1} = sigma(W_l a_l + b_l) and sigma'(z), for every example of
    ``rows``, in share ``part`` of ``parts`` of the layer's columns (all of them when parts = 1)."""
    all_rows, terms = work
    stride = b.size
    W, bias, width = wt[w_off[l] : w_off[l + 1]], b[b_off[l] : b_off[l + 1]], widths[l + 1]
    first, last = _share(width, part, parts)
    here = _find_terms(sizes, b_off, indptr, l, rows, stride, terms)
    if l == 0:
        _affine(act, b_off[l], stride, W, _pitch(sizes, w_off, l), bias, indices, values, here, first, last)
    else:
        _affine(act, b_off[l], stride, W, _pitch(sizes, w_off, l), bias, all_rows, act, here, first, last)
    for e in range(len(rows)):
        mine = slice(e * stride + b_off[l] + first, e * stride + b_off[l] + last)
        _activate(act[mine], sp[mine])


@njit(cache=CACHE)
def _forward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, sp, work):
    """Feed the inputs ``rows`` forward: a_{l+1} = sigma(W_l a_l + b_l) of input rows[e] for every
    layer into row e of the flat ``act``, and sigma'(z) into row e of the flat ``sp``.
    """
    part, parts = _whole()
    for l in range(len(sizes) - 1):
        _forward_layer(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, sp, work, l, part, parts)


# How the output layer's delta comes from the target row y of an example:
QUADRATIC = 0  # delta_L = (a_L - y) sigma'(z_L), the quadratic cost
GIVEN = 1  # delta_L = y sigma'(z_L): y holds dC/da_L (a reader's own cost_derivative)


@njit(cache=CACHE)
def _backward_all(sizes, widths, w_off, b_off, wt, Y, rule, rows, act, sp, delta):
    """The deltas of every example of ``rows`` from its activations: delta_L by ``rule`` (see above),
    then delta_l = (W_l^T delta_{l+1}) sigma'(z_l) layer by layer down to l = 1.

    Element k of W_l^T delta_{l+1} is the dot product of row k of W_l^T with delta_{l+1}, whole
    blocks at a time (the padding of both is zero); row k is read once for the whole mini-batch.
    """
    L, m, stride = len(sizes) - 1, len(rows), b_off[-1]
    for e in range(m):
        out = e * stride + b_off[L - 1]
        for j in range(sizes[L]):
            gradient = Y[rows[e], j] if rule == GIVEN else act[out + j] - Y[rows[e], j]
            delta[out + j] = gradient * sp[out + j]
        for j in range(sizes[L], widths[L]):
            delta[out + j] = 0
    for l in range(L - 1, 0, -1):
        pitch = _pitch(sizes, w_off, l)
        for e in range(m):
            for i in range(e * stride + b_off[l - 1] + sizes[l], e * stride + b_off[l]):
                delta[i] = 0
        for k in range(sizes[l]):
            row = w_off[l] + k * pitch
            for e in range(m):
                d = e * stride + b_off[l]
                s = mul(load(wt, row), load(delta, d))
                for j in range(LANES, widths[l + 1], LANES):
                    s = fma(load(wt, row + j), load(delta, d + j), s)
                i = e * stride + b_off[l - 1] + k
                delta[i] = total(s) * sp[i]


@njit(cache=CACHE)
def _backprop(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rule, rows, act, sp, delta, work):
    """Backprop each example of ``rows`` through the same parameters: fill its rows of ``act`` and ``delta``."""
    _forward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, sp, work)
    _backward_all(sizes, widths, w_off, b_off, wt, Y, rule, rows, act, sp, delta)


@njit(cache=CACHE)
def _descend(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta, work, part, parts):
    """One SGD step from the backprop of ``rows``: W_l -= (eta/m) sum_x delta a^T, b_l -= (eta/m) sum_x delta,
    on share ``part`` of ``parts`` of every layer's columns (whole blocks; all of them when parts = 1).
    """
    all_rows, terms = work
    m, stride = len(rows), b.size
    scale = wt.dtype.type(eta / m)
    for l in range(len(sizes) - 1):
        W, width = wt[w_off[l] : w_off[l + 1]], widths[l + 1]
        first, last = _share(width, part, parts)
        for i in range(b_off[l] + first, b_off[l] + last):
            g = delta[i]
            for e in range(1, m):
                g += delta[e * stride + i]
            b[i] -= scale * g
        here = _find_terms(sizes, b_off, indptr, l, rows, stride, terms)
        pitch = _pitch(sizes, w_off, l)
        if l == 0:
            _subtract_outer(W, pitch, indices, values, here, scale, delta, b_off[l], stride, first, last)
        else:
            _subtract_outer(W, pitch, all_rows, act, here, scale, delta, b_off[l], stride, first, last)


# What a thread does in ``_on_threads``: its share of ...
FORWARD_COLUMNS = 0  # ... layer l of the forward pass, by columns
FORWARD_EXAMPLES = 1  # ... the forward pass from layer l on, by examples
BACKPROP_EXAMPLES = 2  # ... the same, then the deltas, by examples
UPDATE_COLUMNS = 3  # ... the SGD step's update of every layer, by columns


@njit(cache=CACHE)
def _share_of_job(
    sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, delta, eta, work, job, l, t, parts
):
    """Thread t's share (of ``parts``) of ``job`` on the mini-batch ``rows``; see ``_on_threads``."""
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values)
    all_rows, terms = work
    mine = (all_rows, terms[t])
    if job == FORWARD_COLUMNS:
        _forward_layer(*args, rows, act, sp, mine, l, t, parts)
    elif job == UPDATE_COLUMNS:
        _descend(*args, rows, act, delta, eta, mine, t, parts)
    else:
        m, stride = len(rows), b.size
        lo, hi = t * m // parts, (t + 1) * m // parts
        here = slice(lo * stride, hi * stride)
        whole, one = _whole()
        for k in range(l, len(sizes) - 1):
            _forward_layer(*args, rows[lo:hi], act[here], sp[here], mine, k, whole, one)
        if job == BACKPROP_EXAMPLES:
            rule = np.int64(QUADRATIC)
            _backward_all(sizes, widths, w_off, b_off, wt, Y, rule, rows[lo:hi], act[here], sp[here], delta[here])


@njit(cache=CACHE, parallel=True)
def _on_threads(
    sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, delta, eta, work, job, l
):
    """Run ``job`` on the mini-batch ``rows`` shared among ``len(work[1])`` threads, one share each.

    Wide layers are shared out by columns: each thread computes its columns' outputs in the
    forward pass and changes its columns' weights in the update, so the big weight matrices never
    travel between cores. Narrow layers and the deltas are shared out by examples. No sum is ever
    split between threads, so the result is the same bit for bit on any number of them.
    """
    parts = len(work[1])
    for t in prange(parts):
        args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, delta, eta, work)
        _share_of_job(*args, job, l, np.int64(t), parts)


@njit(cache=CACHE)
def _step_on_threads(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, delta, eta, work):
    """One SGD step on ``len(work[1])`` threads: the forward pass by columns while the layers are wide
    enough to give every thread a block, the rest of backprop by examples, the update by columns."""
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, delta, eta, work)
    l = np.int64(0)  # job and layer numbers as int64 values, not literals: one compiled _on_threads
    while l < len(sizes) - 1 and widths[l + 1] // LANES >= len(work[1]):
        _on_threads(*args, np.int64(FORWARD_COLUMNS), l)
        l += 1
    _on_threads(*args, np.int64(BACKPROP_EXAMPLES), l)
    _on_threads(*args, np.int64(UPDATE_COLUMNS), l - l)


@njit(cache=CACHE)
def _work(sizes, m, parts):
    """Index buffers for the kernels: ``all_rows`` = 0, 1, 2, ..., and ``terms`` for m examples, one per thread."""
    widest = 0
    for n in sizes:
        widest = max(widest, n)
    return np.arange(widest, dtype=np.int32), np.empty((parts, 3, m), dtype=np.int64)


@njit(cache=CACHE)
def forward_backward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rule, rows, act, delta):
    """Backprop each example of ``rows``: fill its row of ``act`` (activations) and ``delta`` (output delta by ``rule``).

    The per-example gradient is dC/db_l = delta_{l+1}, dC/dW_l = delta_{l+1} a_l^T; the
    parameters are not changed, so every example of a mini-batch sees the same network.
    """
    sp = np.empty(act.size, dtype=act.dtype)
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values)
    all_rows, terms = _work(sizes, len(rows), _whole()[1])
    _backprop(*args, Y, rule, rows, act.reshape(-1), sp, delta.reshape(-1), (all_rows, terms[0]))


@njit(cache=CACHE)
def descend(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, rows, act, delta, eta):
    """One SGD step, W_l -= (eta/m) sum_x delta a^T and b_l -= (eta/m) sum_x delta, from ``forward_backward``'s
    buffers."""
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values)
    all_rows, terms = _work(sizes, len(rows), _whole()[1])
    _descend(*args, rows, act.reshape(-1), delta.reshape(-1), eta, (all_rows, terms[0]), *_whole())


@njit(cache=CACHE)
def _epoch_buffers(sizes, b, mini_batch_size, parts):
    """Work buffers for an epoch's steps: flat ``act``, ``sp`` and ``delta``, and index buffers for
    ``parts`` threads."""
    act = np.empty(mini_batch_size * b.size, dtype=b.dtype)
    return act, np.empty_like(act), np.empty_like(act), _work(sizes, mini_batch_size, parts)


@njit(cache=CACHE)
def train_epoch(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, order, mini_batch_size, eta):
    """One epoch of SGD on one thread: the mini-batches ``order[k : k + mini_batch_size]``, one step each."""
    act, sp, delta, (all_rows, terms) = _epoch_buffers(sizes, b, mini_batch_size, _whole()[1])
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values)
    for start in range(0, len(order), mini_batch_size):
        rows = order[start : start + mini_batch_size]
        _backprop(*args, Y, np.int64(QUADRATIC), rows, act, sp, delta, (all_rows, terms[0]))
        _descend(*args, rows, act, delta, eta, (all_rows, terms[0]), *_whole())


@njit(cache=CACHE)
def train_epoch_on_threads(
    sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, order, mini_batch_size, eta, parts
):
    """One epoch of SGD as ``train_epoch``, each step shared among ``parts`` threads (``_step_on_threads``).

    A separate kernel, so that a run that never uses threads never compiles them."""
    act, sp, delta, work = _epoch_buffers(sizes, b, mini_batch_size, parts)
    args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values)
    for start in range(0, len(order), mini_batch_size):
        _step_on_threads(*args, Y, order[start : start + mini_batch_size], act, sp, delta, eta, work)


@njit(cache=CACHE)
def feedforward(sizes, widths, w_off, b_off, wt, b, indptr, indices, values, out, parts):
    """Fill row i of ``out`` with the network's output for input row i, ``parts`` threads sharing each chunk
    of inputs."""
    chunk, stride, start, n = 64 * parts, b.size, b_off[len(sizes) - 2], out.shape[0]
    act = np.empty(chunk * stride, dtype=wt.dtype)
    sp = np.empty_like(act)
    Y = np.empty((0, 0), dtype=wt.dtype)
    work = _work(sizes, chunk, parts)
    for first in range(0, n, chunk):
        rows = np.arange(first, min(first + chunk, n))
        job, layer = np.int64(FORWARD_EXAMPLES), np.int64(0)
        args = (sizes, widths, w_off, b_off, wt, b, indptr, indices, values, Y, rows, act, sp, sp, 0.0, work)
        _on_threads(*args, job, layer)
        for e in range(len(rows)):
            for i in range(out.shape[1]):
                out[first + e, i] = act[e * stride + start + i]
