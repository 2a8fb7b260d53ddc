"""How far two float64 runs of the same algorithm drift apart over an epoch (docs/parity.md).

    python benchmarks/drift.py [SEED]

From the same seeds, 784-100-10 at eta 3.0 on MNIST: the book's algorithm per example, the same with
each mini-batch's gradient summed in another order (the fully matrix-based form), and fastnet.
Prints the relative difference of their weights after 300, 600, 2,500 and 5,000 mini-batches.
"""

import random
import sys

import numpy as np

import fastnet
from fastnet import mnist_loader
from fastnet.tools.reference import ReferenceNetwork

CHECKPOINTS = (300, 600, 2500, 5000)


def relative(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(a, b))


def main(seed=0):
    training, _, _ = mnist_loader.load_data_wrapper()
    random.seed(seed)
    order = list(range(len(training)))
    random.shuffle(order)  # one epoch's order, the same for all three
    batches = [[training[i] for i in order[k : k + 10]] for k in range(0, len(order), 10)]
    np.random.seed(seed)
    book = ReferenceNetwork([784, 100, 10])
    np.random.seed(seed)
    reordered = ReferenceNetwork([784, 100, 10])
    np.random.seed(seed)
    net = fastnet.Network([784, 100, 10])
    print("| mini-batches | " + " | ".join(f"{c:,}" for c in CHECKPOINTS) + " |")
    print("|---|" + "---|" * len(CHECKPOINTS))
    rows = {"book vs book with reordered sums": [], "fastnet vs book": []}
    for step, batch in enumerate(batches, 1):
        book.update_mini_batch(batch, 3.0)
        reordered.update_mini_batch_matrix(batch, 3.0)
        net.update_mini_batch(batch, 3.0)
        if step in CHECKPOINTS:
            rows["book vs book with reordered sums"].append(relative(reordered.weights, book.weights))
            rows["fastnet vs book"].append(relative(net.weights, book.weights))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.0e}" for v in values) + " |")


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:2]])
