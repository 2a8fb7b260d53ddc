"""The ``fastnet`` command (also ``python -m fastnet``): train, evaluate, and rerun the book's chapters.

    fastnet [train] [--sizes 784,100,10] [--epochs 30] [--mini-batch-size 10] [--eta 3.0]
                    [--dtype float64|float32] [--seed N] [--train-size N] [--save PATH]
                    [--cost quadratic|cross-entropy] [--lmbda X] [--init default|large]
                    [--monitor LIST] [--evaluation-data test|validation]
                    [--plot PNG] [--threads N] [--data DIR]
    fastnet evaluate MODEL [--data DIR]
    fastnet book [--chapter 1|3|5|6] [--quick] [--seed N] [--plot DIR] [--data DIR]
    fastnet bench [--repeats N] [--data DIR]
    fastnet sweep [--chapter 1|3|6] [--network N ...] [--eta X ...] [--lmbda X ...] [--mini-batch-size N ...]
                  [--epochs N ...] [--seed N ...] [--dtype D ...] [--train-size N ...] [--expanded]
                  [--runs FILE] [--out FILE] [--resume] [--workers N | --scheduler ADDRESS]
                  [--plot DIR] [--data DIR]

Without a command it trains, so ``fastnet`` alone is the book's 784-100-10 run. With ``--cost``,
``--lmbda``, ``--init`` or ``--monitor`` it trains chapter 3's ``network2`` instead.
"""

import argparse
import json
import math
import os
import platform
import random
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

from .. import __version__, mnist_loader, network2
from .._book.files import ModelFileError
from ..mnist_loader import DataError
from ..engine import available_cpus, warm_up
from ..network import Network, load
from . import experiments
from .bench import CASES, DTYPES, reader_runs, reader_runs_table, scaling_table
from .progress import Progress, duration

COMMANDS = ("train", "evaluate", "book", "bench", "sweep")
MISTAKES_SHOWN = 60  # the ensemble's mistakes drawn by fastnet book --chapter 6 --plot (the book's had 33)
MONITORS = ("training-cost", "training-accuracy", "evaluation-cost", "evaluation-accuracy")


class CommandError(Exception):
    """A problem to report in one line, with no traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CommandError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


LAST_SEED = 2**32 - 3  # NumPy takes seeds below 2**32; chapter 1's experiments use the seed and the next two


def _seed_number(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {LAST_SEED}, got {text!r}") from None
    if not 0 <= value <= LAST_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {LAST_SEED}, got {value}")
    return value


def _finite(text, positive):
    """``text`` as a finite float, > 0 when ``positive``, else >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {'positive number' if positive else 'number >= 0'}, got {text!r}") from None
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise argparse.ArgumentTypeError(f"expected a finite number {'> 0' if positive else '>= 0'}, got {text}")
    return value


def _eta(text):
    return _finite(text, positive=True)


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers like 784,100,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1 or sizes[0] != 784 or sizes[-1] != 10:
        raise argparse.ArgumentTypeError(f"expected positive sizes from 784 (the pixels) to 10 (the digits), got {text!r}")
    return sizes


def _monitors(text):
    chosen = MONITORS if text == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [m for m in chosen if m not in MONITORS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"expected 'all' or a comma-separated list of {', '.join(MONITORS)}, got {text!r}")
    return chosen


def _lmbda(text):
    return _finite(text, positive=False)


def _data_option(parser):
    parser.add_argument("--data", default=None, help="MNIST directory or mnist.pkl.gz (default: $FASTNET_DATA, else the copy installed with fastnet)")


