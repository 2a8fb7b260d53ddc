"""Every kernel against its plain twin in ``naive``, over many shapes and seeds, edge cases included.

Tolerances are set from the error measured for each comparison, with a margin of about 10x,
relative to the largest value compared: a kernel that rounds a little differently stays inside, a
kernel that computes the wrong thing does not. ``FASTNET_PRINT_ERRORS=1 pytest tests/test_kernels.py``
prints the largest error measured for each. Where the bug a test guards against is not obvious,
its docstring names it.
"""

import random
import threading
from fractions import Fraction

import numba
import numpy as np
import pytest

import naive
import fastnet
from helpers import measured_close, run_kernel
from fastnet.engine import driver as training
from fastnet.engine import inputs as arrays
from fastnet.engine import kernels, layout, shuffle, simd, threads
from fastnet.engine.activation import derivative, logistic
from fastnet.engine.inputs import data_set, sparse_rows
from fastnet.engine.driver import Training

DTYPES = [np.float64, np.float32]
# Tolerances about 10x the largest relative error measured (float64 / float32):
TOL = {
    "affine": {np.float64: 1e-14, np.float32: 3e-6},  # measured 9.0e-16 / 2.7e-7
    "subtract_outer": {np.float64: 2e-15, np.float32: 7e-7},  # measured 1.7e-16 / 6.6e-8
    "affine_tiles": {np.float64: 3e-15, np.float32: 2e-6},  # measured 2.6e-16 / 1.6e-7
    "subtract_tiles": {np.float64: 3e-15, np.float32: 1.5e-6},  # measured 2.4e-16 / 1.0e-7
    "forward_layer": {np.float64: 3e-14, np.float32: 1.5e-5},  # measured 2.7e-15 / 1.4e-6
    "forward_layer_sp": {np.float64: 2.5e-13, np.float32: 2.5e-4},  # each sigma'(z) on its own: 2.3e-14 / 2.3e-5
    # the same with complete inputs (784 terms to a sum, |z| up to 30):
    "forward_layer complete": {np.float64: 4e-14, np.float32: 3e-5},  # measured 3.8e-15 / 3.0e-6
    "forward_layer_sp complete": {np.float64: 5e-13, np.float32: 3.5e-4},  # measured 5.3e-14 / 3.5e-5
    "backward": {np.float64: 7e-15, np.float32: 3e-6},  # measured 7.1e-16 / 2.6e-7
    "update": {np.float64: 3e-15, np.float32: 2e-6},  # measured 3.2e-16 / 2.2e-7
    "feed_forward": {np.float64: 5e-15, np.float32: 3e-6},  # measured 4.4e-16 / 2.9e-7
}


def close(name, dtype, got, want, each=False):
    """``got`` within ``TOL[name][dtype]`` of ``want`` (``helpers.measured_close``)."""
    return measured_close(name, dtype, got, want, TOL[name][dtype], each)


def random_terms(rng, n_rows, counts, dense_coeffs):
    """Terms for len(counts) examples drawing rows from range(n_rows); rows may repeat within the batch."""
    row_of, terms, start = [], [], 0
    for n in counts:
        row_of.extend(rng.choice(n_rows, size=n, replace=n > n_rows))
        terms.append((start, start, n))
        start += n
    coeff = rng.standard_normal(max(start, 1)) if dense_coeffs else rng.uniform(0.01, 1, max(start, 1))
    return np.array(row_of + [0], dtype=np.int32), coeff, np.array(terms, dtype=np.int64).T.copy()


def random_case(dtype, n_rows, blocks, counts, seed, dense_coeffs):
    """A random W (``n_rows`` rows of ``blocks`` blocks) and terms: ``(rng, width, W, row_of, coeff, terms)``."""
    rng = np.random.default_rng(seed)
    width = blocks * simd.LANES
    W = rng.standard_normal(n_rows * width).astype(dtype)
    row_of, coeff, terms = random_terms(rng, n_rows, counts, dense_coeffs)
    return rng, width, W, row_of, coeff.astype(dtype), terms


