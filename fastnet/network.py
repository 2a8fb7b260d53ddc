"""The book's ``network.py``, same API and same numbers, on numba kernels.

A feedforward network of sigmoid neurons trained by mini-batch stochastic gradient descent on the
quadratic cost, exactly as in chapter 1 of Michael Nielsen's *Neural Networks and Deep Learning*.
``net.weights`` and ``net.biases`` are the book's lists of arrays; every call reads them afresh, so
edits and rebinding are honoured, and every call that trains rebinds them to new arrays, as the
book's code does. Arguments are checked before anything changes: a call that fails leaves the
network as it was.

A reader's subclass may replace ``update_mini_batch``, ``backprop``, ``cost_derivative``,
``feedforward`` or ``evaluate`` (the book's exercises do): then ``SGD`` and ``evaluate`` call the
reader's method exactly where the book's code calls it, per mini-batch or per example, with
fastnet's compiled versions of everything else underneath.
"""

import numpy as np

from . import kernels, saving, validation
from .activation import sigmoid, sigmoid_prime
from .arrays import book_pairs, is_array_pair, labels_of, one_hot_targets, sparse_rows
from .layout import layer, pack, unpack
from .jit import compile_notice
from .overrides import overridden, warn_override
from .sgd import BookRun, CompiledRun, Scorer
from .training import backprop_rows, count_correct, one_step, outputs

__all__ = ["Network", "load", "sigmoid", "sigmoid_prime"]

TRAINING_METHODS = ("update_mini_batch", "backprop", "cost_derivative")  # what the book's SGD calls to learn
EVALUATION_METHODS = ("evaluate", "feedforward")  # what it calls to score an epoch


def print_line(line):
    """Print one of ``SGD``'s lines at once (flushed, so that a notebook shows each epoch as it ends)."""
    print(line, flush=True)


