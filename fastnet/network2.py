"""The book's ``network2.py`` (chapter 3), same API and same numbers, on fastnet's engine.

``import fastnet.network2 as network2`` runs code written for the book's ``network2`` unchanged:
the cross-entropy and quadratic costs, L2 regularisation (weight decay), the 1/sqrt(n_in) weight
initialisation, and ``SGD`` with its four monitors and its four returned lists. The draws, the
shuffles and the printed lines are the book's. Training runs on the same compiled epochs as
chapter 1 (weight decay is one multiplication of a matrix's scale per step, ``fastnet.engine``),
and the monitors are batched forward passes, one per data set and epoch.

A reader's subclass may replace ``update_mini_batch``, ``backprop``, ``feedforward``, ``accuracy``
or ``total_cost``, and a reader's cost class its ``fn`` or ``delta``: ``SGD`` then calls them where
the book's code does, with fastnet's versions of everything else underneath.
"""

import json
import sys
from pathlib import Path

import numpy as np

from ._book import validation
from ._book.files import ModelFileError, write_atomically
from ._book.overrides import warn_override
from ._book.sigmoid import book_sigmoid_prime, sigmoid, sigmoid_prime
from ._book.sigmoid_network import SigmoidNetwork, print_line
from .engine import CROSS_ENTROPY, QUADRATIC, outputs, prepare_outputs, unpack
from .mnist_loader import vectorized_result

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "load", "vectorized_result", "sigmoid", "sigmoid_prime"]


class QuadraticCost:
    """The quadratic cost of chapter 1: C = ||a - y||^2 / 2."""

    @staticmethod
    def fn(a, y):
        """The cost of output ``a`` for the desired output ``y``."""
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        """The output layer's error delta_L = (a - y) sigma'(z), sigma' as the book's code computes it."""
        return (a - y) * book_sigmoid_prime(z)


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


def _cost_class(cost):
    """The class of ``cost``, which the book's scripts pass as a class or as an instance."""
    return cost if isinstance(cost, type) else type(cost)


def _rule(cost):
    """The compiled engine's output rule for ``cost``'s delta, or None for a reader's own delta."""
    delta = _cost_class(cost).delta
    return {QuadraticCost.delta: QUADRATIC, CrossEntropyCost.delta: CROSS_ENTROPY}.get(delta)


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


def _cost_and_accuracy(net, data, params, lmbda, threads=None):
    """The book's ``total_cost`` and ``accuracy`` of the network ``params`` on ``data`` (``runs.BookData``),
    from one batched forward pass over all of it."""
    A = outputs(params, data.converted.inputs, threads)
    correct = int(np.sum(np.argmax(A, axis=1) == data.converted.labels))
    with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 is -inf and 0 ln 0 is nan: nan_to_num, as the book
        costs = _batched_fn(net.cost)(A.astype(np.float64), data.float64_targets)
    return float(np.sum(costs / data.n) + _regularisation(unpack(params)[0], lmbda, data.n)), correct


class Network(SigmoidNetwork):
    """A network with layer sizes ``sizes`` (input first) and a ``cost`` (a class, or an instance as the
    book's scripts pass it), its parameters drawn by ``default_weight_initializer``."""

    MONITORING_METHODS = ("accuracy", "total_cost", "feedforward")  # what its monitors call

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
        self._draw_parameters(normalised=True)

    def large_weight_initializer(self):
        """Every bias, then every weight, from N(0, 1): chapter 1's initialisation, for comparison."""
        self._draw_parameters(normalised=False)

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
        monitors = _Monitors(self, lmbda, evaluation_data, early_stopping_n, log,
                             training=(monitor_training_cost, monitor_training_accuracy),
                             evaluation=(monitor_evaluation_cost, monitor_evaluation_accuracy))
        return self._sgd(training_data, epochs, mini_batch_size, eta, threads, monitors)

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One step on ``mini_batch``: w <- (1 - eta lmbda / n) w - (eta/m) sum of dC_x/dw, b likewise without the decay."""
        eta = validation.learning_rate("update_mini_batch", eta)
        lmbda = validation.regularisation("update_mini_batch", lmbda)
        n = validation.count("update_mini_batch", "n", n, 1)
        validation.cost(self.cost)
        self._step(mini_batch, eta, 1 - eta * (lmbda / n))

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of the cost C_x, shaped like biases and weights; the
        output layer's delta is ``cost.delta(z_L, a_L, y)``."""
        validation.cost(self.cost)
        return self._gradient(x, y)

    def accuracy(self, data, convert=False):
        """How many inputs of ``data`` have their largest output neuron equal to the desired one.

        The book sets ``convert`` for training data (one-hot ``y``) and not for evaluation data
        (integer labels); fastnet reads which it is from the data, so either value works.
        """
        return self._correct("accuracy", "data", data)

    def total_cost(self, data, lmbda, convert=False):
        """The cost on ``data``, averaged over its examples, plus the L2 term (lmbda / 2n) sum of w^2.

        As with ``accuracy``, ``convert`` may be given as in the book; fastnet reads from the data
        whether its ``y`` are labels or one-hot vectors.
        """
        lmbda = validation.regularisation("total_cost", lmbda)
        validation.parameters(self)
        validation.cost(self.cost)
        examples = self._data("total_cost", "data", data)
        if self._own(("feedforward",)) or _batched_fn(self.cost) is None:  # the book's loop
            cost = 0.0
            for x, y in zip(examples.X[:, :, None], examples.float64_targets[:, :, None]):
                cost += self.cost.fn(self.feedforward(x), y) / examples.n
            return cost + _regularisation(self.weights, lmbda, examples.n)
        return _cost_and_accuracy(self, examples, self._params(), lmbda)[0]

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
        write_atomically(filename, lambda f: json.dump(data, f), mode="w")

    def _own_training(self):
        return self._own(self.TRAINING_METHODS) + (["cost.delta"] if _rule(self.cost) is None else [])

    def _output_rule(self):
        return _rule(self.cost)

    def _output_delta(self, z, a, t):
        return self.cost.delta(z, a, t)

    def _call_update_mini_batch(self, mini_batch, eta, lmbda, n):
        self.update_mini_batch(mini_batch, eta, lmbda, n)


