"""The book's ``network2.py`` (chapter 3), same API and same numbers, on fastnet's engine.

``import fastnet.network2 as network2`` runs code written for the book's ``network2`` unchanged:
the cross-entropy and quadratic costs, L2 regularisation (weight decay), the 1/sqrt(n_in) weight
initialisation, and ``SGD`` with its four monitors and its four returned lists. The draws, the
shuffles and the printed lines are the book's. Training runs on the same compiled epochs as
chapter 1 (weight decay is one multiplication of a matrix's scale per step, ``fastnet.kernels``),
and the monitors are batched forward passes, one per data set and epoch.

A reader's subclass may replace ``update_mini_batch``, ``backprop``, ``feedforward``, ``accuracy``
or ``total_cost``, and a reader's cost class its ``fn`` or ``delta``: ``SGD`` then calls them where
the book's code does, with fastnet's versions of everything else underneath.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import kernels, validation
from .activation import sigmoid, sigmoid_prime
from .arrays import book_pairs, labels_of, no_rows, one_hot_targets, sparse_rows
from .base import SigmoidNetwork, print_line
from .jit import compile_notice
from .layout import unpack
from .mnist_loader import vectorized_result
from .overrides import overridden, warn_override
from .sgd import BookRun, CompiledRun
from .saving import ModelFileError
from .training import count_correct, one_step, outputs

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "load", "vectorized_result", "sigmoid", "sigmoid_prime"]


class QuadraticCost:
    """The quadratic cost of chapter 1: C = ||a - y||^2 / 2."""

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for the desired output ``y``."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta_L = (a - y) sigma'(z)."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """The cross-entropy cost: C = sum of -y ln a - (1 - y) ln(1 - a) over the output neurons."""

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for ``y``; ``nan_to_num`` makes 0 ln 0 count as 0, as in the book."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta_L = a - y (``z`` is not used: sigma' cancels)."""
        return a - y


TRAINING_METHODS = ("update_mini_batch", "backprop")
MONITORING_METHODS = ("accuracy", "total_cost", "feedforward")


def _cost_class(cost):
    """The class of ``cost``, which the book's scripts pass as a class or as an instance."""
    return cost if isinstance(cost, type) else type(cost)


def _rule(cost):
    """The compiled engine's output rule for ``cost``'s delta, or None for a reader's own delta."""
    delta = _cost_class(cost).delta
    return {QuadraticCost.delta: kernels.QUADRATIC, CrossEntropyCost.delta: kernels.CROSS_ENTROPY}.get(delta)


def _batched_fn(cost):
    """``fn`` over many examples at once (rows of A and Y, float64) for the book's costs, or None."""
    fn = _cost_class(cost).fn
    if fn is QuadraticCost.fn:
        return lambda A, Y: 0.5 * np.linalg.norm(A - Y, axis=1) ** 2
    if fn is CrossEntropyCost.fn:
        return lambda A, Y: np.sum(np.nan_to_num(-Y * np.log(A) - (1 - Y) * np.log(1 - A)), axis=1)
    return None


def _regularisation(weights, lmbda, n):
    """The book's L2 term of the cost: (lmbda / 2n) times the sum of the squared weights."""
    return 0.5 * (lmbda / n) * sum(np.linalg.norm(w) ** 2 for w in weights)


class _Scored:
    """A data set the monitors score, converted once: inputs as CSR, one-hot targets in float64, labels."""

    def __init__(self, net, data, inputs=None):
        self.n = len(data.X)
        self.inputs = sparse_rows(data.X, net.dtype) if inputs is None else inputs
        self.Y = one_hot_targets(data.T, net.sizes[-1], np.float64)
        self.labels = labels_of(data.T)

    def prepare(self, params):
        """Compile the forward pass (on no inputs), so that a first compile happens before training."""
        outputs(params, no_rows(self.inputs), threads=1)

    def cost_and_accuracy(self, net, params, lmbda, threads=None):
        """The book's ``total_cost`` and ``accuracy`` of the network ``params`` on this data, from one
        forward pass over all of it."""
        A = outputs(params, self.inputs, threads)
        correct = int(np.sum(np.argmax(A, axis=1) == self.labels))
        with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 is -inf and 0 ln 0 is nan: nan_to_num, as the book
            costs = _batched_fn(net.cost)(A.astype(np.float64), self.Y)
        return float(np.sum(costs / self.n) + _regularisation(unpack(params)[0], lmbda, self.n)), correct


