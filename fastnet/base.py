"""What chapter 1's and chapter 3's ``Network`` share: a feedforward network of sigmoid neurons.

``SigmoidNetwork`` holds the book's attributes (``num_layers``, ``sizes``, ``weights``, ``biases``)
and fastnet's ``dtype``, and gives both chapters the same ``feedforward``, the same compiled
backprop of one example (``_gradient``), the book's sum of a mini-batch's gradients
(``_summed_gradients``), and the checks of their data sets.
"""

import numpy as np

from . import kernels, validation
from .activation import sigmoid_prime
from .arrays import is_array_pair, sparse_rows
from .layout import layer, pack
from .training import backprop_rows, outputs


def print_line(line):
    """Print one of ``SGD``'s lines at once (flushed, so that a notebook shows each epoch as it ends)."""
    print(line, flush=True)


class SigmoidNetwork:
    """A feedforward network of sigmoid neurons with the book's attributes and fastnet's ``dtype``."""

    def _set_sizes(self, sizes, dtype):
        """Check and set ``sizes``, ``num_layers`` and ``dtype`` (float64, the book's arithmetic, or float32)."""
        sizes = validation.sizes(sizes)
        self.dtype = validation.dtype(dtype)
        self.num_layers = len(sizes)
        self.sizes = sizes

    def feedforward(self, a):
        """Return the output for input ``a``: a column ``(n_0, 1)``, columns ``(n_0, k)`` or a vector ``(n_0,)``."""
        validation.parameters(self)
        a = validation.network_input(a, self.sizes[0])
        columns = a.reshape(len(a), -1)
        out = outputs(self._params(), sparse_rows(columns.T, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def _params(self):
        """The current ``weights`` and ``biases`` in the kernels' layout (a copy)."""
        return pack(self.weights, self.biases, self.dtype)

    def _data(self, where, name, data):
        """``data`` checked as examples for this network (``validation.Examples``)."""
        return validation.examples(where, name, data, self.sizes[0], self.sizes[-1])

    def _optional_data(self, where, name, data):
        """``data`` checked, or None when there is none: the book uses such data only ``if data``."""
        if data is None:
            return None
        if not is_array_pair(data):
            data = validation.read_pairs(where, name, data)
            if not data:
                return None
        return self._data(where, name, data)

    def _gradient(self, x, y, rule, output_delta=None):
        """Backprop of the one example ``(x, y)``: ``(nabla_b, nabla_w)`` shaped like biases and weights,
        dC/db_l = delta_{l+1} and dC/dW_l = delta_{l+1} a_l^T.

        The output layer's delta comes from ``rule`` in the compiled pass, or, with ``output_delta``,
        from ``output_delta(z_L, a_L)`` (columns, as the book's backprop holds them): a reader's own
        cost, computed where the book computes it.
        """
        validation.parameters(self)
        X, T, _ = validation.examples("backprop", None, [(x, y)], self.sizes[0], self.sizes[-1])
        params, L = self._params(), self.num_layers - 1
        if output_delta is not None:
            act, _ = backprop_rows(params, X, T, rule)
            a_before = X[0] if L == 1 else layer(params, act, 0, L - 2)
            z = np.dot(self.weights[-1], a_before.reshape(-1, 1)) + self.biases[-1]
            a = layer(params, act, 0, L - 1).reshape(-1, 1)
            T, rule = validation.output_delta(output_delta(z, a), self.sizes[-1]), kernels.GIVEN
        act, delta = backprop_rows(params, X, T, rule)
        inputs = [X[0].astype(self.dtype)] + [layer(params, act, 0, l) for l in range(L - 1)]
        deltas = [layer(params, delta, 0, l) for l in range(L)]
        return [d.reshape(-1, 1).copy() for d in deltas], [np.outer(d, a) for d, a in zip(deltas, inputs)]

    def _summed_gradients(self, mini_batch):
        """The book's sum over a mini-batch of ``self.backprop(x, y)``, from zeros, example by example."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w


def quadratic_output_delta(cost_derivative, y):
    """The book's chapter-1 output delta from a reader's ``cost_derivative``: dC/da_L * sigma'(z_L)."""
    return lambda z, a: cost_derivative(a, y) * sigmoid_prime(z)
