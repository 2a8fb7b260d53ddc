"""Chapter 5, the vanishing gradient, rerun on the sweep machinery (``fastnet book --chapter 5``).

Two experiments with ``network2`` (cross-entropy, the default initialisation):

- accuracy against depth: 784-30-10 to 784-30-30-30-30-10, eta 0.1, lmbda 5.0, mini-batch 10, 30
  epochs, validation accuracy, several seeds, all runs at once (``tools.sweep``);
- the speed of learning of each hidden layer: the norm of the mean of dC/db over the first 1,000
  training images, at initialisation (averaged over seeds: the book's run was not seeded) and over
  500 epochs of full-batch training on those images (mini-batch 1,000, eta 0.1, lmbda 5.0), one
  network of each depth per process.
"""

import numpy as np

from .. import mnist_loader, network2
from .experiments import seed_both
from .sweep import grid, sweep
from .workers import LocalWorkers

DEPTHS = {  # hidden layers of 30: the book's validation accuracy in %
    1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53,
}
BOOK_NORMS = {  # hidden layers: the book's norms of dC/db at initialisation, first hidden layer first
    2: (0.066, 0.309), 3: (0.012, 0.060, 0.283), 4: (0.003, 0.017, 0.070, 0.285),
}
GRADIENT_IMAGES = 1000
GRADIENT_EPOCHS = 500
NORM_SEEDS = 5  # initial norms: the mean over this many seeds
SEEDS = 3  # depth runs per network
QUICK = dict(epochs=5, train_size=10_000, seeds=2, gradient_epochs=20)  # --quick


def sizes(hidden):
    """784, then ``hidden`` layers of 30, then 10."""
    return [784] + [30] * hidden + [10]


def mean_bias_gradient(net, X, Y):
    """The mean over the examples of dC/db, layer by layer: ``[(n_l,) ...]`` for the inputs ``X`` ``(n, 784)``
    and one-hot targets ``Y`` ``(n, 10)``; the output layer's delta is ``net.cost.delta``, as in ``backprop``."""
    activation, zs, activations = X.T.astype(np.float64), [], [X.T.astype(np.float64)]
    for w, b in zip(net.weights, net.biases):
        z = w.astype(np.float64) @ activation + b.astype(np.float64)
        activation = 1.0 / (1.0 + np.exp(-z))
        zs.append(z)
        activations.append(activation)
    delta = net.cost.delta(zs[-1], activations[-1], Y.T)
    means = [delta.mean(axis=1)]
    for l in range(2, len(net.sizes)):
        s = activations[-l]
        delta = (net.weights[-l + 1].T.astype(np.float64) @ delta) * s * (1 - s)  # sigma'(z) = s (1 - s)
        means.insert(0, delta.mean(axis=1))
    return means


def hidden_norms(net, X, Y):
    """The norm of the mean dC/db of each hidden layer, first hidden layer first: its speed of learning."""
    return [float(np.linalg.norm(g)) for g in mean_bias_gradient(net, X, Y)[:-1]]


def _first_images(data, n=GRADIENT_IMAGES):
    """The first ``n`` training images as the book's list of ``(x, y)`` pairs, and as arrays ``X``, one-hot ``Y``."""
    (images, labels), _, _ = mnist_loader.load_data(data)
    X, Y = images[:n], np.eye(10)[labels[:n]]
    return [(x[:, None], y[:, None]) for x, y in zip(X, Y)], X, Y


def initial_norms(hidden, seeds, data=None):
    """``hidden_norms`` of a new network with ``hidden`` hidden layers after ``seed_both(s)`` for each s of ``seeds``."""
    _, X, Y = _first_images(data)
    norms = []
    for seed in seeds:
        seed_both(seed)
        norms.append(hidden_norms(network2.Network(sizes(hidden)), X, Y))
    return np.array(norms)


