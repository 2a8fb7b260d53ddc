"""One SGD run's state: the training data converted once for the kernels, the parameters packed, the order.

``Network.SGD`` makes a ``Training``, calls ``epoch`` once per epoch (one compiled call each) and
takes the parameters back from ``packed``; nothing is converted again between epochs.
"""

import signal
import threading
from contextlib import contextmanager

import numba
import numpy as np

from . import kernels
from .arrays import SparseRows, one_hot_targets
from .shuffle import shuffle_in_place

# An SGD step runs on several threads when it reads at least this many bytes of weights (about
# 784-100-10 in float64 with mini-batches of 10). Below it, starting the threads three times a
# step costs more than sharing the work saves. Measured by alternating one- and two-thread epochs:
# 1.2x at 784-100-10 float64, 1.0x in float32, 0.5x at 784-30-10, 1.4-1.7x at hidden 300 and 1000.
PARALLEL_STEP_BYTES = 1_000_000


class Training:
    """Training data prepared for the kernels, and a network's packed parameters."""

    def __init__(self, packed, X, T):
        """``X`` ``(n, n_0)`` with targets ``T`` (one-hot rows or labels)."""
        dtype = packed.wt.dtype
        self.packed = packed
        self.inputs = SparseRows.from_dense(X, dtype)
        self.targets = one_hot_targets(T, packed.n_out, dtype)
        self.order = np.arange(len(self.targets))  # current position -> index into the data

    def epoch(self, mini_batch_size, eta):
        """Shuffle as the book does, then one step per mini-batch ``order[k : k + mini_batch_size]``.

        Ctrl-C is held back until the epoch is whole: the parameters, the order and Python's
        ``random`` state then always agree on how many epochs have run.
        """
        args = (*self.packed.kernel_args(), *self.inputs.kernel_args(), self.targets, self.order, mini_batch_size, eta)
        threads = self.threads(mini_batch_size)
        with interrupts_held_back():
            shuffle_in_place(self.order)
            if threads == 1:
                kernels.train_epoch(*args)
            else:
                kernels.train_epoch_on_threads(*args, threads)

    def threads(self, mini_batch_size):
        """How many threads an SGD step uses: two (or more) only when its weight traffic repays starting them."""
        widths = self.packed.widths
        terms = np.concatenate(([len(self.inputs.values) / max(len(self.targets), 1)], self.packed.sizes[1:-1]))
        step_bytes = mini_batch_size * float(np.sum(terms * widths[1:])) * self.packed.wt.itemsize
        return numba.get_num_threads() if step_bytes >= PARALLEL_STEP_BYTES else 1


@contextmanager
def interrupts_held_back():
    """Run the block to its end before a Ctrl-C that arrives meanwhile takes effect (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, received[0])  # the default handler raises KeyboardInterrupt


def count_correct(packed, inputs, labels):
    """How many rows of ``inputs`` have their largest output neuron equal to their label."""
    return int(np.sum(np.argmax(outputs(packed, inputs), axis=1) == labels))


def outputs(packed, inputs):
    """The output layer ``(k, n_L)`` for the k rows of ``inputs`` (a ``SparseRows``)."""
    out = np.empty((len(inputs.indptr) - 1, packed.n_out), dtype=packed.wt.dtype)
    kernels.feedforward(*packed.kernel_args(), *inputs.kernel_args(), out, numba.get_num_threads())
    return out