def train_parser():
    parser = _Parser(
        prog="fastnet train",
        description="Train the book's chapter-1 network on MNIST, printing the book's epoch lines, each "
        "followed by the epoch's time, then the best accuracy. Without options: 784-100-10, 30 epochs, "
        "mini-batch 10, eta 3.0. With --cost, --lmbda, --init or --monitor: chapter 3's network2 (cross-entropy "
        "unless --cost quadratic). Other commands: 'fastnet evaluate MODEL', 'fastnet book', 'fastnet bench'.",
    )
    parser.add_argument("--sizes", type=_sizes, default=[784, 100, 10], help="layer sizes (default 784,100,10)")
    parser.add_argument("--epochs", type=_positive_int, default=30, help="number of epochs (default 30)")
    parser.add_argument("--mini-batch-size", type=_positive_int, default=10, help="mini-batch size (default 10)")
    parser.add_argument("--eta", type=_eta, default=3.0, help="learning rate (default 3.0)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="arithmetic (default float64)")
    parser.add_argument("--seed", type=_seed_number, default=None, help="seed random and np.random for a repeatable run")
    parser.add_argument("--train-size", type=_positive_int, default=None, help="train on the first N of the 50,000 images")
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="save the trained network to PATH (.npz; chapter 3: the book's JSON)")
    parser.add_argument("--cost", choices=["quadratic", "cross-entropy"], default=None, help="chapter 3: the cost")
    parser.add_argument("--lmbda", type=_lmbda, default=None, help="chapter 3: L2 regularisation (default 0.0)")
    parser.add_argument("--init", choices=["default", "large"], default=None,
                        help="chapter 3: weights N(0, 1/n_in) (default) or N(0, 1) (large, chapter 1's)")
    parser.add_argument("--monitor", type=_monitors, default=None, metavar="LIST",
                        help="chapter 3: 'all' or some of " + ", ".join(MONITORS) + " (default evaluation-accuracy)")
    parser.add_argument("--evaluation-data", choices=["test", "validation"], default="test",
                        help="chapter 3: the data the evaluation monitors use (default test)")
    parser.add_argument("--plot", metavar="PNG", default=None, help="draw the accuracy (and cost) per epoch into PNG")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="train on exactly N threads (default: time one thread against several, keep the faster)")
    _data_option(parser)
    return parser


def evaluate_parser():
    parser = _Parser(prog="fastnet evaluate", description="Accuracy of a saved network on the test set, with its confusion matrix.")
    parser.add_argument("model", help="a network saved by 'fastnet train --save' or Network.save")
    _data_option(parser)
    return parser


def book_parser():
    parser = _Parser(
        prog="fastnet book",
        description="Rerun a chapter's experiments and print the book's figure beside the measured one, and "
        "each run's time. Chapter 3's are the runs the book recorded, with its seeds.",
    )
    parser.add_argument("--chapter", type=int, choices=[1, 3, 5, 6], default=1, help="the chapter (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs: 5 instead of 30 (chapter 3: and 40 instead of 400; chapter 6: 2 epochs "
                        "on 5,000 training images, scored on 1,000)")
    parser.add_argument("--seed", type=_seed_number, default=None,
                        help="seed of the first run, the next runs the following seeds (default: 0 for chapters 1 and 6, "
                        "the book's 12345678 for chapter 3)")
    parser.add_argument("--plot", metavar="DIR", default=None, help="draw each experiment's curves into DIR as PNG files")
    _data_option(parser)
    return parser


def bench_parser():
    parser = _Parser(
        prog="fastnet bench",
        description="Seconds per epoch of fastnet against the plain-NumPy reference over network sizes, "
        "mini-batch sizes and dtypes, then the book's 784-100-10 run from process start with an empty and a warm "
        "compile cache and beside a busy core, printed as Markdown tables (takes a few minutes).",
    )
    parser.add_argument("--repeats", type=_positive_int, default=3, help="timed epochs per row; the median is shown (default 3)")
    _data_option(parser)
    return parser