CASES = [  # (rows of W, blocks per row, terms per example)
    (1, 1, [0]),
    (1, 1, [1]),
    (3, 1, [1, 2, 3]),
    (7, 2, [5, 0, 4]),
    (784, 7, [150, 151, 1, 0, 2]),
    (30, 4, [30, 30]),
    (100, 1, [100, 99]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, blocks, counts", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_matches_naive(dtype, n_rows, blocks, counts, seed):
    """Guards the odd last term, an empty example, repeated rows, and writes outside the example's row."""
    rng, width, W, row_of, coeff, terms = random_case(dtype, n_rows, blocks, counts, seed, dense_coeffs=True)
    bias = rng.standard_normal(width).astype(dtype)
    scale = [1.0, 0.7, 1.9][seed]
    stride, offset = width + 2 * simd.LANES, simd.LANES  # outputs land inside a wider buffer
    out = np.full(len(counts) * stride, -7, dtype=dtype)
    sums = kernels.Sums(W, width, row_of, coeff, terms, out, offset, stride, 0, width)
    run_kernel(kernels._affine, sums, bias, scale, 0, terms.shape[1])
    got = out.reshape(len(counts), stride)
    want = naive.affine(W, width, bias, scale, row_of, coeff, terms)
    assert close("affine", dtype, got[:, offset : offset + width], want)
    assert np.all(got[:, :offset] == -7) and np.all(got[:, offset + width :] == -7)  # nothing else written


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, blocks, counts", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subtract_outer_matches_naive(dtype, n_rows, blocks, counts, seed):
    rng, width, W, row_of, coeff, terms = random_case(dtype, n_rows, blocks, counts, seed, dense_coeffs=False)
    D = rng.standard_normal((len(counts), width)).astype(dtype)
    stride, offset = width + simd.LANES, simd.LANES
    d = np.zeros(len(counts) * stride, dtype=dtype)
    d.reshape(len(counts), stride)[:, offset : offset + width] = D
    scale = dtype(0.3)
    want = naive.subtract_outer(W.astype(np.float64), width, row_of, coeff, terms, float(scale), D)
    run_kernel(kernels._subtract_outer, kernels.Sums(W, width, row_of, coeff, terms, d, offset, stride, 0, width), terms.shape[1], scale)
    assert close("subtract_outer", dtype, W, want)


def layer_of(params, buffer, rows, l):
    """Layer ``l``'s real values (``sizes[l+1]`` of them) in the ``rows`` of an activation or delta buffer."""
    start = params.b_off[l]
    return buffer[rows, start : start + params.sizes[l + 1]]


def dense_case(dtype, n_rows, blocks, m, seed):
    """A random W of ``n_rows`` rows, and for each of m examples a dense run of n_rows coefficients."""
    rng = np.random.default_rng(seed)
    width = blocks * simd.LANES
    W = rng.standard_normal(n_rows * width).astype(dtype)
    coeff = rng.standard_normal(m * n_rows + 3).astype(dtype)
    terms = np.array([[0] * m, [3 + e * n_rows for e in range(m)], [n_rows] * m], dtype=np.int64)
    return rng, width, W, coeff, terms


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, blocks, m", [(1, 1, 10), (7, 1, 10), (30, 2, 10), (16, 3, 23), (5, 1, 1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_affine_tiles_matches_naive(dtype, n_rows, blocks, m, seed):
    """Whole tiles of E examples, each block of W loaded once for E sums: the tiles' examples right, the
    examples after the last whole tile and everything around untouched (guards a tile that mixes up its
    examples or writes past its last one)."""
    rng, width, W, coeff, terms = dense_case(dtype, n_rows, blocks, m, seed)
    size, bias, scale = simd.TILE_BLOCKS[np.dtype(dtype).itemsize], rng.standard_normal(width).astype(dtype), 0.7
    tiles = m // size
    stride, offset = width + simd.LANES, simd.LANES
    out = np.full(m * stride, -7, dtype=dtype)
    starts = np.zeros(16, dtype=np.int64)
    sums = kernels.Sums(W, width, np.arange(n_rows, dtype=np.int32), coeff, terms, out, offset, stride, 0, width)
    run_kernel(kernels._affine_tiles, sums, bias, scale, tiles, n_rows, starts)
    got = out.reshape(m, stride)
    done = tiles * size
    want = naive.affine_tiles(W, width, bias, scale, coeff, terms, n_rows, done)
    assert close("affine_tiles", dtype, got[:done, offset : offset + width], want)
    assert np.all(got[done:] == -7) and np.all(got[:, :offset] == -7) and np.all(got[:, offset + width :] == -7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_rows, blocks, m", [(10, 1, 10), (7, 1, 3), (30, 2, 10), (23, 3, 1), (5, 1, 10)])
@pytest.mark.parametrize("seed", [0, 1])
def test_subtract_tiles_matches_naive(dtype, n_rows, blocks, m, seed):
    """Whole tiles of E weight rows, each row's sum over the mini-batch kept in registers and subtracted
    with one rounding: those rows right, the rows after the last whole tile untouched."""
    rng, width, W, coeff, terms = dense_case(dtype, n_rows, blocks, m, seed)
    size = simd.TILE_BLOCKS[np.dtype(dtype).itemsize]
    tiles = n_rows // size
    D = rng.standard_normal((m, width)).astype(dtype)
    stride, offset = width + simd.LANES, simd.LANES
    d = np.zeros(m * stride, dtype=dtype)
    d.reshape(m, stride)[:, offset : offset + width] = D
    before, starts = W.copy(), np.zeros(16, dtype=np.int64)
    scale = dtype(0.3)
    sums = kernels.Sums(W, width, np.arange(n_rows, dtype=np.int32), coeff, terms, d, offset, stride, 0, width)
    run_kernel(kernels._subtract_tiles, sums, m, tiles, scale, starts)
    done = tiles * size * width
    want = naive.subtract_tiles(before, width, coeff, terms, float(scale), D, tiles * size)
    assert close("subtract_tiles", dtype, W[:done], want[:done])
    assert np.array_equal(W[done:], before[done:])


def test_subtract_outer_takes_examples_in_order_bitwise():
    """Every weight takes the examples' terms in the mini-batch's order: the same bits as one example at a
    time (guards a reordering that would make results depend on how the work is split)."""
    rng = np.random.default_rng(3)
    width = 2 * simd.LANES
    W = rng.standard_normal(5 * width)
    row_of, coeff, terms = random_terms(rng, 5, [4, 6, 3], dense_coeffs=False)
    d = rng.standard_normal(3 * width)
    together = W.copy()
    run_kernel(kernels._subtract_outer, kernels.Sums(together, width, row_of, coeff, terms, d, 0, width, 0, width), 3, 0.7)
    one_by_one = W.copy()
    for e in range(3):
        one = terms[:, e : e + 1].copy()
        run_kernel(kernels._subtract_outer, kernels.Sums(one_by_one, width, row_of, coeff, one, d, e * width, 0, 0, width), 1, 0.7)
    assert np.array_equal(together, one_by_one)


@numba.njit
def _logistic_lane_by_lane(z, s_out, sp_out):
    tiny = z.dtype.type(2.0**-126 if z.itemsize == 4 else 2.0**-1022)
    for i in range(len(z)):
        s, s_minus = logistic(z[i])
        d = derivative(z[i], s, s_minus)
        s_out[i] = s if s >= tiny else 0
        sp_out[i] = d if d >= tiny else 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_sigmoid_of_a_block_is_logistic_lane_by_lane_bitwise(dtype):
    """sigmoid_block reproduces the scalar ``logistic`` and ``derivative`` (which the public sigmoid and
    sigmoid_prime use) to the bit, NaN included, and touches only the columns asked for."""
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(scale=[1, 10, 300][i % 3], size=1600) for i in range(3)] +
                       [[0.0, -0.0, np.inf, -np.inf, np.nan, 745.2, -745.2, 800, -800, 87.3, -87.4, 1e-300]])
    z = np.concatenate([z, np.zeros(-len(z) % simd.LANES)]).astype(dtype)
    want_s, want_sp = np.empty_like(z), np.empty_like(z)
    _logistic_lane_by_lane(z, want_s, want_sp)
    got_s, got_sp = np.concatenate([z, z[:16]]), np.full(len(z) + 16, -7, dtype=dtype)
    run_kernel(kernels._activate, got_s, got_sp, 0, len(z))
    np.testing.assert_array_equal(got_s[: len(z)], want_s)
    np.testing.assert_array_equal(got_sp[: len(z)], want_sp)
    assert np.array_equal(got_s[len(z):], z[:16]) and np.all(got_sp[len(z):] == -7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_activate_computes_both_from_z(dtype):
    """sigma and sigma' each rounded once from their float64 values at z, up to |z| = 40 and beyond.

    Guards sigma'(z) computed as a (1 - a) from the stored activation a: in float32 that is 4.6e-4
    off at z = 10 and loses everything once a rounds to 1.
    """
    z = np.concatenate([np.linspace(-40, 40, 8001), [-800, -745.2, 0.0, 745.2, 800]]).astype(dtype)
    z = np.concatenate([z, np.zeros(-len(z) % simd.LANES, dtype=dtype)])  # whole blocks
    got_s, got_sp = z.copy(), np.empty_like(z)
    run_kernel(kernels._activate, got_s, got_sp, 0, len(z))
    want_s, want_sp = naive.activate(z)
    tolerance = {np.float64: 5e-15, np.float32: 6e-7}[dtype]  # each value's own relative error: measured 4.8e-16 / 5.9e-8
    smallest_normal = np.finfo(dtype).tiny
    if dtype == np.float64:  # the book's s (1 - s), of the engine's own s: bitwise, and 0 where s rounds to 1
        want_sp = got_s * (1 - got_s)
        assert np.all(got_sp[z > 37] == 0) and np.all(got_sp[(z > 0) & (z < 36)] > 0)
    for got, want in ((got_s, want_s), (got_sp, want_sp)):
        normal = want >= smallest_normal
        assert np.all(np.abs(got[normal] - want[normal]) <= tolerance * want[normal])
        assert np.all(got[~normal] == 0)  # what would be subnormal is zero (an Intel core slows down on those)
        assert (~normal).any() and normal.any()


def thread_share(params, m):
    """One thread's scratch (``kernels.Share``) for m examples, following a copy of ``params``' scales."""
    return kernels.Share(np.zeros((3, m), dtype=np.int64), np.zeros(16, dtype=np.int64), params.scale.copy(),
                         np.arange(int(max(params.sizes)), dtype=np.int32))


def twin_layers(dtype, sizes, seed, scale=1.0):
    """Random book-shaped weights and biases for ``sizes``, packed, with every scale set to ``scale``."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    params = layout.pack(weights, biases, dtype)
    params.scale[:] = scale
    return rng, params, layout.unpack(params._replace(scale=np.ones_like(params.scale)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[3, 1], [784, 100, 10], [5, 17, 33, 2], [9, 300, 64, 17]])
@pytest.mark.parametrize("share", [(0, 1), (0, 2), (1, 2), (2, 3)])
@pytest.mark.parametrize("m, density", [(3, 0.2), (19, 0.2), (11, 0.9)])
def test_forward_layer_matches_naive(dtype, sizes, share, m, density):
    """Layer 0 from sparse (or, at density 0.9, complete) inputs and the later layers from the stored
    activations, in one share of the columns: that share's outputs right, every other place of the
    buffer untouched. 19 and 11 examples run whole tiles and examples left over (guards a tile that
    mixes up its examples, a remainder dropped, a share that writes its neighbour's columns)."""
    rng, params, (weights, biases) = twin_layers(dtype, sizes, sum(sizes) + share[0] + m, scale=0.8)
    stride = params.b.size
    X = np.where(rng.random((m, sizes[0])) < density, rng.random((m, sizes[0])), 0).astype(dtype)
    X[1] = 0  # an input with no non-zero pixel
    data, rows = sparse_rows(X, dtype), rng.permutation(m)  # the tiles' examples are rows of X in any order
    assert data.complete == (density > 0.5)
    X = X[rows]
    act, sp = np.full(m * stride, -7, dtype=dtype), np.full(m * stride, -7, dtype=dtype)
    scratch = thread_share(params, m)
    inputs = X
    for l in range(len(sizes) - 1):
        first, last = run_kernel(kernels._share, params.widths[l + 1], *share)
        before = act.copy()
        run_kernel(kernels._forward_layer, params, scratch, data, rows, act, sp, l, first, last)
        want_a, want_sp = naive.forward_layer(weights[l], biases[l], 0.8, inputs)
        got = act.reshape(m, stride)[:, params.b_off[l] : params.b_off[l] + params.widths[l + 1]]
        real = slice(first, min(last, sizes[l + 1]))
        kind = " complete" if data.complete else ""
        assert close("forward_layer" + kind, dtype, got[:, real], want_a[:, real])
        got_sp = sp.reshape(m, stride)[:, params.b_off[l] : params.b_off[l] + params.widths[l + 1]]
        if dtype == np.float64:  # the book's a (1 - a) of the layer's own activations, bit for bit
            book = got[:, real] * (1 - got[:, real])
            assert np.array_equal(got_sp[:, real], np.where(book >= np.finfo(dtype).tiny, book, 0))
        else:  # from z, not from the rounded a
            assert close("forward_layer_sp" + kind, dtype, got_sp[:, real], want_sp[:, real], each=True)
        changed = (act != before).reshape(m, stride)
        changed[:, params.b_off[l] + first : params.b_off[l] + last] = False
        assert not changed.any()
        inputs = want_a.astype(dtype)  # the next layer's input, the same for the kernel and its twin
        act.reshape(m, stride)[:, params.b_off[l] : params.b_off[l] + sizes[l + 1]] = inputs
        act.reshape(m, stride)[:, params.b_off[l] + sizes[l + 1] : params.b_off[l + 1]] = 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "sizes", [[3, 1], [6, 10], [784, 100, 10], [5, 17, 33, 2], [4, 40, 70, 20, 3], [9, 300, 64, 17]]
)
@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("rule", ["quadratic", "cross-entropy"])
def test_backward_matches_naive(dtype, sizes, m, rule):
    """Every layer's deltas for a mini-batch, real values against ``naive.backward``, the padding zero
    (guards a dropped last block, a missing scale, and each output rule's formula)."""
    rng, params, (weights, _) = twin_layers(dtype, sizes, sum(sizes) + m, scale=0.6)
    stride = params.b.size
    act, sp = (rng.uniform(0.01, 1, m * stride).astype(dtype) for _ in range(2))
    Y = rng.random((8, sizes[-1])).astype(dtype)
    rows = rng.integers(0, 8, m)
    delta = np.full(m * stride, np.nan, dtype=dtype)
    code = {"quadratic": kernels.QUADRATIC, "cross-entropy": kernels.CROSS_ENTROPY}[rule]
    run_kernel(kernels._backward, params, thread_share(params, m), Y, code, rows, act, sp, delta)

    def per_layer(buffer):
        return [layer_of(params, buffer.reshape(m, stride), slice(None), l) for l in range(len(sizes) - 1)]

    want = naive.backward(weights, params.scale, per_layer(act), per_layer(sp), Y[rows], rule)
    for got, expected in zip(per_layer(delta), want):
        assert close("backward", dtype, got, expected)
    assert np.count_nonzero(delta) == m * sum(sizes[1:])  # every padded place written, with zero


@pytest.mark.parametrize("dtype", DTYPES)
def test_deltas_that_would_be_subnormal_are_zero(dtype):
    """float32 deltas below 1.2e-38 are zero, not subnormal (each would cost an Intel core a ~100-cycle assist)."""
    sizes = [3, 20, 4]
    rng, params, _ = twin_layers(dtype, sizes, 0)
    stride, tiny = params.b.size, np.finfo(dtype).tiny
    act = rng.uniform(0.2, 0.8, stride).astype(dtype)
    sp = np.full(stride, tiny, dtype=dtype)  # sigma' the smallest normal: (a - y) sigma' with 0 < a - y < 1 underflows
    delta = np.full(stride, np.nan, dtype=dtype)
    scratch = thread_share(params, 1)
    run_kernel(kernels._backward, params, scratch, np.zeros((1, 4), dtype=dtype), kernels.QUADRATIC, np.arange(1), act, sp, delta)
    assert np.all(delta == 0)
    sp[:] = dtype(0.25)
    run_kernel(kernels._backward, params, scratch, np.zeros((1, 4), dtype=dtype), kernels.QUADRATIC, np.arange(1), act, sp, delta)
    assert np.count_nonzero(delta) == sum(sizes[1:])


@pytest.mark.parametrize("dtype", DTYPES)
def test_fold_scales_only_its_columns(dtype):
    rng = np.random.default_rng(0)
    width, pitch, rows = 3 * simd.LANES, 3 * simd.LANES + 8, 5
    W = rng.standard_normal(rows * pitch).astype(dtype)
    before = W.copy()
    run_kernel(kernels._fold, W, pitch, rows, 0.37, simd.LANES, width)
    grid, old = W.reshape(rows, pitch), before.reshape(rows, pitch)
    np.testing.assert_array_equal(grid[:, simd.LANES : width], (old[:, simd.LANES : width] * dtype(0.37)))
    np.testing.assert_array_equal(grid[:, : simd.LANES], old[:, : simd.LANES])
    np.testing.assert_array_equal(grid[:, width:], old[:, width:])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[6, 10], [784, 30, 10], [5, 17, 33, 2], [20, 40, 3]])
