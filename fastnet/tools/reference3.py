"""The book's chapter-6 ``network3`` in plain NumPy: the yardstick for fastnet's ``network3``.

The book's code builds Theano graphs; this module writes out what those graphs compute, step by
step, forward and backward, with nothing tuned:

- ``ConvPoolLayer``: Theano's ``conv2d`` in its default "valid" mode, a true convolution (the
  filter flipped), then max pooling over non-overlapping windows that drops the border remainder,
  then one bias per filter, then the activation. Pooling's gradient goes to every position of a
  window that equals the window's maximum, ties included, as Theano's ``MaxPoolGrad`` gives it.
- ``FullyConnectedLayer``: f(a W + b), rows of ``a`` being examples; with dropout, training
  multiplies the layer's input by a 0/1 mask and evaluation scales W's product by (1 - p).
- ``SoftmaxLayer``: softmax(a W + b), the cost the mean over the mini-batch of -ln of the output at
  the label.
- the activations and their derivatives as Theano computes and differentiates them (its sigmoid is
  exactly 0 and 1 beyond fixed limits, so its derivative is 0 there; ``ReLU``'s derivative is 1 at
  z = 0: the gradient of ``maximum(0, z)`` goes to both arguments where they are equal).
- ``ReferenceNetwork3.SGD``: the book's loop, without shuffling, with the L2 term
  0.5 lmbda sum(w^2) / num_training_batches and p -= eta dC/dp for every parameter, printing the
  book's lines.

It imports nothing of fastnet's and must stay so: a yardstick that shared code with what it
measures would share its bugs too. Dropout masks are passed in by the caller (``masks``), so that
whatever generator fastnet uses can be replayed here.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Activation:
    """An activation f and its derivative f'(z), as Theano computes them."""

    def __init__(self, name, f, prime):
        self.name, self.f, self.prime = name, f, prime


THEANO_SIGMOID_LIMITS = {np.dtype(np.float32): (-88.0, 15.0), np.dtype(np.float64): (-709.0, 19.0)}


def _sigmoid(z):
    """Theano's sigmoid as its C code computes it: 0 below the dtype's lower limit, 1 above its upper limit
    (float32: -88 and 15; float64: -709 and 19), 1 / (1 + exp(-z)) between, in z's dtype."""
    low, high = THEANO_SIGMOID_LIMITS[z.dtype]
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-z))
    return np.where(z < low, 0, np.where(z > high, 1, s)).astype(z.dtype)


