"""Plain, obviously-correct twins of fastnet's kernels, for the tests to compare against.

Each twin has its kernel's name (``naive.affine`` for ``kernels._affine``, ``naive.sparse_rows`` for
``inputs.sparse_rows``, ...) and is written the slowest and plainest way, in float64 (or exact
rational arithmetic) with Python loops where that makes it obvious. The network-level twin is
``fastnet.tools.reference`` (the book's algorithm in NumPy).
"""

import gzip
import math
import random
import struct

import numpy as np

from fastnet.engine.simd import LANES


def sigmoid(z):
    """sigma(z) element by element with Python floats (below -700, 1 + exp(-v) is exp(-v) to rounding)."""
    def one(v):
        v = float(v)
        return math.exp(v) if v < -700 else 1.0 / (1.0 + math.exp(-v))
    return np.vectorize(one, otypes=[np.float64])(np.asarray(z, dtype=np.float64))


def sigmoid_prime(z, dtype=None):
    """sigma'(z) by fastnet's rule for ``dtype`` (default: z's), element by element, in float64: the book's
    sigma(z) (1 - sigma(z)) in float64; in float32, sigma(z) sigma(-z) (which the engine then rounds once)."""
    z = np.asarray(z)
    s = sigmoid(z)
    if (dtype or z.dtype) == np.float32:
        return s * sigmoid(-z.astype(np.float64))
    return s * (1 - s)


def exp_nonpositive(x):
    """exp(x) by the C library, element by element."""
    return np.array([math.exp(v) for v in np.asarray(x, dtype=np.float64)])


def activate(z, dtype=None):
    """``kernels._activate``: (sigma(z), sigma'(z)), both from z, in float64, sigma' by ``dtype``'s rule."""
    return sigmoid(z), sigmoid_prime(z, dtype)


def affine(W, width, bias, scale, row_of, coeff, terms):
    """``kernels._affine``: each example's ``bias + scale * sum_k coeff_k * W_row(row_k)``, term by term.

    ``terms[:, e] = (r, c, n)``: term k of example e is ``coeff[c + k]`` times row ``row_of[r + k]``
    of ``W`` seen as rows ``width`` wide. Returns ``(m, width)`` in float64.
    """
    rows = W.reshape(-1, width).astype(np.float64)
    out = np.empty((terms.shape[1], width))
    for e, (r, c, n) in enumerate(terms.T):
        z = np.zeros(width)
        for k in range(n):
            z = z + float(coeff[c + k]) * rows[row_of[r + k]]
        out[e] = bias.astype(np.float64) + float(scale) * z
    return out


def subtract_outer(W, width, row_of, coeff, terms, scale, D):
    """``kernels._subtract_outer``: a copy of ``W`` after, example by example, W_row(row_k) -= (scale * coeff_k) * D[e]."""
    rows = W.reshape(-1, width).copy()
    for e, (r, c, n) in enumerate(terms.T):
        for k in range(n):
            rows[row_of[r + k]] -= (scale * coeff[c + k]) * D[e]
    return rows.reshape(-1)


def affine_tiles(W, width, bias, scale, coeff, terms, n, examples):
    """``kernels._affine_tiles``: for each of the first ``examples`` examples e, ``bias + scale * sum_k
    coeff[terms[1, e] + k] * W_row(k)`` over the rows k < n in order. Returns ``(examples, width)`` in float64."""
    rows = W.reshape(-1, width).astype(np.float64)
    out = np.empty((examples, width))
    for e in range(examples):
        z = np.zeros(width)
        for k in range(n):
            z = z + float(coeff[terms[1, e] + k]) * rows[k]
        out[e] = bias.astype(np.float64) + float(scale) * z
    return out


