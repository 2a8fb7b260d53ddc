"""The book's chapter-1 algorithm in plain NumPy: the yardstick for fastnet's kernels.

``ReferenceNetwork`` does what the book's ``network.py`` does, step for step: per-example
backpropagation on column vectors, gradients summed over a mini-batch, the in-place
``random.shuffle`` of the training list every epoch. ``backprop_matrix`` is the book's
"fully matrix-based" variant that handles a whole mini-batch at once. Nothing here is tuned
and nothing is slowed down: it is the plain way to write the math with NumPy.
"""

import random

import numpy as np


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), written as the book writes it."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid: sigma(z) * (1 - sigma(z))."""
    return sigmoid(z) * (1 - sigmoid(z))


class ReferenceNetwork:
    """A feedforward sigmoid network trained by mini-batch SGD on the quadratic cost."""

    def __init__(self, sizes):
        """Draw biases, then weights, layer by layer from ``np.random.randn``, as the book does."""
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.biases = [np.random.randn(n, 1) for n in sizes[1:]]
        self.weights = [np.random.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        """Return the output for the column input ``a``: a <- sigma(w a + b) layer by layer."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None, backprop="example"):
        """Train by mini-batch SGD, shuffling ``training_data`` in place with ``random`` every epoch.

        ``backprop`` chooses the gradient of a mini-batch: ``"example"`` sums the book's per-example
        backprop, ``"matrix"`` uses ``backprop_matrix``. Returns the per-epoch test scores.
        """
        update = self.update_mini_batch if backprop == "example" else self.update_mini_batch_matrix
        n = len(training_data)
        scores = []
        for j in range(epochs):
            random.shuffle(training_data)
            for k in range(0, n, mini_batch_size):
                update(training_data[k : k + mini_batch_size], eta)
            if test_data:
                scores.append(self.evaluate(test_data))
                print(f"Epoch {j}: {scores[-1]} / {len(test_data)}")
            else:
                print(f"Epoch {j} complete")
        return scores

    def update_mini_batch(self, mini_batch, eta):
        """One gradient step on the mini-batch, its gradient summed from per-example backprop."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self._step(nabla_b, nabla_w, eta / len(mini_batch))

    def update_mini_batch_matrix(self, mini_batch, eta):
        """One gradient step on the mini-batch, its gradient from ``backprop_matrix``."""
        X = np.hstack([x for x, _ in mini_batch])
        Y = np.hstack([y for _, y in mini_batch])
        nabla_b, nabla_w = backprop_matrix(self.weights, self.biases, X, Y)
        self._step(nabla_b, nabla_w, eta / len(mini_batch))

    def _step(self, nabla_b, nabla_w, scale):
        """w <- w - (eta/m) nabla_w and b <- b - (eta/m) nabla_b, rebinding the lists as the book does."""
        self.weights = [w - scale * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - scale * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x = ||a_L - y||^2 / 2 for one example."""
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Return how many test inputs have their largest output neuron equal to the label."""
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)

    def cost_derivative(self, output_activations, y):
        """dC_x/da_L for the quadratic cost: a_L - y."""
        return output_activations - y


def backprop_matrix(weights, biases, X, Y):
    """Return the gradient summed over the columns of ``X`` ``(n_0, m)`` with targets ``Y`` ``(n_L, m)``.

    The same equations as per-example backprop with every vector replaced by a matrix whose
    columns are the examples; the bias gradients sum the deltas over the columns.
    """
    activations = [X]
    zs = []
    for b, w in zip(biases, weights):
        zs.append(np.dot(w, activations[-1]) + b)
        activations.append(sigmoid(zs[-1]))
    delta = (activations[-1] - Y) * sigmoid_prime(zs[-1])
    nabla_b = [None] * len(biases)
    nabla_w = [None] * len(weights)
    for l in range(1, len(weights) + 1):
        if l > 1:
            delta = np.dot(weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])
        nabla_b[-l] = delta.sum(axis=1, keepdims=True)
        nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
    return nabla_b, nabla_w