@pytest.mark.parametrize("decay, scale", [(1.0, 1.0), (0.9, 1.0), (0.9, 0.54), (0.0, 1.0), (-0.5, 1.0)])
@pytest.mark.parametrize("m, density", [(4, 0.2), (11, 0.9)])
def test_update_matches_naive(dtype, sizes, decay, scale, m, density):
    """One step's update of every layer, W = scale V against the book's decay W - (eta/m) sum delta a^T,
    for sparse and complete inputs (dense layers update in tiles of rows, 17 and 33 leave rows over).

    Guards the weight decay (missing, applied twice, or lost when the scale is folded back in: 0.54
    times 0.9 leaves [1/2, 2], as do a zero and a negative decay), the biases' (never decayed), a
    tile's rows mixed up, and rows left over.
    """
    rng, params, (weights, biases) = twin_layers(dtype, sizes, sum(sizes) + m, scale=scale)
    stride = params.b.size
    X = np.where(rng.random((m, sizes[0])) < density, rng.random((m, sizes[0])), 0).astype(dtype)
    data = sparse_rows(X, dtype)
    assert data.complete == (density > 0.5)
    act = np.zeros(m * stride, dtype=dtype)
    delta = np.zeros(m * stride, dtype=dtype)
    A, D = [X], []
    for l in range(len(sizes) - 1):
        a = rng.uniform(0.01, 1, (m, sizes[l + 1])).astype(dtype)
        d = rng.standard_normal((m, sizes[l + 1])).astype(dtype)
        act.reshape(m, stride)[:, params.b_off[l] : params.b_off[l] + sizes[l + 1]] = a
        delta.reshape(m, stride)[:, params.b_off[l] : params.b_off[l] + sizes[l + 1]] = d
        A.append(a)
        D.append(d)
    scratch = thread_share(params, m)
    step = kernels.Step(0.8, decay, kernels.QUADRATIC)
    run_kernel(kernels._update, params, scratch, step, data, np.arange(m), act, delta, 0, 1)
    params.scale[:] = scratch.scale
    got_w, got_b = layout.unpack(params)
    for l in range(len(sizes) - 1):
        want_w, want_b = naive.update(weights[l], biases[l], scale, decay, 0.8, A[l], D[l])
        assert close("update", dtype, got_w[l], want_w)
        assert close("update", dtype, got_b[l], want_b)
    assert np.all((0.5 <= params.scale) & (params.scale <= 2))