def subtract_tiles(W, width, coeff, terms, scale, D, n_rows):
    """``kernels._subtract_tiles``: a copy of ``W`` (float64) after W_row(k) -= scale * sum_e coeff[terms[1, e] + k] * D[e]
    for each of its first ``n_rows`` rows, the sum over the examples in order."""
    rows = W.reshape(-1, width).astype(np.float64)
    for k in range(n_rows):
        total = np.zeros(width)
        for e in range(len(D)):
            total = total + float(coeff[terms[1, e] + k]) * D[e].astype(np.float64)
        rows[k] = rows[k] - float(scale) * total
    return rows.reshape(-1)


def forward_layer(w, b, scale, A):
    """``kernels._forward_layer`` on whole layers: a' = sigma(scale w a + b) and sigma'(z) for each row a of
    ``A`` ``(m, n_in)``, with the book's ``w`` ``(n_out, n_in)`` and ``b`` ``(n_out, 1)``; float64."""
    Z = scale * (A.astype(np.float64) @ w.astype(np.float64).T) + b.astype(np.float64).ravel()
    return activate(Z, w.dtype)


def backward(weights, scales, A, SP, Y, rule):
    """``kernels._backward``: backprop's deltas, layer by layer, for a mini-batch held row-wise.

    ``weights`` are the book's (n_{l+1}, n_l) matrices, each times ``scales[l]``; ``A[l]`` and
    ``SP[l]`` are the (m, n_{l+1}) activations and sigma'(z) of layer l + 1, ``Y`` the (m, n_L)
    targets. Returns ``[delta_1, ...]`` in float64.
    """
    a, y = A[-1].astype(np.float64), Y.astype(np.float64)
    out = [{"quadratic": (a - y) * SP[-1], "cross-entropy": a - y}[rule]]
    for l in range(len(weights) - 1, 0, -1):
        out.insert(0, (out[0] @ (scales[l] * weights[l].astype(np.float64))) * SP[l - 1])
    return out


def fold(W, scale):
    """``kernels._fold``: scale times W."""
    return scale * W.astype(np.float64)


def update(w, b, scale, decay, eta, A_in, D):
    """``kernels._update`` for one layer, the book's way: ``(decay * scale * w - (eta/m) sum_x d a^T,
    b - (eta/m) sum_x d)`` for rows ``a`` of ``A_in`` ``(m, n_in)`` and ``d`` of ``D`` ``(m, n_out)``, in float64."""
    w, b, A_in, D = (np.asarray(v, dtype=np.float64) for v in (w, b, A_in, D))
    m = len(D)
    nabla_w = sum(np.outer(D[e], A_in[e]) for e in range(m))
    nabla_b = sum(D[e] for e in range(m)).reshape(-1, 1)
    return decay * scale * w - (eta / m) * nabla_w, b - (eta / m) * nabla_b


