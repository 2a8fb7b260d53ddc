"""The book's ``network.py``, same API and same numbers, on numba kernels.

A feedforward network of sigmoid neurons trained by mini-batch stochastic gradient descent on the
quadratic cost, exactly as in chapter 1 of Michael Nielsen's *Neural Networks and Deep Learning*.
``net.weights`` and ``net.biases`` are the book's lists of arrays; every call reads them afresh, so
edits and rebinding are honoured, and every call that trains rebinds them to new arrays, as the
book's code does. Arguments are checked before anything changes: a call that fails leaves the
network as it was.
"""

import numpy as np

from . import kernels, saving, validation
from .activation import sigmoid, sigmoid_prime
from .arrays import SparseRows, is_array_pair, labels_of, one_hot_targets
from .layout import layer, pack, unpack
from .training import Training, count_correct, outputs

__all__ = ["Network", "load", "sigmoid", "sigmoid_prime"]


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
        out = outputs(self._packed(), SparseRows.from_dense(columns.T, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, *, log=print):
        """Train by mini-batch stochastic gradient descent, printing the book's line after each epoch.

        ``training_data`` is the book's list of ``(x, y)`` tuples, shuffled in place in the book's
        order, or a pair of arrays ``(X (n, n_0), Y)`` with one-hot rows ``(n, n_L)`` or labels
        ``(n,)``, never modified. ``test_data``, likewise a list of ``(x, label)`` or ``(X, labels)``,
        is evaluated after every epoch. ``log`` receives each epoch's line (default: ``print``).
        Returns the per-epoch test scores (empty without test data). On Ctrl-C the network keeps
        every completed epoch and the interrupt reaches the caller.
        """
        epochs = validation.count("SGD", "epochs", epochs, 0)
        mini_batch_size = validation.count("SGD", "mini_batch_size", mini_batch_size, 1)
        eta = validation.learning_rate("SGD", eta)
        validation.parameters(self)
        X, T = validation.examples("SGD", "training_data", training_data, self.sizes[0], self.sizes[-1])
        test = None
        if test_data is not None and len(test_data):
            test = validation.examples("SGD", "test_data", test_data, self.sizes[0], self.sizes[-1])
        training = Training(self._packed(), X, T, test)
        scores = []
        try:
            for j in range(epochs):
                training.epoch(mini_batch_size, eta)
                if test is None:
                    log(f"Epoch {j} complete")
                else:
                    scores.append(training.test_score())
                    log(f"Epoch {j}: {scores[-1]} / {len(test[1])}")
        finally:
            self.weights, self.biases = unpack(training.packed)
            if not is_array_pair(training_data):
                training_data[:] = [training_data[i] for i in training.order]
        return scores

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the list ``mini_batch`` of ``(x, y)``: w -= (eta/m) sum of dC_x/dw."""
        eta = validation.learning_rate("update_mini_batch", eta)
        validation.parameters(self)
        X, T = validation.examples("update_mini_batch", "mini_batch", mini_batch, self.sizes[0], self.sizes[-1])
        packed, inputs, rows, act, delta = self._backprop_batch(X, T)
        kernels.descend(*packed.kernel_args(), *inputs.kernel_args(), rows, act, delta, eta)
        self.weights, self.biases = unpack(packed)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2, shaped like biases and weights.

        dC/db_l is the layer's delta and dC/dw_l the outer product delta a_{l-1}^T.
        """
        validation.parameters(self)
        X, T = validation.examples("backprop", None, [(x, y)], self.sizes[0], self.sizes[-1])
        packed, _, _, act, delta = self._backprop_batch(X, T)
        inputs = [X[0].astype(self.dtype)] + [layer(packed, act, 0, l) for l in range(self.num_layers - 2)]
        deltas = [layer(packed, delta, 0, l) for l in range(self.num_layers - 1)]
        nabla_b = [d.reshape(-1, 1).copy() for d in deltas]
        nabla_w = [np.outer(d, a) for d, a in zip(deltas, inputs)]
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        validation.parameters(self)
        X, T = validation.examples("evaluate", "test_data", test_data, self.sizes[0], self.sizes[-1])
        return count_correct(self._packed(), SparseRows.from_dense(X, self.dtype), labels_of(T))

    def cost_derivative(self, output_activations, y):
        """dC_x/da_L for the quadratic cost: a_L - y."""
        return output_activations - y

    def save(self, path):
        """Write the network to ``path`` (a portable ``.npz``: sizes, dtype, weights, biases), atomically."""
        validation.parameters(self)
        saving.save(self, path)

    def _packed(self):
        """The current ``weights`` and ``biases`` in the kernels' layout (a copy)."""
        return pack(self.weights, self.biases, self.dtype)

    def _backprop_batch(self, X, T):
        """Backprop every row of ``X`` (targets ``T``) through the current parameters."""
        inputs = SparseRows.from_dense(X, self.dtype)
        targets = one_hot_targets(T, self.sizes[-1], self.dtype)
        packed = self._packed()
        rows = np.arange(len(targets))
        act = np.empty((len(rows), packed.b.size), dtype=self.dtype)
        delta = np.empty_like(act)
        kernels.forward_backward(*packed.kernel_args(), *inputs.kernel_args(), targets, rows, act, delta)
        return packed, inputs, rows, act, delta


def load(path):
    """Return the network saved at ``path`` by ``Network.save``, exactly as it was saved."""
    sizes, dtype, weights, biases = saving.load(path)
    net = Network.__new__(Network)  # no random draws: the parameters come from the file
    net.num_layers, net.sizes, net.dtype = len(sizes), sizes, dtype
    net.weights, net.biases = weights, biases
    validation.parameters(net)
    return net
