"""numba kernels of chapter 6's networks: convolution and max pooling, fully connected and softmax
layers, one SGD step per mini-batch, a chunk of mini-batches per call.

One SGD step on a mini-batch of m examples is the book's ``network3``, phase by phase
(``convnet_steps``):

- forward: layer by layer, a_{l+1} = f(pool(conv(a_l, W_l)) + b_l) for a convolutional layer
  (Theano's ``conv2d``, a true convolution: the filter flipped; max pooling over whole windows),
  a_{l+1} = f((mask a_l) W_l + b_l) for a fully connected one (``mask``: dropout on the layer's
  input), and softmax((mask a_L) W + b) at the top;
- backward: dC/dz of the softmax is (a - onehot) / m, then layer by layer down, every tied maximum
  of a pooling window receiving its window's gradient, as Theano's;
- update: every parameter p -= eta (dC/dp + (lmbda / num_training_batches) p) (weights only).

Layout (built by ``network3``): a network's parameters are ``ConvNet``: per layer its kind, its
activation, its dimensions (``dims``: conv C, H, W, F, fh, fw, ph, pw; a dense layer n_in, n_out),
its keep probability 1 - p_dropout, its weights (conv (F, C, fh, fw), dense (n_in, n_out), C order)
and biases at offsets in two flat buffers. Per example, the work buffers hold every layer's values
in one row: ``a`` the activations (the input first, each layer's output after it, at ``a_off``),
``z`` each layer's pre-activations (after pooling and bias, at ``z_off``), ``y`` each convolution's
output before pooling, kept wide (``_conv_forward``; at ``y_off``), ``g`` the gradients with respect
to ``a``; each row ends in spare room, since a run of whole blocks may reach a block past a map.

The kernels check nothing: ``fastnet.network3`` validates at the public boundary. They compute in
the network's dtype, as the book's Theano code does in float32.
"""

from typing import NamedTuple

import numpy as np

from .bundles import FLOAT, Array, declare
from .jit import kernel
from .simd import LANES, fma, load, splat, store
from .simd import total as sum_block

CONV, DENSE, SOFTMAX = 0, 1, 2  # layer kinds
LINEAR, RELU, SIGMOID, TANH = 0, 1, 2, 3  # activations
SIGMOID_LIMITS = {4: (-88.0, 15.0), 8: (-709.0, 19.0)}  # by itemsize: Theano's sigmoid is 0 and 1 beyond these
LOW32, HIGH32 = SIGMOID_LIMITS[4]
LOW64, HIGH64 = SIGMOID_LIMITS[8]


@declare(kind=Array("int64", 1), act=Array("int64", 1), dims=Array("int64", 2), keep=Array("float64", 1),
         w=Array(FLOAT, 1), w_off=Array("int64", 1), b=Array(FLOAT, 1), b_off=Array("int64", 1),
         a_off=Array("int64", 1), z_off=Array("int64", 1), y_off=Array("int64", 1), mask_off=Array("int64", 1))
class ConvNet(NamedTuple):
    """A chapter-6 network in the kernels' layout: L layers' kinds, activations, dimensions ``(L, 8)``, keep
    probabilities, weights and biases (flat, from ``w_off[l]`` and ``b_off[l]``, L+1 offsets each), and
    where each layer's values lie in an example's rows of the work buffers (``a_off``: L+2 offsets, the
    input first; ``z_off``, ``y_off``, ``mask_off``: L+1 offsets each)."""

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
    y_off: np.ndarray
    mask_off: np.ndarray


@declare(a=Array(FLOAT, 2), z=Array(FLOAT, 2), y=Array(FLOAT, 2), g=Array(FLOAT, 2), dw=Array(FLOAT, 1),
         db=Array(FLOAT, 1))
class ConvWork(NamedTuple):
    """Work buffers for m examples at a time: activations, pre-activations, convolution outputs and
    gradients, one row an example, and the step's summed gradients of the weights and biases."""

    a: np.ndarray
    z: np.ndarray
    y: np.ndarray
    g: np.ndarray
    dw: np.ndarray
    db: np.ndarray


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
        s = _activation(SIGMOID, z, low, high)
        return s * (1.0 - s)
    if code == TANH:
        t = np.tanh(z)
        return 1.0 - t * t
    return 1.0