@pytest.mark.parametrize("width", [16, 32, 112, 160, 1008])
@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7, 8, 16])
def test_shares_split_a_layer_in_order(width, parts):
    """The shares cover every block once, in order, sizes differing by at most one block, larger first."""
    got = [tuple(int(v) for v in run_kernel(kernels._share, width, part, parts)) for part in range(parts)]
    assert got == [naive.share(width, part, parts) for part in range(parts)]
    assert got[0][0] == 0 and got[-1][1] == width and all(a[1] == b[0] for a, b in zip(got, got[1:]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int64])
@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (4, 7), (30, 784)])
@pytest.mark.parametrize("threads_", [1, 2, 3])
def test_sparse_rows_matches_naive(dtype, shape, threads_, monkeypatch):
    """The CSR of ``_count_rows`` and ``_copy_rows`` on 1 to 3 threads: an empty row, a full row, and
    shares that end where a row's zeros would spill into the next share's first place."""
    monkeypatch.setattr(arrays, "DENSE_INPUTS", 1.1)  # always the sparse rows here
    rng = np.random.default_rng(sum(shape))
    X = (rng.random(shape) * (rng.random(shape) < 0.3) * 200).astype(dtype)
    if shape[0] > 2:
        X[1] = 0  # an empty row
        X[2] = 7  # a full row
    X[:, -1] = 0  # every row ends in zeros
    got = arrays.sparse_rows(X, np.float64, threads=threads_)
    for got_part, want in zip(got[:3], naive.sparse_rows(X)):
        np.testing.assert_array_equal(got_part, want)
    assert got.indices.dtype == np.int32 and got.values.dtype == np.float64 and not got.complete


