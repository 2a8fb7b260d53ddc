"""The chapter-6 kernels (``engine/convnet.py``) against their twins: the products and the patches against
``tests/naive.py``, every layer forward and backward against ``tools/reference3``'s convolution, pooling and
their gradients; over odd image sizes, pool remainders, one and many filters and maps, ties in the pooling
windows, tiles with rows left over, and float32 and float64."""

import numpy as np
import pytest

import naive
from fastnet.engine import convnet as kernels
from fastnet.engine.convnet_driver import ConvNetLayer, convnet_work, pack_convnet, unpack_convnet
from fastnet.engine.simd import LANES, TILE_BLOCKS
from fastnet.tools import reference3 as r3
from helpers import run_kernel

CONV_CASES = [  # (maps, height, width, filters, fh, fw, ph, pw, m)
    (1, 5, 5, 1, 2, 2, 2, 2, 1),
    (2, 7, 6, 3, 3, 2, 2, 2, 3),  # odd sizes, pool remainders
    (3, 9, 9, 4, 5, 5, 2, 2, 2),
    (1, 8, 8, 2, 3, 3, 1, 1, 10),
    (2, 6, 9, 5, 1, 1, 3, 2, 1),
    (1, 12, 12, 11, 5, 5, 2, 2, 4),  # more filters than a tile holds, with some left over
    (1, 28, 28, 3, 5, 5, 2, 2, 10),  # the book's first convolution's maps: pooled rows of 12
    (2, 13, 40, 2, 3, 4, 3, 2, 3),  # pooled rows of 18, longer than a block; pool remainders
    (1, 6, 21, 1, 2, 4, 1, 1, 1),  # rows of 18 without pooling
]
ACTS = {kernels.LINEAR: r3.linear, kernels.RELU: r3.ReLU, kernels.SIGMOID: r3.sigmoid, kernels.TANH: r3.tanh}
TOLERANCE = {np.float64: 1e-12, np.float32: 3e-5}
ONE = (0, 1)  # a step's only share (test_network3 runs whole steps on two and three threads)


def tile_rows(dtype):
    return TILE_BLOCKS[np.dtype(dtype).itemsize]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", ["one", "tile", "tile and more"])
@pytest.mark.parametrize("N, K", [(LANES, 1), (3 * LANES, 7), (kernels.PRODUCT_COLUMNS + 2 * LANES, 25)])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("descend", [False, True])
@pytest.mark.parametrize("first", [0, LANES])
def test_product_matches_its_twin(dtype, rows, N, K, transposed, descend, first):
    """Over the columns first <= j < N (a thread's share starts past 0), nothing written elsewhere."""
    M = {"one": 1, "tile": tile_rows(dtype), "tile and more": 2 * tile_rows(dtype) + 3}[rows]
    first = min(first, N - LANES)
    rng = np.random.default_rng(M * N + K + transposed)
    a0, b0, c0, ldb, ldc = 3, 5, 16, N + 2 * LANES, N + LANES
    ars, acs = (1, M + 1) if transposed else (K + 2, 1)
    A, B = rng.standard_normal(a0 + M * K * 3 + 4 * M + K).astype(dtype), rng.standard_normal(b0 + K * ldb).astype(dtype)
    C = rng.standard_normal(c0 + M * ldc).astype(dtype)
    want = naive.product(A, a0, ars, acs, B, b0, ldb, C, c0, ldc, M, N, K, descend, 0.25, 0.01)
    before = C.copy()
    run_kernel(kernels._product, A, a0, ars, acs, B, b0, ldb, C, c0, ldc, M, first, N, K, descend, 0.25, 0.01,
               np.zeros(tile_rows(dtype), np.int64))
    got = np.array([C[c0 + i * ldc + first : c0 + i * ldc + N] for i in range(M)])
    np.testing.assert_allclose(got, want[:, first:], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * K)
    untouched = np.ones(len(C), bool)
    for i in range(M):
        untouched[c0 + i * ldc + first : c0 + i * ldc + N] = False
    assert np.array_equal(C[untouched], before[untouched])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("code", [kernels.LINEAR, kernels.RELU, kernels.SIGMOID, kernels.TANH])
