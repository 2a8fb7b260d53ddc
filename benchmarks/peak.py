"""One core's multiply-add peak, as fastnet's own SIMD vocabulary reaches it: the yardstick for "a
kernel runs at x% of the machine's float32 (or float64) peak".

A compiled loop keeps one register tile (``simd.TILE_BLOCKS`` blocks of 16 lanes: as many
independent fused multiply-add chains as the CPU's vector registers hold for fastnet's tiles) and
runs ``fma`` on it with no memory traffic at all. Its rate is the peak a kernel built from the same
blocks can approach: 2 flops per lane per ``fma``. Run it alone on an idle machine:

    python benchmarks/peak.py
"""

import time

import numpy as np
from numba import njit

from fastnet.engine.simd import LANES, TILE_BLOCKS, fma, load, repeat, store_each


@njit(cache=True, error_model="numpy")
def _fma_chains(x, out, steps):
    """``steps`` rounds of acc = acc * a + b on a whole tile (E blocks), the tile then written to ``out``."""
    a, b = repeat(load(x, 0)), repeat(load(x, LANES))
    acc = repeat(load(x, 2 * LANES))
    for _ in range(steps):
        acc = fma(acc, a, b)
    store_each(out, 0, LANES, acc)


def peak_gflops(dtype, steps=20_000_000, repeats=5):
    """The best of ``repeats`` timings of ``_fma_chains``, as G multiply-adds times 2 per second."""
    x = np.full(3 * LANES, 0.5, dtype=dtype)
    x[LANES:] = 0.25  # acc -> acc / 2 + 1/4 stays finite and normal
    out = np.zeros(TILE_BLOCKS[np.dtype(dtype).itemsize] * LANES, dtype=dtype)
    _fma_chains(x, out, 10)  # compile
    best = min(_timed(x, out, steps) for _ in range(repeats))
    return 2 * LANES * TILE_BLOCKS[np.dtype(dtype).itemsize] * steps / best / 1e9


def _timed(x, out, steps):
    start = time.perf_counter()
    _fma_chains(x, out, steps)
    return time.perf_counter() - start


if __name__ == "__main__":
    for dtype in (np.float32, np.float64):
        blocks = TILE_BLOCKS[np.dtype(dtype).itemsize]
        print(f"{np.dtype(dtype).name}: {peak_gflops(dtype):.1f} GFLOP/s on one core "
              f"({blocks} chains of {LANES}-lane fused multiply-adds)")
