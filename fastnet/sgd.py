"""The two ways ``SGD`` runs its epochs, shared by chapter 1's and chapter 3's ``Network``.

- ``CompiledRun``: the compiled engine (``fastnet.training``): the data converted once, the
  parameters packed for the whole run, one shuffle and a few compiled calls per epoch.
- ``BookRun``: the book's loop, for a reader who replaced a training method: shuffle the list,
  then call the network's ``update_mini_batch`` on each mini-batch.

Both leave the network as after the last complete epoch if anything fails, and a list of
training data in the order the book's in-place shuffles give it.
"""

import random

import numpy as np

from .arrays import book_pairs, no_rows
from .layout import pack, unpack
from .training import Training, count_correct


class CompiledRun:
    """Epochs of ``net`` (its ``weights``, ``biases`` and ``dtype``) on the compiled engine.

    The parameters stay packed between epochs. The list of examples (``examples.items``: the
    caller's own list, or the copy made of other iterables) is left in the book's shuffled order at
    the end, and ``weights``, ``biases`` and that order are brought up to date after every epoch
    when ``sync``: a reader's own scoring method is about to read them.
    """

    def __init__(self, net, examples, mini_batch_size, step, threads=None, sync=False):
        self.net, self.mini_batch_size, self.step, self.sync = net, mini_batch_size, step, sync
        self.items = examples.items
        self.original = None if examples.items is None else list(examples.items)
        self.engine = Training(pack(net.weights, net.biases, net.dtype), examples.X, examples.T, threads)
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

    def __init__(self, net, examples, mini_batch_size, update):
        self.net, self.mini_batch_size, self.update = net, mini_batch_size, update
        self.items = examples.items if examples.items is not None else book_pairs(examples.X, examples.T)

    def epoch(self):
        net, items = self.net, self.items
        saved = [w.copy() for w in net.weights], [b.copy() for b in net.biases], items[:], random.getstate()
        try:
            random.shuffle(items)
            for k in range(0, len(items), self.mini_batch_size):
                self.update(items[k : k + self.mini_batch_size])
        except BaseException:
            net.weights, net.biases, items[:] = saved[0], saved[1], saved[2]
            random.setstate(saved[3])
            raise

    def params(self):
        return pack(self.net.weights, self.net.biases, self.net.dtype)

    def finish(self):
        """Nothing to give back: the reader's methods changed the network as they went."""


class Scorer:
    """How many of a data set's inputs a network gets right, from packed parameters: fastnet's
    batched forward pass over data converted once (``__call__``), compiled by ``prepare``."""

    def __init__(self, inputs, labels):
        self.inputs, self.labels, self.n = inputs, labels, len(labels)

    def __call__(self, params):
        return count_correct(params, self.inputs, self.labels)

    def prepare(self, params):
        """Compile the forward pass (on no inputs), so that a first compile happens before training."""
        count_correct(params, no_rows(self.inputs), np.zeros(0, dtype=np.int64))
