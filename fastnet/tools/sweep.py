"""Many independent runs at once: a grid of configurations of the book's networks on every core, or a cluster.

One run is one ``SGD`` of chapter 1's, 3's or 6's network with one configuration, on one thread.
Threads inside a run barely pay on a laptop; separate runs pay in full. ``sweep`` compiles the
kernels its runs need once, here, before any worker starts on them (``tools.workers``), then trains
the runs a process at a time each, writes each finished run as one line of JSON to its results file
at once (a run that has finished is never lost), and returns the results in the order of the runs.
The same runs give the same numbers, bit for bit, wherever and in whatever order they run: each
seeds ``random`` and ``np.random`` as the book's scripts do.
"""

import functools
import itertools
import json
import math
import os
import platform
import random
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Optional

import numpy as np

from .. import mnist_loader, network2, network3
from .._book.ensemble import plurality
from .._book.validation import BadType, BadValue
from ..engine import available_cpus, own_generator
from ..network import Network
from .experiments import CHAPTER_6_NETWORKS, chapter_6_layers, record_epoch_accuracy, seed_both
from .workers import DaskWorkers, LocalWorkers


class Run(NamedTuple):
    """One configuration. ``network``: layer sizes ``"784-30-10"`` (chapters 1 and 3) or a chapter-6
    network by name (``CHAPTER_6_NETWORKS``); ``train_size``: the first n training images (None: all);
    ``expanded``: chapter 6's 250,000 expanded images instead of the 50,000."""

    chapter: int
    network: str
    eta: float
    lmbda: float
    mini_batch_size: int
    epochs: int
    seed: int
    dtype: str
    train_size: Optional[int] = None
    expanded: bool = False

    @property
    def configuration(self):
        """Everything but the seed: the runs of one configuration differ only by their draws."""
        return self._replace(seed=0)

    def __str__(self):
        words = [f"ch{self.chapter} {self.network}", f"eta {self.eta:g}"]
        words += [f"lmbda {self.lmbda:g}"] if self.chapter != 1 else []
        words += [f"m {self.mini_batch_size}", f"{self.epochs} epochs", self.dtype]
        words += [f"{self.train_size} images"] if self.train_size is not None else []
        words += ["expanded"] if self.expanded else []
        return ", ".join(words) + f", seed {self.seed}"


# Each chapter's defaults: the book's main experiment of the chapter.
DEFAULTS = {
    1: dict(network="784-30-10", eta=3.0, lmbda=0.0, mini_batch_size=10, epochs=30, seed=0, dtype="float64"),
    3: dict(network="784-30-10", eta=0.5, lmbda=5.0, mini_batch_size=10, epochs=30, seed=0, dtype="float64"),
    6: dict(network="relu", eta=0.03, lmbda=0.1, mini_batch_size=10, epochs=60, seed=0, dtype="float32"),
}
SCORED_ON = {1: "test", 3: "validation", 6: "validation"}  # what each chapter's SGD reports every epoch
OPTIONS = ("chapter",) + Run._fields
TRAINING_IMAGES = 50_000
EXPANDED_IMAGES = 5 * TRAINING_IMAGES
SCORED_IMAGES = 10_000  # validation and test images


def _number(name, value, kind, low, high=math.inf, low_included=True):
    """``value`` as ``kind`` (int or float) if it is one and lies in its range, else an error naming ``name``."""
    whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not (whole or (kind is float and isinstance(value, (float, np.floating)))):
        raise BadType(f"{name} must be {'a whole number' if kind is int else 'a number'}, got {value!r}")
    if not ((whole or math.isfinite(value)) and (value >= low if low_included else value > low) and value <= high):
        bounds = f"{'at least' if low_included else 'more than'} {low:g}" + (f" and at most {high:g}" if high < math.inf else "")
        raise BadValue(f"{name} must be {bounds}, got {value!r}")
    return kind(value)