class Network(SigmoidNetwork):
    """A network with layer sizes ``sizes`` (input first) and a ``cost`` (a class, or an instance as the
    book's scripts pass it), its parameters drawn by ``default_weight_initializer``."""

    def __init__(self, sizes, cost=CrossEntropyCost, dtype=np.float64):
        """Draw the parameters with ``default_weight_initializer``, then keep ``cost``.

        ``dtype`` is float64 (the book's arithmetic) or float32 (faster, same draws rounded).
        """
        self._set_sizes(sizes, dtype)
        validation.cost(cost)
        self.default_weight_initializer()
        self.cost = cost

    def default_weight_initializer(self):
        """Every bias from N(0, 1), then every weight from N(0, 1/n_in), with ``np.random.randn`` (the book's order)."""
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in self.sizes[1:]]
        self.weights = [
            (np.random.randn(n_out, n_in) / np.sqrt(n_in)).astype(self.dtype)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

    def large_weight_initializer(self):
        """Every bias, then every weight, from N(0, 1): chapter 1's initialisation, for comparison."""
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in self.sizes[1:]]
        self.weights = [
            np.random.randn(n_out, n_in).astype(self.dtype) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False, monitor_training_cost=False,
            monitor_training_accuracy=False, early_stopping_n=0, *, log=print_line, threads=None):
        """Train by mini-batch SGD with L2 regularisation ``lmbda``, printing the book's lines each epoch.

        After each epoch: ``Epoch j training complete``, then the cost and accuracy on the training
        data and on ``evaluation_data`` that the ``monitor_*`` flags ask for, then an empty line.
        Returns the four per-epoch lists ``(evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy)`` (empty where not monitored). With ``early_stopping_n`` > 0, stops after
        that many epochs in a row without a better evaluation accuracy. Data are the book's lists of
        pairs (a list of training data is shuffled in place, as the book does), any other iterable of
        pairs (read once, never modified), or pairs of arrays. ``log`` receives each line; ``threads``
        forces a thread count (the weights are the same bit for bit on any).
        """
        epochs = validation.count("SGD", "epochs", epochs, 0)
        mini_batch_size = validation.count("SGD", "mini_batch_size", mini_batch_size, 1)
        eta = validation.learning_rate("SGD", eta)
        lmbda = validation.regularisation("SGD", lmbda)
        early_stopping_n = validation.count("SGD", "early_stopping_n", early_stopping_n, 0)
        threads = None if threads is None else validation.count("SGD", "threads", threads, 1)
        validation.parameters(self)
        validation.cost(self.cost)
        training = self._data("SGD", "training_data", training_data)
        evaluation = self._optional_data("SGD", "evaluation_data", evaluation_data)
        watch_evaluation = monitor_evaluation_cost or monitor_evaluation_accuracy or early_stopping_n > 0
        if watch_evaluation and evaluation is None:
            raise ValueError("SGD: the evaluation monitors and early_stopping_n need evaluation_data, got none")
        n = len(training.X)
        own_training = overridden(self, Network, TRAINING_METHODS) + (["cost.delta"] if _rule(self.cost) is None else [])
        own_monitors = overridden(self, Network, MONITORING_METHODS) + (["cost.fn"] if _batched_fn(self.cost) is None else [])
        if own_training:
            warn_override(self, own_training, "SGD calls them for each mini-batch as the book's code does, slower "
                          "than fastnet's compiled epoch")
        if own_monitors and (watch_evaluation or monitor_training_cost or monitor_training_accuracy):
            warn_override(self, own_monitors, "SGD's monitors call them as the book's code does, one example at a time")
        with compile_notice():
            if own_training:
                run = BookRun(self, training, mini_batch_size,
                              lambda mini_batch: self.update_mini_batch(mini_batch, eta, lmbda, n))
            else:
                step = kernels.Step(eta, 1 - eta * (lmbda / n), _rule(self.cost))
                run = CompiledRun(self, training, mini_batch_size, step, threads, sync=bool(own_monitors))
            monitor = self._monitor(run, training, evaluation, lmbda, bool(own_monitors), threads)
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = [], [], [], []
        best, epochs_without_better = 0, 0
        try:
            for j in range(epochs):
                run.epoch()
                log(f"Epoch {j} training complete")
                params = run.params()
                if monitor_training_cost or monitor_training_accuracy:
                    cost, accuracy = monitor("training", params, monitor_training_cost, monitor_training_accuracy)
                    if monitor_training_cost:
                        training_cost.append(cost)
                        log(f"Cost on training data: {cost}")
                    if monitor_training_accuracy:
                        training_accuracy.append(accuracy)
                        log(f"Accuracy on training data: {accuracy} / {n}")
                if watch_evaluation:
                    cost, accuracy = monitor("evaluation", params, monitor_evaluation_cost,
                                             monitor_evaluation_accuracy or early_stopping_n > 0)
                    if monitor_evaluation_cost:
                        evaluation_cost.append(cost)
                        log(f"Cost on evaluation data: {cost}")
                    if monitor_evaluation_accuracy:
                        evaluation_accuracy.append(accuracy)
                        log(f"Accuracy on evaluation data: {accuracy} / {len(evaluation.X)}")
                log("")
                if early_stopping_n > 0:
                    best, epochs_without_better = (accuracy, 0) if accuracy > best else (best, epochs_without_better + 1)
                    if epochs_without_better == early_stopping_n:
                        break
        finally:
            run.finish()
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One step on ``mini_batch``: w <- (1 - eta lmbda / n) w - (eta/m) sum of dC_x/dw, b likewise without the decay."""
        eta = validation.learning_rate("update_mini_batch", eta)
        lmbda = validation.regularisation("update_mini_batch", lmbda)
        n = validation.count("update_mini_batch", "n", n, 1)
        validation.parameters(self)
        validation.cost(self.cost)
        decay = 1 - eta * (lmbda / n)
        if overridden(self, Network, ("backprop",)) or _rule(self.cost) is None:  # the book's loop over self.backprop
            mini_batch = validation.pairs("update_mini_batch", "mini_batch", mini_batch)
            nabla_b, nabla_w = self._summed_gradients(mini_batch)
            scale = eta / len(mini_batch)
            self.weights = [(decay * w - scale * nw).astype(self.dtype) for w, nw in zip(self.weights, nabla_w)]
            self.biases = [(b - scale * nb).astype(self.dtype) for b, nb in zip(self.biases, nabla_b)]
            return
        X, T, _ = self._data("update_mini_batch", "mini_batch", mini_batch)
        params = self._params()
        one_step(params, X, T, kernels.Step(eta, decay, _rule(self.cost)))
        self.weights, self.biases = unpack(params)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of the cost C_x, shaped like biases and weights; the
        output layer's delta is ``cost.delta(z_L, a_L, y)``."""
        validation.cost(self.cost)
        rule = _rule(self.cost)
        if rule is None:  # a reader's own cost: its delta, where the book's backprop asks for it
            return self._gradient(x, y, kernels.QUADRATIC, lambda z, a: self.cost.delta(z, a, y))
        return self._gradient(x, y, rule)

    def accuracy(self, data, convert=False):
        """How many inputs of ``data`` have their largest output neuron equal to the desired one.

        The book sets ``convert`` for training data (one-hot ``y``) and not for evaluation data
        (integer labels); fastnet reads which it is from the data, so either value works.
        """
        validation.parameters(self)
        examples = self._data("accuracy", "data", data)
        labels = labels_of(examples.T)
        if overridden(self, Network, ("feedforward",)):  # the book's loop: one feedforward per example
            return sum(int(np.argmax(self.feedforward(x)) == label) for x, label in zip(examples.X[:, :, None], labels))
        return count_correct(self._params(), sparse_rows(examples.X, self.dtype), labels)

    def total_cost(self, data, lmbda, convert=False):
        """The cost on ``data``, averaged over its examples, plus the L2 term (lmbda / 2n) sum of w^2.

        As with ``accuracy``, ``convert`` may be given as in the book; fastnet reads from the data
        whether its ``y`` are labels or one-hot vectors.
        """
        lmbda = validation.regularisation("total_cost", lmbda)
        validation.parameters(self)
        validation.cost(self.cost)
        examples = self._data("total_cost", "data", data)
        if overridden(self, Network, ("feedforward",)) or _batched_fn(self.cost) is None:  # the book's loop
            n, cost = len(examples.X), 0.0
            for x, y in book_pairs(examples.X, one_hot_targets(examples.T, self.sizes[-1], np.float64)):
                cost += self.cost.fn(self.feedforward(x), y) / n
            return cost + _regularisation(self.weights, lmbda, n)
        return _Scored(self, examples).cost_and_accuracy(self, self._params(), lmbda)[0]

    def save(self, filename):
        """Write the network to ``filename`` as the book's JSON (sizes, weights, biases, the cost's name), atomically."""
        validation.parameters(self)
        validation.cost(self.cost)
        data = {
            "sizes": self.sizes,
            "weights": [np.asarray(w, dtype=np.float64).tolist() for w in self.weights],
            "biases": [np.asarray(b, dtype=np.float64).tolist() for b in self.biases],
            "cost": _cost_class(self.cost).__name__,
        }
        if self.dtype != np.float64:
            data["dtype"] = self.dtype.name  # fastnet's addition; the book's load ignores it
        path = Path(filename)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _monitor(self, run, training, evaluation, lmbda, own, threads):
        """``monitor(which, params, cost?, accuracy?) -> (cost, accuracy)`` for "training" or "evaluation".

        With the reader's own monitoring methods it calls ``self.total_cost`` and ``self.accuracy`` as
        the book's ``SGD`` does (``weights`` are kept up to date); otherwise each data set costs one
        batched forward pass per epoch, whichever of the two numbers are asked for.
        """
        if own:
            data = {name: None if d is None else (d.items if d.items is not None else book_pairs(d.X, d.T))
                    for name, d in (("training", training), ("evaluation", evaluation))}

            def book_monitor(which, params, cost, accuracy):
                convert = which == "training"
                return (self.total_cost(data[which], lmbda, convert=not convert) if cost else None,
                        self.accuracy(data[which], convert=convert) if accuracy else None)

            return book_monitor
        engine, scored = getattr(run, "engine", None), {}

        def fast_monitor(which, params, cost, accuracy):
            if which not in scored:  # converted once, on first use
                data = training if which == "training" else evaluation
                scored[which] = _Scored(self, data, engine.inputs if engine is not None and which == "training" else None)
            return scored[which].cost_and_accuracy(self, params, lmbda, threads)

        _Scored(self, training, engine.inputs if engine is not None else None).prepare(run.params())
        return fast_monitor


def load(filename):
    """Return the network saved in ``filename`` (the book's JSON, written by the book's code or by fastnet).

    As the book's ``load`` does, it builds the network first (drawing initial weights from
    ``np.random``) and then gives it the saved parameters.
    """
    path = Path(filename)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable network2 JSON file: {exc}") from None
    if not isinstance(data, dict) or not {"sizes", "weights", "biases", "cost"} <= set(data):
        raise ModelFileError(f"{path}: a network2 file holds sizes, weights, biases and cost")
    cost = getattr(sys.modules[__name__], str(data["cost"]), None)
    if cost not in (QuadraticCost, CrossEntropyCost):
        raise ModelFileError(f"{path}: unknown cost {data['cost']!r} (QuadraticCost or CrossEntropyCost)")
    try:
        net = Network(data["sizes"], cost=cost, dtype=data.get("dtype", "float64"))
        net.weights = [np.array(w, dtype=net.dtype) for w in data["weights"]]
        net.biases = [np.array(b, dtype=net.dtype) for b in data["biases"]]
        validation.parameters(net)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    return net
