"""The plain-NumPy statement of the book's ``network3`` (``fastnet.tools.reference3``), proved: its convolution
and pooling against loops written out, every gradient against finite differences in float64, and its
``SGD`` against the book's printed lines. It is the yardstick of fastnet's chapter 6, so it is tested
on its own, over odd image sizes, pool remainders, one and many filters and maps, mini-batches of 1
and 10."""

import contextlib
import io

import numpy as np
import pytest

from fastnet.tools import reference3 as r3


def conv_loops(x, w):
    """A true convolution, 'valid': out[b, f, i, j] = sum_{c,u,v} x[b, c, i+u, j+v] w[f, c, fh-1-u, fw-1-v]."""
    b_, c_, h, wd = x.shape
    f_, _, fh, fw = w.shape
    out = np.zeros((b_, f_, h - fh + 1, wd - fw + 1))
    for b in range(b_):
        for f in range(f_):
            for i in range(h - fh + 1):
                for j in range(wd - fw + 1):
                    out[b, f, i, j] = sum(x[b, c, i + u, j + v] * w[f, c, fh - 1 - u, fw - 1 - v]
                                          for c in range(c_) for u in range(fh) for v in range(fw))
    return out


def pool_loops(y, ph, pw):
    b_, f_, h, w = y.shape
    out = np.zeros((b_, f_, h // ph, w // pw))
    for i in range(h // ph):
        for j in range(w // pw):
            out[:, :, i, j] = y[:, :, i * ph : (i + 1) * ph, j * pw : (j + 1) * pw].max(axis=(2, 3))
    return out


SHAPES = [  # (mini-batch, maps in, image h, w, filters, fh, fw, pool)
    (1, 1, 5, 5, 1, 2, 2, (2, 2)),
    (2, 1, 7, 6, 3, 3, 2, (2, 2)),  # odd sizes, pool remainders
    (3, 2, 9, 9, 4, 5, 5, (2, 2)),
    (2, 3, 6, 8, 2, 1, 1, (3, 2)),
    (10, 1, 8, 8, 2, 3, 3, (1, 1)),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_convolution_and_pooling_match_loops(shape):
    m, c, h, w, f, fh, fw, pool = shape
    rng = np.random.default_rng(sum(shape[:7]))
    x, k = rng.standard_normal((m, c, h, w)), rng.standard_normal((f, c, fh, fw))
    y = r3.conv2d_valid(x, k)
    np.testing.assert_allclose(y, conv_loops(x, k), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(r3.max_pool(y, pool), pool_loops(y, *pool))


def test_a_pooling_tie_sends_the_gradient_to_every_maximum_as_theano_does():
    y = np.zeros((1, 1, 4, 5))
    y[0, 0, 2:4, 2:4] = [[3.0, 1.0], [3.0, 3.0]]  # one window with three equal maxima; a blank window of zeros
    pooled = r3.max_pool(y, (2, 2))
    g = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    dy = r3.max_pool_backward(y, pooled, g, (2, 2))
    np.testing.assert_array_equal(dy[0, 0, :2, :2], np.full((2, 2), 1.0))  # four equal zeros: all four
    np.testing.assert_array_equal(dy[0, 0, 2:4, 2:4], [[4.0, 0.0], [4.0, 4.0]])
    np.testing.assert_array_equal(dy[0, 0, :, 4], 0.0)  # the dropped border column gets nothing


def test_relu_has_derivative_one_at_zero_as_theano_takes_it():
    z = np.array([-1.0, -0.0, 0.0, 2.0])
    np.testing.assert_array_equal(r3.ReLU.prime(z), [0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(r3.ReLU.f(z), [0.0, 0.0, 0.0, 2.0])


def networks(activation, m, rng):
    """Small versions of the book's shapes, in float64: (layers, input shape, masks)."""
    np.random.seed(rng.integers(1000))
    conv = [r3.ConvPoolLayer((3, 1, 3, 3), (m, 1, 9, 8), (2, 2), activation, np.float64),
            r3.ConvPoolLayer((2, 3, 2, 2), (m, 3, 3, 3), (2, 2), activation, np.float64),
            r3.FullyConnectedLayer(2, 5, activation, p_dropout=0.5, dtype=np.float64),
            r3.SoftmaxLayer(5, 4, p_dropout=0.5, dtype=np.float64)]
    for layer in conv[-1:]:  # the book's softmax starts at zero: give it weights, for a gradient worth checking
        layer.w, layer.b = rng.standard_normal(layer.w.shape), rng.standard_normal(layer.b.shape)
    masks = [None, None, (rng.random((m, 2)) > 0.5).astype(float), (rng.random((m, 5)) > 0.5).astype(float)]
    return conv, (m, 1, 9, 8), masks


@pytest.mark.parametrize("activation", [r3.sigmoid, r3.ReLU, r3.tanh, r3.linear], ids=lambda a: a.name)
@pytest.mark.parametrize("m", [1, 4])
def test_every_gradient_matches_finite_differences(activation, m):
    rng = np.random.default_rng(7)
    layers, shape, masks = networks(activation, m, rng)
    net = r3.ReferenceNetwork3(layers, m)
    x, y = rng.random(shape).reshape(m, -1), rng.integers(0, 4, m)
    lmbda, batches = 0.3, 5
    _, grads = net.cost_and_gradients(x, y, lmbda, batches, masks)
    h = 1e-6
    for layer, (dw, db) in zip(layers, grads):
        for param, grad in ((layer.w, dw), (layer.b, db)):
            numeric = np.zeros_like(param)
            for index in np.ndindex(param.shape):
                keep = param[index]
                param[index] = keep + h
                up = net.cost_and_gradients(x, y, lmbda, batches, masks)[0]
                param[index] = keep - h
                down = net.cost_and_gradients(x, y, lmbda, batches, masks)[0]
                param[index] = keep
                numeric[index] = (up - down) / (2 * h)
            if activation is r3.ReLU:  # a kink within h of some z would spoil the difference there only
                close = np.abs(grad - numeric) <= 1e-6 * np.maximum(1, np.abs(numeric))
                assert close.mean() > 0.95
            else:
                np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_sgd_prints_the_books_lines_and_scores_whole_mini_batches():
    rng = np.random.default_rng(0)
    np.random.seed(1)
    m = 5
    layers = [r3.FullyConnectedLayer(16, 8, r3.sigmoid, dtype=np.float64), r3.SoftmaxLayer(8, 3, dtype=np.float64)]
    net = r3.ReferenceNetwork3(layers, m)
    data = [(rng.random((n, 16)), rng.integers(0, 3, n)) for n in (23, 12, 11)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        best, iteration, test = net.SGD(data[0], 3, m, 0.5, data[1], data[2])
    lines = out.getvalue().splitlines()
    assert lines[0] == "Training mini-batch number 0" and lines[1].startswith("Epoch 0: validation accuracy ")
    assert lines[-3:] == ["Finished training network.",
                          f"Best validation accuracy of {best:.2%} obtained at iteration {iteration}",
                          f"Corresponding test accuracy of {test:.2%}"]
    assert iteration in (3, 7, 11)  # 23 // 5 = 4 mini-batches an epoch, the remainder never trained on
    assert net.accuracy(data[1]) == np.mean([np.mean(net.predictions(data[1][0][j * 5:(j + 1) * 5]) == data[1][1][j * 5:(j + 1) * 5])
                                             for j in range(2)])


@pytest.mark.parametrize("dtype, low, high", [(np.float32, -88.0, 15.0), (np.float64, -709.0, 19.0)])
def test_the_sigmoid_is_theanos_exactly_0_and_1_beyond_its_limits(dtype, low, high):
    z = np.array([low - 1, low + 1, 0.0, high - 0.5, high + 0.5], dtype=dtype)
    s, sp = r3.sigmoid.f(z), r3.sigmoid.prime(z)
    assert s.dtype == dtype and s[0] == 0 and s[-1] == 1 and s[2] == 0.5 and 0 < s[1] and s[3] < 1
    assert sp[-1] == 0 and sp[0] == 0 and sp[2] == 0.25 and sp[3] > 0
