"""The ``fastnet`` command (also ``python -m fastnet``): train the book's network on the bundled MNIST."""

import argparse
import random
import sys
import time

import numpy as np

from . import mnist_loader
from .network import Network


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 784,100,10, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1 or sizes[0] != 784 or sizes[-1] != 10:
        raise argparse.ArgumentTypeError(f"expected at least two positive sizes from 784 to 10 for MNIST, got {text!r}")
    return sizes


def train_parser():
    parser = argparse.ArgumentParser(
        prog="fastnet",
        description="Train the book's chapter-1 network on MNIST and print the book's epoch lines, "
        "each followed by the epoch's time. Without options: 784-100-10, 30 epochs, mini-batch 10, eta 3.0.",
    )
    parser.add_argument("--sizes", type=_sizes, default=[784, 100, 10], help="layer sizes (default 784,100,10)")
    parser.add_argument("--epochs", type=int, default=30, help="number of epochs (default 30)")
    parser.add_argument("--mini-batch-size", type=int, default=10, help="mini-batch size (default 10)")
    parser.add_argument("--eta", type=float, default=3.0, help="learning rate (default 3.0)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="arithmetic (default float64)")
    parser.add_argument("--seed", type=int, default=None, help="seed random and np.random for a repeatable run")
    parser.add_argument("--data", default=None, help="MNIST directory (default: $FASTNET_DATA, else the bundled data/)")
    return parser


def train(argv):
    args = train_parser().parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)
        np.random.seed(args.seed)
    (train_x, train_y), _, test = mnist_loader.load_data(args.data)
    net = Network(args.sizes, dtype=args.dtype)
    print(f"Training {'-'.join(map(str, args.sizes))} ({args.dtype}) on {len(train_y)} images: "
          f"{args.epochs} epochs, mini-batch {args.mini_batch_size}, eta {args.eta}")
    start = last = time.perf_counter()

    def log_with_time(line):
        nonlocal last
        now = time.perf_counter()
        print(f"{line}  ({now - last:.2f} s)", flush=True)
        last = now

    scores = net.SGD((train_x, train_y), args.epochs, args.mini_batch_size, args.eta, test_data=test, log=log_with_time)
    total = time.perf_counter() - start
    if scores:
        best = int(np.argmax(scores))
        print(f"Best: {scores[best]} / {len(test[1])} ({100 * scores[best] / len(test[1]):.2f}%) "
              f"in epoch {best}; total {total:.1f} s")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        train(argv)
    except (mnist_loader.DataError, ValueError, TypeError) as exc:
        print(f"fastnet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastnet: interrupted", file=sys.stderr)
        return 130
    return 0
