"""Where a sweep's runs execute: this machine's processes (``LocalWorkers``) or a Dask cluster (``DaskWorkers``).

Both do two things. ``warm`` calls a function once where the runs' kernels will be loaded from: in
this process for local workers (forked afterwards, they have them in memory; spawned, they read the
on-disk cache), on one worker of each host of a cluster (the workers of a host share its cache).
Then ``run`` calls a function on each of many arguments, a process at a time each, and yields
``(index, Outcome)`` as each call ends, so that nothing finished waits for the slowest. A call that
raises is reported, not retried (it would raise again); a process that dies under a call (killed,
out of memory) costs that call one more attempt elsewhere.
"""

import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from multiprocessing.connection import wait
from multiprocessing.reduction import ForkingPickler
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


def can_fork():
    """True where a worker may be forked from this process: on Linux, while this process runs no other thread.

    A fork copies one thread; a lock held by any other at that moment stays held in the child for
    ever. So: no Python thread but this one, numba's threading layer never started (fastnet's own
    threads end with each call), and NumPy's BLAS an OpenBLAS on its own threads, which it stops as
    a fork begins (its ``pthread_atfork`` handler); not an OpenMP or MKL build. macOS's system
    libraries are not safe to use in a forked child.
    """
    if sys.platform != "linux" or threading.active_count() > 1:
        return False
    import numba
    import numpy

    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):  # a NumPy before 1.26 does not say
        return False
    if "openblas" not in blas.get("name", "") or "USE_OPENMP" in blas.get("openblas configuration", ""):
        return False
    try:
        numba.threading_layer()  # raises until numba's parallel threads have started
    except ValueError:
        return True
    return False


