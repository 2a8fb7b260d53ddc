"""The book's algorithms in plain NumPy: the yardstick for fastnet's kernels.

``ReferenceNetwork`` does what the book's ``network.py`` does, step for step: per-example
backpropagation on column vectors, gradients summed over a mini-batch, the in-place
``random.shuffle`` of the training list every epoch. ``backprop_matrix`` is the book's
"fully matrix-based" variant that handles a whole mini-batch at once. ``ReferenceNetwork2`` is
chapter 3's ``network2``: the cross-entropy cost, L2 weight decay, the monitors and early stopping.
Nothing here is tuned and nothing is slowed down: it is the plain way to write the math with NumPy.

It imports nothing of fastnet's and must stay so: a yardstick that shared code with what it measures
(the sum of a mini-batch's gradients, the draws, the sigmoid) would share its bugs too. Where it
repeats a few lines of ``fastnet._book``, that is on purpose.
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
        nabla_b, nabla_w = summed_gradients(self, mini_batch)
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


def summed_gradients(net, mini_batch):
    """The sum over the mini-batch of ``net.backprop(x, y)``, from zeros, example by example, as the book sums."""
    nabla_b = [np.zeros(b.shape) for b in net.biases]
    nabla_w = [np.zeros(w.shape) for w in net.weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = net.backprop(x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    return nabla_b, nabla_w


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


def quadratic_cost(a, y):
    """C = ||a - y||^2 / 2 for one example."""
    return 0.5 * float(np.sum((a - y) ** 2))


def cross_entropy_cost(a, y):
    """C = sum of -y ln a - (1 - y) ln(1 - a), a term that is nan (0 ln 0) or infinite counting as nan_to_num of it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a))))


class ReferenceNetwork2:
    """Chapter 3's algorithm: ``cost`` is "quadratic" or "cross-entropy", weights decay by 1 - eta lmbda / n.

    The parameters start as the book's ``network2`` draws them (every bias from N(0, 1), then every
    weight from N(0, 1/n_in)); ``large_weight_initializer`` draws them again as chapter 1's do. ``SGD`` shuffles the
    training list in place like chapter 1's, and after each epoch computes, in this order, the
    training cost, the training accuracy, the evaluation cost and the evaluation accuracy that it is
    asked for, printing each as the book does, then an empty line.
    """

    def __init__(self, sizes, cost="cross-entropy"):
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.cost = cost
        self._draw(lambda n_in: np.sqrt(n_in))

    def large_weight_initializer(self):
        self._draw(lambda n_in: 1.0)

    def _draw(self, spread):
        """Every bias from N(0, 1), then every weight from N(0, 1) divided by ``spread(n_in)``."""
        self.biases = [np.random.randn(n, 1) for n in self.sizes[1:]]
        self.weights = [np.random.randn(n_out, n_in) / spread(n_in) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    feedforward = ReferenceNetwork.feedforward

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None, monitor=(),
            early_stopping_n=0):
        """Train; ``monitor`` names what to compute after each epoch ("training cost", "training accuracy",
        "evaluation cost", "evaluation accuracy"). With ``early_stopping_n`` > 0, stop once that many
        epochs in a row have ended without an evaluation accuracy above the best before them (0 to
        begin with). Returns the four lists in the book's order."""
        n = len(training_data)
        results = {name: [] for name in ("evaluation cost", "evaluation accuracy", "training cost", "training accuracy")}
        best, without_better = 0, 0
        for j in range(epochs):
            random.shuffle(training_data)
            for k in range(0, n, mini_batch_size):
                self.update_mini_batch(training_data[k : k + mini_batch_size], eta, lmbda, n)
            print(f"Epoch {j} training complete")
            for name in ("training cost", "training accuracy", "evaluation cost", "evaluation accuracy"):
                if name in monitor:
                    data = training_data if name.startswith("training") else evaluation_data
                    value = self.total_cost(data, lmbda) if name.endswith("cost") else self.accuracy(data)
                    results[name].append(value)
                    which = name.split()[0]
                    if name.endswith("cost"):
                        print(f"Cost on {which} data: {value}")
                    else:
                        print(f"Accuracy on {which} data: {value} / {len(data)}")
            print()
            if early_stopping_n > 0:
                accuracy = self.accuracy(evaluation_data)
                if accuracy > best:
                    best, without_better = accuracy, 0
                else:
                    without_better += 1
                if without_better == early_stopping_n:
                    break
        return tuple(results[name] for name in ("evaluation cost", "evaluation accuracy", "training cost", "training accuracy"))

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """w <- (1 - eta lmbda / n) w - (eta/m) sum of the examples' dC/dw; b <- b - (eta/m) sum of dC/db."""
        nabla_b, nabla_w = summed_gradients(self, mini_batch)
        decay, step = 1 - eta * (lmbda / n), eta / len(mini_batch)
        self.weights = [decay * w - step * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """The gradient of C_x; the output delta is a - y for cross-entropy, (a - y) sigma'(z) for quadratic."""
        activations, zs = [x], []
        for b, w in zip(self.biases, self.weights):
            zs.append(np.dot(w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        delta = activations[-1] - y
        if self.cost == "quadratic":
            delta = delta * sigmoid_prime(zs[-1])
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        for l in range(1, self.num_layers):
            if l > 1:
                delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def _target(self, y):
        """A one-hot column for an integer label, else y."""
        if np.ndim(y) == 0:
            e = np.zeros((self.sizes[-1], 1))
            e[int(y)] = 1.0
            return e
        return y

    def accuracy(self, data):
        """How many examples have their largest output equal to the desired digit (a label or one-hot y)."""
        return sum(int(np.argmax(self.feedforward(x)) == (y if np.ndim(y) == 0 else np.argmax(y))) for x, y in data)

    def total_cost(self, data, lmbda):
        """The mean cost over ``data`` plus (lmbda / 2 len(data)) times the sum of the squared weights."""
        fn = quadratic_cost if self.cost == "quadratic" else cross_entropy_cost
        cost = 0.0
        for x, y in data:
            cost += fn(self.feedforward(x), self._target(y)) / len(data)
        return cost + 0.5 * (lmbda / len(data)) * sum(float(np.sum(w * w)) for w in self.weights)