def sweep_parser():
    parser = _Parser(prog="fastnet sweep", description=(
        "Train many configurations as independent one-thread runs, as many at once as there are CPUs (or on a Dask "
        "cluster), each run's result appended to --out as it finishes. Each grid option takes one value or "
        "several; every combination runs. Options left out take the chapter's defaults (the book's main run)."))
    parser.add_argument("--chapter", type=int, choices=[1, 3, 6], default=1,
                        help="1: network.py (test accuracy), 3: network2.py, cross-entropy (validation accuracy), "
                        "6: network3.py (validation accuracy); default 1")
    grid = parser.add_argument_group("the grid")
    grid.add_argument("--network", nargs="+", metavar="N",
                      help="layer sizes such as 784,30,10 (chapters 1 and 3), or a chapter-6 network: "
                      + ", ".join(experiments.CHAPTER_6_NETWORKS))
    grid.add_argument("--eta", type=float, nargs="+", metavar="X", help="learning rates")
    grid.add_argument("--lmbda", type=float, nargs="+", metavar="X", help="L2 regularisation (chapters 3 and 6)")
    grid.add_argument("--mini-batch-size", type=int, nargs="+", metavar="N", help="mini-batch sizes")
    grid.add_argument("--epochs", type=int, nargs="+", metavar="N", help="epochs per run")
    grid.add_argument("--seed", type=int, nargs="+", metavar="N", help="seeds of random and np.random (default 0)")
    grid.add_argument("--dtype", nargs="+", choices=["float64", "float32"], help="arithmetic")
    grid.add_argument("--train-size", type=int, nargs="+", metavar="N", help="train on the first N images")
    grid.add_argument("--expanded", action="store_true", help="chapter 6: the 250,000 expanded training images")
    parser.add_argument("--runs", metavar="FILE", default=None,
                        help="a JSON list of runs instead of a grid, each an object of the options above")
    parser.add_argument("--out", metavar="FILE", default="sweep.jsonl",
                        help="results, one JSON line per finished run (default sweep.jsonl)")
    parser.add_argument("--resume", action="store_true", help="keep the runs --out has finished and run the others")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive_int, default=None, help="processes at once (default: one per CPU)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help='a Dask scheduler, such as tcp://host:8786 (needs pip install "fastnet[cluster]")')
    parser.add_argument("--plot", metavar="DIR", default=None, help="draw the curves and the scores into DIR")
    _data_option(parser)
    return parser


def _timed_log():
    """A ``log`` for ``SGD`` that appends each epoch's time to the book's epoch line."""
    last = time.perf_counter()

    def log(line):
        nonlocal last
        if not line.startswith("Epoch "):
            print(line, flush=True)
            return
        now = time.perf_counter()
        print(f"{line}  ({now - last:.2f} s)", flush=True)
        last = now

    return log


@contextmanager
def _user_file(what):
    """Report a failure to read or write the user's file or directory (``what``) in one line."""
    try:
        yield
    except OSError as exc:
        raise CommandError(f"{what}: {exc}") from None


def _seed(seed):
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)