@kernel(inner=True)
def _limits(x):
    """Theano's sigmoid limits for ``x``'s dtype (``SIGMOID_LIMITS``)."""
    return (LOW32, HIGH32) if x.itemsize == 4 else (LOW64, HIGH64)


@kernel(inner=True)
def _conv_shape(net, l):
    """Layer l's C, H, W, F, fh, fw, ph, pw, its output's rows and columns (oh, ow), its pooled maps' (qh, qw),
    the distance between filters in a wide output (``_conv_forward``) and the length of one tap's run."""
    C, H, W, F, fh, fw, ph, pw = (net.dims[l, 0], net.dims[l, 1], net.dims[l, 2], net.dims[l, 3], net.dims[l, 4],
                                  net.dims[l, 5], net.dims[l, 6], net.dims[l, 7])
    oh, ow = H - fh + 1, W - fw + 1
    run = -(-((oh - 1) * W + ow) // LANES) * LANES
    return C, H, W, F, fh, fw, ph, pw, oh, ow, oh // ph, ow // pw, -(-(oh * W) // LANES) * LANES, run


@kernel(inner=True)
def _conv_forward(net, l, a, e, y):
    """y (example e's convolution of layer l) = conv2d(a_l, W_l), the filter flipped.

    The output is computed wide: each filter's map has rows W long (not ow), so that for a tap (c, u, v)
    of the filter the whole map is one run of consecutive y += w x, whole blocks of both: the columns
    past ow (and the run's rounding up to whole blocks) hold values nothing reads.
    """
    C, H, W, F, fh, fw, ph, pw, oh, ow, qh, qw, stride, run = _conv_shape(net, l)
    xe, ye = a[e], y[e]
    xo, yo, wo = net.a_off[l], net.y_off[l], net.w_off[l]
    zero = splat(ye.dtype.type(0))
    for f in range(F):
        yf = yo + f * stride
        for p in range(0, stride, LANES):
            store(ye, yf + p, zero)
        for c in range(C):
            for u in range(fh):
                for v in range(fw):
                    k = splat(net.w[wo + ((f * C + c) * fh + fh - 1 - u) * fw + fw - 1 - v])
                    xb = xo + (c * H + u) * W + v
                    for p in range(0, run, LANES):
                        store(ye, yf + p, fma(k, load(xe, xb + p), load(ye, yf + p)))


@kernel(inner=True)
def _pool_forward(net, l, e, y, z, a):
    """z = max over each pooling window of y (wide: rows W apart), plus the filter's bias; a_{l+1} = f(z), for
    example e."""
    C, H, W, F, fh, fw, ph, pw, oh, ow, qh, qw, stride, run = _conv_shape(net, l)
    yo, zo, ao, bo = net.y_off[l], net.z_off[l], net.a_off[l + 1], net.b_off[l]
    for f in range(F):
        for i in range(qh):
            for j in range(qw):
                first = yo + f * stride + i * ph * W + j * pw
                top = y[e, first]
                for u in range(ph):
                    for v in range(pw):
                        top = max(top, y[e, first + u * W + v])
                q = (f * qh + i) * qw + j
                z[e, zo + q] = top + net.b[bo + f]
                a[e, ao + q] = _activation(net.act[l], np.float64(z[e, zo + q]), *_limits(z))


@kernel(inner=True)
def _dense_forward(net, l, a, e, z, masks, s, training):
    """z = (mask a_l) W_l + b_l in training, (1 - p) (a_l W_l) + b_l in evaluation; a_{l+1} = f(z) (softmax: later)."""
    n_in, n_out = net.dims[l, 0], net.dims[l, 1]
    xo, zo, wo, bo, mo = net.a_off[l], net.z_off[l], net.w_off[l], net.b_off[l], net.mask_off[l]
    ze, whole = z[e], n_out - n_out % LANES
    for n in range(n_out):
        ze[zo + n] = 0
    for k in range(n_in):  # z += x_k (row k of W): whole blocks, then the columns left over
        x = a[e, xo + k]
        if training and net.keep[l] < 1:
            x *= masks[s, e, mo + k]
        if x != 0:
            row, xs = wo + k * n_out, splat(x)
            for n in range(0, whole, LANES):
                store(ze, zo + n, fma(xs, load(net.w, row + n), load(ze, zo + n)))
            for n in range(whole, n_out):
                ze[zo + n] += x * net.w[row + n]
    keep = z.dtype.type(net.keep[l])
    for n in range(n_out):
        product = z[e, zo + n] if training or net.keep[l] == 1 else keep * z[e, zo + n]  # the product rounded
        z[e, zo + n] = product + net.b[bo + n]
        if net.kind[l] == DENSE:
            a[e, net.a_off[l + 1] + n] = _activation(net.act[l], np.float64(z[e, zo + n]), *_limits(z))


@kernel(inner=True)
def _softmax(net, l, e, z, a):
    """a_{l+1} = softmax(z), exp(z - max z) / sum, as Theano's."""
    n_out, zo, ao = net.dims[l, 1], net.z_off[l], net.a_off[l + 1]
    top = z[e, zo]
    for n in range(1, n_out):
        top = max(top, z[e, zo + n])
    total = 0.0
    for n in range(n_out):
        a[e, ao + n] = np.exp(z[e, zo + n] - top)
        total += a[e, ao + n]
    for n in range(n_out):
        a[e, ao + n] /= total


@kernel(inner=True)
def _forward(net, work, m, masks, s, training):
    """Every layer for the m examples whose inputs are in ``work.a``'s first columns."""
    for l in range(len(net.kind)):
        for e in range(m):
            if net.kind[l] == CONV:
                _conv_forward(net, l, work.a, e, work.y)
                _pool_forward(net, l, e, work.y, work.z, work.a)
            else:
                _dense_forward(net, l, work.a, e, work.z, masks, s, training)
                if net.kind[l] == SOFTMAX:
                    _softmax(net, l, e, work.z, work.a)


@kernel(inner=True)
def _dense_backward(net, l, work, m, masks, s):
    """From dC/da_{l+1} (softmax: dC/dz) in ``work.g``: dC/dW_l, dC/db_l, and dC/da_l (unless l is the first)."""
    n_in, n_out = net.dims[l, 0], net.dims[l, 1]
    xo, zo, go, wo, bo, mo = net.a_off[l], net.z_off[l], net.a_off[l + 1], net.w_off[l], net.b_off[l], net.mask_off[l]
    whole = n_out - n_out % LANES
    for e in range(m):
        a, z, g = work.a[e], work.z[e], work.g[e]
        if net.kind[l] == DENSE:
            for n in range(n_out):
                g[go + n] *= _slope(net.act[l], np.float64(z[zo + n]), *_limits(z))
        for n in range(n_out):
            work.db[bo + n] += g[go + n]
        for k in range(n_in):  # row k of dC/dW += x_k dz, and dC/dx_k = (row k of W) . dz: whole blocks, then the rest
            x = a[xo + k]
            if net.keep[l] < 1:
                x *= masks[s, e, mo + k]
            row, xs, dot = wo + k * n_out, splat(x), splat(g.dtype.type(0))
            for n in range(0, whole, LANES):
                dz = load(g, go + n)
                store(work.dw, row + n, fma(xs, dz, load(work.dw, row + n)))
                dot = fma(load(net.w, row + n), dz, dot)
            total = sum_block(dot)
            for n in range(whole, n_out):
                work.dw[row + n] += x * g[go + n]
                total += net.w[row + n] * g[go + n]
            if l > 0:
                g[xo + k] = total * masks[s, e, mo + k] if net.keep[l] < 1 else total


@kernel(inner=True)
def _conv_backward(net, l, work, m):
    """From dC/da_{l+1} in ``work.g``: through the activation, the pooling (every tied maximum of a window takes
    the window's gradient), the bias and the convolution: dC/dW_l, dC/db_l, and dC/da_l (unless l is the first).

    dC/dy replaces y in its wide layout, zero wherever no window reaches (the columns past ow, the rows
    and columns pooling dropped): so that a tap's run of dC/dW += dy x and dC/dx += w dy sees zeros there.
    """
    C, H, W, F, fh, fw, ph, pw, oh, ow, qh, qw, stride, run = _conv_shape(net, l)
    xo, yo, zo, go, wo, bo = net.a_off[l], net.y_off[l], net.z_off[l], net.a_off[l + 1], net.w_off[l], net.b_off[l]
    for e in range(m):
        xe, ye, z, g = work.a[e], work.y[e], work.z[e], work.g[e]
        if l > 0:
            for i in range(C * H * W):
                g[xo + i] = 0
        for f in range(F):
            yf = yo + f * stride
            for i in range(qh):
                for j in range(qw):
                    q = (f * qh + i) * qw + j
                    dz = g[go + q] * _slope(net.act[l], np.float64(z[zo + q]), *_limits(z))
                    work.db[bo + f] += dz
                    first = yf + i * ph * W + j * pw
                    top = ye[first]
                    for u in range(ph):
                        for v in range(pw):
                            top = max(top, ye[first + u * W + v])
                    for u in range(ph):  # the window's gradient at each of its maxima
                        for v in range(pw):
                            ye[first + u * W + v] = dz if ye[first + u * W + v] == top else 0.0
            for i in range(oh):  # nothing reaches the columns past the pooled ones, nor the rows past them
                for j in range(qw * pw if i < qh * ph else 0, W):
                    ye[yf + i * W + j] = 0
            for p in range(oh * W, stride):
                ye[yf + p] = 0
            for c in range(C):
                for u in range(fh):
                    for v in range(fw):
                        w_index = wo + ((f * C + c) * fh + fh - 1 - u) * fw + fw - 1 - v
                        k, xb = splat(net.w[w_index]), xo + (c * H + u) * W + v
                        total = splat(ye.dtype.type(0))
                        for p in range(0, run, LANES):
                            dy = load(ye, yf + p)
                            total = fma(dy, load(xe, xb + p), total)
                            if l > 0:
                                store(g, xb + p, fma(k, dy, load(g, xb + p)))
                        work.dw[w_index] += sum_block(total)


@kernel(inner=True)
def _backward(net, work, Y, start, m, masks, s):
    """dC/dW and dC/db of the step, summed over its m examples (labels ``Y[start : start + m]``): the softmax's
    dC/dz = (a - onehot) / m, then every layer down."""
    L = len(net.kind)
    top, n_out = net.a_off[L], net.dims[L - 1, 1]
    for e in range(m):
        for n in range(n_out):
            work.g[e, top + n] = (work.a[e, top + n] - (1.0 if Y[start + e] == n else 0.0)) / m
    for i in range(len(work.dw)):
        work.dw[i] = 0
    for i in range(len(work.db)):
        work.db[i] = 0
    for l in range(L - 1, -1, -1):
        if net.kind[l] == CONV:
            _conv_backward(net, l, work, m)
        else:
            _dense_backward(net, l, work, m, masks, s)


@kernel(inner=True)
def _update(net, work, eta, decay_term):
    """p -= eta (dC/dp + decay_term p) for the weights (decay_term = lmbda / num_training_batches), p -= eta dC/dp
    for the biases."""
    for i in range(len(net.w)):
        net.w[i] -= eta * (work.dw[i] + decay_term * net.w[i])
    for i in range(len(net.b)):
        net.b[i] -= eta * work.db[i]


@kernel(nogil=True)
def convnet_steps(net, X, Y, masks, first, last, m, eta, decay_term, work):
    """SGD steps first .. last-1, step k on the examples k m .. (k + 1) m - 1 of ``X`` and ``Y`` (the book never
    shuffles), with the dropout masks ``masks[k - first]``."""
    for k in range(first, last):
        for e in range(m):
            for i in range(X.shape[1]):
                work.a[e, i] = X[k * m + e, i]
        _forward(net, work, m, masks, k - first, True)
        _backward(net, work, Y, k * m, m, masks, k - first)
        _update(net, work, net.w.dtype.type(eta), net.w.dtype.type(decay_term))


@kernel(nogil=True)
def convnet_outputs(net, X, out, work, masks):
    """Row i of ``out`` <- the evaluation pass's output (softmax, dropout as (1 - p) scaling) for input row i of
    ``X``, ``work.a.shape[0]`` rows at a time (``masks``: any, unread in evaluation)."""
    L, chunk = len(net.kind), work.a.shape[0]
    for start in range(0, X.shape[0], chunk):
        m = min(chunk, X.shape[0] - start)
        for e in range(m):
            for i in range(X.shape[1]):
                work.a[e, i] = X[start + e, i]
        _forward(net, work, m, masks, 0, False)
        for e in range(m):
            for n in range(out.shape[1]):
                out[start + e, n] = work.a[e, net.a_off[L] + n]
