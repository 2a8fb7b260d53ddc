"""One SGD run: the data converted once for the kernels, the parameters packed, the order, the threads.

``Network.SGD`` makes a ``Training``, calls ``epoch`` once per epoch and takes the parameters back
from ``params``; nothing is converted again between epochs. An epoch is a few compiled calls of
``kernels.train_steps``, each on a range of its steps, so that the run can choose between one
thread and several by timing them (``ThreadChoice``): the weights come out bitwise the same either
way, so the choice is free to follow whatever pays on this machine at this moment.
"""

import os
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np

from . import kernels
from .bundles import checked
from .inputs import DataSet, no_rows, one_hot_targets, sparse_rows
from .layout import aligned_zeros, pack
from .shuffle import shuffle_in_place
from .simd import LANES
from .threads import SYNC_SIZE, available_cpus, run_shares

# A share of an SGD step is worth a thread when it reads at least this many bytes of weights: with
# less, starting and meeting the threads costs about what the share saves (docs/engine.md, Threads).
MIN_SHARE_BYTES = 512 * 1024
PROBE_STEPS = 100  # steps timed on each thread count when choosing between them
CHUNK_STEPS = 1000  # steps per compiled call once chosen
RECHECK_STEPS = 5000  # a choice is measured again after this many steps ...
SLOWER = 1.3  # ... or as soon as a call runs this much slower per step than when it was chosen
BETTER = 0.95  # several threads are chosen only when at least 5% faster than one
FORWARD_ROWS_PER_THREAD = 4096  # a forward pass over many inputs (evaluate) shares them out from this many a thread
FORWARD_CHUNK = 64  # inputs per pass through the layers in a forward pass over many (whole tiles of 1 to 8)


def forced_threads():
    """The thread count the user set with ``NUMBA_NUM_THREADS``, or None."""
    value = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    return max(1, int(value)) if value.isdigit() else None