def test_mostly_dense_inputs_are_kept_whole():
    rng = np.random.default_rng(0)
    X = np.where(rng.random((20, 50)) < 0.6, rng.random((20, 50)), 0)
    rows = arrays.sparse_rows(X, np.float32)
    assert rows.complete and len(rows.indices) == 0
    np.testing.assert_array_equal(rows.values, X.astype(np.float32).reshape(-1))
    np.testing.assert_array_equal(rows.indptr, np.arange(21) * 50)
    assert not arrays.sparse_rows(np.where(X > 0.9, X, 0), np.float32).complete  # 4% non-zero


@pytest.mark.parametrize("seed", [0, 1, 2**40])
@pytest.mark.parametrize("n", [0, 1, 2, 17, 623, 624, 625, 5000])
def test_shuffle_matches_random_shuffle(seed, n):
    random.seed(seed)
    order = np.arange(n)
    shuffle.shuffle_in_place(order)
    assert order.tolist() == naive.shuffle(n, seed)


@numba.njit
def _primitives(x, y, out, i, c):
    a, b = simd.load(x, i), simd.load(y, i)
    simd.store(out, 0, simd.fma(simd.splat(c), a, b))
    simd.store(out, simd.LANES, simd.add(a, b))
    simd.put(out, 2 * simd.LANES + 1, simd.at(y, i))
    return simd.at(x, i), simd.total(simd.mul(a, b))


