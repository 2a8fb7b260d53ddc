"""The book's ``network.py``, same API and same numbers, on numba kernels.

A feedforward network of sigmoid neurons trained by mini-batch stochastic gradient descent on the
quadratic cost, exactly as in chapter 1 of Michael Nielsen's *Neural Networks and Deep Learning*.
``net.weights`` and ``net.biases`` are the book's lists of arrays; every call reads them afresh, so
edits and rebinding are honoured, and every call that trains rebinds them to new arrays, as the
book's code does.
"""

import numpy as np

from . import kernels
from .activation import sigmoid, sigmoid_prime
from .arrays import SparseRows, is_array_pair, labels_of, one_hot_targets, stack_examples
from .layout import layer, pack, unpack
from .training import Training, outputs


class Network:
    """A network with layer sizes ``sizes`` (input first), its parameters drawn as the book draws them."""

    def __init__(self, sizes, dtype=np.float64):
        """Draw every bias vector, then every weight matrix, from ``np.random.randn`` (the book's order).

        ``dtype`` is float64 (the book's arithmetic) or float32 (faster, same draws rounded).
        """
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.dtype = np.dtype(dtype)
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in sizes[1:]]
        self.weights = [
            np.random.randn(n_out, n_in).astype(self.dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]

    def feedforward(self, a):
        """Return the output for input ``a``: a column ``(n_0, 1)``, columns ``(n_0, k)`` or a vector ``(n_0,)``."""
        a = np.asarray(a)
        columns = a.reshape(len(a), -1)
        out = outputs(pack(self.weights, self.biases, self.dtype), SparseRows.from_dense(columns.T, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, *, log=print):
        """Train by mini-batch stochastic gradient descent, printing the book's line after each epoch.

        ``training_data`` is the book's list of ``(x, y)`` tuples, shuffled in place in the book's
        order, or a pair of arrays ``(X (n, n_0), Y)`` with one-hot rows ``(n, n_L)`` or labels
        ``(n,)``, never modified. ``test_data``, likewise a list of ``(x, label)`` or ``(X, labels)``,
        is evaluated after every epoch. ``log`` receives each epoch's line (default: ``print``).
        Returns the per-epoch test scores (empty without test data).
        """
        training = Training(self.weights, self.biases, self.dtype, training_data, test_data)
        scores = []
        try:
            for j in range(epochs):
                training.epoch(mini_batch_size, eta)
                if training.test is None:
                    log(f"Epoch {j} complete")
                else:
                    scores.append(training.test_score())
                    log(f"Epoch {j}: {scores[-1]} / {len(training.test[1])}")
        finally:
            self.weights, self.biases = training.parameters()
            if not is_array_pair(training_data):
                training_data[:] = [training_data[i] for i in training.order]
        return scores

    def update_mini_batch(self, mini_batch, eta):
        """One gradient-descent step on the list ``mini_batch`` of ``(x, y)``: w -= (eta/m) sum of dC_x/dw."""
        packed, inputs, targets, rows, act, delta = self._backprop_batch(mini_batch)
        kernels.descend(*packed.kernel_args(), *inputs.kernel_args(), rows, act, delta, eta)
        self.weights, self.biases = unpack(packed)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2, shaped like biases and weights.

        dC/db_l is the layer's delta and dC/dw_l the outer product delta a_{l-1}^T.
        """
        packed, _, _, _, act, delta = self._backprop_batch([(x, y)])
        inputs = [np.asarray(x, dtype=self.dtype).reshape(-1)]
        inputs += [layer(packed, act, 0, l) for l in range(self.num_layers - 2)]
        deltas = [layer(packed, delta, 0, l) for l in range(self.num_layers - 1)]
        nabla_b = [d.reshape(-1, 1).copy() for d in deltas]
        nabla_w = [np.outer(d, a) for d, a in zip(deltas, inputs)]
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        X, T = stack_examples(test_data)
        out = outputs(pack(self.weights, self.biases, self.dtype), SparseRows.from_dense(X, self.dtype))
        return int(np.sum(np.argmax(out, axis=1) == labels_of(T)))

    def cost_derivative(self, output_activations, y):
        """dC_x/da_L for the quadratic cost: a_L - y."""
        return output_activations - y

    def _backprop_batch(self, mini_batch):
        """Backprop every example of ``mini_batch`` through the current parameters."""
        X, T = stack_examples(mini_batch)
        inputs = SparseRows.from_dense(X, self.dtype)
        targets = one_hot_targets(T, self.sizes[-1], self.dtype)
        packed = pack(self.weights, self.biases, self.dtype)
        rows = np.arange(len(targets))
        act = np.empty((len(rows), packed.b.size), dtype=self.dtype)
        delta = np.empty_like(act)
        kernels.forward_backward(*packed.kernel_args(), *inputs.kernel_args(), targets, rows, act, delta)
        return packed, inputs, targets, rows, act, delta