def _require_plotting(path):
    """Fail early, in one line, when --plot is asked for without matplotlib."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from .plots import NEEDS_MATPLOTLIB

        raise CommandError(f"--plot: {NEEDS_MATPLOTLIB}") from None


def train(argv):
    args = train_parser().parse_args(argv)
    _require_plotting(args.plot)
    chapter_3 = any(v is not None for v in (args.cost, args.lmbda, args.init, args.monitor))
    compiling = threading.Thread(target=warm_up, args=(args.dtype,), daemon=True)
    compiling.start()  # a first compile overlaps with reading the data (both mostly outside the GIL)
    with _user_file("the MNIST data"):
        training, validation, test = mnist_loader.load_data(args.data)
    if args.train_size is not None:
        if args.train_size > len(training[1]):
            raise CommandError(f"--train-size {args.train_size} is more than the {len(training[1])} training images")
        training = (training[0][: args.train_size], training[1][: args.train_size])
    _seed(args.seed)
    sizes = "-".join(map(str, args.sizes))
    start = time.perf_counter()
    evaluation = validation if chapter_3 and args.evaluation_data == "validation" else test
    if chapter_3:
        net, curves, best = _train_chapter_3(args, sizes, training, evaluation)
    else:
        net = Network(args.sizes, dtype=args.dtype)
        print(f"Training {sizes} ({args.dtype}) on {len(training[1])} images: {args.epochs} epochs, mini-batch "
              f"{args.mini_batch_size}, eta {args.eta}", flush=True)
        scores = net.SGD(training, args.epochs, args.mini_batch_size, args.eta, test_data=test, log=_timed_log(),
                         threads=args.threads)
        curves, best = {"test accuracy": [100 * s / len(test[1]) for s in scores]}, (scores, len(test[1]), "")
    total = time.perf_counter() - start
    compiling.join()
    scores, n, what = best
    if scores:
        j = int(np.argmax(scores))
        print(f"Best{what}: {scores[j]} / {n} ({100 * scores[j] / n:.2f}%) in epoch {j}; total {total:.1f} s")
    else:
        print(f"Total {total:.1f} s")
    neglected = neglected_digits(net, evaluation)
    if neglected:
        cross_entropy = chapter_3 and args.cost != "quadratic"  # chapter 3's default cost
        remedy = "another --seed" + ("" if cross_entropy else ", or chapter 3's cross-entropy cost (--cost cross-entropy)")
        print(f"The network {' and '.join(map(str, neglected))}. Some runs stall like this, as the book warns; if more "
              f"epochs do not help, try {remedy}.")
    if args.save:
        with _user_file("--save"):
            net.save(args.save)
        print(f"Saved to {args.save}")
    if args.plot:
        from .plots import plot_history

        with _user_file("--plot"):
            plot_history(curves, percent=True, title=f"{sizes}, eta {args.eta:g}", path=args.plot)
        print(f"Plotted to {args.plot}")


NEGLECTED = 0.1  # a digit guessed for fewer than this fraction of its images is one the network hardly ever predicts


class Neglected(NamedTuple):
    """A digit that a network hardly ever predicts: guessed ``guesses`` times for the ``shown`` images of
    it among ``images``."""

    digit: int
    guesses: int
    shown: int
    images: int

    def __str__(self):
        """'never predicts the digit 8 (974 of the 10000 images are 8s)', or 'predicts ... only 3 times (...)'."""
        times = "time" if self.guesses == 1 else "times"
        how = (f"never predicts the digit {self.digit}" if self.guesses == 0
               else f"predicts the digit {self.digit} only {self.guesses} {times}")
        return f"{how} ({self.shown} of the {self.images} images are {self.digit}s)"


def neglected_digits(net, data):
    """``Neglected`` for each digit that ``net`` guesses for fewer than ``NEGLECTED`` of the images of ``data``
    (``(images, labels)``) that show it: the sign of a stalled run."""
    images, labels = data
    guesses = np.bincount(np.argmax(net.feedforward(images.T), axis=0), minlength=net.sizes[-1])
    counts = np.bincount(labels, minlength=net.sizes[-1])
    return [Neglected(d, int(guesses[d]), int(counts[d]), len(labels)) for d in range(net.sizes[-1])
            if guesses[d] < NEGLECTED * counts[d]]


def _train_chapter_3(args, sizes, training, evaluation):
    """``fastnet train`` on chapter 3's network2: returns the network, its curves and ``(accuracies, n, words)``
    for the summary."""
    cost = network2.QuadraticCost if args.cost == "quadratic" else network2.CrossEntropyCost
    lmbda, monitors = args.lmbda or 0.0, args.monitor or ("evaluation-accuracy",)
    net = network2.Network(args.sizes, cost=cost, dtype=args.dtype)
    if args.init == "large":
        net.large_weight_initializer()
    print(f"Training {sizes} ({args.dtype}, {cost.__name__}, lmbda {lmbda:g}, {args.init or 'default'} init) on "
          f"{len(training[1])} images: {args.epochs} epochs, mini-batch {args.mini_batch_size}, eta {args.eta}", flush=True)
    flags = {"monitor_" + name.replace("-", "_"): True for name in monitors}
    results = net.SGD(training, args.epochs, args.mini_batch_size, args.eta, lmbda=lmbda, evaluation_data=evaluation,
                      log=_timed_log(), threads=args.threads, **flags)
    names = ("evaluation cost", "evaluation accuracy", "training cost", "training accuracy")
    totals = {"evaluation accuracy": len(evaluation[1]), "training accuracy": len(training[1])}
    curves = {name: ([100 * v / totals[name] for v in values] if name in totals else values)
              for name, values in zip(names, results) if values}
    if results[1]:
        return net, curves, (results[1], len(evaluation[1]), f" {args.evaluation_data} accuracy")
    return net, curves, (results[3], len(training[1]), " training accuracy")


def evaluate(argv):
    args = evaluate_parser().parse_args(argv)
    net = network2.load(args.model) if str(args.model).endswith(".json") else load(args.model)
    if net.sizes[0] != 784 or net.sizes[-1] != 10:
        raise CommandError(f"{args.model} is a {'-'.join(map(str, net.sizes))} network, not one for MNIST (784 in, 10 out)")
    with _user_file("the MNIST data"):
        _, _, (test_x, test_y) = mnist_loader.load_data(args.data)
    guesses = np.argmax(net.feedforward(test_x.T), axis=0)
    correct = int(np.sum(guesses == test_y))
    print(f"{args.model}: {'-'.join(map(str, net.sizes))} ({net.dtype}), {correct} / {len(test_y)} correct ({100 * correct / len(test_y):.2f}%)")
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test_y, guesses), 1)
    print("Confusion matrix (rows: true digit, columns: guess):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for d in range(10):
        print(f"{d:>6}" + "".join(f"{n:>6}" for n in confusion[d]))


def book(argv):
    args = book_parser().parse_args(argv)
    _require_plotting(args.plot)
    if args.chapter == 1:
        seed = 0 if args.seed is None else args.seed
        with _user_file("the MNIST data"):
            training, _, test = mnist_loader.load_data(args.data)
        note = f" (--quick: {experiments.chapter_1_epochs(True)} epochs per run, the book ran 30)" if args.quick else ""
        print(f"The chapter-1 experiments, mini-batch 10, seeds from {seed}{note}", flush=True)
        progress = Progress(experiments.chapter_1_total(args.quick))
        rows = experiments.chapter_1(training, test, seed, args.quick, progress)
    elif args.chapter == 6:
        _book_chapter_6(args)
        return
    elif args.chapter == 5:
        _book_chapter_5(args)
        return
    else:
        seed = experiments.BOOK_SEED_CHAPTER_3 if args.seed is None else args.seed
        with _user_file("the MNIST data"):
            training, validation, test = mnist_loader.load_data_wrapper(args.data)
        long, short = experiments.chapter_3_epochs(args.quick)
        note = f" (--quick: {long} and {short} epochs, the book ran 400 and 30)" if args.quick else ""
        print(f"The chapter-3 runs the book recorded, network2, mini-batch 10, seed {seed}{note}", flush=True)
        progress = Progress(experiments.chapter_3_total(args.quick))
        rows = experiments.chapter_3(training, validation, test, seed, args.quick, progress)
    progress.close()
    print()
    print(experiments.table(rows))
    print()
    if args.chapter == 1:
        print("Runs of 784-100-10 at eta 3.0 vary: many seeds stall below 90%, one or two digits never learned,")
        print("and the others reach 96-97%. The book reported the best of three; try other --seed values.")
    else:
        print("Each row is one run; other seeds move these figures by up to about one percentage point")
        print("(docs/parity.md); try --seed.")
    if args.plot:
        with _user_file("--plot"):
            _plot_rows(rows, Path(args.plot))


def _book_chapter_5(args):
    """``fastnet book --chapter 5``: accuracy against depth and the hidden layers' speed of learning, in parallel."""
    from . import chapter5
    from .sweep import describe

    seed = 0 if args.seed is None else args.seed
    if seed + max(chapter5.SEEDS, chapter5.NORM_SEEDS) > 2**32:
        raise CommandError(f"book: argument --seed: chapter 5 seeds its runs with the seed and the next "
                           f"{chapter5.NORM_SEEDS - 1}, which NumPy takes below 2**32; expected at most "
                           f"{2**32 - chapter5.NORM_SEEDS}, got {seed}")
    runs = chapter5.depth_runs(seed, args.quick)
    epochs = chapter5.QUICK["gradient_epochs"] if args.quick else chapter5.GRADIENT_EPOCHS
    note = (f" (--quick: {runs[0].epochs} epochs on {runs[0].train_size:,} images, {epochs} epochs of the gradient "
            f"runs; the book ran 30 on 50,000 and {chapter5.GRADIENT_EPOCHS})") if args.quick else ""
    print(f"The chapter-5 experiments, network2 (cross-entropy), eta 0.1, lmbda 5.0, {len(runs)} depth runs and three "
          f"courses of training on {available_cpus()} CPUs at once, seeds from {seed}{note}", flush=True)
    progress = Progress(len(runs) + len(chapter5.BOOK_NORMS), unit="run")
    progress.begin("chapter 5")
    with _user_file("the MNIST data"):
        results, norms, courses = chapter5.chapter_5(seed, args.quick, data=args.data, log=progress.say,
                                                     progress=progress)
    progress.close()
    print()
    print(f"Validation accuracy at the best epoch, network2 by depth ({len(runs) // len(chapter5.DEPTHS)} seeds each):")
    print()
    print(chapter5.depth_table(results))
    print()
    print(f"Speed of learning at initialisation, the norm of the mean dC/db over the first 1,000 training images, "
          f"hidden layer 1 first (mean of {chapter5.NORM_SEEDS} seeds; the book's run was not seeded):")
    print()
    print(chapter5.norms_table(norms))
    print()
    print(f"After {epochs} epochs of full-batch training on those images (seed {seed}):")
    for hidden, course in courses.items():
        print(f"  {hidden} hidden layers: " + ", ".join(f"{v:.2g}" for v in course[-1]) +
              f" (from {', '.join(f'{v:.3f}' for v in course[0])})")
    print()
    print(chapter5.falling(norms))
    failed = [describe(r) for r in results if r.status != "done"]
    if failed:
        print("Failed: " + "; ".join(failed))
    if args.plot:
        from .plots import plot_speed_of_learning, plot_sweep

        directory = Path(args.plot)
        with _user_file("--plot"):
            plot_sweep(results, directory)
            for hidden, course in courses.items():
                plot_speed_of_learning(course, chapter5.BOOK_NORMS[hidden], path=directory / f"speed-of-learning-{hidden}.png",
                                       title=f"speed of learning: {hidden} hidden layers (seed {seed})")
        print(f"Plotted the depth curves and the speed of learning to {directory}")