@numba.njit
def _comparisons(x, y, out):
    a, b = simd.load(x, 0), simd.load(y, 0)
    simd.store(out, 0, simd.larger(a, b))
    simd.store(out, simd.LANES, simd.where_equal(a, a, simd.sub(a, b)))  # every lane equal: a - b throughout
    simd.store(out, 2 * simd.LANES, simd.where_equal(a, b, simd.splat(x.dtype.type(3))))
    simd.store(out, 3 * simd.LANES, simd.where_at_least(a, b, simd.splat(x.dtype.type(5))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_simd_comparisons(dtype):
    """larger: the lane-wise maximum (max pooling, ReLU); where_equal: a value where two blocks are equal, 0
    elsewhere (the pooling's gradient: every tied maximum); where_at_least: where one is at least the other (ReLU's
    gradient)."""
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal(simd.LANES) * 2).astype(dtype)
    y = np.round(rng.standard_normal(simd.LANES) * 2).astype(dtype)
    y[:4] = x[:4]
    out = np.full(4 * simd.LANES, 9, dtype=dtype)
    _comparisons(x, y, out)
    n = simd.LANES
    assert np.array_equal(out[:n], np.maximum(x, y))
    assert np.array_equal(out[n : 2 * n], x - y)
    assert np.array_equal(out[2 * n : 3 * n], np.where(x == y, 3, 0)) and np.sum(out[2 * n : 3 * n] == 3) >= 4
    assert np.array_equal(out[3 * n :], np.where(x >= y, 5, 0)) and 4 <= np.sum(out[3 * n :] == 5) < n


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("i", [0, 1, 5])
def test_simd_primitives(dtype, i):
    """fma rounds once (checked against exact rationals), total adds in its fixed tree, load and store
    touch exactly their block."""
    rng = np.random.default_rng(i)
    n = simd.LANES
    x, y = rng.standard_normal(n + 8).astype(dtype), rng.standard_normal(n + 8).astype(dtype)
    out = np.zeros(2 * n + 3, dtype=dtype)
    c = dtype(1.5)
    first, dot = _primitives(x, y, out, i, c)
    assert first == x[i]
    assert dot == naive.tree_sum(x[i : i + n] * y[i : i + n])
    exact = [Fraction(float(c)) * Fraction(float(a)) + Fraction(float(b)) for a, b in zip(x[i : i + n], y[i : i + n])]
    fused = np.array([float(v) for v in exact]).astype(dtype)  # c x + y rounded once (float32: exact in float64)
    assert np.array_equal(out[:n], fused)
    assert np.array_equal(out[n : 2 * n], x[i : i + n] + y[i : i + n])
    assert out[2 * n] == 0 and out[2 * n + 1] == y[i] and out[2 * n + 2] == 0  # put writes its one element


@numba.njit
def _tile_primitives(x, starts, offset, out, first, step):
    tile = simd.fma(simd.spread(x, starts, offset), simd.repeat(simd.load(x, 0)), simd.load_each(x, first, step))
    simd.store_each(out, 0, step, tile)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_primitives(dtype):
    """Block e of a tile: spread takes x[starts[e] + offset], repeat the same block every time,
    load_each and store_each the block at first + e * step (and nothing else)."""
    size = simd.TILE_BLOCKS[np.dtype(dtype).itemsize]
    rng = np.random.default_rng(size)
    x = rng.standard_normal(64 * size + 64).astype(dtype)
    starts = rng.integers(0, 40, 16).astype(np.int64)
    step = simd.LANES + 3
    out = np.zeros(step * size + 5, dtype=dtype)
    _tile_primitives(x, starts, 7, out, 20, step)
    for e in range(size):
        exact = np.array([float(Fraction(float(x[starts[e] + 7])) * Fraction(float(w)) + Fraction(float(v)))
                          for w, v in zip(x[: simd.LANES], x[20 + e * step : 20 + e * step + simd.LANES])]).astype(dtype)
        np.testing.assert_array_equal(out[e * step : e * step + simd.LANES], exact)
        assert np.all(out[e * step + simd.LANES : (e + 1) * step] == 0)
    assert np.all(out[size * step :] == 0)


@numba.njit
def _totals(x, first, step, out, one_by_one, accumulate):
    tile = simd.load_each(x, 0, simd.LANES)
    simd.store_totals(out, first, step, tile, accumulate)
    for e in range(len(one_by_one)):
        one_by_one[e] = simd.total(simd.load(x, e * simd.LANES))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("step", [1, 3])
def test_store_totals_adds_each_block_as_total_does(dtype, step):
    """Each block's sum, bit for bit the sum ``total`` takes (its fixed tree), at first + e * step, or added to
    what is there; nothing else written. Lanes of very different sizes make every order of addition give
    different bits."""
    size = simd.TILE_BLOCKS[np.dtype(dtype).itemsize]
    rng = np.random.default_rng(step)
    x = (rng.standard_normal(size * simd.LANES) * 10.0 ** rng.integers(-8, 9, size * simd.LANES)).astype(dtype)
    out, one_by_one = np.full(2 + size * step, 7, dtype=dtype), np.zeros(size, dtype=dtype)
    _totals(x, 2, step, out, one_by_one, False)
    np.testing.assert_array_equal(out[2 :: step], one_by_one)
    assert np.all(np.delete(out, np.arange(2, len(out), step)) == 7)
    _totals(x, 2, step, out, one_by_one, True)
    np.testing.assert_array_equal(out[2 :: step], one_by_one + one_by_one)
    assert np.all(np.delete(out, np.arange(2, len(out), step)) == 7)
    sums = x.reshape(size, simd.LANES).astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(one_by_one, sums, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[3, 1], [784, 100, 10], [5, 17, 33, 2]])
