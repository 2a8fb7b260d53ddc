"""The book's ``network3.py`` (chapter 6), same API, on fastnet's compiled engine instead of Theano.

``import fastnet.network3 as network3`` runs the book's chapter-6 code with only its import changed:
``Network(layers, mini_batch_size)`` of ``ConvPoolLayer``, ``FullyConnectedLayer`` and ``SoftmaxLayer``
(with ``p_dropout``), the activations ``linear``, ``ReLU``, ``sigmoid`` and ``tanh``,
``load_data_shared`` and ``size``, and ``SGD(training_data, epochs, mini_batch_size, eta,
validation_data, test_data, lmbda=0.0)`` printing the book's lines. The layers draw their parameters
as the book's do (the same NumPy calls, in the same order); arithmetic is float32, as the book runs
it, or float64 with ``Network(layers, mini_batch_size, dtype=np.float64)``. Parameters and data read
as the book's code reads them: ``layer.w.get_value()``, ``set_value``, ``.eval()``.

What the book's Theano graphs compute (``fastnet/tools/reference3.py`` states it in plain NumPy):
a true convolution (the filter flipped), max pooling over whole windows with its gradient to every
tied maximum, the bias after pooling; dropout on a layer's input, (1 - p) scaling at evaluation;
the mean log-likelihood of the softmax plus 0.5 lmbda sum(w^2) / num_training_batches; mini-batches
in order, never shuffled. Dropout masks come from NumPy: a generator seeded from the network's
initial parameters, so that ``np.random.seed(s)`` before building a network reproduces its run, and
nothing is drawn from NumPy's global generator that the book's code does not draw.
"""

import hashlib

import numpy as np

from . import mnist_loader
from ._book import validation
from ._book.ensemble import plurality
from ._book.sigmoid_network import print_line
from . import engine
from .engine import compile_notice

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "linear", "ReLU", "sigmoid", "tanh",
           "load_data_shared", "size", "vote"]


def linear(z):
    """The identity."""
    return z


def ReLU(z):  # noqa: N802 (the book's name)
    """max(0, z); Theano's derivative is 1 at z = 0."""
    return np.maximum(0.0, z)


def sigmoid(z):
    """1 / (1 + exp(-z)) as Theano computes it: exactly 0 and 1 beyond -88 and 15 (float32), -709 and 19 (float64)."""
    z = np.asarray(z)
    dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    low, high = engine.SIGMOID_LIMITS[dtype.itemsize]
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-z.astype(dtype)))
    return np.where(z < low, 0, np.where(z > high, 1, s)).astype(dtype)


def tanh(z):
    """The hyperbolic tangent."""
    return np.tanh(z)


ACTIVATIONS = {linear: engine.LINEAR, ReLU: engine.RELU, sigmoid: engine.SIGMOID, tanh: engine.TANH}


class SharedArray:
    """An array read and written as the book's code reads and writes a Theano shared variable (``get_value``,
    ``set_value``) or evaluates an expression over one (``eval``)."""

    def __init__(self, value, name):
        self._value, self.name = value, name

    def get_value(self, borrow=False):
        """The array (the stored one with ``borrow``, else a copy)."""
        return self._value if borrow else self._value.copy()

    def set_value(self, value, borrow=False):
        """Replace the array by ``value``, of the same shape (kept in this array's dtype)."""
        value = np.asarray(value)
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
            raise validation.BadValue(f"set_value: {self.name} takes finite numbers, got {value.dtype} values with "
                                      "NaN, infinity or no number")
        if value.shape != self._value.shape:
            raise validation.BadValue(f"set_value: {self.name} has shape {self._value.shape}, got an array of shape "
                                      f"{value.shape}")
        self._value = value.astype(self._value.dtype, copy=not borrow)

    def eval(self):
        """The array's values (a copy), as Theano's ``eval`` gives them."""
        return self._value.copy()

    def __repr__(self):
        return f"{type(self).__name__}({self.name}, shape={self._value.shape}, dtype={self._value.dtype})"


