"""The data an SGD call works on, and the two ways it runs its epochs.

- ``BookData``: a checked data set, in the engine's form and in the book's list of pairs, each
  made once per call when first needed (by the run, a monitor, or a compile before the first epoch).
- ``CompiledRun``: the compiled engine (``fastnet.engine.Training``): the parameters packed for the
  whole run, one shuffle and a few compiled calls per epoch.
- ``BookRun``: the book's loop, for a reader who replaced a training method: shuffle the list,
  then call the network's ``update_mini_batch`` on each mini-batch.

Both leave the network as after the last complete epoch if anything fails, and a list of
training data in the order the book's in-place shuffles give it.
"""

import random
from functools import cached_property

import numpy as np

from ..engine import Training, data_set, one_hot_targets, pack, unpack


def book_pairs(X, T):
    """The book's list of ``(x (n_0, 1), y)`` from arrays: ``y`` an int label, or a column ``(n_L, 1)`` of a row of ``T``."""
    T = np.asarray(T)
    targets = T.tolist() if T.ndim == 1 else list(T[:, :, None])
    return list(zip(np.asarray(X)[:, :, None], targets))


class BookData:
    """A checked data set (``validation.Examples``: ``X``, ``T``, ``items``) for a network: ``converted``
    for the engine (``fastnet.engine.DataSet``) and ``pairs`` as the book's list, each made once."""

    def __init__(self, examples, net):
        self.X, self.T, self.items = examples
        self.n = len(self.X)
        self._n_out, self._dtype = net.sizes[-1], net.dtype

    @cached_property
    def converted(self):
        return data_set(self.X, self.T, self._n_out, self._dtype)

    @cached_property
    def float64_targets(self):
        """The targets as one-hot rows in float64, what a cost is computed against."""
        targets = self.converted.targets
        return targets if targets.dtype == np.float64 else one_hot_targets(self.T, self._n_out, np.float64)

    @cached_property
    def pairs(self):
        return self.items if self.items is not None else book_pairs(self.X, self.T)


class CompiledRun:
    """Epochs of ``net`` (its ``weights``, ``biases`` and ``dtype``) on the compiled engine.

    The parameters stay packed between epochs. The list of examples (``training.items``: the
    caller's own list, or the copy made of other iterables) is left in the book's shuffled order at
    the end, and ``weights``, ``biases`` and that order are brought up to date after every epoch
    when ``sync``: a reader's own scoring method is about to read them.
    """

    def __init__(self, net, training, mini_batch_size, step, threads=None, sync=False):
        self.net, self.mini_batch_size, self.step, self.sync = net, mini_batch_size, step, sync
        self.items = training.items
        self.original = None if training.items is None else list(training.items)
        self.engine = Training(pack(net.weights, net.biases, net.dtype), training.converted, threads)
        self.engine.prepare(mini_batch_size)

    def epoch(self):
        """Shuffle, then one SGD step per mini-batch (Ctrl-C waits for the epoch to be whole)."""
        self.engine.epoch(self.mini_batch_size, self.step)
        if self.sync:
            self.finish()

    def params(self):
        """The parameters as they now stand (``Params``)."""
        return self.engine.params

    def finish(self):
        """Give the network its parameters back, and the list of examples its shuffled order."""
        self.net.weights, self.net.biases = unpack(self.engine.params)
        if self.items is not None:
            self.items[:] = [self.original[i] for i in self.engine.order]


class BookRun:
    """Epochs the book's way: ``random.shuffle`` the list of examples, then ``update(mini_batch)`` on each
    slice of ``mini_batch_size``.

    If an epoch fails (Ctrl-C, or an error in the reader's code), the network, the list's order and
    ``random``'s state go back to where that epoch began, and the error reaches the caller.
    """

    def __init__(self, net, training, mini_batch_size, update):
        self.net, self.mini_batch_size, self.update = net, mini_batch_size, update
        self.items = training.pairs

    def epoch(self):
        net, items = self.net, self.items
        weights, biases, order, state = [w.copy() for w in net.weights], [b.copy() for b in net.biases], items[:], random.getstate()
        try:
            random.shuffle(items)
            for k in range(0, len(items), self.mini_batch_size):
                self.update(items[k : k + self.mini_batch_size])
                self._keep_dtype()
        except BaseException:
            net.weights, net.biases, items[:] = weights, biases, order
            random.setstate(state)
            raise

    def _keep_dtype(self):
        """A float32 network stays float32: a reader's update written for the book's float64 arrays (w - c * nw
        with nw in float64) gives float64 arrays, rounded back here."""
        net = self.net
        if any(a.dtype != net.dtype for a in net.weights + net.biases):
            net.weights = [np.asarray(w, dtype=net.dtype) for w in net.weights]
            net.biases = [np.asarray(b, dtype=net.dtype) for b in net.biases]

    def params(self):
        return pack(self.net.weights, self.net.biases, self.net.dtype)

    def finish(self):
        """Nothing to give back: the reader's methods changed the network as they went."""