def _book_chapter_6(args):
    """``fastnet book --chapter 6``: the estimate, the runs with their book lines kept quiet, the table, plots."""
    from ..engine import compile_notice
    seed = 0 if args.seed is None else args.seed
    if seed + experiments.ENSEMBLE > 2**32:  # checked now, not after hours of training
        raise CommandError(f"book: argument --seed: chapter 6 seeds its runs with the seed and the next "
                           f"{experiments.ENSEMBLE - 1}, which NumPy takes below 2**32; expected at most "
                           f"{2**32 - experiments.ENSEMBLE}, got {seed}")
    with _user_file("the MNIST data"):
        training, expanded, validation, test = experiments.chapter_6_data(args.data, args.quick)
    first, images, scored = experiments.QUICK_6
    note = (f" (--quick: {first} epochs on {images:,} training images, scored on {scored:,}; the book ran 40 or 60 "
            "epochs on 50,000 or 250,000)") if args.quick else ""
    print(f"The chapter-6 experiments, network3, float32, mini-batch 10, seeds from {seed}{note}", flush=True)
    with compile_notice():
        epoch_seconds = experiments.chapter_6_estimate(training, expanded, validation, args.quick)
    plan = experiments.chapter_6_plan(args.quick)
    seconds = sum(s * row[5] * row[-1] for s, row in zip(epoch_seconds, plan))
    runs = sum(row[-1] for row in plan)
    print(f"{runs} runs; about {duration(seconds)} on this machine (timed on each network's first mini-batches)",
          flush=True)
    progress = Progress(sum(row[5] * row[-1] for row in plan), work=seconds)  # epochs weighed by their estimates
    rows, filters, (images_wrong, labels, votes) = experiments.chapter_6(
        training, expanded, validation, test, seed, args.quick, progress, epoch_seconds)
    progress.close()
    print()
    print(experiments.table(rows))
    print()
    print("Each row is one run (the book reported the best of three); test accuracy at the epoch of best validation")
    print("accuracy, as the book's network3 prints it. Dropout masks come from NumPy, seeded (docs/chapter6.md).")
    if args.plot:
        from .plots import plot_digits, plot_filters

        directory = Path(args.plot)
        with _user_file("--plot"):
            _plot_rows(rows, directory)
            plot_filters(filters, title="the first convolution's 20 filters (ReLU network)",
                         path=directory / "filters.png")
            shown = min(len(labels), MISTAKES_SHOWN)
            plot_digits(images_wrong[:shown], labels[:shown], votes[:shown], path=directory / "ensemble-mistakes.png",
                        title=f"{'the' if shown == len(labels) else f'{shown} of the'} {len(labels)} test images the "
                        "ensemble got wrong: true digit (vote)")
        print(f"Plotted the filters and the ensemble's mistakes to {directory}")