def _activation_code(where, activation_fn):
    if activation_fn not in ACTIVATIONS:
        raise validation.BadValue(f"{where}: activation_fn must be one of network3's linear, ReLU, sigmoid or tanh, "
                                  f"got {activation_fn!r}")
    return ACTIVATIONS[activation_fn]


def _ints(where, name, value, length, minimum=1):
    """``value`` as a tuple of ``length`` whole numbers >= ``minimum``."""
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if (items is None or len(items) != length or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                          and v >= minimum for v in items)):
        raise validation.BadValue(f"{where}: {name} must be {length} whole numbers >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def _dropout(where, p_dropout):
    if isinstance(p_dropout, bool) or not isinstance(p_dropout, (int, float, np.floating, np.integer)) or not 0 <= p_dropout < 1:
        raise validation.BadValue(f"{where}: p_dropout must be a number from 0 up to (not including) 1, got {p_dropout!r}")
    return float(p_dropout)


class ConvPoolLayer:
    """A convolutional layer with max pooling: ``filter_shape`` (filters, input maps, height, width), ``image_shape``
    (mini-batch size, input maps, height, width), ``poolsize`` (height, width), then one bias per filter and
    ``activation_fn``. Draws its weights from N(0, 1/n_out), n_out = filters x height x width / pool area,
    then its biases from N(0, 1), as the book's layer does."""

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        self.filter_shape = _ints("ConvPoolLayer", "filter_shape", filter_shape, 4)
        self.image_shape = _ints("ConvPoolLayer", "image_shape", image_shape, 4)
        self.poolsize = _ints("ConvPoolLayer", "poolsize", poolsize, 2)
        self.activation_fn, self._act = activation_fn, _activation_code("ConvPoolLayer", activation_fn)
        (filters, maps, fh, fw), (_, image_maps, h, w) = self.filter_shape, self.image_shape
        if maps != image_maps or fh > h or fw > w:
            raise validation.BadValue(f"ConvPoolLayer: filter_shape {self.filter_shape} does not fit image_shape "
                                      f"{self.image_shape}: the filters need {maps} input maps of at least {fh}x{fw}")
        if (h - fh + 1) < self.poolsize[0] or (w - fw + 1) < self.poolsize[1]:
            raise validation.BadValue(f"ConvPoolLayer: poolsize {self.poolsize} is larger than the {h - fh + 1}x"
                                      f"{w - fw + 1} maps the filters make")
        n_out = filters * fh * fw // (self.poolsize[0] * self.poolsize[1])  # the book's Python 2 division
        if n_out == 0:
            raise validation.BadValue(f"ConvPoolLayer: {filters} filters of {fh}x{fw} over pools of {self.poolsize} give "
                                      "n_out = 0 in the book's initialisation (its weights' spread is 1/sqrt(n_out))")
        self.w = SharedArray(np.random.normal(loc=0, scale=np.sqrt(1.0 / n_out), size=self.filter_shape), "w")
        self.b = SharedArray(np.random.normal(loc=0, scale=1.0, size=(filters,)), "b")
        self.params = [self.w, self.b]

    def _spec(self):
        (filters, maps, fh, fw), (_, _, h, w) = self.filter_shape, self.image_shape
        dims = [maps, h, w, filters, fh, fw, *self.poolsize]
        return engine.ConvNetLayer(engine.CONV, self._act, dims, 1.0, self.w.get_value(borrow=True), self.b.get_value(borrow=True))

    def _sizes(self):
        (filters, _, fh, fw), (_, maps, h, w) = self.filter_shape, self.image_shape
        return maps * h * w, filters * ((h - fh + 1) // self.poolsize[0]) * ((w - fw + 1) // self.poolsize[1])


class FullyConnectedLayer:
    """``activation_fn(a W + b)`` with ``W`` (n_in, n_out), dropout ``p_dropout`` on its input; draws its weights
    from N(0, 1/n_out), then its biases from N(0, 1), as the book's layer does."""

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in, self.n_out = _ints(type(self).__name__, "(n_in, n_out)", (n_in, n_out), 2)
        self.activation_fn, self._act = activation_fn, _activation_code(type(self).__name__, activation_fn)
        self.p_dropout = _dropout(type(self).__name__, p_dropout)
        self.w = SharedArray(np.random.normal(loc=0.0, scale=np.sqrt(1.0 / self.n_out), size=(self.n_in, self.n_out)), "w")
        self.b = SharedArray(np.random.normal(loc=0.0, scale=1.0, size=(self.n_out,)), "b")
        self.params = [self.w, self.b]

    def _spec(self):
        return engine.ConvNetLayer(engine.DENSE, self._act, [self.n_in, self.n_out], 1 - self.p_dropout,
                                self.w.get_value(borrow=True), self.b.get_value(borrow=True))

    def _sizes(self):
        return self.n_in, self.n_out


class SoftmaxLayer(FullyConnectedLayer):
    """``softmax(a W + b)``, dropout ``p_dropout`` on its input; its weights and biases start at zero."""

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in, self.n_out = _ints("SoftmaxLayer", "(n_in, n_out)", (n_in, n_out), 2)
        self.activation_fn, self._act = None, engine.LINEAR
        self.p_dropout = _dropout("SoftmaxLayer", p_dropout)
        self.w = SharedArray(np.zeros((self.n_in, self.n_out)), "w")
        self.b = SharedArray(np.zeros((self.n_out,)), "b")
        self.params = [self.w, self.b]

    def _spec(self):
        return engine.ConvNetLayer(engine.SOFTMAX, engine.LINEAR, [self.n_in, self.n_out], 1 - self.p_dropout,
                                self.w.get_value(borrow=True), self.b.get_value(borrow=True))


LAYERS = (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)


class Network:
    """The book's network of ``layers`` (a softmax layer last) trained on mini-batches of ``mini_batch_size``;
    its layers' parameters become ``dtype`` (float32, as the book's code runs, or float64)."""

    def __init__(self, layers, mini_batch_size, dtype=np.float32):
        self.mini_batch_size = validation.count("Network", "mini_batch_size", mini_batch_size, 1)
        self.dtype = validation.dtype(dtype)
        layers = list(layers) if isinstance(layers, (list, tuple)) else layers
        if not isinstance(layers, list) or not layers or not all(isinstance(layer, LAYERS) for layer in layers):
            raise validation.BadType(f"Network: layers must be a non-empty list of ConvPoolLayer, FullyConnectedLayer "
                                     f"and SoftmaxLayer, got {layers!r}")
        if not isinstance(layers[-1], SoftmaxLayer) or any(isinstance(layer, SoftmaxLayer) for layer in layers[:-1]):
            raise validation.BadValue("Network: the last layer, and only the last, must be a SoftmaxLayer (its cost "
                                      "is the network's)")
        for i, layer in enumerate(layers):
            if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != self.mini_batch_size:
                raise validation.BadValue(f"Network: layers[{i}] has image_shape {layer.image_shape} for mini-batches "
                                          f"of {layer.image_shape[0]}, but mini_batch_size is {self.mini_batch_size}")
            if i and layers[i - 1]._sizes()[1] != layer._sizes()[0]:
                raise validation.BadValue(f"Network: layers[{i}] takes {layer._sizes()[0]} inputs, but layers[{i - 1}] "
                                          f"gives {layers[i - 1]._sizes()[1]}")
        self.layers = layers
        for layer in layers:  # the book's float32 draws: float64 draws, cast once
            for param in layer.params:
                param._value = np.asarray(param._value, dtype=self.dtype)
        self.params = [param for layer in layers for param in layer.params]
        digest = hashlib.sha256(b"".join(param._value.tobytes() for param in self.params)).digest()
        self.dropout_seed = int.from_bytes(digest[:8], "little")  # the masks' generator, from the initial parameters
        self._dropout_rng = np.random.default_rng(self.dropout_seed)  # one stream for every SGD call, as the book's

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data=None, lmbda=0.0, *,
            log=print_line, threads=None):
        """Train by mini-batch SGD and print the book's lines: ``Training mini-batch number i`` every 1,000
        mini-batches, the validation accuracy after each epoch and, when it is the best so far, the test
        accuracy; at the end the best validation accuracy, its iteration and the test accuracy then.
        Returns ``(best_validation_accuracy, best_iteration, test_accuracy)``. ``log`` receives each line;
        ``threads`` forces a thread count (the parameters are the same bit for bit on any)."""
        threads = None if threads is None else validation.count("SGD", "threads", threads, 1)
        epochs = validation.count("SGD", "epochs", epochs, 0)
        mini_batch_size = validation.count("SGD", "mini_batch_size", mini_batch_size, 1)
        if mini_batch_size != self.mini_batch_size:
            raise validation.BadValue(f"SGD: mini_batch_size is {mini_batch_size}, but the network was built for "
                                      f"mini-batches of {self.mini_batch_size}")
        eta = validation.learning_rate("SGD", eta)
        lmbda = validation.regularisation("SGD", lmbda)
        n_in = self.layers[0]._sizes()[0]
        X, Y = _data("SGD", "training_data", training_data, n_in, self.layers[-1].n_out)
        scored = {name: _data("SGD", name, data, n_in, self.layers[-1].n_out)
                  for name, data in (("validation_data", validation_data), ("test_data", test_data)) if data is not None}
        if "validation_data" not in scored:
            raise validation.BadValue("SGD: validation_data is required (the book scores every epoch on it)")
        for name, (_, labels) in scored.items():
            if len(labels) < mini_batch_size:
                raise validation.BadValue(f"SGD: {name} has {len(labels)} examples, fewer than one mini-batch of "
                                          f"{mini_batch_size} (the book scores whole mini-batches)")
        num_training_batches = len(Y) // mini_batch_size
        if num_training_batches == 0:
            raise validation.BadValue(f"SGD: training_data has {len(Y)} examples, fewer than one mini-batch of "
                                      f"{mini_batch_size}")
        specs = [layer._spec() for layer in self.layers]
        with compile_notice():
            net = engine.pack_convnet(specs, self.dtype)
            run = engine.ConvNetRun(net, mini_batch_size, engine.convnet_dropout_masks(net, mini_batch_size,
                                                                                        self._dropout_rng), threads)
            X = np.ascontiguousarray(X, dtype=self.dtype)
            if not np.all(np.isfinite(X)):
                raise validation.BadValue(f"SGD: training_data inputs overflow {self.dtype} (too large to train on)")
            run.prepare(X, Y)
        best, best_iteration, test_accuracy = 0.0, 0, 0.0
        try:
            for epoch in range(epochs):
                first = num_training_batches * epoch
                lines = range(-(-first // 1000) * 1000, first + num_training_batches, 1000)
                bounds = sorted({first, first + num_training_batches, *lines})
                for start, end in zip(bounds, bounds[1:]):
                    if start in lines:  # said as the mini-batch it names starts, as the book's loop says it
                        log(f"Training mini-batch number {start}")
                    run.steps(X, Y, start - first, end - first, eta, lmbda / num_training_batches)
                validation_accuracy = self._accuracy(net, scored["validation_data"], run.threads)
                log(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
                if validation_accuracy >= best:
                    log("This is the best validation accuracy to date.")
                    best, best_iteration = validation_accuracy, first + num_training_batches - 1
                    if "test_data" in scored:
                        test_accuracy = self._accuracy(net, scored["test_data"], run.threads)
                        log(f"The corresponding test accuracy is {test_accuracy:.2%}")
        finally:
            for layer, (w, b) in zip(self.layers, engine.unpack_convnet(net, specs)):
                layer.w._value, layer.b._value = w, b
        log("Finished training network.")
        log(f"Best validation accuracy of {best:.2%} obtained at iteration {best_iteration}")
        if "test_data" in scored:
            log(f"Corresponding test accuracy of {test_accuracy:.2%}")
        return best, best_iteration, test_accuracy

    def predictions(self, x):
        """The digits the network predicts for the inputs ``x`` (``(n, n_0)``, or a shared array), by its
        evaluation pass (dropout as (1 - p) scaling), as the book's ``y_out``."""
        X = x.get_value(borrow=True) if isinstance(x, SharedArray) else np.asarray(x)
        if X.ndim != 2 or X.shape[1] != self.layers[0]._sizes()[0]:
            raise validation.BadValue(f"predictions: x must be inputs (n, {self.layers[0]._sizes()[0]}), got {X.shape}")
        specs = [layer._spec() for layer in self.layers]
        return engine.convnet_predictions(engine.pack_convnet(specs, self.dtype), np.ascontiguousarray(X, dtype=self.dtype))

    def _accuracy(self, net, data, threads):
        """The book's accuracy: the mean over whole mini-batches of each mini-batch's accuracy."""
        X, Y = data
        m = self.mini_batch_size
        count = len(Y) // m
        X = np.ascontiguousarray(X[: count * m], dtype=self.dtype)
        right = engine.convnet_predictions(net, X, threads) == Y[: count * m]
        return float(np.mean([np.mean(right[j * m : (j + 1) * m]) for j in range(count)]))


def _data(where, name, data, n_in, n_out):
    """``(X (n, n_in), labels (n,))`` from ``(x, y)``: ``load_data_shared``'s pair, or arrays."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise validation.BadType(f"{where}: {name} must be a pair (x, y), as load_data_shared gives, got {data!r:.60}")
    x, y = (part.get_value(borrow=True) if isinstance(part, SharedArray) else np.asarray(part) for part in data)
    if x.ndim != 2 or x.shape[1] != n_in or y.shape != (len(x),):
        raise validation.BadValue(f"{where}: {name} must be inputs (n, {n_in}) with labels (n,), got {x.shape} and {y.shape}")
    if not np.all(np.isfinite(x)):
        raise validation.BadValue(f"{where}: {name} inputs contain NaN or infinity")
    labels = y.astype(np.int64)
    if not (np.array_equal(labels, y) and np.all((0 <= labels) & (labels < n_out))):
        raise validation.BadValue(f"{where}: {name} labels must be whole numbers from 0 to {n_out - 1}")
    return x, labels


def load_data_shared(filename=None, expanded=False):
    """``[training, validation, test]``, each ``(x, y)`` as the book's code reads them: ``x.get_value()`` the
    float32 images ``(n, 784)``, ``y.eval()`` the int32 labels. ``filename``: the book's ``mnist.pkl.gz`` or
    ``mnist_expanded.pkl.gz``, or a directory of MNIST's files; by default the MNIST bundled with fastnet.
    ``expanded=True`` gives the book's 250,000-image expanded training set, built from those images
    (``mnist_loader.expand``), without the book's ``expand_mnist.py`` or its file."""
    sets = mnist_loader.expand(filename) if expanded else mnist_loader.load_data(filename)
    return [(SharedArray(np.asarray(x, dtype=np.float32), "x"), SharedArray(np.asarray(y, dtype=np.int32), "y"))
            for x, y in sets]


def size(data):
    """The number of examples in ``data`` (a pair ``(x, y)``)."""
    x = data[0]
    return (x.get_value(borrow=True) if isinstance(x, SharedArray) else np.asarray(x)).shape[0]


def vote(nets, data):
    """The networks' plurality vote on ``data`` (``(x, y)``): ``(accuracy, error_locations, erroneous_predictions)``.

    The book's ``ensemble`` compiles a Theano function per network; this is its vote (``plurality``)."""
    nets = list(nets)
    if not nets or not all(isinstance(net, Network) for net in nets):
        raise validation.BadType(f"vote: nets must be a non-empty list of network3.Network, got {nets!r:.60}")
    x, y = data
    labels = (y.get_value(borrow=True) if isinstance(y, SharedArray) else np.asarray(y)).astype(np.int64)
    if len(labels) == 0 or len(labels) != size((x, y)):
        raise validation.BadValue(f"vote: data must hold as many labels as inputs, and some, got {size((x, y))} inputs "
                                  f"and {len(labels)} labels")
    return plurality(np.stack([net.predictions(x) for net in nets]), labels)