def _network(chapter, value):
    """A chapter's network as ``Run`` names it: ``"784-30-10"`` from that or ``[784, 30, 10]``, or a chapter-6 name."""
    if chapter == 6:
        if value not in CHAPTER_6_NETWORKS:
            raise BadValue(f"network must be one of chapter 6's networks {', '.join(CHAPTER_6_NETWORKS)}, got {value!r}")
        return value
    sizes = value.replace(",", "-").split("-") if isinstance(value, str) else value
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise BadValue(f"network must be layer sizes such as '784-30-10', got {value!r}") from None
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10 or min(sizes) < 1:
        raise BadValue(f"network must run from 784 inputs to 10 outputs through layers of at least 1 neuron, got {value!r}")
    return "-".join(map(str, sizes))


def make_run(chapter=1, **options):
    """A checked ``Run`` of ``chapter`` (1, 3 or 6); options left out take the chapter's defaults (``DEFAULTS``)."""
    if chapter not in DEFAULTS:
        raise BadValue(f"chapter must be 1, 3 or 6, got {chapter!r}")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise BadType(f"unknown option {unknown[0]!r}: a run has {', '.join(OPTIONS)}")
    given = {**DEFAULTS[chapter], **options}
    expanded = given.get("expanded", False)
    if expanded not in (True, False) or (expanded and chapter != 6):
        raise BadValue(f"expanded must be True or False, and True only in chapter 6, got {expanded!r} in chapter {chapter}")
    m = _number("mini_batch_size", given["mini_batch_size"], int, 1)
    images = EXPANDED_IMAGES if expanded else TRAINING_IMAGES
    train_size = given.get("train_size")
    if train_size is not None:
        train_size = _number("train_size", train_size, int, m if chapter == 6 else 1, images)
    if chapter == 6 and m > min(train_size or images, SCORED_IMAGES):
        raise BadValue(f"mini_batch_size must be at most the {min(train_size or images, SCORED_IMAGES)} images that "
                       f"chapter 6 trains and scores on in whole mini-batches, got {m}")
    lmbda = _number("lmbda", given["lmbda"], float, 0.0)
    if chapter == 1 and lmbda != 0:
        raise BadValue(f"lmbda must be 0 in chapter 1 (its network has no regularisation), got {lmbda!r}")
    if given["dtype"] not in ("float32", "float64"):
        raise BadValue(f"dtype must be 'float32' or 'float64', got {given['dtype']!r}")
    return Run(chapter, _network(chapter, given["network"]), _number("eta", given["eta"], float, 0.0, low_included=False),
               lmbda, m, _number("epochs", given["epochs"], int, 1), _number("seed", given["seed"], int, 0, 2**32 - 1),
               given["dtype"], train_size, expanded)


def grid(chapter=1, **options):
    """Every combination of the options' values, as ``Run``s of ``chapter``: each option is one value or a
    list of them (a network's sizes ``[784, 30, 10]`` are one value; ``seed=range(3)`` is three)."""
    names, choices = [], []
    for name, value in options.items():
        single = isinstance(value, (str, int, float, bool, np.number)) or value is None or (
            name == "network" and isinstance(value, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in value))
        values = [value] if single else list(value)
        if not values:
            raise BadValue(f"{name} has no values: a grid needs at least one")
        names.append(name)
        choices.append(values)
    return [make_run(chapter, **dict(zip(names, combination))) for combination in itertools.product(*choices)]


class Result(NamedTuple):
    """A run's outcome: its accuracy in % on ``scored_on`` after each epoch, the best and its epoch, chapter
    6's test accuracy at that epoch (``test``), seconds, where it ran, the compilations it waited for
    (0 when every kernel came from the cache), the MNIST it trained on (``data_source``; "" in files
    written before fastnet recorded it), and the trained network when the sweep was asked for it."""

    run: Run
    status: str  # "done" or "failed"
    scores: list
    best: Optional[float]  # None when the run failed
    best_epoch: int
    scored_on: str
    test: Optional[float]
    seconds: float
    machine: dict
    compiled: int
    attempts: int
    error: str = ""
    data: str = ""
    network: Any = None

    def line(self):
        """The result as one line of JSON (without the network)."""
        fields = self._asdict()
        fields.pop("network")
        fields["run"] = self.run._asdict()
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_line(cls, line):
        """The result that ``line`` wrote."""
        fields = json.loads(line)
        return cls(**{**fields, "run": Run(**fields["run"])})