def _plot_rows(rows, directory):
    """One PNG per experiment with curves, named after it."""
    from .plots import plot_history

    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    for number, row in enumerate(rows, 1):
        if row.curves:
            name = "".join(c if c.isalnum() else "-" for c in row.experiment.lower()).strip("-")
            while "--" in name:
                name = name.replace("--", "-")
            plot_history(row.curves, percent=True, book=row.book_accuracy, title=row.experiment,
                         path=directory / f"{number:02d}-{name}.png")
            written += 1
    print(f"Plotted {written} experiments to {directory}")


def bench(argv):
    args = bench_parser().parse_args(argv)
    with _user_file("the MNIST data"):
        (X, y), _, _ = mnist_loader.load_data(args.data)
    print(
        f"fastnet bench: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, NumPy {np.__version__}, numba {numba.__version__}; "
        f"median of {args.repeats} epochs of {len(y):,} images",
        flush=True,
    )
    progress = Progress(len(CASES) * (len(DTYPES) + 1) + 3, unit="measurement")
    table = scaling_table(X, y, args.repeats, progress=progress)
    progress.begin("the book's run, python -m fastnet: empty cache, warm, beside a busy core")
    runs = reader_runs(progress=progress)
    progress.close()
    print(table)
    print()
    print(reader_runs_table(runs))


