"""The book's experiments, rerun and set beside the book's figures (``fastnet book``).

Chapter 1: the chapter's runs of ``network.py`` (784-30-10 and 784-100-10 at eta 3.0, the best of
three seeds where the book took the best of three; the tiny and the huge learning rate; a
network without a hidden layer; the average-darkness baseline).

Chapter 3: the runs the book recorded with ``network2.py`` and ``random.seed(12345678)``,
``np.random.seed(12345678)`` (its ``fig/*.json``), each exactly as the book's script makes it:
overfitting on 1,000 images for 400 epochs with and without L2 regularisation, the same on all
50,000 images for 30 epochs, and the default against the large weight initialisation (the large
one trained after the default one in the same run, as the book's script does).

Each experiment gives a ``Row``: its name, the book's figure, the measured one, its time, and its
per-epoch curves for ``fastnet.plots``.
"""

import random
import time
from typing import NamedTuple, Optional

import numpy as np

from .. import network2
from ..network import Network
from .baselines import average_darkness

BOOK_SEED_CHAPTER_3 = 12345678  # the seed of every recorded chapter-3 run


class Row(NamedTuple):
    """One experiment's line of the table, and its curves: per-epoch values by name (accuracies in %)."""

    experiment: str
    figure: str
    measured: str
    seconds: float
    curves: dict
    book_accuracy: Optional[float]  # the book's figure in %, marked on the plot


def seed_both(seed):
    """Seed Python's ``random`` and NumPy's global generator, as the book's scripts do."""
    random.seed(seed)
    np.random.seed(seed)


CHAPTER_1 = [  # (network, eta, runs, the book's figure, what to measure, the book's accuracy in % or None)
    ([784, 30, 10], 3.0, 3, "9,129 after epoch 0; best 95.42% (best of three runs)", "first and best", 95.42),
    ([784, 100, 10], 3.0, 3, "best 96.59% (best of three runs)", "best", 96.59),
    ([784, 100, 10], 0.001, 1, "1,139 after epoch 0; 2,142 after epoch 29", "first and last", 21.42),
    ([784, 30, 10], 100.0, 1, "stuck near 1,009, then 982", "first and last", 9.82),
    ([784, 10], 3.0, 1, "(exercise: no hidden layer)", "best", None),
]


def chapter_1_epochs(quick):
    return 5 if quick else 30


def chapter_1_total(quick):
    """Epochs that ``chapter_1`` runs in all (for a progress line)."""
    return sum(runs for _, _, runs, *_ in CHAPTER_1) * chapter_1_epochs(quick)


def _describe(scores, what, n, runs):
    if runs > 1:
        return f"best of {runs} runs: " + _describe(scores, what, n, 1)
    if what == "best":
        return f"best {100 * max(scores) / n:.2f}% (epoch {int(np.argmax(scores))})"
    if what == "first and best":
        return f"{scores[0]:,} after epoch 0; best {100 * max(scores) / n:.2f}%"
    return f"{scores[0]:,} after epoch 0; {scores[-1]:,} after epoch {len(scores) - 1}"


def chapter_1(training, test, seed, quick, progress):
    """Rerun chapter 1's experiments on ``(images, labels)`` arrays; runs take the seeds seed, seed + 1, ..."""
    epochs, n = chapter_1_epochs(quick), len(test[1])
    rows = []
    for sizes, eta, runs, figure, what, book in CHAPTER_1:
        name = f"{'-'.join(map(str, sizes))}, eta {eta:g}"
        start, curves, best = time.perf_counter(), {}, None
        for run in range(runs):
            progress.begin(f"{name}, seed {seed + run}", epochs)
            seed_both(seed + run)
            scores = Network(sizes).SGD(training, epochs, 10, eta, test_data=test, log=progress.epoch_log)
            curves[f"test accuracy, seed {seed + run}"] = [100 * s / n for s in scores]
            best = scores if best is None or max(scores) > max(best) else best
        rows.append(Row(name, figure, _describe(best, what, n, runs), time.perf_counter() - start, curves, book))
    start = time.perf_counter()
    darkness = average_darkness(training, test)
    rows.append(Row("average-darkness baseline", "2,225 / 10,000", f"{darkness:,} / {n:,}",
                    time.perf_counter() - start, {}, None))
    return rows


def chapter_3_epochs(quick):
    """(epochs of the 1,000-image runs, epochs of the others)."""
    return (40, 5) if quick else (400, 30)


def chapter_3_total(quick):
    long, short = chapter_3_epochs(quick)
    return 2 * long + short + 4 * short


def _peak(accuracies, n):
    return f"peaks at {100 * max(accuracies) / n:.2f}% (epoch {int(np.argmax(accuracies))})"


def chapter_3(training, validation, test, seed, quick, progress):
    """Rerun the book's recorded chapter-3 runs on its lists of examples (``load_data_wrapper``)."""
    long, short = chapter_3_epochs(quick)
    rows = []
    runs = [  # (name, images, epochs, lmbda, the book's figure, its accuracy in %)
        ("784-30-10, cross-entropy, large init, eta 0.5, 1,000 images, lmbda 0", 1000, long, 0.0, 82.27),
        ("784-30-10, cross-entropy, large init, eta 0.5, 1,000 images, lmbda 0.1", 1000, long, 0.1, 87.10),
        ("784-30-10, cross-entropy, large init, eta 0.5, 50,000 images, lmbda 5", len(training), short, 5.0, 96.49),
    ]
    for name, images, epochs, lmbda, book in runs:
        progress.begin(name, epochs)
        start = time.perf_counter()
        seed_both(seed)
        net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost())  # an instance, as the book's script
        net.large_weight_initializer()
        cost, accuracy, training_cost, _ = net.SGD(
            training[:images], epochs, 10, 0.5, lmbda=lmbda, evaluation_data=test, monitor_evaluation_cost=True,
            monitor_evaluation_accuracy=True, monitor_training_cost=True, log=progress.epoch_log)
        curves = {"test accuracy": [100 * a / len(test) for a in accuracy], "test cost": cost, "training cost": training_cost}
        rows.append(Row(f"{name}, {epochs} epochs", f"test accuracy peaks at {book:.2f}%", _peak(accuracy, len(test)),
                        time.perf_counter() - start, curves, book))
    for hidden, books in ((30, (96.53, 96.48)), (100, (97.81, 97.55))):
        seed_both(seed)
        net = network2.Network([784, hidden, 10], cost=network2.CrossEntropyCost)
        for init, book in zip(("default init", "large init, trained after the default one"), books):
            if init != "default init":
                net.large_weight_initializer()
            name = f"784-{hidden}-10, cross-entropy, {init}, eta 0.1, lmbda 5, {short} epochs"
            progress.begin(name, short)
            start = time.perf_counter()
            accuracy = net.SGD(training, short, 10, 0.1, lmbda=5.0, evaluation_data=validation,
                               monitor_evaluation_accuracy=True, log=progress.epoch_log)[1]
            rows.append(Row(name, f"validation accuracy peaks at {book:.2f}%", _peak(accuracy, len(validation)),
                            time.perf_counter() - start,
                            {"validation accuracy": [100 * a / len(validation) for a in accuracy]}, book))
    return rows


def table(rows):
    """The rows as a Markdown table."""
    lines = ["| experiment | the book | measured | time |", "|---|---|---|---|"]
    lines += [f"| {row.experiment} | {row.figure} | {row.measured} | {row.seconds:.1f} s |" for row in rows]
    return "\n".join(lines)