def shares_worth_running(params, inputs, mini_batch_size, cpus):
    """How many threads an SGD step could use with profit: at most one per CPU, per block of the
    first layer (its columns are what the threads divide), and per ``MIN_SHARE_BYTES`` of weights
    the step reads."""
    terms = np.concatenate(([len(inputs.values) / max(len(inputs.indptr) - 1, 1)], params.sizes[1:-1]))
    step_bytes = mini_batch_size * float(np.sum(terms * params.widths[1:])) * params.wt.itemsize
    return max(1, min(cpus, int(params.widths[1]) // LANES, int(step_bytes // MIN_SHARE_BYTES)))


class ThreadChoice:
    """Which of the candidate thread counts the next steps run on: each is timed on ``PROBE_STEPS``
    steps, the faster kept for ``CHUNK_STEPS`` at a time, and the choice timed again every
    ``RECHECK_STEPS`` steps or as soon as a call runs ``SLOWER`` than when it was chosen (another
    program started, say)."""

    def __init__(self, candidates):
        self.candidates = sorted(set(candidates))
        self.chosen = self.candidates[0]
        self.per_step = {}  # thread count -> seconds per step when last probed
        self.to_probe = list(self.candidates) if len(self.candidates) > 1 else []
        self.since_probe = 0

    def plan(self, remaining):
        """``(threads, steps)`` for the next call."""
        if self.to_probe:
            return self.to_probe[0], min(PROBE_STEPS, remaining)
        return self.chosen, min(CHUNK_STEPS, remaining)

    def record(self, threads, steps, seconds):
        """Learn from a call of ``steps`` steps on ``threads`` threads that took ``seconds``."""
        per_step = seconds / max(steps, 1)
        if self.to_probe and self.to_probe[0] == threads:
            self.to_probe.pop(0)
            self.per_step[threads] = per_step
            if not self.to_probe:
                one, many = self.candidates[0], self.candidates[-1]
                self.chosen = many if self.per_step[many] < BETTER * self.per_step[one] else one
                self.since_probe = 0
            return
        self.since_probe += steps
        if len(self.candidates) > 1 and (self.since_probe >= RECHECK_STEPS or per_step > SLOWER * self.per_step[threads]):
            self.to_probe = sorted(self.candidates, key=lambda c: c != self.chosen)  # the chosen one first, then the other


class Training:
    """Training data prepared for the kernels, a network's parameters, the order, and its threads."""

    def __init__(self, params, data, threads=None):
        """Training of ``params`` on ``data`` (``DataSet``); ``threads`` forces a thread count (else
        ``NUMBA_NUM_THREADS`` does, else the run measures what pays)."""
        self.params, self.data = checked(params), checked(data, params.wt.dtype)
        self.order = np.arange(len(data.targets))  # current position -> index into the data
        self.forced = threads if threads is not None else forced_threads()
        self._runs = {}  # mini-batch size -> (ThreadChoice, Work)

    def epoch(self, mini_batch_size, step):
        """Shuffle as the book does, then one SGD step (``kernels.Step``) per mini-batch ``order[k : k + m]``.

        Ctrl-C is held back until the epoch is whole: the parameters, the order and Python's
        ``random`` state then always agree on how many epochs have run.
        """
        checked(step)
        choice, work = self._run_for(mini_batch_size)
        steps = -(-len(self.order) // mini_batch_size)
        with interrupts_held_back():
            shuffle_in_place(self.order)
            done = 0
            while done < steps:
                threads, count = choice.plan(steps - done)
                start = time.perf_counter()
                self._steps(done, done + count, mini_batch_size, step, work, threads)
                choice.record(threads, count, time.perf_counter() - start)
                done += count

    def prepare(self, mini_batch_size):
        """Compile (or load from the cache) what the epochs will run: the steps, and the shuffle (of
        nothing, which draws no random number)."""
        self._run_for(mini_batch_size)
        shuffle_in_place(np.arange(0))

    def threads(self, mini_batch_size):
        """The thread count the steps of this mini-batch size run on now."""
        return self._run_for(mini_batch_size)[0].chosen

    def _run_for(self, mini_batch_size):
        """The thread choice and work buffers for steps of ``mini_batch_size`` (made, and compiled, on first use)."""
        if mini_batch_size not in self._runs:
            if self.forced is not None:
                candidates = [self.forced]
            else:
                candidates = [1, shares_worth_running(self.params, self.data.inputs, mini_batch_size, available_cpus())]
            work = make_work(self.params, mini_batch_size, max(candidates))
            self._steps(0, 0, mini_batch_size, kernels.Step(1.0, 1.0, kernels.QUADRATIC), work, 1)  # compile, untimed
            self._runs[mini_batch_size] = ThreadChoice(candidates), work
        return self._runs[mini_batch_size]

    def _steps(self, first, last, mini_batch_size, step, work, threads):
        args = (self.params, self.data.inputs, self.data.targets, self.order, first, last, mini_batch_size, step, work)
        run_shares(kernels.train_steps, args, threads, work.sync)


def make_work(params, rows, threads, sets=2):
    """``kernels.Work`` for ``rows`` examples at a time on up to ``threads`` threads, with ``sets`` sets
    of activations."""
    size = rows * params.b.size
    return checked(kernels.Work(
        aligned_zeros(sets * size, params.b.dtype).reshape(sets, size),
        aligned_zeros(sets * size, params.b.dtype).reshape(sets, size),
        aligned_zeros(size, params.b.dtype),
        np.zeros((threads, 3, rows), dtype=np.int64),
        np.zeros((threads, 16), dtype=np.int64),
        np.ones((threads, len(params.scale))),
        np.arange(int(np.max(params.sizes)), dtype=np.int32),
        np.zeros(SYNC_SIZE, dtype=np.int64),
    ), params.b.dtype)


def one_step(params, X, T, step):
    """One SGD step on the whole of ``X`` (targets ``T``) as a mini-batch, on ``params`` in place."""
    inputs = sparse_rows(X, params.wt.dtype)
    targets = one_hot_targets(T, int(params.sizes[-1]), params.wt.dtype)
    m = len(targets)
    kernels.train_steps(checked(params), inputs, targets, np.arange(m), 0, 1, m, checked(step), make_work(params, m, 1), 0, 1)


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


def count_correct(params, data, threads=None):
    """How many inputs of ``data`` (``DataSet``) have their largest output neuron equal to their label."""
    return int(np.sum(np.argmax(outputs(params, data.inputs, threads), axis=1) == data.labels))


def prepare_outputs(params, inputs):
    """Compile (or load from the cache) ``outputs`` for inputs like ``inputs`` (``SparseRows``), computing nothing."""
    outputs(params, no_rows(inputs), threads=1)


def outputs(params, inputs, threads=None):
    """The output layer ``(k, n_L)`` for the k rows of ``inputs`` (``SparseRows``), shared by examples
    among threads when there are many (``FORWARD_ROWS_PER_THREAD``); ``threads`` forces a count."""
    rows = len(checked(inputs, checked(params).wt.dtype).indptr) - 1
    if threads is None:
        threads = forced_threads() or max(1, min(available_cpus(), rows // FORWARD_ROWS_PER_THREAD))
    out = np.empty((rows, int(params.sizes[-1])), dtype=params.wt.dtype)
    work = make_work(params, FORWARD_CHUNK, threads, sets=threads)
    run_shares(kernels.feed_forward, (params, inputs, np.arange(rows), out, work), threads)
    return out


def warm_up(dtype, input_dtype=np.float32):
    """Compile (or load from the cache) what an SGD run in ``dtype`` on inputs of ``input_dtype`` uses,
    on a network of one neuron: its kernels are the same specialisations as any network's.

    ``fastnet train`` runs this on a thread of its own while it loads the data; an error is left for
    the run itself to meet and report.
    """
    try:
        params = pack([np.zeros((1, 1))], [np.zeros((1, 1))], dtype)
        data = DataSet(sparse_rows(np.zeros((1, 1), dtype=input_dtype), dtype), np.zeros((1, 1), dtype), np.zeros(1, np.int64))
        Training(params, data, threads=1).prepare(1)
        outputs(params, data.inputs, threads=1)
    except Exception:  # noqa: BLE001 (the run that follows reports it)
        pass
