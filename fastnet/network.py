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

from ._book import files, validation
from ._book.overrides import warn_override
from ._book.sigmoid import book_sigmoid_prime, sigmoid, sigmoid_prime
from ._book.sigmoid_network import SigmoidNetwork, print_line
from .engine import QUADRATIC, count_correct, prepare_outputs

__all__ = ["Network", "load", "sigmoid", "sigmoid_prime"]


class Network(SigmoidNetwork):
    """A network with layer sizes ``sizes`` (input first), its parameters drawn as the book draws them."""

    TRAINING_METHODS = ("update_mini_batch", "backprop", "cost_derivative")  # what the book's SGD calls to learn
    SCORING_METHODS = ("evaluate", "feedforward")  # what it calls to score an epoch

    def __init__(self, sizes, dtype=np.float64):
        """Draw every bias vector, then every weight matrix, from ``np.random.randn`` (the book's order).

        ``dtype`` is float64 (the book's arithmetic) or float32 (faster, same draws rounded).
        """
        self._set_sizes(sizes, dtype)
        self._draw_parameters(normalised=False)

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
        return self._sgd(training_data, epochs, mini_batch_size, eta, threads, _TestScores(self, test_data, log))

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the ``(x, y)`` pairs of ``mini_batch``: w -= (eta/m) sum of dC_x/dw."""
        self._step(mini_batch, validation.learning_rate("update_mini_batch", eta), 1.0)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2, shaped like biases and weights.

        dC/db_l is the layer's delta and dC/dw_l the outer product delta a_{l-1}^T. The output
        layer's delta is ``cost_derivative(a_L, y) * sigma'(z_L)``.
        """
        return self._gradient(x, y)

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        return self._correct("evaluate", "test_data", test_data)

    def cost_derivative(self, output_activations, y):
        """dC_x/da_L for the quadratic cost: a_L - y."""
        return output_activations - y

    def save(self, path):
        """Write the network to ``path`` (a portable ``.npz``: sizes, dtype, weights, biases), atomically."""
        validation.parameters(self)
        files.save(self, path)

    def _output_rule(self):
        return QUADRATIC

    def _output_delta(self, z, a, t):
        return self.cost_derivative(a, t) * book_sigmoid_prime(z)

    def _call_update_mini_batch(self, mini_batch, eta, lmbda, n):
        self.update_mini_batch(mini_batch, eta)


class _TestScores:
    """Chapter 1's report after each epoch (``EpochReport``): ``Epoch j: correct / n`` on the test data,
    kept and returned by ``SGD``, or ``Epoch j complete`` without test data.

    The score is the reader's own ``evaluate`` when they replaced it or ``feedforward`` (``reads_network``:
    the run keeps ``weights`` up to date for it), otherwise fastnet's batched forward pass.
    """

    lmbda = 0.0

    def __init__(self, net, test_data, log):
        self.net, self.test_data, self.log, self.scores = net, test_data, log, []
        self.test, self.reads_network, self.threads = None, False, None

    def check_arguments(self):
        """Chapter 1 has no numbers of its own."""

    def check_data(self):
        """Check ``test_data`` (the book scores an epoch only ``if test_data``)."""
        self.test = self.net._optional_data("SGD", "test_data", self.test_data)
        self.reads_network = self.test is not None and bool(self.net._own(Network.SCORING_METHODS))

    def prepare(self, params, training, threads):
        """Say that the reader's methods score the epochs, or compile fastnet's scoring before the first epoch."""
        self.threads = threads
        if self.reads_network:
            warn_override(self.net, self.net._own(Network.SCORING_METHODS),
                          "SGD scores each epoch by calling them, one test example at a time", stacklevel=5)
        elif self.test is not None:
            prepare_outputs(params, self.test.converted.inputs)

    def __call__(self, epoch, params):
        """Report epoch ``epoch``, trained to ``params``; never stops early."""
        if self.test is None:
            self.log(f"Epoch {epoch} complete")
            return False
        if self.reads_network:
            score = self.net.evaluate(self.test.pairs)
        else:
            score = count_correct(params, self.test.converted, self.threads)
        self.scores.append(score)
        self.log(f"Epoch {epoch}: {score} / {self.test.n}")
        return False

    def result(self):
        """The per-epoch test scores (empty without test data)."""
        return self.scores


def load(path):
    """Return the network saved at ``path`` by ``Network.save``, exactly as it was saved."""
    sizes, dtype, weights, biases = files.load(path)
    net = Network.__new__(Network)  # no random draws: the parameters come from the file
    net.num_layers, net.sizes, net.dtype = len(sizes), sizes, dtype
    net.weights, net.biases = weights, biases
    try:
        validation.parameters(net)
    except validation.MISTAKES as exc:
        raise files.ModelFileError(f"{path}: {exc}") from None
    return net