linear = Activation("linear", lambda z: z, lambda z: np.ones_like(z))
ReLU = Activation("ReLU", lambda z: np.maximum(0.0, z), lambda z: (z >= 0).astype(z.dtype))
sigmoid = Activation("sigmoid", _sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z)))  # Theano's gradient: y (1 - y)
tanh = Activation("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2)


def conv2d_valid(x, w):
    """Theano's ``conv2d(x, w)``: out[b, f, i, j] = sum over c, u, v of x[b, c, i + u, j + v] w[f, c, fh-1-u, fw-1-v]."""
    fh, fw = w.shape[2:]
    windows = sliding_window_view(x, (fh, fw), axis=(2, 3))  # (b, c, i, j, u, v)
    return np.einsum("bcijuv,fcuv->bfij", windows, w[:, :, ::-1, ::-1])


def conv2d_valid_backward(x, w, g):
    """Given dC/d(out) = ``g`` of ``conv2d_valid(x, w)``: ``(dC/dx, dC/dw)``."""
    fh, fw = w.shape[2:]
    oh, ow = g.shape[2:]
    flipped = w[:, :, ::-1, ::-1]
    windows = sliding_window_view(x, (fh, fw), axis=(2, 3))
    d_flipped = np.einsum("bfij,bcijuv->fcuv", g, windows)
    dx = np.zeros_like(x)
    for u in range(fh):
        for v in range(fw):
            dx[:, :, u : u + oh, v : v + ow] += np.einsum("bfij,fc->bcij", g, flipped[:, :, u, v])
    return dx, d_flipped[:, :, ::-1, ::-1]


def max_pool(y, pool):
    """Max over non-overlapping windows of ``pool`` (ph, pw), the border remainder dropped."""
    (ph, pw), (h, w) = pool, y.shape[2:]
    cropped = y[:, :, : h // ph * ph, : w // pw * pw]
    return cropped.reshape(*y.shape[:2], h // ph, ph, w // pw, pw).max(axis=(3, 5))


def max_pool_backward(y, pooled, g, pool):
    """dC/dy from dC/d(pooled) = ``g``: each window's gradient to every position equal to its maximum."""
    (ph, pw), (h, w) = pool, y.shape[2:]
    hh, ww = h // ph * ph, w // pw * pw
    spread_max = np.repeat(np.repeat(pooled, ph, axis=2), pw, axis=3)
    spread_g = np.repeat(np.repeat(g, ph, axis=2), pw, axis=3)
    dy = np.zeros_like(y)
    dy[:, :, :hh, :ww] = (y[:, :, :hh, :ww] == spread_max) * spread_g
    return dy


def softmax(z):
    """Row by row, exp(z - max z) / sum, as Theano's ``softmax`` computes it."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class ConvPoolLayer:
    """Convolution, max pooling, bias, activation; its draws as the book's: weights from N(0, 1/n_out), n_out
    = filters fh fw / (ph pw), then biases from N(0, 1)."""

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid, dtype=np.float32):
        self.filter_shape, self.image_shape, self.poolsize, self.activation_fn = filter_shape, image_shape, poolsize, activation_fn
        n_out = filter_shape[0] * np.prod(filter_shape[2:]) // np.prod(poolsize)  # the book's Python 2 division
        self.w = np.asarray(np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out), size=filter_shape), dtype=dtype)
        self.b = np.asarray(np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)), dtype=dtype)
        self.p_dropout = 0.0

    def forward(self, a, mask=None):
        """The layer's output (no dropout in a convolutional layer) and what ``backward`` needs."""
        x = a.reshape(self.image_shape)
        y = conv2d_valid(x, self.w)
        pooled = max_pool(y, self.poolsize)
        z = pooled + self.b[None, :, None, None]
        return self.activation_fn.f(z), (x, y, pooled, z)

    def backward(self, saved, g):
        """``(dC/d(input), dC/dw, dC/db)`` from dC/d(output) = ``g``."""
        x, y, pooled, z = saved
        dz = g.reshape(z.shape) * self.activation_fn.prime(z)
        db = dz.sum(axis=(0, 2, 3))
        dy = max_pool_backward(y, pooled, dz, self.poolsize)
        dx, dw = conv2d_valid_backward(x, self.w, dy)
        return dx, dw, db

    def evaluate(self, a):
        return self.forward(a)[0]


class FullyConnectedLayer:
    """f(a W + b) with dropout on its input; draws: weights from N(0, 1/n_out), then biases from N(0, 1)."""

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0, dtype=np.float32):
        self.n_in, self.n_out, self.activation_fn, self.p_dropout = n_in, n_out, activation_fn, p_dropout
        self.w = np.asarray(np.random.normal(loc=0.0, scale=np.sqrt(1.0 / n_out), size=(n_in, n_out)), dtype=dtype)
        self.b = np.asarray(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)), dtype=dtype)

    def forward(self, a, mask=None):
        """Training's output: the input masked (``mask``, 0/1, or None without dropout)."""
        x = a.reshape(len(a), self.n_in)
        x = x if mask is None else x * mask
        z = x @ self.w + self.b
        return self.activation_fn.f(z), (x, z, mask)

    def backward(self, saved, g):
        x, z, mask = saved
        dz = g * self.activation_fn.prime(z)
        dx = dz @ self.w.T
        return (dx if mask is None else dx * mask), x.T @ dz, dz.sum(axis=0)

    def evaluate(self, a):
        """Evaluation's output: f((1 - p) a W + b)."""
        x = a.reshape(len(a), self.n_in)
        return self.activation_fn.f((1 - self.p_dropout) * (x @ self.w) + self.b)


class SoftmaxLayer(FullyConnectedLayer):
    """softmax(a W + b), its weights and biases zero."""

    def __init__(self, n_in, n_out, p_dropout=0.0, dtype=np.float32):
        self.n_in, self.n_out, self.p_dropout = n_in, n_out, p_dropout
        self.activation_fn = None
        self.w = np.zeros((n_in, n_out), dtype=dtype)
        self.b = np.zeros((n_out,), dtype=dtype)

    def forward(self, a, mask=None):
        x = a.reshape(len(a), self.n_in)
        x = x if mask is None else x * mask
        return softmax(x @ self.w + self.b), (x, None, mask)

    def backward(self, saved, g):
        """``g`` is dC/dz itself here (the softmax and its cost are differentiated together)."""
        x, _, mask = saved
        dx = g @ self.w.T
        return (dx if mask is None else dx * mask), x.T @ g, g.sum(axis=0)

    def evaluate(self, a):
        x = a.reshape(len(a), self.n_in)
        return softmax((1 - self.p_dropout) * (x @ self.w) + self.b)