def share(width, part, parts):
    """``kernels._share``: the columns of share ``part``, handing the layer's blocks out one at a time to
    shares 0, 1, ... in turn for the first ``blocks % parts``, evenly otherwise, in order."""
    blocks = width // LANES
    counts = [blocks // parts + (1 if p < blocks % parts else 0) for p in range(parts)]
    first = sum(counts[:part])
    return first * LANES, (first + counts[part]) * LANES


def sparse_rows(X):
    """``arrays.sparse_rows`` (``_count_rows``, ``_copy_rows``): CSR ``(indptr, indices, values)`` of the
    non-zero entries, row by row."""
    indptr, indices, values = [0], [], []
    for row in X:
        for j, v in enumerate(row):
            if v != 0:
                indices.append(j)
                values.append(v)
        indptr.append(len(indices))
    return np.array(indptr), np.array(indices, dtype=np.int32), np.array(values)


def shuffle(n, seed):
    """``shuffle._shuffle``: the permutation of range(n) that ``random.shuffle`` makes after ``random.seed(seed)``."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def tree_sum(v):
    """``simd.total``: the sum of ``v`` (a power-of-two length) as upper half onto lower half, repeatedly."""
    while len(v) > 1:
        v = v[: len(v) // 2] + v[len(v) // 2 :]
    return v[0]


def numerical_gradient(cost, params, h=1e-6):
    """Central finite differences of ``cost()`` with respect to every entry of every array in ``params``."""
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + h
            up = cost()
            p[i] = old - h
            down = cost()
            p[i] = old
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def quadratic_cost(feedforward, X, Y):
    """Sum over the columns of X of ||feedforward(x) - y||^2 / 2."""
    return 0.5 * float(np.sum((feedforward(X) - Y) ** 2))


def write_idx(path, array, magic):
    """Write ``array`` (uint8) as a gzip-compressed IDX file with the given magic number."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def product(A, a0, ars, acs, B, b0, ldb, C, c0, ldc, M, N, K, descend, eta, decay):
    """``convnet._product`` with index loops in float64: the product s of A's and B's strided matrices, then
    C = s, or C -= eta (s + decay C); returns C's new values as an (M, N) matrix."""
    s = np.zeros((M, N))
    for i in range(M):
        for k in range(K):
            s[i] += float(A[a0 + i * ars + k * acs]) * B[b0 + k * ldb : b0 + k * ldb + N].astype(np.float64)
    if not descend:
        return s
    old = np.array([C[c0 + i * ldc : c0 + i * ldc + N] for i in range(M)], dtype=np.float64)
    return old - eta * (s + decay * old)


def dots(A, a0, lda, B, b0, ldb, M, N, P):
    """``convnet._dots`` in float64: the (M, N) matrix of dot products of A's rows with B's rows, P long."""
    return np.array([[float(np.dot(A[a0 + i * lda : a0 + i * lda + P].astype(np.float64),
                                   B[b0 + j * ldb : b0 + j * ldb + P].astype(np.float64))) for j in range(N)]
                     for i in range(M)])


def patches(x, fh, fw, ph, pw):
    """``convnet._patches``: the patch matrix of the maps x (m, C, H, W) for a flipped fh x fw filter, row (c, u, v),
    column (s_u, s_v, e, i, j) for output position (i ph + s_u, j pw + s_v), only positions pooling keeps."""
    m, C, H, W = x.shape
    qh, qw = (H - fh + 1) // ph, (W - fw + 1) // pw
    cols = np.zeros((C * fh * fw, ph * pw, m * qh * qw), dtype=x.dtype)
    for c in range(C):
        for u in range(fh):
            for v in range(fw):
                for su in range(ph):
                    for sv in range(pw):
                        for e in range(m):
                            for i in range(qh):
                                for j in range(qw):
                                    h, w = i * ph + su + fh - 1 - u, j * pw + sv + fw - 1 - v
                                    cols[(c * fh + u) * fw + v, su * pw + sv, (e * qh + i) * qw + j] = x[e, c, h, w]
    return cols


def _theano_activation(code, v, limits):
    """f(v) for the activation ``code`` (``convnet.LINEAR``, ``RELU``, ``SIGMOID``, ``TANH``: 0 to 3) and f'(v), in
    Python floats, the sigmoid 0 below and 1 above ``limits`` as Theano's, ReLU's slope 1 at 0."""
    if code == 1:
        return max(0.0, v), 1.0 if v >= 0 else 0.0
    if code == 2:
        s = 0.0 if v < limits[0] else 1.0 if v > limits[1] else 1.0 / (1.0 + math.exp(-v))
        return s, s * (1.0 - s)
    if code == 3:
        return math.tanh(v), 1.0 - math.tanh(v) ** 2
    return v, 1.0


def activations(code, z, limits):
    """``convnet._activations``: f(z) value by value, in float64."""
    return np.array([_theano_activation(code, float(v), limits)[0] for v in z])


def times_slopes(code, g, z, limits):
    """``convnet._times_slopes``: g f'(z) value by value, in float64."""
    return np.array([float(d) * _theano_activation(code, float(v), limits)[1] for d, v in zip(g, z)])


def sum64(x):
    """``convnet._sum64``: the sum of x, exactly rounded to float64."""
    return math.fsum(float(v) for v in x)