class Network:
    """A network with layer sizes ``sizes`` (input first), its parameters drawn as the book draws them."""

    def __init__(self, sizes, dtype=np.float64):
        """Draw every bias vector, then every weight matrix, from ``np.random.randn`` (the book's order).

        ``dtype`` is float64 (the book's arithmetic) or float32 (faster, same draws rounded).
        """
        sizes = validation.sizes(sizes)
        self.dtype = validation.dtype(dtype)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in sizes[1:]]
        self.weights = [
            np.random.randn(n_out, n_in).astype(self.dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]

    def feedforward(self, a):
        """Return the output for input ``a``: a column ``(n_0, 1)``, columns ``(n_0, k)`` or a vector ``(n_0,)``."""
        validation.parameters(self)
        a = validation.network_input(a, self.sizes[0])
        columns = a.reshape(len(a), -1)
        out = outputs(self._params(), sparse_rows(columns.T, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, *, log=print_line, threads=None):
        """Train by mini-batch stochastic gradient descent, printing the book's line after each epoch.

        ``training_data`` is the book's list of ``(x, y)`` pairs, shuffled in place in the book's
        order; any other iterable of pairs (a tuple, a ``zip``) is read once and never modified, as is
        a pair of arrays ``(X (n, n_0), Y)`` with one-hot rows ``(n, n_L)`` or labels ``(n,)``.
        ``test_data``, pairs ``(x, label)`` or ``(X, labels)``, is evaluated after every epoch.
        ``log`` receives each epoch's line (default: print it). ``threads`` forces a thread count
        (by default fastnet times one thread against several and keeps what is faster; the weights
        are the same bit for bit either way). Returns the per-epoch test scores (empty without test
        data). On Ctrl-C the network keeps every completed epoch and the interrupt reaches the caller.
        """
        epochs = validation.count("SGD", "epochs", epochs, 0)
        mini_batch_size = validation.count("SGD", "mini_batch_size", mini_batch_size, 1)
        eta = validation.learning_rate("SGD", eta)
        threads = None if threads is None else validation.count("SGD", "threads", threads, 1)
        validation.parameters(self)
        training = validation.examples("SGD", "training_data", training_data, self.sizes[0], self.sizes[-1])
        test = self._test_set(test_data)
        own = overridden(self, Network, TRAINING_METHODS)
        if own:
            warn_override(self, own, "SGD calls them for each mini-batch as the book's code does, slower than "
                          "fastnet's compiled epoch")
        with compile_notice():
            score = self._scorer(test)
            if own:
                run = BookRun(self, training, mini_batch_size, lambda mini_batch: self.update_mini_batch(mini_batch, eta))
            else:
                step = kernels.Step(eta, 1.0, kernels.QUADRATIC)
                sync = bool(overridden(self, Network, EVALUATION_METHODS))
                run = CompiledRun(self, training_data, training, mini_batch_size, step, threads, sync)
        scores = []
        try:
            for j in range(epochs):
                run.epoch()
                if score is None:
                    log(f"Epoch {j} complete")
                else:
                    scores.append(score(run.params()))
                    log(f"Epoch {j}: {scores[-1]} / {score.n}")
        finally:
            run.finish()
        return scores

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the ``(x, y)`` pairs of ``mini_batch``: w -= (eta/m) sum of dC_x/dw."""
        eta = validation.learning_rate("update_mini_batch", eta)
        validation.parameters(self)
        if overridden(self, Network, ("backprop", "cost_derivative")):
            self._update_from_backprop(validation.pairs("update_mini_batch", "mini_batch", mini_batch), eta)
            return
        X, T, _ = validation.examples("update_mini_batch", "mini_batch", mini_batch, self.sizes[0], self.sizes[-1])
        params = self._params()
        one_step(params, X, T, kernels.Step(eta, 1.0, kernels.QUADRATIC))
        self.weights, self.biases = unpack(params)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2, shaped like biases and weights.

        dC/db_l is the layer's delta and dC/dw_l the outer product delta a_{l-1}^T. The output
        layer's delta is ``cost_derivative(a_L, y) * sigma'(z_L)``.
        """
        validation.parameters(self)
        X, T, _ = validation.examples("backprop", None, [(x, y)], self.sizes[0], self.sizes[-1])
        params, rule = self._params(), kernels.QUADRATIC
        if overridden(self, Network, ("cost_derivative",)):  # the reader's dC/da, as the book's backprop asks for it
            a = outputs(params, sparse_rows(X, self.dtype)).reshape(-1, 1)
            T, rule = validation.output_gradient(self.cost_derivative(a, y), self.sizes[-1]), kernels.GIVEN
        act, delta = backprop_rows(params, X, T, rule)
        inputs = [X[0].astype(self.dtype)] + [layer(params, act, 0, l) for l in range(self.num_layers - 2)]
        deltas = [layer(params, delta, 0, l) for l in range(self.num_layers - 1)]
        nabla_b = [d.reshape(-1, 1).copy() for d in deltas]
        nabla_w = [np.outer(d, a) for d, a in zip(deltas, inputs)]
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        validation.parameters(self)
        test = validation.examples("evaluate", "test_data", test_data, self.sizes[0], self.sizes[-1])
        labels = labels_of(test.T)
        if overridden(self, Network, ("feedforward",)):  # the book's evaluate: one feedforward per example
            return sum(int(np.argmax(self.feedforward(x)) == label) for x, label in zip(test.X[:, :, None], labels))
        return count_correct(self._params(), sparse_rows(test.X, self.dtype), labels)

    def cost_derivative(self, output_activations, y):
        """dC_x/da_L for the quadratic cost: a_L - y."""
        return output_activations - y

    def save(self, path):
        """Write the network to ``path`` (a portable ``.npz``: sizes, dtype, weights, biases), atomically."""
        validation.parameters(self)
        saving.save(self, path)

    def _params(self):
        """The current ``weights`` and ``biases`` in the kernels' layout (a copy)."""
        return pack(self.weights, self.biases, self.dtype)

    def _update_from_backprop(self, mini_batch, eta):
        """The book's ``update_mini_batch``: sum ``self.backprop(x, y)`` over the examples, then step."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        scale = eta / len(mini_batch)
        self.weights = [(w - scale * nw).astype(self.dtype) for w, nw in zip(self.weights, nabla_w)]
        self.biases = [(b - scale * nb).astype(self.dtype) for b, nb in zip(self.biases, nabla_b)]

    def _test_set(self, test_data):
        """``SGD``'s checked ``test_data``, or None when there is none: the book evaluates only ``if test_data``."""
        if test_data is None:
            return None
        if not is_array_pair(test_data):
            test_data = validation.read_pairs("SGD", "test_data", test_data)
            if not test_data:
                return None
        return validation.examples("SGD", "test_data", test_data, self.sizes[0], self.sizes[-1])

    def _scorer(self, test):
        """A function of the packed ``Params`` that scores them on ``test`` (None without test data).

        It calls ``self.evaluate`` as the book's ``SGD`` does when the reader replaced ``evaluate``
        or ``feedforward``; otherwise it is fastnet's batched evaluation on data converted once.
        """
        if test is None:
            return None
        own = overridden(self, Network, EVALUATION_METHODS)
        if own:
            warn_override(self, own, "SGD scores each epoch by calling them, one test example at a time")
            data = test.items if test.items is not None else book_pairs(test.X, test.T)
            score = lambda params: self.evaluate(data)  # noqa: E731 (``weights`` are up to date)
            score.n = len(test.X)
            return score
        score = Scorer(sparse_rows(test.X, self.dtype), labels_of(test.T))
        score.prepare(self._params())
        return score


def load(path):
    """Return the network saved at ``path`` by ``Network.save``, exactly as it was saved."""
    sizes, dtype, weights, biases = saving.load(path)
    net = Network.__new__(Network)  # no random draws: the parameters come from the file
    net.num_layers, net.sizes, net.dtype = len(sizes), sizes, dtype
    net.weights, net.biases = weights, biases
    validation.parameters(net)
    return net
