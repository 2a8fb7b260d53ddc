"""JAX: the book's SGD epoch (784-100-10, mini-batch 10, eta 3.0, the quadratic cost), the whole epoch
jit-compiled as one lax.scan over its mini-batches.

    python benchmarks/peers/jax_epoch.py float64|float32 mnist|centred

Needs JAX (not a fastnet dependency: install it in a venv of its own, ``pip install jax jaxlib``).
Reads the MNIST that fastnet bundles, as fastnet reads it, and prints the first epoch's time
(compile included) and the median of the next three.
"""
import gzip
import statistics
import sys
import time
from pathlib import Path

import numpy as np

dtype, data = sys.argv[1], sys.argv[2]
import jax  # noqa: E402

if dtype == "float64":
    jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

DATA = Path(__file__).resolve().parent.parent.parent / "data"


def idx(name, offset):
    return np.frombuffer(gzip.decompress((DATA / name).read_bytes()), np.uint8, offset=offset)



X = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:50000].astype(np.float64) / 256
y = idx("train-labels-idx1-ubyte.gz", 8)[:50000]
if data == "centred":
    X = X - X.mean(axis=0)
    X[X == 0] = 1e-3
X = X.astype(dtype)
Y = np.eye(10, dtype=dtype)[y]
rng = np.random.default_rng(0)
params = tuple(jnp.asarray(a, dtype=dtype) for a in (rng.standard_normal((100, 784)), rng.standard_normal(100),
                                                    rng.standard_normal((10, 100)), rng.standard_normal(10)))
def sigmoid(z):
    return 1 / (1 + jnp.exp(-z))
def step(params, batch):
    W1, b1, W2, b2 = params
    x, t = batch
    a1 = sigmoid(x @ W1.T + b1)
    a2 = sigmoid(a1 @ W2.T + b2)
    d2 = (a2 - t) * a2 * (1 - a2)
    d1 = (d2 @ W2) * a1 * (1 - a1)
    c = 3.0 / x.shape[0]
    return (W1 - c * (d1.T @ x), b1 - c * d1.sum(0), W2 - c * (d2.T @ a1), b2 - c * d2.sum(0)), None
@jax.jit
def epoch(params, Xb, Yb):
    return jax.lax.scan(step, params, (Xb, Yb))[0]
def one_epoch(params):
    order = rng.permutation(50000)
    out = epoch(params, jnp.asarray(X[order].reshape(5000, 10, 784)), jnp.asarray(Y[order].reshape(5000, 10, 10)))
    jax.block_until_ready(out)
    return out
t = time.perf_counter(); params = one_epoch(params); first = time.perf_counter() - t
times = []
for _ in range(3):
    t = time.perf_counter(); params = one_epoch(params); times.append(time.perf_counter() - t)
print(f"jax {dtype} {data}: first epoch (compile included) {first:.2f} s, then {statistics.median(times):.3f} s per epoch")
