"""The engine's block kernels and SIMD primitives against their plain twins in ``naive``.

``_affine`` (z = b + sum of scaled weight rows) and ``_subtract_outer`` (the rank-1 weight step)
carry almost all of an epoch's arithmetic; they are checked here directly over many shapes, term
counts (none, one, odd, even, repeated rows) and both dtypes, not only through the network.
"""

from fractions import Fraction

import numba
import numpy as np
import pytest

import naive
import fastnet
from fastnet import kernels, layout, simd
from fastnet.arrays import SparseRows, one_hot_targets
from fastnet.training import Training

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 2e-5}


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
    rng, width, W, row_of, coeff, terms = random_case(dtype, n_rows, blocks, counts, seed, dense_coeffs=True)
    bias = rng.standard_normal(width).astype(dtype)
    stride, offset = width + 2 * simd.LANES, simd.LANES  # outputs land inside a wider buffer
    out = np.full(len(counts) * stride, -7, dtype=dtype)
    kernels._affine(out, offset, stride, W, width, bias, row_of, coeff, terms, 0, width)
    got = out.reshape(len(counts), stride)
    want = naive.affine(W, width, bias, row_of, coeff, terms)
    scale = 1 + np.abs(want).max()
    assert np.abs(got[:, offset : offset + width] - want).max() <= TOL[dtype] * scale
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
    want = naive.subtract_outer(W, width, row_of, coeff, terms, scale, D)
    kernels._subtract_outer(W, width, row_of, coeff, terms, scale, d, offset, stride, 0, width)
    assert np.abs(W - want).max() <= TOL[dtype] * (1 + np.abs(want).max())


def test_subtract_outer_takes_examples_in_order_bitwise():
    """Every weight takes the examples' terms in the mini-batch's order: the same bits as one example at a time."""
    rng = np.random.default_rng(3)
    width = 2 * simd.LANES
    W = rng.standard_normal(5 * width)
    row_of, coeff, terms = random_terms(rng, 5, [4, 6, 3], dense_coeffs=False)
    d = rng.standard_normal(3 * width)
    together = W.copy()
    kernels._subtract_outer(together, width, row_of, coeff, terms, 0.7, d, 0, width, 0, width)
    one_by_one = W.copy()
    for e in range(3):
        one = terms[:, e : e + 1].copy()
        kernels._subtract_outer(one_by_one, width, row_of, coeff, one, 0.7, d, e * width, 0, 0, width)
    assert np.array_equal(together, one_by_one)


@numba.njit
def _primitives(x, y, out, i, c):
    a, b = simd.load(x, i), simd.load(y, i)
    simd.store(out, 0, simd.fma(simd.splat(c), a, b))
    simd.store(out, simd.LANES, simd.add(a, b))
    return simd.at(x, i), simd.total(simd.mul(a, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("i", [0, 1, 5])
def test_simd_primitives(dtype, i):
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
    assert np.all(out[2 * n :] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "sizes", [[3, 1], [6, 10], [784, 100, 10], [5, 17, 33, 2], [4, 40, 70, 20, 3], [9, 300, 64, 17]]
)
@pytest.mark.parametrize("m", [1, 3])
def test_backward_matches_naive(dtype, sizes, m):
    """Every layer's deltas for a mini-batch, real values against ``naive.deltas``, the padding zero."""
    rng = np.random.default_rng(sum(sizes) + m)
    weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    packed = layout.pack(weights, [np.zeros((n, 1)) for n in sizes[1:]], dtype)
    stride = packed.b.size
    act, sp = (rng.uniform(0.01, 1, m * stride).astype(dtype) for _ in range(2))
    Y = rng.random((8, sizes[-1])).astype(dtype)
    rows = rng.integers(0, 8, m)
    delta = np.full(m * stride, np.nan, dtype=dtype)
    kernels._backward_all(*packed.kernel_args()[:5], Y, kernels.QUADRATIC, rows, act, sp, delta)

    def per_layer(buffer):
        return [layout.layer(packed, buffer.reshape(m, stride), slice(None), l) for l in range(len(sizes) - 1)]

    want = naive.deltas(layout.unpack(packed)[0], per_layer(act), per_layer(sp), Y[rows])
    for got, expected in zip(per_layer(delta), want):
        assert np.abs(got - expected).max() <= TOL[dtype] * (1 + np.abs(expected).max())
    assert np.count_nonzero(delta) == m * sum(sizes[1:])  # every padded place written, with zero


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[3, 1], [784, 100, 10], [5, 17, 33, 2]])
def test_pack_pads_to_blocks_aligns_and_round_trips(dtype, sizes):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
    packed = layout.pack(weights, biases, dtype)
    assert packed.wt.ctypes.data % layout.CACHE_LINE == 0 and packed.b.ctypes.data % layout.CACHE_LINE == 0
    assert np.all(packed.widths[1:] % simd.LANES == 0) and np.all(packed.widths[1:] - packed.sizes[1:] < simd.LANES)
    back_w, back_b = layout.unpack(packed)
    for w, v, bw, bb in zip(weights, biases, back_w, back_b):
        assert np.array_equal(bw, w.astype(dtype)) and np.array_equal(bb, v.astype(dtype))
    real = sum(int(n) for n in packed.sizes[1:])
    assert np.count_nonzero(packed.b) == real  # padding stays zero (the random biases are never zero)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes", [[50, 70, 40, 10], [784, 30, 10], [20, 200, 10], [30, 10], [30, 70]])
