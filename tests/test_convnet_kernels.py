"""The chapter-6 kernels (``engine/convnet.py``) one by one against their plain twins (``tools/reference3``'s
convolution, pooling and their gradients, NumPy's products), over odd image sizes, pool remainders, one
and many filters and maps, ties in the pooling windows, and float32 and float64."""

import numpy as np
import pytest

from fastnet.engine import convnet as kernels
from fastnet.engine.convnet_driver import ConvNetLayer, convnet_work, pack_convnet
from fastnet.tools import reference3 as r3
from helpers import run_kernel

CONV_CASES = [  # (maps, height, width, filters, fh, fw, ph, pw, m)
    (1, 5, 5, 1, 2, 2, 2, 2, 1),
    (2, 7, 6, 3, 3, 2, 2, 2, 3),  # odd sizes, pool remainders
    (3, 9, 9, 4, 5, 5, 2, 2, 2),
    (1, 8, 8, 2, 3, 3, 1, 1, 10),
    (2, 6, 9, 5, 1, 1, 3, 2, 1),
]
ACTS = {kernels.LINEAR: r3.linear, kernels.RELU: r3.ReLU, kernels.SIGMOID: r3.sigmoid, kernels.TANH: r3.tanh}


def conv_net(case, act, dtype, rng, tied=False):
    """A one-layer (convolution) network bundle, its work buffers with random inputs, and its parameters."""
    C, H, W, F, fh, fw, ph, pw, m = case
    w, b = rng.standard_normal((F, C, fh, fw)), rng.standard_normal(F)
    net = pack_convnet([ConvNetLayer(kernels.CONV, act, [C, H, W, F, fh, fw, ph, pw], 1.0, w, b)], dtype)
    work = convnet_work(net, m)
    x = rng.standard_normal((m, C * H * W))
    if tied:
        x = np.round(x)  # small whole numbers: the convolution's outputs tie within pooling windows
        net.w[:] = np.round(net.w)
    work.a[:, : C * H * W] = x
    return net, work, x.astype(dtype).reshape(m, C, H, W), net.w.reshape(F, C, fh, fw).copy(), net.b.copy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("act", [kernels.LINEAR, kernels.RELU, kernels.SIGMOID, kernels.TANH])
