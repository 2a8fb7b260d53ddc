"""What the book's networks of sigmoid neurons share: chapter 1's and chapter 3's ``Network`` are
``SigmoidNetwork`` with a cost, an initialiser and a per-epoch report of their own.

``SigmoidNetwork`` holds the book's attributes (``num_layers``, ``sizes``, ``weights``, ``biases``)
and fastnet's ``dtype``, and gives every chapter the book's draws, ``feedforward``, one SGD
(``_sgd``), one gradient-descent step on a mini-batch (``_step``), one count of correct answers
(``_correct``), the book's backprop of one example (``_gradient``) and the checks of data sets.

A chapter's ``Network`` says what is its own:

- ``TRAINING_METHODS``: the methods the book's ``SGD`` calls to learn; a reader who replaced one of
  them gets the book's per-mini-batch loop (``_own_training``), and ``_call_update_mini_batch`` calls
  the reader's ``update_mini_batch`` with the chapter's arguments;
- ``_output_rule`` and ``_output_delta``: the output layer's delta (the cost), as the compiled engine's
  rule and as the book's backprop computes it;
- its ``EpochReport``: its own arguments and data, what ``SGD`` prints and keeps after each epoch,
  and what it returns.
"""

from typing import Protocol

import numpy as np

from ..engine import Step, compile_notice, count_correct, labels_of, one_hot_targets, one_step, outputs, pack, sparse_rows, unpack
from . import validation
from .overrides import overridden, warn_override
from .runs import BookData, BookRun, CompiledRun
from .sigmoid import book_sigmoid, book_sigmoid_prime


def print_line(line):
    """Print one of ``SGD``'s lines at once (flushed, so that a notebook shows each epoch as it ends)."""
    print(line, flush=True)


class EpochReport(Protocol):
    """A chapter's part of the one ``SGD``: its arguments, its report after each epoch, its result."""

    lmbda: float  # the L2 regularisation the steps apply (0 in chapter 1)
    reads_network: bool  # it calls the reader's own methods, which read ``weights`` and ``biases``

    def check_arguments(self):
        """Check the chapter's own numbers (after ``eta``, before ``threads``, as the book's signature has them)."""

    def check_data(self):
        """Check the chapter's evaluation data (after the training data)."""

    def prepare(self, params, training, threads):
        """Before the first epoch: say that the reader's methods report, or compile fastnet's batched ones."""

    def __call__(self, epoch, params):
        """Report epoch ``epoch``, trained to ``params``; True to stop early."""

    def result(self):
        """What ``SGD`` returns."""