def test_pack_pads_to_blocks_aligns_and_round_trips(dtype, sizes):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    params = layout.pack(weights, biases, dtype)
    assert params.wt.ctypes.data % layout.CACHE_LINE == 0 and params.b.ctypes.data % layout.CACHE_LINE == 0
    assert np.all(params.widths[1:] % simd.LANES == 0) and np.all(params.widths[1:] - params.sizes[1:] < simd.LANES)
    back_w, back_b = layout.unpack(params)
    for w, v, bw, bb in zip(weights, biases, back_w, back_b):
        assert np.array_equal(bw, w.astype(dtype)) and np.array_equal(bb, v.astype(dtype))
    real = sum(int(n) for n in params.sizes[1:])
    assert np.count_nonzero(params.b) == real  # padding stays zero (the random biases are never zero)
    params.scale[:] = 0.5
    assert all(np.array_equal(bw, w.astype(dtype) * dtype(0.5)) for w, bw in zip(weights, layout.unpack(params)[0]))


def _epoch(sizes, dtype, mini_batch_size, threads, rng_seed, decay=1.0):
    """Params after one epoch of ``train_steps`` on ``threads`` threads, from the same random start."""
    rng = np.random.default_rng(rng_seed)
    X = np.where(rng.random((47, sizes[0])) < 0.3, rng.random((47, sizes[0])), 0)
    targets = rng.integers(0, sizes[-1], 47)
    np.random.seed(rng_seed)
    net = fastnet.Network(sizes, dtype=dtype)
    run = Training(net._params(), data_set(X, targets, sizes[-1], net.dtype), threads=threads)
    random.seed(1)
    run.epoch(mini_batch_size, kernels.Step(3.0, decay, kernels.QUADRATIC))
    return run.params, net


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[50, 70, 40, 10], [784, 30, 10], [20, 200, 10], [30, 10], [30, 70]])
@pytest.mark.parametrize("mini_batch_size", [1, 3, 10])
def test_an_epoch_is_bitwise_the_same_on_any_number_of_threads(dtype, sizes, mini_batch_size):
    """Wide layers are shared by columns, narrow ones by examples: no sum is ever split, so no bit moves.

    Also guards the barriers: a share that ran ahead into the next phase would read half-updated
    weights or half-written activations, and the bits would differ.
    """
    results = [_epoch(sizes, dtype, mini_batch_size, t, sum(sizes) + mini_batch_size, decay=0.9) for t in (1, 2, 3, 5)]
    first, net = results[0]
    assert not np.array_equal(first.wt, net._params().wt)  # it trained
    for other, _ in results[1:]:
        assert np.array_equal(other.wt, first.wt) and np.array_equal(other.b, first.b)
        assert np.array_equal(other.scale, first.scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads_", [1, 2, 3])
def test_feed_forward_matches_the_reference_on_any_number_of_threads(dtype, threads_):
    rng = np.random.default_rng(5)
    sizes = [40, 33, 10]
    X = np.where(rng.random((301, 40)) < 0.3, rng.random((301, 40)), 0)
    np.random.seed(0)
    net = fastnet.Network(sizes, dtype=dtype)
    out = training.outputs(net._params(), sparse_rows(X, dtype), threads=threads_)
    a = X.T
    for w, b in zip(net.weights, net.biases):
        a = naive.sigmoid(w.astype(np.float64) @ a + b)
    assert close("feed_forward", dtype, out, a.T)
    np.testing.assert_array_equal(out, training.outputs(net._params(), sparse_rows(X, dtype), threads=1))


def test_a_share_that_cannot_start_releases_the_others(monkeypatch):
    """If a thread fails to start, the shares already waiting at a barrier are released, not left spinning."""
    params, _ = _epoch([30, 40, 10], np.float64, 3, 1, 0)
    X = np.random.default_rng(0).random((9, 30))
    run = Training(params, data_set(X, np.zeros(9, dtype=np.int64), 10, np.float64), threads=3)
    started = []
    original = threading.Thread.start

    def start_twice_then_fail(self):
        if started:
            raise RuntimeError("can't start new thread")
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", start_twice_then_fail)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        run.epoch(3, kernels.Step(1.0, 1.0, kernels.QUADRATIC))
    started[0].join(timeout=30)
    assert not started[0].is_alive()


@pytest.mark.parametrize("cpus", [1, 2, 4, 8, 16])
def test_threads_only_for_shares_worth_running(cpus):
    """At most one thread per CPU, per block of the first layer, and per 512 KB of weights a step reads."""
    rng = np.random.default_rng(0)
    X = np.where(rng.random((20, 784)) < 0.2, 1.0, 0.0)  # about 157 non-zero pixels, like MNIST
    inputs = sparse_rows(X, np.float64)

    def shares(sizes, dtype, m):
        params = layout.pack(*_params(sizes), dtype)
        return training.shares_worth_running(params, inputs, m, cpus)

    assert shares([784, 30, 10], np.float64, 10) == 1  # 420 KB a step
    assert shares([784, 100, 10], np.float64, 1) == 1
    assert shares([784, 100, 10], np.float64, 10) == min(cpus, 2)  # 1.4 MB: two shares of 512 KB
    assert shares([784, 100, 10], np.float32, 10) == 1
    assert shares([784, 1000, 10], np.float64, 10) == min(cpus, 25)  # 12.6 MB, 63 blocks
    assert shares([784, 20, 10], np.float64, 100) == min(cpus, 2)  # 2 blocks: never more than 2 shares


def _params(sizes):
    net = fastnet.Network(sizes)
    return net.weights, net.biases


def test_the_choice_follows_the_timings():
    """Probe each count, keep the faster (one thread unless several are 5% faster), probe again when a
    call runs 30% slower than when chosen, and after ``RECHECK_STEPS`` steps."""
    choice = training.ThreadChoice([1, 4])
    assert choice.plan(5000) == (1, training.PROBE_STEPS)
    choice.record(1, 100, 1.0)
    assert choice.plan(4900) == (4, training.PROBE_STEPS)
    choice.record(4, 100, 0.6)
    assert choice.plan(4800) == (4, training.CHUNK_STEPS)
    choice.record(4, 1000, 6.5)  # as fast as probed: keep
    assert choice.plan(3800) == (4, training.CHUNK_STEPS)
    choice.record(4, 1000, 9.0)  # 1.5x slower per step: another program started
    assert choice.plan(2800) == (4, training.PROBE_STEPS)
    choice.record(4, 100, 2.0)
    choice.record(1, 100, 1.0)
    assert choice.chosen == 1 and choice.plan(2600) == (1, training.CHUNK_STEPS)
    choice.record(1, 1000, 10.0)
    choice.record(1, 1000, 10.0)
    choice.record(1, 1000, 10.0)
    choice.record(1, 1000, 10.0)
    choice.record(1, 1000, 10.0)  # RECHECK_STEPS later
    assert choice.plan(10_000)[1] == training.PROBE_STEPS
    tie = training.ThreadChoice([1, 2])
    tie.record(1, 100, 1.0)
    tie.record(2, 100, 0.97)
    assert tie.chosen == 1  # 3% is within the noise: one thread


def test_a_forced_count_is_used_without_probing(monkeypatch):
    params, _ = _epoch([30, 40, 10], np.float64, 3, 1, 0)
    X = np.random.default_rng(0).random((9, 30))
    data = data_set(X, np.zeros(9, dtype=np.int64), 10, np.float64)
    assert Training(params, data, threads=3).threads(3) == 3
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert Training(params, data).threads(3) == 2


@pytest.mark.parametrize(
    "dtype, hidden, extra", [(np.float32, 1024, 16), (np.float32, 1000, 0), (np.float64, 1000, 0), (np.float64, 128, 8), (np.float32, 100, 0)]
)
def test_rows_a_whole_number_of_kib_long_get_one_more_cache_line(dtype, hidden, extra):
    weights, biases = _params([5, hidden, 10])
    params = layout.pack(weights, biases, dtype)
    assert params.pitches[0] == params.widths[1] + extra
    assert all(np.array_equal(w, v.astype(dtype)) for w, v in zip(layout.unpack(params)[0], weights))


def test_barrier_holds_every_share_until_all_arrive():
    """Each share writes its phase number, waits at the barrier, then checks every share wrote it."""

    @numba.njit(nogil=True)
    def phases(marks, sync, rounds, part, parts):
        for r in range(1, rounds + 1):
            marks[part] = r
            if not threads.barrier(sync, parts, 2 * r - 1):
                return False
            for p in range(parts):
                if marks[p] != r:
                    return False
            if not threads.barrier(sync, parts, 2 * r):
                return False
        return True

    marks, sync = np.zeros(3, dtype=np.int64), np.zeros(threads.SYNC_SIZE, dtype=np.int64)
    assert threads.run_shares(phases, (marks, sync, 500), 3, sync)
