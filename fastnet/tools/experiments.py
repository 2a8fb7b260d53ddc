"""The book's experiments, rerun and set beside the book's figures (``fastnet book``).

Chapter 1: the chapter's runs of ``network.py`` (784-30-10 and 784-100-10 at eta 3.0, the best of
three seeds where the book took the best of three; the tiny and the huge learning rate; a
network without a hidden layer; the average-darkness baseline).

Chapter 3: the runs the book recorded with ``network2.py`` and ``random.seed(12345678)``,
``np.random.seed(12345678)`` (its ``fig/*.json``), each exactly as the book's script makes it:
overfitting on 1,000 images for 400 epochs with and without L2 regularisation, the same on all
50,000 images for 30 epochs, and the default against the large weight initialisation (the large
one trained after the default one in the same run, as the book's script does).

Chapter 6: the chapter's ``network3`` runs with the book's hyper-parameters (mini-batch 10): a fully
connected network, then one and two convolution-pooling layers, ReLU with L2 regularisation, the
expanded training set, a second fully connected layer, and the dropout network with two 1,000-wide
layers, five of which then vote. One run each (the book took the best of three).

Each experiment gives a ``Row``: its name, the book's figure, the measured one, its time, and its
per-epoch curves for ``fastnet.plots``.
"""

import random
import time
from typing import NamedTuple, Optional

import numpy as np

from .. import engine, network2, network3
from ..network import Network
from ..network3 import ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer
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


CHAPTER_6_NETWORKS = ("fc", "conv", "conv-conv", "relu", "relu-fc-fc", "dropout")  # chapter_6_layers' names


def record_epoch_accuracy(line, curve):
    """Append to ``curve`` the validation accuracy in % of network3's line "Epoch 3: validation accuracy 98.52%"."""
    if line.startswith("Epoch "):
        curve.append(float(line.rsplit(" ", 1)[1].rstrip("%")))


def chapter_6_layers(kind, m):
    """The book's chapter-6 networks by name, for mini-batches of ``m`` (its layers drawn now, as the book's)."""
    conv1 = lambda act: ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), (2, 2), act)  # noqa: E731
    conv2 = lambda act: ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), (2, 2), act)  # noqa: E731
    if kind == "fc":
        return [FullyConnectedLayer(784, 100), SoftmaxLayer(100, 10)]
    if kind == "conv":
        return [conv1(network3.sigmoid), FullyConnectedLayer(20 * 12 * 12, 100), SoftmaxLayer(100, 10)]
    if kind == "conv-conv":
        return [conv1(network3.sigmoid), conv2(network3.sigmoid), FullyConnectedLayer(640, 100), SoftmaxLayer(100, 10)]
    if kind == "relu":
        return [conv1(ReLU), conv2(ReLU), FullyConnectedLayer(640, 100, ReLU), SoftmaxLayer(100, 10)]
    if kind == "relu-fc-fc":
        return [conv1(ReLU), conv2(ReLU), FullyConnectedLayer(640, 100, ReLU), FullyConnectedLayer(100, 100, ReLU),
                SoftmaxLayer(100, 10)]
    return [conv1(ReLU), conv2(ReLU), FullyConnectedLayer(640, 1000, ReLU, p_dropout=0.5),  # "dropout"
            FullyConnectedLayer(1000, 1000, ReLU, p_dropout=0.5), SoftmaxLayer(1000, 10, p_dropout=0.5)]


CHAPTER_6 = [  # (experiment, network, eta, lmbda, expanded data, epochs, the book's test accuracy in %)
    ("FC 100 sigmoid, softmax, eta 0.1", "fc", 0.1, 0.0, False, 60, 97.80),
    ("conv 20x5x5 pool 2, FC 100, sigmoid, eta 0.1", "conv", 0.1, 0.0, False, 60, 98.78),
    ("conv 20x5x5, conv 40x20x5x5, FC 100, sigmoid, eta 0.1", "conv-conv", 0.1, 0.0, False, 60, 99.06),
    ("the same in ReLU, eta 0.03, lmbda 0.1", "relu", 0.03, 0.1, False, 60, 99.23),
    ("the same on the expanded data", "relu", 0.03, 0.1, True, 60, 99.37),
    ("the same with a second FC 100", "relu-fc-fc", 0.03, 0.1, True, 60, 99.43),
    ("two conv, FC 1000 x 2 and softmax with dropout 0.5, expanded, eta 0.03", "dropout", 0.03, 0.0, True, 40, 99.60),
]
ENSEMBLE = 5  # dropout networks that vote; the book: 99.67%
BOOK_ENSEMBLE = 99.67
QUICK_6 = (2, 5000, 1000)  # --quick: epochs per run, training images, validation and test images


def chapter_6_data(data, quick):
    """(training, expanded training, validation, test) as ``load_data_shared`` gives them, cut for ``quick``."""
    _, images, scored = QUICK_6 if quick else (None, None, None)
    plain, expanded = network3.load_data_shared(data), network3.load_data_shared(data, expanded=True)[0]
    cut = lambda pair, n: pair if n is None else tuple(  # noqa: E731
        network3.SharedArray(part.get_value(borrow=True)[:n].copy(), part.name) for part in pair)
    return cut(plain[0], images), cut(expanded, images), cut(plain[1], scored), cut(plain[2], scored)