class SigmoidNetwork:
    """A feedforward network of sigmoid neurons with the book's attributes and fastnet's ``dtype``."""

    TRAINING_METHODS = ("update_mini_batch", "backprop")

    def __init_subclass__(cls, **kwargs):
        """A chapter's ``Network`` (a direct subclass) is where the book's own methods are: a reader's
        subclass of it, or a method set on an instance, replaces them (``_own``)."""
        super().__init_subclass__(**kwargs)
        if SigmoidNetwork in cls.__bases__:
            cls._book_class = cls

    def _set_sizes(self, sizes, dtype):
        """Check and set ``sizes``, ``num_layers`` and ``dtype`` (float64, the book's arithmetic, or float32)."""
        sizes = validation.sizes(sizes)
        self.dtype = validation.dtype(dtype)
        self.num_layers = len(sizes)
        self.sizes = sizes

    def _draw_parameters(self, normalised):
        """Every bias from N(0, 1), then every weight from N(0, 1), divided by sqrt(n_in) when ``normalised``,
        with ``np.random.randn`` in the book's order, then rounded to ``dtype``."""
        self.biases = [np.random.randn(n, 1).astype(self.dtype) for n in self.sizes[1:]]
        self.weights = [
            (np.random.randn(n_out, n_in) / (np.sqrt(n_in) if normalised else 1.0)).astype(self.dtype)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

    def feedforward(self, a):
        """Return the output for input ``a``: a column ``(n_0, 1)``, columns ``(n_0, k)`` or a vector ``(n_0,)``."""
        validation.parameters(self)
        a = validation.network_input(a, self.sizes[0])
        columns = a.reshape(len(a), -1)
        out = outputs(self._params(), sparse_rows(columns.T, self.dtype))
        return out.T.reshape((self.sizes[-1],) + a.shape[1:])

    def _sgd(self, training_data, epochs, mini_batch_size, eta, threads, report):
        """The book's SGD, for every chapter: check the arguments (``report`` its own), choose the run, then
        epoch by epoch train and ``report``, until the epochs are done or the report says stop; return
        what it returns.

        The run is fastnet's compiled epochs, or the book's loop over the reader's own
        ``update_mini_batch`` when a training method was replaced. Each step is
        w <- (1 - eta lmbda / n) w - (eta / m) sum_x dC_x/dw and b <- b - (eta / m) sum_x dC_x/db.
        Whatever happens, the network keeps every complete epoch.
        """
        epochs = validation.count("SGD", "epochs", epochs, 0)
        mini_batch_size = validation.count("SGD", "mini_batch_size", mini_batch_size, 1)
        eta = validation.learning_rate("SGD", eta)
        report.check_arguments()
        threads = None if threads is None else validation.count("SGD", "threads", threads, 1)
        validation.parameters(self)
        training = self._data("SGD", "training_data", training_data)
        report.check_data()
        n, lmbda, own = training.n, report.lmbda, self._own_training()
        if own:
            warn_override(self, own, "SGD calls them for each mini-batch as the book's code does, slower than "
                          "fastnet's compiled epoch", stacklevel=4)
        with compile_notice():
            if own:
                run = BookRun(self, training, mini_batch_size,
                              lambda mini_batch: self._call_update_mini_batch(mini_batch, eta, lmbda, n))
            else:
                step = Step(eta, 1 - eta * (lmbda / n), self._output_rule())
                run = CompiledRun(self, training, mini_batch_size, step, threads, sync=report.reads_network)
            report.prepare(run.params(), training, threads)
        try:
            for j in range(epochs):
                run.epoch()
                if report(j, run.params()):
                    break
        finally:
            run.finish()
        return report.result()

    def _step(self, mini_batch, eta, decay):
        """One step on ``mini_batch``: w <- decay w - (eta/m) sum of dC_x/dw, b <- b - (eta/m) sum of dC_x/db.

        With the reader's own ``backprop`` (or their own cost's pieces) it is the book's loop over
        ``self.backprop``; otherwise one compiled step.
        """
        validation.parameters(self)
        if [name for name in self._own_training() if name != "update_mini_batch"]:
            mini_batch = validation.pairs("update_mini_batch", "mini_batch", mini_batch)
            nabla_b, nabla_w = self._summed_gradients(mini_batch)
            scale = eta / len(mini_batch)
            self.weights = [(decay * w - scale * nw).astype(self.dtype) for w, nw in zip(self.weights, nabla_w)]
            self.biases = [(b - scale * nb).astype(self.dtype) for b, nb in zip(self.biases, nabla_b)]
            return
        batch = self._data("update_mini_batch", "mini_batch", mini_batch)
        params = self._params()
        one_step(params, batch.X, batch.T, Step(eta, decay, self._output_rule()))
        self.weights, self.biases = unpack(params)

    def _correct(self, where, name, data):
        """How many inputs of ``data`` have their largest output neuron equal to their label (one feedforward
        per example, as the book's loop, when the reader replaced ``feedforward``)."""
        validation.parameters(self)
        examples = self._data(where, name, data)
        if self._own(("feedforward",)):
            labels = labels_of(examples.T)
            return sum(int(np.argmax(self.feedforward(x)) == label) for x, label in zip(examples.X[:, :, None], labels))
        return count_correct(self._params(), examples.converted)

    def _own(self, names):
        """The methods among ``names`` that a reader replaced, in a subclass or on the instance."""
        return overridden(self, self._book_class, names)

    def _own_training(self):
        """The training methods (and, in chapter 3, cost pieces) of the reader's own that the book's SGD calls."""
        return self._own(self.TRAINING_METHODS)

    def _output_rule(self):
        """The compiled engine's rule for the output layer's delta (``engine.QUADRATIC`` ...): the chapter's cost."""
        raise NotImplementedError

    def _output_delta(self, z, a, t):
        """The output layer's delta in the book's backprop, from z_L, a_L and the target ``t`` (columns)."""
        raise NotImplementedError

    def _call_update_mini_batch(self, mini_batch, eta, lmbda, n):
        """Call ``update_mini_batch`` on ``mini_batch`` with the chapter's arguments, as the book's SGD does."""
        raise NotImplementedError

    def _params(self):
        """The current ``weights`` and ``biases`` in the kernels' layout (a copy)."""
        return pack(self.weights, self.biases, self.dtype)

    def _data(self, where, name, data):
        """``data`` checked as examples for this network (``runs.BookData``)."""
        return BookData(validation.examples(where, name, data, self.sizes[0], self.sizes[-1]), self)

    def _optional_data(self, where, name, data):
        """``data`` checked, or None when there is none: the book uses such data only ``if data``."""
        if data is None:
            return None
        if not validation.is_array_pair(data):
            data = validation.read_pairs(where, name, data)
            if not data:
                return None
        return self._data(where, name, data)

    def _gradient(self, x, y):
        """``backprop(x, y)``, checked: the book's backprop of the one example ``(x, y)`` (``_book_backprop``);
        the desired output ``y`` (a one-hot column or a label) reaches the cost as a one-hot float64 column."""
        validation.parameters(self)
        X, T, _ = validation.examples("backprop", None, [(x, y)], self.sizes[0], self.sizes[-1])
        return self._book_backprop(X[0], one_hot_targets(T, self.sizes[-1], np.float64)[0])

    def _book_backprop(self, x, t):
        """The book's backprop of one example (input row ``x``, one-hot target row ``t``): ``(nabla_b, nabla_w)``
        shaped like biases and weights, dC/db_l = delta_{l+1} and dC/dW_l = delta_{l+1} a_l^T, the output
        layer's delta ``self._output_delta(z_L, a_L, t)`` (columns, as the book's backprop holds them).

        ``backprop`` is what the book's ``update_mini_batch`` calls, so this runs when a reader replaced a
        training method, and it computes what the book's code computes, operation for operation in NumPy,
        with the book's sigmoid 1 / (1 + exp(-z)) and sigma' = sigma (1 - sigma): in float64 the same bits,
        whatever the reader's methods then do with them.
        """
        activation = x.reshape(-1, 1).astype(self.dtype)
        activations, zs = [activation], []
        with np.errstate(over="ignore"):  # exp(-z) overflows to inf below z = -709: the sigmoid is 0, quietly
            for b, w in zip(self.biases, self.weights):  # forward, keeping every z and a
                zs.append(np.dot(w, activation) + b)
                activation = book_sigmoid(zs[-1])
                activations.append(activation)
            delta = validation.output_delta(self._output_delta(zs[-1], activations[-1], t.reshape(-1, 1)), self.sizes[-1])
            delta = delta.reshape(-1, 1).astype(zs[-1].dtype)
            nabla_b, nabla_w = [None] * len(self.biases), [None] * len(self.weights)
            nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].transpose())
            for l in range(2, self.num_layers):  # backward: delta_l = (W_{l+1}^T delta_{l+1}) sigma'(z_l)
                delta = np.dot(self.weights[-l + 1].transpose(), delta) * book_sigmoid_prime(zs[-l])
                nabla_b[-l], nabla_w[-l] = delta, np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w

    def _summed_gradients(self, mini_batch):
        """The book's sum over a mini-batch of ``self.backprop(x, y)``, from zeros, example by example (fastnet's
        own ``backprop`` on the mini-batch checked once, rather than example by example)."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        if self._own(("backprop",)):
            gradients = (self.backprop(x, y) for x, y in mini_batch)
        else:
            batch = self._data("update_mini_batch", "mini_batch", mini_batch)
            targets = one_hot_targets(batch.T, self.sizes[-1], np.float64)
            gradients = (self._book_backprop(x, t) for x, t in zip(batch.X, targets))
        for delta_nabla_b, delta_nabla_w in gradients:
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w