class _Watched:
    """A data set that chapter 3's monitors watch: its name in the book's lines, which of its cost and
    accuracy are shown and kept, and whether its accuracy is needed all the same (early stopping)."""

    def __init__(self, name, show_cost, show_accuracy, need_accuracy=False):
        self.name, self.show_cost, self.show_accuracy = name, show_cost, show_accuracy
        self.need_accuracy = show_accuracy or need_accuracy
        self.costs, self.accuracies, self.data = [], [], None

    @property
    def watched(self):
        return self.show_cost or self.need_accuracy


class _Monitors:
    """Chapter 3's report after each epoch (``EpochReport``): ``Epoch j training complete``, the cost and
    accuracy on the training and on the evaluation data that the monitor flags ask for, then an empty
    line; the four lists ``SGD`` returns; and early stopping after ``early_stopping_n`` epochs in a row
    without a better evaluation accuracy.

    Each data set costs one batched forward pass per epoch, whichever of its two numbers are asked
    for; with the reader's own ``accuracy``, ``total_cost``, ``feedforward`` or cost ``fn``, they are
    called as the book's ``SGD`` calls them (``reads_network``: the run keeps ``weights`` up to date).
    """

    def __init__(self, net, lmbda, evaluation_data, early_stopping_n, log, training, evaluation):
        self.net, self.lmbda, self.evaluation_data, self.early_stopping_n, self.log = (
            net, lmbda, evaluation_data, early_stopping_n, log)
        self.training = _Watched("training", *training)
        self.evaluation = _Watched("evaluation", *evaluation)
        self.own, self.reads_network, self.threads, self.best, self.epochs_without_better = [], False, None, 0, 0

    def check_arguments(self):
        """Check ``lmbda``, ``early_stopping_n`` and the network's cost."""
        self.lmbda = validation.regularisation("SGD", self.lmbda)
        self.early_stopping_n = validation.count("SGD", "early_stopping_n", self.early_stopping_n, 0)
        self.evaluation.need_accuracy = self.evaluation.show_accuracy or self.early_stopping_n > 0
        validation.cost(self.net.cost)

    def check_data(self):
        """Check ``evaluation_data``, which the evaluation monitors and early stopping need."""
        self.evaluation.data = self.net._optional_data("SGD", "evaluation_data", self.evaluation_data)
        if self.evaluation.watched and self.evaluation.data is None:
            raise validation.BadValue("SGD: the evaluation monitors and early_stopping_n need evaluation_data, got none")
        self.own = self.net._own(Network.MONITORING_METHODS) + (["cost.fn"] if _batched_fn(self.net.cost) is None else [])
        self.reads_network = bool(self.own) and (self.training.watched or self.evaluation.watched)

    def prepare(self, params, training, threads):
        """Say that the reader's methods monitor, or compile fastnet's monitors before the first epoch."""
        self.training.data, self.threads = training, threads
        watched = [w.data for w in (self.training, self.evaluation) if w.watched]
        if self.reads_network:
            warn_override(self.net, self.own, "SGD's monitors call them as the book's code does, one example at a time",
                          stacklevel=5)
        elif watched:
            prepare_outputs(params, watched[0].converted.inputs)

    def __call__(self, epoch, params):
        """Report epoch ``epoch``, trained to ``params``; True when early stopping ends the run."""
        self.log(f"Epoch {epoch} training complete")
        accuracy = None
        for w in (self.training, self.evaluation):
            if not w.watched:
                continue
            cost, accuracy = self._measure(w, params)
            if w.show_cost:
                w.costs.append(cost)
                self.log(f"Cost on {w.name} data: {cost}")
            if w.show_accuracy:
                w.accuracies.append(accuracy)
                self.log(f"Accuracy on {w.name} data: {accuracy} / {w.data.n}")
        self.log("")
        return self.early_stopping_n > 0 and self._no_better_for_n(accuracy)  # the evaluation's, measured last

    def result(self):
        """``(evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)``, as the book's ``SGD`` returns."""
        return self.evaluation.costs, self.evaluation.accuracies, self.training.costs, self.training.accuracies

    def _measure(self, w, params):
        """``(cost, accuracy)`` on the watched data set ``w``; with the reader's methods, None where not asked for."""
        if not self.reads_network:
            return _cost_and_accuracy(self.net, w.data, params, self.lmbda, self.threads)
        one_hot = w.name == "training"  # the book's flags: one-hot training targets, labelled evaluation data
        return (self.net.total_cost(w.data.pairs, self.lmbda, convert=not one_hot) if w.show_cost else None,
                self.net.accuracy(w.data.pairs, convert=one_hot) if w.need_accuracy else None)

    def _no_better_for_n(self, accuracy):
        """Count an epoch without an evaluation accuracy above the best so far; True after ``early_stopping_n``."""
        if accuracy > self.best:
            self.best, self.epochs_without_better = accuracy, 0
        else:
            self.epochs_without_better += 1
        return self.epochs_without_better == self.early_stopping_n


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
