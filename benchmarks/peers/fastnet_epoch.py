"""fastnet: the book's SGD epoch (784-100-10, mini-batch 10, eta 3.0), for the comparison with peers.

    python benchmarks/peers/fastnet_epoch.py float64|float32 mnist|centred

Prints the median seconds per epoch of three epochs after a first one (``Network.SGD``'s engine).
"""

import random
import statistics
import sys
import time

import numpy as np

import fastnet
from fastnet import mnist_loader
from fastnet.engine import QUADRATIC, Step, Training, data_set


def main(dtype, data):
    (X, y), _, _ = mnist_loader.load_data()
    X = X.astype(np.float64)
    if data == "centred":
        X = X - X.mean(axis=0)
        X[X == 0] = 1e-3
    random.seed(0)
    np.random.seed(0)
    net = fastnet.Network([784, 100, 10], dtype=dtype)
    run = Training(net._params(), data_set(X, y, 10, net.dtype))
    step = Step(3.0, 1.0, QUADRATIC)
    run.epoch(10, step)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run.epoch(10, step)
        times.append(time.perf_counter() - start)
    print(f"fastnet {fastnet.__version__} {dtype} {data}: {statistics.median(times):.3f} s per epoch "
          f"({run.threads(10)} thread{'s' if run.threads(10) > 1 else ''}, {'complete' if run.inputs.complete else 'sparse'} rows)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
