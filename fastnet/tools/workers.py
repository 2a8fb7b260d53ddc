"""Where a sweep's runs execute: this machine's processes (``LocalWorkers``) or a Dask cluster (``DaskWorkers``).

Both do two things. ``warm`` calls a function once where the runs' kernels will be loaded from: in
this process for local workers (they start afterwards and read the on-disk cache), on one worker of
each host of a cluster (the workers of a host share its cache). Then ``run`` calls a function on
each of many arguments, a process at a time each, and yields ``(index, Outcome)`` as each call ends,
so that nothing finished waits for the slowest. A call that raises is reported, not retried (it
would raise again); a process that dies under a call (killed, out of memory) costs that call one
more attempt elsewhere.
"""

import multiprocessing
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

from ..engine import available_cpus

NEEDS_DISTRIBUTED = 'a Dask cluster needs the "cluster" extra: pip install "fastnet[cluster]"'


class Outcome(NamedTuple):
    """How a call ended: its ``value``, or ``error`` (a one-line description) when it failed, after ``attempts``."""

    value: Any
    error: str
    attempts: int


def _failure(error):
    """One line for an exception raised by a call."""
    return f"{type(error).__name__}: {error}"


class LocalWorkers:
    """``count`` processes on this machine (default: one per CPU), started by spawning, never forking: a
    fork of a process whose threads hold locks (numba's, NumPy's) can hang.

    Each process is a ``ProcessPoolExecutor`` of its own, kept for the calls that follow, so a process
    that dies takes only its own call with it: that call is tried again in a new process up to
    ``retries`` times, then reported failed.
    """

    def __init__(self, count=None, retries=1):
        self.count = count or available_cpus()
        self.retries = retries
        self.context = multiprocessing.get_context("spawn")
        self.executors = [None] * self.count
        self.initializer = None

    def start(self, initializer=None):
        """Start every process now (they import numpy, numba and fastnet meanwhile); ``initializer`` runs in each,
        and in every process started later in place of one that died."""
        self.initializer = initializer
        for slot in range(self.count):
            self._executor(slot)

    def warm(self, function, argument):
        """``function(argument)`` in this process: kernels it compiles are cached before any run needs them."""
        return function(argument)

    def run(self, function, arguments):
        """Yield ``(index, Outcome)`` for ``function(arguments[index])`` as each call ends."""
        queue, running, free = deque((i, 1) for i in range(len(arguments))), {}, list(range(self.count))[::-1]
        try:
            while queue or running:
                while queue and free:
                    slot, (i, attempts) = free.pop(), queue.popleft()
                    running[self._executor(slot).submit(function, arguments[i])] = (i, attempts, slot)
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i, attempts, slot = running.pop(future)
                    free.append(slot)
                    try:
                        value = future.result()
                    except BrokenProcessPool:
                        self.executors[slot].shutdown(wait=False)
                        self.executors[slot] = None
                        if attempts <= self.retries:
                            queue.appendleft((i, attempts + 1))
                            continue
                        yield i, Outcome(None, f"its worker process died, {attempts} times", attempts)
                    except Exception as error:  # noqa: BLE001 (reported with the run; the sweep goes on)
                        yield i, Outcome(None, _failure(error), attempts)
                    else:
                        yield i, Outcome(value, "", attempts)
        except BaseException:  # Ctrl-C, or the caller stopped reading: no process outlives the sweep
            self.close(kill=True)
            raise

    def close(self, kill=False):
        """Stop the processes: after their calls end, or at once with ``kill`` (Python has no public way to
        kill an executor's processes before 3.14, hence its ``_processes``)."""
        for executor in filter(None, self.executors):
            if kill:
                for process in list((getattr(executor, "_processes", None) or {}).values()):
                    if process.is_alive():
                        process.kill()
            executor.shutdown(wait=not kill, cancel_futures=True)
        self.executors = [None] * self.count

    def _executor(self, slot):
        if self.executors[slot] is None:
            self.executors[slot] = ProcessPoolExecutor(1, mp_context=self.context, initializer=self.initializer)
            self.executors[slot].submit(int)  # starts its process now, not at the first call
        return self.executors[slot]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(kill=exc[0] is not None)


class DaskWorkers:
    """The workers of a Dask cluster: ``scheduler`` is its address (``tcp://host:8786``) or a ``distributed.Client``.

    Dask moves a call whose worker died to another worker (up to the scheduler's
    ``distributed.scheduler.allowed-failures`` times, 3 by default), then reports it failed.
    Workers should run one thread each (``dask worker --nthreads 1``): the runs seed the global
    random generators, as the book's code does, so one process runs one at a time.
    """

    def __init__(self, scheduler):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError(NEEDS_DISTRIBUTED) from None
        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self.own else scheduler
        self.futures = []

    @property
    def count(self):
        """The threads of the cluster's workers: how many runs it takes at once."""
        return max(1, sum(self.client.nthreads().values()))

    def start(self, initializer=None):
        """Nothing: a cluster's workers are running already, and each reads what a run needs when it first needs it."""

    def warm(self, function, argument):
        """``function(argument)`` on one worker of each host, all hosts at once; the first host's value."""
        try:
            workers = self.client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # a distributed before 2025.4 lists every worker, with no such argument
            workers = self.client.scheduler_info()["workers"]
        hosts = {}
        for address, worker in sorted(workers.items()):
            hosts.setdefault(worker["host"], address)
        futures = [self.client.submit(function, argument, workers=[address], allow_other_workers=True, pure=False)
                   for address in hosts.values()]
        return self.client.gather(futures)[0]

    def run(self, function, arguments):
        """Yield ``(index, Outcome)`` for ``function(arguments[index])`` as each call ends."""
        from distributed import KilledWorker, as_completed

        futures = {self.client.submit(function, argument, pure=False): i for i, argument in enumerate(arguments)}
        self.futures = list(futures)
        try:
            for future in as_completed(futures):
                i = futures[future]
                try:
                    value = future.result()
                except KilledWorker:
                    yield i, Outcome(None, "its worker died on every attempt Dask allowed", 0)
                except Exception as error:  # noqa: BLE001 (reported with the run; the sweep goes on)
                    yield i, Outcome(None, _failure(error), 1)
                else:
                    yield i, Outcome(value, "", 1)
        except BaseException:
            self.close(kill=True)
            raise

    def close(self, kill=False):
        """Cancel what has not finished (with ``kill``), and close the client if this made it."""
        if kill and self.futures:
            self.client.cancel(self.futures)
        self.futures = []
        if self.own:
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(kill=exc[0] is not None)