def data_source(data):
    """The MNIST that ``data`` names (``load_data``'s path; None: its default), as results record it: the
    absolute path."""
    if data is not None and not isinstance(data, (str, os.PathLike)):
        raise BadType(f"data must be MNIST's directory or file path (None: the default), got {data!r:.60}")
    return str(Path(mnist_loader.default_data_dir() if data is None else data).resolve())


def _failed(run, error, attempts):
    return Result(run, "failed", [], None, -1, SCORED_ON[run.chapter], None, 0.0, {}, 0, attempts, error)


@functools.lru_cache(maxsize=2)
def _mnist(data, expanded):
    """MNIST as ``load_data`` gives it (``expand``'s for the expanded set), read once per process."""
    return mnist_loader.expand(data) if expanded else mnist_loader.load_data(data)


def _machine():
    """Where this process runs: host name, CPU model and CPU count."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"host": socket.gethostname(), "cpu": model or platform.machine(), "cpus": available_cpus()}


def _train_network(run, training, validation, test):
    """Train ``run`` on these sets, on one thread: ``(network, scores in %, best epoch, chapter 6's test accuracy
    then)``.

    Seeded as the book's scripts seed, except that the shuffles draw from a generator of the run's own,
    in the state ``random.seed(run.seed)`` would give: the same numbers, whatever other threads draw."""
    seed_both(run.seed)
    with own_generator(random.Random(run.seed)):
        return _seeded_run(run, training, validation, test)


def _seeded_run(run, training, validation, test):
    sizes = [int(s) for s in run.network.split("-")] if run.chapter != 6 else None
    silent = lambda line: None  # noqa: E731
    if run.chapter == 1:
        net = Network(sizes, dtype=run.dtype)
        counts = net.SGD(training, run.epochs, run.mini_batch_size, run.eta, test_data=test, log=silent, threads=1)
        return net, [100 * c / len(test[1]) for c in counts], int(np.argmax(counts)), None
    if run.chapter == 3:
        net = network2.Network(sizes, dtype=run.dtype)
        _, counts, _, _ = net.SGD(training, run.epochs, run.mini_batch_size, run.eta, lmbda=run.lmbda,
                                  evaluation_data=validation, monitor_evaluation_accuracy=True, log=silent, threads=1)
        return net, [100 * c / len(validation[1]) for c in counts], int(np.argmax(counts)), None
    scores = []
    net = network3.Network(chapter_6_layers(run.network, run.mini_batch_size), run.mini_batch_size, dtype=run.dtype)
    _, iteration, test_accuracy = net.SGD(training, run.epochs, run.mini_batch_size, run.eta, validation, test,
                                          lmbda=run.lmbda, log=lambda line: record_epoch_accuracy(line, scores),
                                          threads=1)
    best_epoch = (iteration + 1) // (len(training[1]) // run.mini_batch_size) - 1  # the epoch SGD scored the test at
    return net, scores, best_epoch, 100 * test_accuracy


@contextmanager
def _compilations():
    """Count numba's compilations in the block (0 when every kernel came from the cache): ``counted[0]`` after it."""
    from numba.core import event

    counted = [0]
    with event.install_recorder("numba:compile") as recorder:
        yield counted
    counted[0] = sum(1 for _, e in recorder.buffer if e.is_start)


_ONE_AT_A_TIME = threading.Lock()  # runs seed the process's global generators: one run at a time per process


def train(task):
    """Train ``task = (run, data, keep)`` here: its ``Result``, with the network when ``keep``. ``data`` is
    MNIST's location as ``load_data`` takes it (None: the copy installed with fastnet)."""
    run, data, keep = task
    training, validation, test = _mnist(data, run.expanded)
    if run.train_size is not None:
        training = (training[0][: run.train_size], training[1][: run.train_size])
    with _ONE_AT_A_TIME, _compilations() as compiled:
        start = time.perf_counter()
        net, scores, best_epoch, test_accuracy = _train_network(run, training, validation, test)
        seconds = time.perf_counter() - start
    return Result(run, "done", scores, scores[best_epoch], best_epoch, SCORED_ON[run.chapter], test_accuracy, seconds,
                  _machine(), compiled[0], 1, "", network=net if keep else None)