def _serve(connection, sweeps, initializer, parent):
    """A worker process: ``initializer()``, then each ``(function, argument)`` received on ``connection``, sending
    back ``(value, "")`` or ``(None, error)``, until its ``parent`` is gone (the sweep ends it otherwise).

    Ctrl-C is the sweep's to handle (it ends its workers). ``sweeps``, the sweep's end of the pipe (a
    forked child has a copy), is closed at once, so that the pipe breaks when the sweep dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sweeps.close()
    broken = ""
    if initializer is not None:
        try:
            initializer()
        except Exception as error:  # noqa: BLE001 (each call is answered with it)
            broken = f"the worker's initializer failed: {_failure(error)}"
    while True:
        while not connection.poll(1.0):
            if os.getppid() != parent:  # the sweep was killed: no one will read what this computes
                return
        try:
            function, argument = connection.recv()
        except EOFError:
            return
        try:
            reply = (None, broken) if broken else (function(argument), "")
        except BaseException as error:  # noqa: BLE001 (sent back to be reported with the call)
            reply = (None, _failure(error))
        try:
            connection.send(reply)
        except OSError:  # the sweep is gone
            return
        except Exception as error:  # noqa: BLE001 (a value that cannot be pickled)
            connection.send((None, _failure(error)))


class _Worker(NamedTuple):
    """One worker process and this end of the pipe to it."""

    process: multiprocessing.Process
    connection: Any


class LocalWorkers:
    """``count`` processes on this machine (default: one per CPU), each taking one call at a time.

    Where it is safe (``can_fork``), the processes are forked after ``warm``: each starts at once
    with the kernels ``warm`` loaded and the data it read, shared with this process until written.
    Elsewhere they are spawned (``start`` starts them, to import fastnet while ``warm`` runs), and
    each loads its own. A process that dies under a call takes only that call with it: the call
    is tried again in a new process up to ``retries`` times, then reported failed. (Not
    ``concurrent.futures``: its pools keep helper threads in this process, after which no fork is
    safe, and a pool whose process died is broken for every call it holds.)
    """

    def __init__(self, count=None, retries=1):
        self.count = count or available_cpus()
        self.retries = retries
        self.workers = [None] * self.count
        self.initializer = None

    def start(self, initializer=None):
        """Have ``initializer`` run in every process as it starts, and start the processes now unless they
        will be forked (after ``warm``)."""
        self.initializer = initializer
        if not can_fork():
            for slot in range(self.count):
                self._worker(slot)

    def warm(self, function, argument):
        """``function(argument)`` in this process, before the processes start or, spawned, read the cache."""
        value = function(argument)
        for slot in range(self.count):
            self._worker(slot)
        return value

    def run(self, function, arguments):
        """Yield ``(index, Outcome)`` for ``function(arguments[index])`` as each call ends."""
        queue, calls = deque((i, 1) for i in range(len(arguments))), {}  # calls: slot -> (index, attempts)
        try:
            while queue or calls:
                for slot in range(self.count):
                    if queue and slot not in calls:
                        i, attempts = queue.popleft()
                        if self._send(slot, (function, arguments[i])):
                            calls[slot] = i, attempts
                        else:  # no process would take it: as if one had died under it
                            yield from self._again(queue, i, attempts)
                if not calls:
                    continue
                ready = set(wait([w for slot in calls for w in self._waitables(slot)]))
                for slot in [slot for slot in calls if ready.intersection(self._waitables(slot))]:
                    i, attempts = calls.pop(slot)
                    reply = self._reply(slot)
                    if reply is None:  # the process died under the call
                        self._end(slot)
                        yield from self._again(queue, i, attempts)
                    else:
                        yield i, Outcome(*reply, attempts)
        except BaseException:  # Ctrl-C, or the caller stopped reading: no process outlives the sweep
            self.close()
            raise

    def _again(self, queue, i, attempts):
        """Call ``i`` lost its process: queue it for another attempt, or (past ``retries``) yield its failure."""
        if attempts <= self.retries:
            queue.appendleft((i, attempts + 1))
        else:
            yield i, Outcome(None, f"its worker process died, {attempts} times", attempts)

    def close(self):
        """End the processes at once, abandoning any call still running. Between calls a process holds
        nothing, so none is left to tear its interpreter down (a quarter of a second each, spawned)."""
        for slot in range(self.count):
            self._end(slot)

    def _worker(self, slot):
        """The process of ``slot``, started now if it has none (forked where ``can_fork``, else spawned)."""
        if self.workers[slot] is None:
            context = multiprocessing.get_context("fork" if can_fork() else "spawn")
            connection, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, connection, self.initializer, os.getpid()),
                                      daemon=True)
            try:
                process.start()
            finally:
                theirs.close()
            self.workers[slot] = _Worker(process, connection)
        return self.workers[slot]

    def _send(self, slot, call):
        """Send ``call`` to the process of ``slot``, replacing once a process found dead (it died between calls, or
        as it started); False if none took it."""
        for _ in range(2):
            if self.workers[slot] is not None and not self.workers[slot].process.is_alive():
                self._end(slot)
            try:
                self._worker(slot).connection.send(call)
                return True
            except OSError:
                self._end(slot)
        return False

    def _reply(self, slot):
        """The reply ``(value, error)`` of the process of ``slot``, which ``wait`` found ready; None if it died
        without one."""
        connection = self.workers[slot].connection
        if not connection.poll(0):  # only the process ended
            return None
        try:
            data = connection.recv_bytes()
        except (EOFError, OSError):
            return None
        try:
            return ForkingPickler.loads(data)
        except Exception as error:  # noqa: BLE001 (a value that cannot be rebuilt here)
            return None, f"its result could not be read: {_failure(error)}"

    def _waitables(self, slot):
        """What ``wait`` watches for ``slot``: its pipe (a reply) and its process (its end)."""
        return self.workers[slot].connection, self.workers[slot].process.sentinel

    def _end(self, slot):
        if self.workers[slot] is not None:
            process, connection = self.workers[slot]
            process.kill()
            process.join()
            connection.close()
            self.workers[slot] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
            self.close()
            raise

    def close(self):
        """Cancel what has not finished, and close the client if this made it."""
        if self.futures:
            self.client.cancel(self.futures)
        self.futures = []
        if self.own:
            self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