@pytest.mark.parametrize("n", [0, 1, LANES - 1, LANES, 2 * LANES + 5])
def test_runs_of_activations_and_slopes_match_their_twins(dtype, code, n):
    """f(z) and g f'(z) over a run of n values (whole blocks, then one by one), zeros and values past the sigmoid's
    limits included; nothing written outside the run. Then the run's copy and its float64 sum."""
    rng = np.random.default_rng(n + 10 * code)
    limits = kernels.SIGMOID_LIMITS[np.dtype(dtype).itemsize]
    z = rng.standard_normal(n + 7).astype(dtype) * 30
    z[3 : 3 + n : 5] = 0
    g = rng.standard_normal(n + 9).astype(dtype)
    a, out = np.full(n + 5, 7.0, dtype), np.full(n + 6, 7.0, dtype)
    run_kernel(kernels._activations, code, z, 3, a, 5, n, *limits)
    run_kernel(kernels._times_slopes, code, g, 1, z, 3, out, 2, n, *limits)
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(a[5:], naive.activations(code, z[3 : 3 + n], limits), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(out[2 : 2 + n], naive.times_slopes(code, g[1 : 1 + n], z[3 : 3 + n], limits),
                               rtol=tolerance, atol=tolerance)
    assert np.all(a[:5] == 7) and np.all(out[:2] == 7) and np.all(out[2 + n :] == 7)
    copied = np.zeros(n + 4, dtype)
    run_kernel(kernels._copy, z, 3, copied, 1, n)
    assert np.array_equal(copied[1 : 1 + n], z[3 : 3 + n]) and not np.any(copied[0]) and not np.any(copied[1 + n :])
    assert run_kernel(kernels._sum64, z, n) == pytest.approx(naive.sum64(z[:n]), rel=1e-15, abs=1e-300)


def test_product_gives_equal_columns_of_B_bitwise_equal_sums():
    """Pooling ties need it: two equal patches must give the very same convolution output, whether a column
    falls in a pair of blocks taken together (where registers allow) or in a block alone."""
    rng = np.random.default_rng(5)
    M, K, N = 2 * tile_rows(np.float32) + 1, 25, 3 * LANES  # blocks 0 and 1 a pair, block 2 alone
    A = rng.standard_normal(M * K).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    B[:, 7] = B[:, 40]
    C = np.zeros(M * N, np.float32)
    run_kernel(kernels._product, A, 0, K, 1, B.ravel(), 0, N, C, 0, N, M, 0, N, K, False, 0.0, 0.0,
               np.zeros(tile_rows(np.float32), np.int64))
    C = C.reshape(M, N)
    assert np.array_equal(C[:, 7], C[:, 40]) and not np.array_equal(C[:, 7], C[:, 8])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("M, N, P", [(1, 1, LANES), (10, 3, 2 * LANES), (13, 25, 5 * LANES), (5, 7, LANES),
                                     (12, 5, 3 * kernels.DOTS_BYTES // (4 * LANES))])  # rows in pieces
def test_dots_match_their_twin(dtype, M, N, P):
    rng = np.random.default_rng(M + N + P)
    a0, lda, b0, ldb, c0, ldc = 2, P + 3, 1, P + LANES, 4, N + 2
    A, B = rng.standard_normal(a0 + M * lda + LANES).astype(dtype), rng.standard_normal(b0 + N * ldb).astype(dtype)
    C = np.full(c0 + M * ldc, 7.0, dtype)
    first = N // 3  # a thread's share of the rows of B
    run_kernel(kernels._dots, A, a0, lda, B, b0, ldb, C, c0, ldc, M, first, N, P)
    got = np.array([C[c0 + i * ldc : c0 + i * ldc + N] for i in range(M)])
    np.testing.assert_allclose(got[:, first:], naive.dots(A, a0, lda, B, b0, ldb, M, N, P)[:, first:],
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype] * P)
    assert np.all(got[:, :first] == 7.0) and np.all(C[:c0] == 7.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameters_and_work_buffers_start_on_cache_lines(dtype):
    """Every float buffer of a packed network and its work starts on a 64-byte line, and each layer's weights at a
    whole block from there (a block straddling two lines costs two loads); the parameters come back unpadded."""
    rng = np.random.default_rng(1)
    layers = [ConvNetLayer(kernels.CONV, kernels.RELU, [1, 9, 9, 3, 3, 3, 2, 2], 1.0, rng.standard_normal((3, 1, 3, 3)),
                           rng.standard_normal(3)),
              ConvNetLayer(kernels.DENSE, kernels.RELU, [27, 20], 0.5, rng.standard_normal((27, 20)), rng.standard_normal(20)),
              ConvNetLayer(kernels.SOFTMAX, kernels.LINEAR, [20, 10], 1.0, rng.standard_normal((20, 10)),
                           rng.standard_normal(10))]
    net = pack_convnet(layers, dtype)
    work = convnet_work(net, 10, 2)
    buffers = [net.w, net.b] + [x for x in work if x.dtype == dtype]
    assert all(x.ctypes.data % 64 == 0 for x in buffers)
    assert np.all(net.w_off % LANES == 0)
    for (w, b), layer in zip(unpack_convnet(net, layers), layers):
        np.testing.assert_array_equal(w, layer.w.astype(dtype))
        np.testing.assert_array_equal(b, layer.b.astype(dtype))


def conv_net(case, act, dtype, rng, tied=False, second=False):
    """A network whose layer ``l`` (0, or 1 behind a linear dense layer when ``second``) is the convolution of
    ``case``, its work buffers with random inputs there, and those inputs and the layer's parameters."""
    C, H, W, F, fh, fw, ph, pw, m = case
    w, b = rng.standard_normal((F, C, fh, fw)), rng.standard_normal(F)
    x = rng.standard_normal((m, C, H, W))
    if tied:  # small whole numbers: the convolution's outputs tie within pooling windows
        w, x = np.round(w), np.round(x)
    layers = [ConvNetLayer(kernels.CONV, act, [C, H, W, F, fh, fw, ph, pw], 1.0, w, b)]
    if second:
        layers.insert(0, ConvNetLayer(kernels.DENSE, kernels.LINEAR, [1, C * H * W], 1.0, np.zeros((1, C * H * W)),
                                      np.zeros(C * H * W)))
    net = pack_convnet(layers, dtype)
    work = convnet_work(net, m)
    l = int(second)
    work.a[:m, net.a_off[l] : net.a_off[l] + x[0].size] = x.reshape(m, -1)
    w, b = unpack_convnet(net, layers)[l]
    return net, work, l, x.astype(dtype), w, b


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("gather", [False, True])
def test_patches_match_their_twin_and_gather_back(case, gather):
    rng = np.random.default_rng(sum(case))
    C, H, W, F, fh, fw, ph, pw, m = case
    net, work, l, x, w, b = conv_net(case, kernels.LINEAR, np.float64, rng, second=True)
    want = naive.patches(x, fh, fw, ph, pw)
    K, S = C * fh * fw, work.span[l]
    if not gather:
        run_kernel(kernels._patches, net, l, work, m, False, ONE)
        cols = work.cols[work.cols_off[l] : work.cols_off[l + 1]].reshape(K, ph * pw, S)
        assert np.array_equal(cols[:, :, : want.shape[2]], want)
        assert not np.any(cols[:, :, want.shape[2] :])
        return
    d = rng.standard_normal(want.shape)
    work.dcols[: K * ph * pw * S].reshape(K, ph * pw, S)[:, :, : d.shape[2]] = d
    work.g[:m, net.a_off[l] : net.a_off[l] + x[0].size] = 99.0  # gathering starts from zero
    run_kernel(kernels._patches, net, l, work, m, True, ONE)
    # the gather is the patches' adjoint: <cols(x'), d> = <x', gathered(d)> for every x'
    probe = rng.standard_normal(x.shape)
    got = work.g[:m, net.a_off[l] : net.a_off[l] + x[0].size].reshape(x.shape)
    assert abs(np.sum(naive.patches(probe, fh, fw, ph, pw) * d) - np.sum(probe * got)) < 1e-9 * np.sum(np.abs(d))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("act", [kernels.LINEAR, kernels.RELU, kernels.SIGMOID, kernels.TANH])
def test_convolution_pooling_and_activation_forward_match_the_reference(dtype, case, act):
    rng = np.random.default_rng(sum(case) + act)
    m = case[-1]
    net, work, l, x, w, b = conv_net(case, act, dtype, rng)
    run_kernel(kernels._conv_forward, net, l, work, m, ONE)
    z = r3.max_pool(r3.conv2d_valid(x.astype(np.float64), w.astype(np.float64)), case[6:8]) + b[None, :, None, None]
    got_z = work.z[:m, : z[0].size].reshape(z.shape)
    np.testing.assert_allclose(got_z, z, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    got_a = work.a[:m, net.a_off[1] : net.a_off[2]].reshape(z.shape)
    np.testing.assert_allclose(got_a, ACTS[act].f(got_z.astype(dtype)), rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("tied", [False, True])
def test_convolution_and_pooling_backward_match_the_reference_ties_included(case, tied):
    """dC/dW, dC/db and dC/dx of one convolutional layer (second in a network, so that dC/dx is computed), from
    a given dC/da: every tied maximum of a window takes the window's gradient."""
    rng = np.random.default_rng(sum(case) + tied)
    C, H, W, F, fh, fw, ph, pw, m = case
    net, work, l, x, w, b = conv_net(case, kernels.RELU, np.float64, rng, tied=tied, second=True)
    run_kernel(kernels._conv_forward, net, l, work, m, ONE)
    g = rng.standard_normal((m, net.a_off[3] - net.a_off[2]))
    work.g[:m, net.a_off[2] : net.a_off[3]] = g
    work.db[:] = 0
    run_kernel(kernels._conv_backward, net, l, work, m, ONE)
    y = r3.conv2d_valid(x, w)
    pooled = r3.max_pool(y, (ph, pw))
    z = pooled + b[None, :, None, None]
    dz = g.reshape(z.shape) * r3.ReLU.prime(z)
    dy = r3.max_pool_backward(y, pooled, dz, (ph, pw))
    dx, dw = r3.conv2d_valid_backward(x, w, dy)
    if tied and ph * pw > 1:  # the case this is for: some window holds its maximum more than once
        assert np.sum(r3.max_pool_backward(y, pooled, np.ones_like(pooled), (ph, pw))) > pooled.size
    np.testing.assert_allclose(work.dw[net.w_off[1] : net.w_off[1] + w.size].reshape(w.shape), dw, rtol=1e-12, atol=1e-12)
    assert not np.any(work.dw[net.w_off[1] + w.size :]), "the weights' padding to a whole block has no gradient"
    np.testing.assert_allclose(work.db[net.b_off[1] :], dz.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(work.g[:m, net.a_off[1] : net.a_off[1] + x[0].size].reshape(x.shape), dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keep", [1.0, 0.5])
@pytest.mark.parametrize("n_in, n_out, m", [(1, 1, 1), (7, 5, 3), (30, 10, 10), (40, 37, 4), (20, 32, 2), (13, 17, 23)])
def test_dense_and_softmax_forward_and_backward_match_numpy(dtype, keep, n_in, n_out, m):
    """Forward in evaluation and in training (dropout on each layer's input), then the step's backward pass:
    dC/db, and the dense weights' step W -= eta (dC/dW + decay W) taken in the backward pass."""
    rng = np.random.default_rng(n_in * n_out + m)
    eta, decay = 0.5, 0.01
    w, b, w2, b2 = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out), rng.standard_normal((n_out, 4)), rng.standard_normal(4)
    layers = [ConvNetLayer(kernels.DENSE, kernels.SIGMOID, [n_in, n_out], keep, w, b),
              ConvNetLayer(kernels.SOFTMAX, kernels.LINEAR, [n_out, 4], keep, w2, b2)]
    net = pack_convnet(layers, dtype)
    work = convnet_work(net, m)
    x = rng.standard_normal((m, n_in)).astype(dtype)
    masks = (rng.random((1, m, net.mask_off[-1] or 1)) < keep).astype(dtype)
    mask_in = masks[0][:, :n_in] if keep < 1 else np.ones((m, n_in), dtype)
    mask_top = masks[0][:, net.mask_off[1] : net.mask_off[2]] if keep < 1 else np.ones((m, n_out), dtype)
    tolerance = {np.float64: 1e-12, np.float32: 2e-5}[dtype]
    (W, B), (W2, B2) = ((p.astype(np.float64) for p in pair) for pair in unpack_convnet(net, layers))
    for training in (False, True):
        work.a[:m, :n_in] = x
        for l in range(2):
            run_kernel(kernels._dense_forward, net, l, work, m, masks, 0 if training else -1, ONE)
        run_kernel(kernels._softmax, net, 1, work, m, ONE)
        if training:
            hidden = r3.sigmoid.f((mask_in * x).astype(np.float64) @ W + B)
            out = r3.softmax((mask_top * hidden) @ W2 + B2)
        else:
            hidden = r3.sigmoid.f(keep * (x.astype(np.float64) @ W) + B)
            out = r3.softmax(keep * (hidden @ W2) + B2)
        np.testing.assert_allclose(work.a[:m, net.a_off[2] : net.a_off[2] + 4], out, rtol=tolerance, atol=tolerance)
        if training:  # the hidden layer's output, masked where it lies as the softmax's input
            hidden = mask_top * hidden
        np.testing.assert_allclose(work.a[:m, net.a_off[1] : net.a_off[1] + n_out], hidden, rtol=tolerance, atol=tolerance)
    labels = rng.integers(0, 4, m)
    work.db[:] = 7.0  # the output gradient's phase zeroes it
    work.g[:m, net.a_off[1] + n_out : net.a_off[2]] = 5.0  # the hidden layer's padding: its step must not see it
    run_kernel(kernels._output_gradient, net, work, labels, 0, m, ONE)
    for l in (1, 0):
        run_kernel(kernels._dense_backward, net, l, work, m, masks, 0, dtype(eta), dtype(decay), ONE)
    dz2 = (out - np.eye(4)[labels]) / m
    dz1 = (dz2 @ W2.T) * mask_top * hidden * (1 - hidden)  # hidden: masked, so 0 wherever the mask is
    (W_new, _), (W2_new, _) = unpack_convnet(net, layers)
    np.testing.assert_allclose(W2_new, W2 - eta * (hidden.T @ dz2 + decay * W2), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(W_new, W - eta * ((mask_in * x).T.astype(np.float64) @ dz1 + decay * W),
                               rtol=tolerance * 10, atol=tolerance * 10)
    np.testing.assert_allclose(work.db[n_out:], dz2.sum(axis=0), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(work.db[:n_out], dz1.sum(axis=0), rtol=tolerance * 10, atol=tolerance * 10)
    assert not np.any(net.w[: net.w_off[1]].reshape(n_in, -1)[:, n_out:]), "the padding columns stay zero"