def chapter_6_plan(quick):
    """(experiment, network, eta, lmbda, expanded, epochs, book, runs) of every run, the ensemble's included."""
    plan = []
    for name, kind, eta, lmbda, expanded, epochs, book in CHAPTER_6:
        runs = ENSEMBLE if kind == "dropout" else 1
        plan.append((name, kind, eta, lmbda, expanded, QUICK_6[0] if quick else epochs, book, runs))
    return plan


def chapter_6_estimate(training, expanded, validation, quick, m=10, steps=50):
    """Seconds an epoch of each run of ``chapter_6_plan`` should take here (a list, in its order): each
    network's first ``steps`` mini-batches and an evaluation of 500 images timed after its kernels are
    ready, on one thread and on every CPU (the faster counts, as the runs will choose)."""
    X = training[0].get_value(borrow=True)[: steps * m]
    Y = training[1].get_value(borrow=True)[: steps * m].astype(np.int64)
    per_step, per_image = {}, {}
    for name, kind, eta, lmbda, _, epochs, _, runs in chapter_6_plan(quick):
        if kind not in per_step:
            state = np.random.get_state()
            specs = [layer._spec() for layer in chapter_6_layers(kind, m)]
            np.random.set_state(state)  # the estimate draws nothing that the runs will
            per_step[kind] = per_image[kind] = np.inf
            for threads in sorted({1, engine.available_cpus()}):
                net = engine.pack_convnet(specs, np.float32)
                masks = engine.convnet_dropout_masks(net, m, np.random.default_rng(0))
                run = engine.ConvNetRun(net, m, masks, threads=threads)
                run.prepare(X, Y)
                start = time.perf_counter()
                run.steps(X, Y, 0, len(Y) // m, eta, 0.0)
                per_step[kind] = min(per_step[kind], (time.perf_counter() - start) / (len(Y) // m))
                start = time.perf_counter()
                engine.convnet_predictions(net, X[:500], threads)
                per_image[kind] = min(per_image[kind], (time.perf_counter() - start) / 500)
    return [network3.size(expanded if is_expanded else training) // m * per_step[kind]
            + 2 * network3.size(validation) * per_image[kind]
            for name, kind, eta, lmbda, is_expanded, epochs, _, runs in chapter_6_plan(quick)]


def chapter_6(training, expanded, validation, test, seed, quick, progress, epoch_seconds=None):
    """Rerun chapter 6's experiments (``chapter_6_data``'s sets): returns the rows, the first convolution's
    filters of the ReLU network and the ensemble's mistakes ``(images, labels, votes)``. ``epoch_seconds``
    (``chapter_6_estimate``) weighs each run's epochs in ``progress``'s estimate of the time left."""
    rows, filters, ensemble, voters_seconds = [], None, [], 0.0
    for number, (name, kind, eta, lmbda, is_expanded, epochs, book, runs) in enumerate(chapter_6_plan(quick)):
        data = expanded if is_expanded else training
        for run in range(runs):
            label = name if runs == 1 else f"{name}, net {run + 1} of {runs}"
            progress.begin(label, epochs, 1.0 if epoch_seconds is None else epoch_seconds[number])
            start, curve = time.perf_counter(), []

            def log(line):
                progress.epoch_log(line)
                record_epoch_accuracy(line, curve)

            np.random.seed(seed + run)
            net = network3.Network(chapter_6_layers(kind, 10), 10)
            best, iteration, accuracy = net.SGD(data, epochs, 10, eta, validation, test, lmbda=lmbda, log=log)
            if run == 0:
                measured = (f"{100 * accuracy:.2f}% (validation {100 * best:.2f}% after epoch "
                            f"{(iteration + 1) // (network3.size(data) // 10) - 1})")
                rows.append(Row(f"{name}, {epochs} epochs", f"{book:.2f}% (best of three runs)", measured,
                                time.perf_counter() - start, {"validation accuracy": curve}, book))
            else:
                voters_seconds += time.perf_counter() - start
            if kind == "relu" and filters is None:
                filters = net.layers[0].w.get_value()
            if kind == "dropout":
                ensemble.append(net)
    accuracy, errors, votes = network3.vote(ensemble, test)
    rows.append(Row(f"vote of the {len(ensemble)} dropout networks (the first one above, {len(ensemble) - 1} more)",
                    f"{BOOK_ENSEMBLE:.2f}%", f"{100 * accuracy:.2f}% ({len(errors)} of {network3.size(test):,} wrong)",
                    voters_seconds, {}, BOOK_ENSEMBLE))
    images = test[0].get_value()[errors]
    return rows, filters, (images, test[1].get_value()[errors], np.array(votes))


def table(rows):
    """The rows as a Markdown table."""
    lines = ["| experiment | the book | measured | time |", "|---|---|---|---|"]
    lines += [f"| {row.experiment} | {row.figure} | {row.measured} | {row.seconds:.1f} s |" for row in rows]
    return "\n".join(lines)