WARM_IMAGES = 20  # training, validation and test images of the small runs that compile a sweep's kernels


def warm_up(task):
    """Compile (or load) the kernels of ``task = (runs, data)``: one epoch on a few of MNIST's images for each
    kind of run (chapter, dtype, and chapter 6's network), leaving the global generators as they were;
    returns the compilations it made."""
    runs, data = task
    sets = [(x[:WARM_IMAGES], y[:WARM_IMAGES]) for x, y in _mnist(data, False)]
    kinds = {(run.chapter, run.dtype, run.network if run.chapter == 6 else ""): run for run in runs}
    with _compilations() as compiled:
        for run in kinds.values():
            small = run._replace(epochs=1, mini_batch_size=min(run.mini_batch_size, WARM_IMAGES), train_size=None)
            with _ONE_AT_A_TIME:
                states = random.getstate(), np.random.get_state()
                _train_network(small, *sets)
                random.setstate(states[0])  # the caller's generators are left as they were
                np.random.set_state(states[1])
    return compiled[0]


def preload(data, expanded):
    """Start a worker process: MNIST (``data``; the expanded set too when ``expanded``) is read now for the runs
    to come, unless the process has it already (forked); a problem with it is left for the first run to
    meet and report."""
    try:
        _mnist(data, False)
        if expanded:
            _mnist(data, True)
    except Exception:  # noqa: BLE001 (reported by the run that needs the data)
        pass


class ResultsFile:
    """A sweep's results, one JSON line per run, appended and flushed to disk as each run ends: a line
    once written stays, whatever happens to the sweep afterwards."""

    def __init__(self, path):
        self.path = Path(path)

    def finished(self, source=None):
        """The results in the file that finished, by run (a line cut short by a crash is skipped); with
        ``source`` (``data_source``), a ``BadValue`` if any of them trained on other data."""
        done = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    result = Result.from_line(line)
                except (ValueError, TypeError, KeyError):
                    continue
                if result.status != "done":
                    continue
                if source is not None and result.data and result.data != source:
                    raise BadValue(f"data: {self.path} holds runs trained on {result.data}, not on {source}: "
                                   "resume them with the data they had, or choose another file")
                done[result.run] = result
        return done

    def has_lines(self):
        return self.path.exists() and self.path.stat().st_size > 0

    def append(self, result):
        """Write ``result`` as one line and make it durable."""
        with open(self.path, "ab+") as file:
            if file.seek(0, os.SEEK_END):
                file.seek(-1, os.SEEK_END)
                if file.read(1) != b"\n":
                    file.write(b"\n")  # after a line cut short, start afresh
            file.write(result.line().encode() + b"\n")
            file.flush()
            os.fsync(file.fileno())


def _as_run(i, run):
    if isinstance(run, Run):
        return make_run(**run._asdict())
    if isinstance(run, dict):
        return make_run(**run)
    raise BadType(f"runs[{i}] must be a Run or a dict of its options, got {run!r:.60}")