class ReferenceNetwork3:
    """The book's ``Network(layers, mini_batch_size)``: the layers in order, the cost of the last (softmax)."""

    def __init__(self, layers, mini_batch_size):
        self.layers, self.mini_batch_size = layers, mini_batch_size

    def cost_and_gradients(self, x, y, lmbda, num_training_batches, masks=None):
        """The book's training cost of the mini-batch ``(x, y)`` and its gradient ``[(dC/dw, dC/db)]`` per layer.

        ``masks[l]`` is the 0/1 dropout mask of layer l's input (None for no dropout)."""
        masks = masks or [None] * len(self.layers)
        a, saved = x, []
        for layer, mask in zip(self.layers, masks):
            a, s = layer.forward(a, mask)
            saved.append(s)
        m = len(y)
        cost = -np.mean(np.log(a[np.arange(m), y]))
        cost += 0.5 * lmbda * sum(float(np.sum(layer.w.astype(np.float64) ** 2)) for layer in self.layers) / num_training_batches
        g = a.copy()
        g[np.arange(m), y] -= 1
        g /= m  # dC/dz of the softmax layer
        grads = []
        for layer, s in zip(reversed(self.layers), reversed(saved)):
            g, dw, db = layer.backward(s, g)
            grads.insert(0, (dw + lmbda / num_training_batches * layer.w, db))
        return cost, grads

    def step(self, x, y, eta, lmbda, num_training_batches, masks=None):
        """One step of SGD on the mini-batch ``(x, y)``: every parameter p -= eta dC/dp."""
        _, grads = self.cost_and_gradients(x, y, lmbda, num_training_batches, masks)
        for layer, (dw, db) in zip(self.layers, grads):
            layer.w = (layer.w - eta * dw).astype(layer.w.dtype)
            layer.b = (layer.b - eta * db).astype(layer.b.dtype)

    def predictions(self, x):
        """The evaluation pass's predicted digits for the inputs ``x``."""
        a = x
        for layer in self.layers:
            a = layer.evaluate(a)
        return np.argmax(a, axis=1)

    def accuracy(self, data, mini_batch_size=None):
        """The mean over whole mini-batches of each mini-batch's accuracy, as the book scores: ``len // mini_batch_size``
        of them (the network's own size when not given), each ``self.mini_batch_size`` examples."""
        x, y = data
        m, count = self.mini_batch_size, len(y) // (mini_batch_size or self.mini_batch_size)
        return float(np.mean([np.mean(self.predictions(x[j * m : (j + 1) * m]) == y[j * m : (j + 1) * m])
                              for j in range(count)]))

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data, lmbda=0.0, masks=None):
        """The book's loop: mini-batch i is examples [i m, (i + 1) m), no shuffling; the validation accuracy
        after each epoch, the test accuracy when that is the best so far; the book's lines printed.
        ``masks(iteration)`` gives each step's dropout masks. Returns the best validation accuracy, its
        iteration and the corresponding test accuracy."""
        x, y = training_data
        num_training_batches = len(y) // mini_batch_size
        best, best_iteration, test_accuracy = 0.0, 0, 0.0
        for epoch in range(epochs):
            for i in range(num_training_batches):
                iteration = num_training_batches * epoch + i
                if iteration % 1000 == 0:
                    print(f"Training mini-batch number {iteration}")
                batch = slice(i * self.mini_batch_size, (i + 1) * self.mini_batch_size)  # as the book slices
                self.step(x[batch], y[batch], eta, lmbda, num_training_batches, masks(iteration) if masks else None)
                if (iteration + 1) % num_training_batches == 0:
                    validation_accuracy = self.accuracy(validation_data, mini_batch_size)
                    print(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
                    if validation_accuracy >= best:
                        print("This is the best validation accuracy to date.")
                        best, best_iteration = validation_accuracy, iteration
                        if test_data:
                            test_accuracy = self.accuracy(test_data, mini_batch_size)
                            print(f"The corresponding test accuracy is {test_accuracy:.2%}")
        print("Finished training network.")
        print(f"Best validation accuracy of {best:.2%} obtained at iteration {best_iteration}")
        print(f"Corresponding test accuracy of {test_accuracy:.2%}")
        return best, best_iteration, test_accuracy