@pytest.mark.parametrize("mini_batch_size", [1, 3, 10])
def test_epoch_is_bitwise_the_same_on_any_number_of_threads(dtype, sizes, mini_batch_size):
    """Wide layers are shared by columns, narrow ones by examples: no sum is ever split, so no bit moves."""
    rng = np.random.default_rng(sum(sizes) + mini_batch_size)
    X = np.where(rng.random((47, sizes[0])) < 0.3, rng.random((47, sizes[0])), 0)
    net = fastnet.Network(sizes, dtype=dtype)
    inputs = SparseRows.from_dense(X, dtype)
    targets = one_hot_targets(rng.integers(0, sizes[-1], 47), sizes[-1], dtype)
    order = rng.permutation(47)
    results = []
    for parts in (None, 1, 2, 3):  # the one-thread kernel, then the threaded one
        packed = layout.pack(net.weights, net.biases, dtype)
        args = (*packed.kernel_args(), *inputs.kernel_args(), targets, order, mini_batch_size, 3.0)
        if parts is None:
            kernels.train_epoch(*args)
        else:
            kernels.train_epoch_on_threads(*args, parts)
        results.append(packed)
    assert not np.array_equal(results[0].wt, layout.pack(net.weights, net.biases, dtype).wt)  # it trained
    for other in results[1:]:
        assert np.array_equal(other.wt, results[0].wt) and np.array_equal(other.b, results[0].b)


def test_threads_only_for_steps_with_enough_weight_traffic():
    rng = np.random.default_rng(0)
    X = np.where(rng.random((20, 784)) < 0.2, 1.0, 0.0)  # about 157 non-zero pixels, like MNIST
    y = rng.integers(0, 10, 20)
    small = Training(layout.pack(*_params([784, 30, 10]), np.float64), X, y)
    large = Training(layout.pack(*_params([784, 300, 10]), np.float64), X, y)
    assert small.threads(10) == 1 and small.threads(1) == 1
    assert large.threads(10) == numba.get_num_threads()
    assert large.threads(1) == 1  # one example's step is too small to share


def _params(sizes):
    net = fastnet.Network(sizes)
    return net.weights, net.biases


@pytest.mark.parametrize(
    "dtype, hidden, extra", [(np.float32, 1024, 16), (np.float32, 1000, 0), (np.float64, 1000, 0), (np.float64, 128, 8), (np.float32, 100, 0)]
)
def test_rows_a_whole_number_of_kib_long_get_one_more_cache_line(dtype, hidden, extra):
    weights, biases = _params([5, hidden, 10])
    packed = layout.pack(weights, biases, dtype)
    assert (packed.w_off[1] - packed.w_off[0]) // 5 == packed.widths[1] + extra
    assert all(np.array_equal(w, v.astype(dtype)) for w, v in zip(layout.unpack(packed)[0], weights))