def gradient_course(task):
    """``task = (hidden, seed, epochs, data)``: the hidden layers' norms before each of ``epochs`` epochs of
    full-batch SGD (eta 0.1, lmbda 5.0) on the first 1,000 images, as the book's gradient script records them."""
    hidden, seed, epochs, data = task
    pairs, X, Y = _first_images(data)
    seed_both(seed)
    net = network2.Network(sizes(hidden))
    course = []
    for _ in range(epochs):
        course.append(hidden_norms(net, X, Y))
        net.SGD(pairs, 1, GRADIENT_IMAGES, 0.1, lmbda=5.0, log=lambda line: None, threads=1)
    return course


def depth_runs(seed, quick):
    """The accuracy-against-depth runs: each depth with ``SEEDS`` seeds from ``seed``."""
    epochs, train_size, seeds = (QUICK["epochs"], QUICK["train_size"], QUICK["seeds"]) if quick else (30, None, SEEDS)
    return grid(3, network=[sizes(h) for h in DEPTHS], eta=0.1, lmbda=5.0, epochs=epochs, train_size=train_size,
                seed=range(seed, seed + seeds))


def depth_table(results):
    """A Markdown table of the depth runs: the book's figure, the best and the mean of the seeds' best."""
    lines = ["| network | the book | best of the seeds | mean | runs |", "|---|---|---|---|---|"]
    for hidden, book in DEPTHS.items():
        best = [r.best for r in results if r.status == "done" and r.run.network == "-".join(map(str, sizes(hidden)))]
        measured = (f"{max(best):.2f}% | {np.mean(best):.2f}%" if best else "(failed) | ")
        lines.append(f"| {'-'.join(map(str, sizes(hidden)))} | {book:.2f}% | {measured} | {len(best)} |")
    return "\n".join(lines)


def norms_table(norms):
    """A Markdown table of the initial norms (``{hidden: (seeds, hidden) array}``) beside the book's."""
    lines = ["| network | the book | measured (mean of seeds) | spread over seeds |", "|---|---|---|---|"]
    for hidden, values in norms.items():
        book = ", ".join(f"{v:.3f}" for v in BOOK_NORMS[hidden])
        mean = ", ".join(f"{v:.3f}" for v in values.mean(axis=0))
        spread = ", ".join(f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(values.min(axis=0), values.max(axis=0)))
        lines.append(f"| {'-'.join(map(str, sizes(hidden)))} | {book} | {mean} | {spread} |")
    return "\n".join(lines)


def falling(norms):
    """How the mean initial norms fall from the last hidden layer to the first: one line."""
    ratios = [a[i + 1] / a[i] for a in (values.mean(axis=0) for values in norms.values()) for i in range(len(a) - 1)]
    if min(ratios) > 1:
        return (f"In every network each hidden layer learns slower than the next, by a factor of {min(ratios):.1f} "
                f"to {max(ratios):.1f}: the earliest layers learn slowest.")
    return "Here the norms do not fall from every hidden layer to the one before it (the book's do)."


def chapter_5(seed, quick, workers=None, data=None, log=None, progress=None):
    """Run both experiments: ``(depth results, {hidden: initial norms (seeds, hidden)}, {hidden: course})``.
    The depth runs and the three courses of training are spread over ``workers`` processes."""
    results = sweep(depth_runs(seed, quick), workers=workers, data=data, log=log, progress=progress)
    norms = {hidden: initial_norms(hidden, range(seed, seed + NORM_SEEDS), data) for hidden in BOOK_NORMS}
    epochs = QUICK["gradient_epochs"] if quick else GRADIENT_EPOCHS
    courses = {}
    with LocalWorkers(min(workers or len(BOOK_NORMS), len(BOOK_NORMS))) as pool:
        tasks = [(hidden, seed, epochs, data) for hidden in BOOK_NORMS]
        for i, outcome in pool.run(gradient_course, tasks):
            if outcome.error:
                raise RuntimeError(f"the {tasks[i][0]}-hidden-layer course of training failed: {outcome.error}")
            courses[tasks[i][0]] = outcome.value
            if progress is not None:
                progress.epoch()
    return results, norms, dict(sorted(courses.items()))