def sweep(runs, out=None, *, workers=None, scheduler=None, resume=False, networks=False, data=None,
          log=print, progress=None):
    """Train ``runs`` (``Run``s, dicts of their options, or ``grid(...)``) as independent one-thread runs,
    ``workers`` at once on this machine (default: one per CPU), or on the Dask cluster at ``scheduler``
    (an address or a ``distributed.Client``). Returns their ``Result``s in the order of ``runs``.

    Each finished run is logged as one line and appended to ``out`` (JSON lines) as it ends; ``out``
    must not hold results already, unless ``resume``, which skips the runs it has finished (on the
    same ``data``: each result records its MNIST, ``data_source``). A run whose worker process dies is
    tried once more, then reported failed; a run that raises is reported failed. ``networks=True``
    returns the trained networks too (``Result.network``; runs taken from ``out`` by ``resume`` have
    none). ``progress`` (``tools.progress.Progress``) counts runs.
    """
    runs = [_as_run(i, run) for i, run in enumerate(runs)]
    if not runs:
        raise BadValue("runs is empty: a sweep needs at least one run")
    first = {}
    for i, run in enumerate(runs):
        if first.setdefault(run, i) != i:
            raise BadValue(f"runs[{i}] repeats runs[{first[run]}] ({run}): the same run gives the same numbers")
    if workers is not None:
        workers = _number("workers", workers, int, 1)
        if scheduler is not None:
            raise BadValue("workers counts processes on this machine; a cluster's (scheduler) are its own")
    results_file = None if out is None else ResultsFile(out)
    if results_file is not None and results_file.has_lines() and not resume:
        raise BadValue(f"out: {out} already holds results; resume them, or choose another file")
    source = data_source(data)
    done = results_file.finished(source) if results_file is not None and resume else {}
    results = [done.get(run) for run in runs]
    todo = [i for i, result in enumerate(results) if result is None]
    if not todo:
        return results
    pool = LocalWorkers(min(workers or available_cpus(), len(todo))) if scheduler is None else DaskWorkers(scheduler)
    with pool:
        pool.start(functools.partial(preload, data, any(runs[i].expanded for i in todo)))
        pool.warm(warm_up, ([runs[i] for i in todo], data))
        tasks = [(runs[i], data, networks) for i in todo]
        for k, outcome in pool.run(train, tasks):
            i = todo[k]
            result = outcome.value._replace(attempts=outcome.attempts) if outcome.value is not None else \
                _failed(runs[i], outcome.error, outcome.attempts)
            result = result._replace(data=source)
            results[i] = result
            if results_file is not None:
                results_file.append(result)
            if progress is not None:
                progress.epoch()
            if log is not None:
                log(describe(result))
    return results


def describe(result):
    """One line for a finished run."""
    if result.status != "done":
        return f"{result.run}: failed ({result.error})"
    test = "" if result.test is None else f", test {result.test:.2f}%"
    return (f"{result.run}: best {result.scored_on} accuracy {result.best:.2f}% after epoch {result.best_epoch}"
            f"{test}, {result.seconds:.1f} s")


def summary(results):
    """A Markdown table of the results by configuration: runs, best and mean of the runs' best scores,
    their spread (best minus worst) and the mean time of a run."""
    groups = {}
    for result in results:
        if result is not None and result.status == "done":
            groups.setdefault(result.run.configuration, []).append(result)
    lines = ["| configuration | runs | best | mean | spread | time a run |", "|---|---|---|---|---|---|"]
    for configuration, group in groups.items():
        best = [r.best for r in group]
        name = str(configuration).rsplit(", seed", 1)[0]
        lines.append(f"| {name} | {len(group)} | {max(best):.2f}% | {np.mean(best):.2f}% | "
                     f"{max(best) - min(best):.2f} | {np.mean([r.seconds for r in group]):.1f} s |")
    failed = sum(1 for r in results if r is not None and r.status != "done")
    return "\n".join(lines) + (f"\n\n{failed} run{'s' if failed != 1 else ''} failed" if failed else "")


def vote(networks, data):
    """The networks' plurality vote on ``data`` (``(x, y)``: inputs ``(n, 784)`` and labels, as ``load_data``
    gives them): ``(accuracy, error_locations, erroneous_predictions)``, a tie going to the earliest
    of the tied networks' choice (``network3.vote``'s rule). Networks of any one chapter, as ``sweep``
    returns them with ``networks=True``."""
    networks = list(networks)
    kinds = {type(net) for net in networks}
    if len(kinds) != 1 or not kinds <= {Network, network2.Network, network3.Network}:
        raise BadType(f"vote: networks must be a non-empty list of networks of one chapter, got {networks!r:.60}")
    if kinds == {network3.Network}:
        return network3.vote(networks, data)
    x, y = (np.asarray(part) for part in data)
    if x.ndim != 2 or x.shape[1] != networks[0].sizes[0] or y.shape != (len(x),) or not len(x):
        raise BadValue(f"vote: data must be inputs (n, {networks[0].sizes[0]}) and n labels, got {x.shape} and {y.shape}")
    return plurality(np.stack([np.argmax(net.feedforward(x.T), axis=0) for net in networks]), y)