def test_convolution_pooling_and_activation_forward_match_the_reference(dtype, case, act):
    rng = np.random.default_rng(sum(case) + act)
    net, work, x, w, b = conv_net(case, act, dtype, rng)
    for e in range(case[-1]):
        run_kernel(kernels._conv_forward, net, 0, work.a, e, work.y)
        run_kernel(kernels._pool_forward, net, 0, e, work.y, work.z, work.a)
    pooled = r3.max_pool(r3.conv2d_valid(x.astype(np.float64), w.astype(np.float64)), case[6:8])
    z = pooled + b[None, :, None, None]
    tolerance = {np.float64: 1e-13, np.float32: 3e-5}[dtype]
    got_z = work.z[:, : z[0].size].reshape(z.shape)
    np.testing.assert_allclose(got_z, z, rtol=tolerance, atol=tolerance)
    got_a = work.a[:, net.a_off[1] : net.a_off[2]].reshape(z.shape)
    np.testing.assert_allclose(got_a, ACTS[act].f(got_z.astype(dtype)), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("tied", [False, True])
def test_convolution_and_pooling_backward_match_the_reference_ties_included(case, tied):
    """dC/dW, dC/db and dC/dx of one convolutional layer (second in a network, so that dC/dx is computed), from
    a given dC/da: every tied maximum of a window takes the window's gradient."""
    rng = np.random.default_rng(sum(case) + tied)
    C, H, W, F, fh, fw, ph, pw, m = case
    first = ConvNetLayer(kernels.DENSE, kernels.LINEAR, [1, C * H * W], 1.0, np.zeros((1, C * H * W)), np.zeros(C * H * W))
    w, b = rng.standard_normal((F, C, fh, fw)), rng.standard_normal(F)
    if tied:
        w = np.round(w)
    net = pack_convnet([first, ConvNetLayer(kernels.CONV, kernels.RELU, [C, H, W, F, fh, fw, ph, pw], 1.0, w, b)], np.float64)
    work = convnet_work(net, m)
    x = rng.standard_normal((m, C, H, W))
    x = np.round(x) if tied else x
    work.a[:, net.a_off[1] : net.a_off[2]] = x.reshape(m, -1)
    for e in range(m):
        run_kernel(kernels._conv_forward, net, 1, work.a, e, work.y)
        run_kernel(kernels._pool_forward, net, 1, e, work.y, work.z, work.a)
    g = rng.standard_normal((m, net.a_off[3] - net.a_off[2]))
    work.g[:, net.a_off[2] : net.a_off[3]] = g
    work.dw[:] = 0
    work.db[:] = 0
    run_kernel(kernels._conv_backward, net, 1, work, m)
    y = r3.conv2d_valid(x, w)
    pooled = r3.max_pool(y, (ph, pw))
    z = pooled + b[None, :, None, None]
    dz = g.reshape(z.shape) * r3.ReLU.prime(z)
    dy = r3.max_pool_backward(y, pooled, dz, (ph, pw))
    dx, dw = r3.conv2d_valid_backward(x, w, dy)
    if tied and ph * pw > 1:  # the case this is for: some window holds its maximum more than once
        assert np.sum(r3.max_pool_backward(y, pooled, np.ones_like(pooled), (ph, pw))) > pooled.size
    np.testing.assert_allclose(work.dw[net.w_off[1] :].reshape(w.shape), dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(work.db[net.b_off[1] :], dz.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(work.g[:, net.a_off[1] : net.a_off[2]].reshape(x.shape), dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keep", [1.0, 0.5])
@pytest.mark.parametrize("n_in, n_out, m", [(1, 1, 1), (7, 5, 3), (30, 10, 10), (40, 37, 4), (20, 32, 2)])
def test_dense_and_softmax_forward_and_backward_match_numpy(dtype, keep, n_in, n_out, m):
    rng = np.random.default_rng(n_in * n_out + m)
    w, b, w2, b2 = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out), rng.standard_normal((n_out, 4)), rng.standard_normal(4)
    net = pack_convnet([ConvNetLayer(kernels.DENSE, kernels.SIGMOID, [n_in, n_out], keep, w, b),
                        ConvNetLayer(kernels.SOFTMAX, kernels.LINEAR, [n_out, 4], keep, w2, b2)], dtype)
    work = convnet_work(net, m)
    x = rng.standard_normal((m, n_in)).astype(dtype)
    work.a[:, :n_in] = x
    masks = (rng.random((1, m, net.mask_off[-1] or 1)) < keep).astype(dtype)
    mask_in = masks[0][:, : n_in] if keep < 1 else np.ones((m, n_in), dtype)
    mask_top = masks[0][:, net.mask_off[1] : net.mask_off[2]] if keep < 1 else np.ones((m, n_out), dtype)
    tolerance = {np.float64: 1e-12, np.float32: 2e-5}[dtype]
    for training in (False, True):
        for e in range(m):
            run_kernel(kernels._dense_forward, net, 0, work.a, e, work.z, masks, 0, training)
            run_kernel(kernels._dense_forward, net, 1, work.a, e, work.z, masks, 0, training)
            run_kernel(kernels._softmax, net, 1, e, work.z, work.a)
        W, B, W2, B2 = (a.astype(np.float64) for a in (net.w[:n_in * n_out].reshape(n_in, n_out), net.b[:n_out],
                                                       net.w[n_in * n_out :].reshape(n_out, 4), net.b[n_out:]))
        if training:
            hidden = r3.sigmoid.f((mask_in * x).astype(np.float64) @ W + B)
            out = r3.softmax((mask_top * hidden) @ W2 + B2)
        else:
            hidden = r3.sigmoid.f(keep * (x.astype(np.float64) @ W) + B)
            out = r3.softmax(keep * (hidden @ W2) + B2)
        np.testing.assert_allclose(work.a[:, net.a_off[1] : net.a_off[2]], hidden, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(work.a[:, net.a_off[2] : net.a_off[3]], out, rtol=tolerance, atol=tolerance)
    labels = rng.integers(0, 4, m)
    work.dw[:] = 0
    work.db[:] = 0
    run_kernel(kernels._backward, net, work, labels, 0, m, masks, 0)
    dz2 = (out - np.eye(4)[labels]) / m
    dhidden = (dz2 @ W2.T) * mask_top
    dz1 = dhidden * hidden * (1 - hidden)
    np.testing.assert_allclose(work.dw[n_in * n_out :].reshape(n_out, 4), (mask_top * hidden).T @ dz2, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(work.db[n_out:], dz2.sum(axis=0), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(work.dw[: n_in * n_out].reshape(n_in, n_out), (mask_in * x).T.astype(np.float64) @ dz1,
                               rtol=tolerance * 10, atol=tolerance * 10)
    np.testing.assert_allclose(work.db[:n_out], dz1.sum(axis=0), rtol=tolerance * 10, atol=tolerance * 10)
