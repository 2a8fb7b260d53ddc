"""One SGD run's state: the data converted once for the kernels, the parameters packed, the order.

``Network.SGD`` makes a ``Training``, calls ``epoch`` once per epoch (one compiled call each) and
takes the parameters back with ``parameters``; nothing is converted again between epochs.
"""

import numpy as np

from . import kernels
from .arrays import SparseRows, labels_of, one_hot_targets, stack_examples
from .layout import pack, unpack
from .shuffle import shuffle_in_place


class Training:
    """Training (and optional test) data prepared for the kernels, and a network's packed parameters."""

    def __init__(self, weights, biases, dtype, training_data, test_data=None):
        X, T = stack_examples(training_data)
        self.packed = pack(weights, biases, dtype)
        self.inputs = SparseRows.from_dense(X, dtype)
        self.targets = one_hot_targets(T, self.packed.n_out, dtype)
        self.order = np.arange(len(self.targets))  # current position -> index into the data
        self.test = None
        if test_data is not None and len(test_data):
            test_X, test_T = stack_examples(test_data)
            self.test = SparseRows.from_dense(test_X, dtype), labels_of(test_T)

    def epoch(self, mini_batch_size, eta):
        """Shuffle as the book does, then one step per mini-batch ``order[k : k + mini_batch_size]``."""
        shuffle_in_place(self.order)
        kernels.train_epoch(
            *self.packed.kernel_args(), *self.inputs.kernel_args(), self.targets, self.order, mini_batch_size, eta
        )

    def test_score(self):
        """How many test inputs the network now classifies correctly."""
        inputs, labels = self.test
        return int(np.sum(np.argmax(outputs(self.packed, inputs), axis=1) == labels))

    def parameters(self):
        """Fresh lists ``(weights, biases)`` in the book's shapes."""
        return unpack(self.packed)


def outputs(packed, inputs):
    """The output layer ``(k, n_L)`` for the k rows of ``inputs`` (a ``SparseRows``)."""
    out = np.empty((len(inputs.indptr) - 1, packed.n_out), dtype=packed.wt.dtype)
    kernels.feedforward(*packed.kernel_args(), *inputs.kernel_args(), out)
    return out
