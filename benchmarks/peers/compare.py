"""Seconds per epoch against PyTorch (and JAX), each in fresh processes, taking turns.

    python benchmarks/peers/compare.py ROUNDS PYTHON_WITH_TORCH PYTHON_WITH_JAX
    python benchmarks/peers/compare.py chapter6 ROUNDS PYTHON_WITH_TORCH

Chapter 1: 784-100-10 (mini-batch 10) for the book's algorithm, PyTorch, JAX and fastnet, on MNIST
and on centred MNIST, in float64 and float32. The book's algorithm (fastnet.tools.reference, per
example) runs with this interpreter, as fastnet does.

Chapter 6: the book's three network3 networks (``fastnet_conv_epoch.py`` against
``torch_conv_epoch.py``), float32, on one thread and on every CPU, and fastnet's ratio to each.

Prints a Markdown table of the medians over the rounds.
"""

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = """
import random, sys, time, io, contextlib, numpy as np
from fastnet import mnist_loader
from fastnet.tools.reference import ReferenceNetwork
(X, y), _, _ = mnist_loader.load_data()
X = X.astype(np.float64)
if sys.argv[1] == "centred":
    X = X - X.mean(axis=0); X[X == 0] = 1e-3
eye = np.eye(10)
data = [(X[i].reshape(-1, 1), eye[:, [y[i]]]) for i in range(5000)]
random.seed(0); np.random.seed(0)
net = ReferenceNetwork([784, 100, 10])
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    net.SGD(data, 1, 10, 3.0)
print(f"reference float64 {sys.argv[1]}: {(time.perf_counter() - start) * 10:.3f} s per epoch (5,000 images, scaled)")
"""


def seconds(command):
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([0-9.]+) s per epoch", out).group(1))


def main(rounds, torch_python, jax_python):
    engines = {
        "the book's algorithm (plain NumPy, per example)": lambda dtype, data: None if dtype == "float32" else
        [sys.executable, "-c", REFERENCE, data],
        "PyTorch eager": lambda dtype, data: [torch_python, str(HERE / "torch_epoch.py"), dtype, data],
        "JAX, the whole epoch jit-compiled (lax.scan)": lambda dtype, data: [jax_python, str(HERE / "jax_epoch.py"), dtype, data],
        "fastnet": lambda dtype, data: [sys.executable, str(HERE / "fastnet_epoch.py"), dtype, data],
    }
    cells = {}
    for _ in range(int(rounds)):
        for data in ("mnist", "centred"):
            for dtype in ("float64", "float32"):
                for engine, command in engines.items():
                    if command(dtype, data):
                        cells.setdefault((engine, data, dtype), []).append(seconds(command(dtype, data)))
    print("| implementation | MNIST float64 | MNIST float32 | centred float64 | centred float32 |")
    print("|---|---|---|---|---|")
    for engine in engines:
        row = [f"{statistics.median(cells[(engine, d, t)]):.3f} s" if (engine, d, t) in cells else "-"
               for d in ("mnist", "centred") for t in ("float64", "float32")]
        print(f"| {engine} | " + " | ".join(row) + " |")


def epochs(command):
    """{network: seconds an epoch} from a chapter-6 script's lines: 5,000 mini-batches of its milliseconds each
    (the finer of the two figures it prints)."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {m.group(1): float(m.group(2)) * 5 for m in re.finditer(r"thread\(s\), (.+): ([0-9.]+) ms a mini-batch", out)}


def chapter_6(rounds, torch_python):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    scripts = {"fastnet": [sys.executable, str(HERE / "fastnet_conv_epoch.py")],
               "PyTorch eager": [torch_python, str(HERE / "torch_conv_epoch.py")]}
    cells = {}
    for _ in range(int(rounds)):
        for threads in sorted({1, cpus}):
            for engine, script in scripts.items():
                for network, s in epochs(script + ["float32", str(threads)]).items():
                    cells.setdefault((engine, threads, network), []).append(s)
    networks = list(dict.fromkeys(network for _, _, network in cells))
    print("| network (float32, s an epoch) | threads | PyTorch eager | fastnet | ratio |")
    print("|---|---|---|---|---|")
    for network in networks:
        for threads in sorted({1, cpus}):
            torch_s = statistics.median(cells[("PyTorch eager", threads, network)])
            fastnet_s = statistics.median(cells[("fastnet", threads, network)])
            print(f"| {network} | {threads} | {torch_s:.2f} s | {fastnet_s:.2f} s | {torch_s / fastnet_s:.2f}x |")


if __name__ == "__main__":
    if sys.argv[1] == "chapter6":
        chapter_6(*sys.argv[2:4])
    else:
        main(*sys.argv[1:4])