GRID_OPTIONS = ("network", "eta", "lmbda", "mini_batch_size", "epochs", "seed", "dtype", "train_size")


def _sweep_runs(args):
    """The runs ``fastnet sweep`` was given: its --runs file, or the grid of its options."""
    from .._book.validation import MISTAKES
    from .sweep import grid, make_run

    options = {name: getattr(args, name) for name in GRID_OPTIONS if getattr(args, name) is not None}
    if args.expanded:
        options["expanded"] = True
    try:
        if args.runs is None:
            return grid(args.chapter, **options)
        if options:
            raise CommandError(f"sweep: --runs lists the runs; grid options ({', '.join(options)}) cannot be added")
        with _user_file("--runs"):
            listed = json.loads(Path(args.runs).read_text())
        if not isinstance(listed, list) or not all(isinstance(run, dict) for run in listed):
            raise CommandError(f"sweep: --runs {args.runs} must hold a JSON list of objects, one per run")
        runs = []
        for i, run in enumerate(listed):
            try:
                runs.append(make_run(**run))
            except MISTAKES as mistake:
                raise CommandError(f"sweep: --runs {args.runs}, run {i}: {mistake}") from None
        return runs
    except MISTAKES as mistake:
        raise CommandError(f"sweep: {mistake}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"sweep: --runs {args.runs} is not JSON: {error}") from None


def sweep_command(argv):
    from .._book.validation import MISTAKES
    from .sweep import ResultsFile, data_source, summary, sweep

    args = sweep_parser().parse_args(argv)
    _require_plotting(args.plot)
    runs = _sweep_runs(args)
    if not runs:
        raise CommandError(f"sweep: --runs {args.runs} lists no runs")
    results_file = ResultsFile(args.out)
    if results_file.has_lines() and not args.resume:
        raise CommandError(f"sweep: --out {args.out} already holds results: add --resume to continue that sweep, or "
                           "choose another file")
    with _user_file("--out"):
        try:
            finished = results_file.finished(data_source(args.data)) if args.resume else {}
        except MISTAKES as mistake:
            raise CommandError(f"sweep: {mistake}") from None
    todo = sum(1 for run in runs if run not in finished)
    where = (f"on the Dask cluster at {args.scheduler}" if args.scheduler else
             f"{min(args.workers or available_cpus(), max(todo, 1))} at a time on this machine")
    kept = f", {len(runs) - todo} of them already in {args.out}" if args.resume else ""
    print(f"Sweep of {len(runs)} runs{kept}: {todo} to train, {where}; results in {args.out}", flush=True)
    progress = Progress(todo, unit="run")
    progress.begin(f"sweep of {todo} runs")

    try:
        with _user_file("--out"):
            results = sweep(runs, args.out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                            data=args.data, log=progress.say, progress=progress)
    except MISTAKES as mistake:
        raise CommandError(f"sweep: {mistake}") from None
    except ImportError as error:
        raise CommandError(f"sweep: {error}") from None
    except KeyboardInterrupt:
        progress.close()
        done = len(ResultsFile(args.out).finished())
        print(f"fastnet: interrupted; the {done} runs finished are in {args.out}: the same command with --resume "
              "continues the sweep", file=sys.stderr)
        raise
    progress.close()
    print()
    print(summary(results))
    if args.plot and not any(r.status == "done" for r in results):
        print("Nothing to plot: no run finished")
    elif args.plot:
        from .plots import plot_sweep

        with _user_file("--plot"):
            paths = plot_sweep(results, args.plot)
        print(f"Plotted {', '.join(path.name for path in paths)} to {args.plot}")


def main(argv=None):
    """Run a command. A user's mistake (an option, a file that cannot be read or written, the data, a model
    file) is one line on stderr and exit code 2; anything else is a fault of fastnet's: its traceback, a
    line that says so, and exit code 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "train"
    try:
        {"train": train, "evaluate": evaluate, "book": book, "bench": bench, "sweep": sweep_command}[command](argv)
    except (CommandError, DataError, ModelFileError) as exc:
        print(f"fastnet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 (a bug: shown whole, and said to be one)
        traceback.print_exc()
        print(f"fastnet: this is a bug in fastnet {__version__}, not a mistake of yours; please report it with the "
              "traceback above", file=sys.stderr)
        return 1
    return 0
