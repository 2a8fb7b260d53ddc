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
from .arrays import book_pairs, labels_of, sparse_rows
from .base import SigmoidNetwork, print_line, quadratic_output_delta
from .jit import compile_notice
from .layout import unpack
from .overrides import overridden, warn_override
from .sgd import BookRun, CompiledRun, Scorer
from .training import count_correct, one_step

__all__ = ["Network", "load", "sigmoid", "sigmoid_prime"]

TRAINING_METHODS = ("update_mini_batch", "backprop", "cost_derivative")  # what the book's SGD calls to learn
EVALUATION_METHODS = ("evaluate", "feedforward")  # what it calls to score an epoch


class Network(SigmoidNetwork):
    """A network with layer sizes ``sizes`` (input first), its parameters drawn as the book draws them."""

    def __init__(self, sizes, dtype=np.float64):
        """Draw every bias vector, then every weight matrix, from ``np.random.randn`` (the book's order).

        ``dtype`` is float64 (the book's arithmetic) or float32 (faster, same draws rounded).
        """
        self._set_sizes(sizes, dtype)
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in self.sizes[1:]]
        self.weights = [
            np.random.randn(n_out, n_in).astype(self.dtype) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

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
        training = self._data("SGD", "training_data", training_data)
        test = self._optional_data("SGD", "test_data", test_data)
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
                run = CompiledRun(self, training, mini_batch_size, step, threads, sync)
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
        if overridden(self, Network, ("backprop", "cost_derivative")):  # the book's loop over self.backprop
            mini_batch = validation.pairs("update_mini_batch", "mini_batch", mini_batch)
            nabla_b, nabla_w = self._summed_gradients(mini_batch)
            scale = eta / len(mini_batch)
            self.weights = [(w - scale * nw).astype(self.dtype) for w, nw in zip(self.weights, nabla_w)]
            self.biases = [(b - scale * nb).astype(self.dtype) for b, nb in zip(self.biases, nabla_b)]
            return
        X, T, _ = self._data("update_mini_batch", "mini_batch", mini_batch)
        params = self._params()
        one_step(params, X, T, kernels.Step(eta, 1.0, kernels.QUADRATIC))
        self.weights, self.biases = unpack(params)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2, shaped like biases and weights.

        dC/db_l is the layer's delta and dC/dw_l the outer product delta a_{l-1}^T. The output
        layer's delta is ``cost_derivative(a_L, y) * sigma'(z_L)``.
        """
        if overridden(self, Network, ("cost_derivative",)):  # the reader's dC/da, where the book's backprop asks
            return self._gradient(x, y, kernels.QUADRATIC, quadratic_output_delta(self.cost_derivative, y))
        return self._gradient(x, y, kernels.QUADRATIC)

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        validation.parameters(self)
        test = self._data("evaluate", "test_data", test_data)
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
