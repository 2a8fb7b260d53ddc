"""What a reader waits for, from the start of a fresh process (``pytest --benchmark-only``).

- Cold start: ``python -m fastnet --epochs 1`` with an empty numba cache, to its first epoch line,
  against ``minimal_epoch.py`` (one sparse-input numba function for the same epoch, compiled and
  run in a fresh process), in float64 and float32, each run alternating with the other.
- The book's run: ``python -m fastnet`` (784-100-10, 30 epochs) to its last line, with an empty
  cache, a warm one, and a warm one beside another process that keeps one core busy.

Each figure is one fresh process; the summary prints the ratios.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fastnet.tools.bench import busy_core, run_timed
from fastnet.engine.jit import COMPILE_NOTICE

MINIMAL = Path(__file__).resolve().parent / "minimal_epoch.py"
_cold = {}  # dtype -> {"fastnet": seconds, "minimal": seconds}


def minimal_cold(dtype):
    """Seconds from process start to the minimal kernel's epoch line, numba's cache empty."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, str(MINIMAL), dtype], capture_output=True, text=True, check=True,
                             env={**os.environ, "NUMBA_CACHE_DIR": cache}).stdout
        assert out.startswith("Epoch 0: ")
        return time.perf_counter() - start


def fastnet_cold(dtype):
    with tempfile.TemporaryDirectory() as cache:
        first, _, out, err = run_timed(["--epochs", "1", "--dtype", dtype], cache)
        assert COMPILE_NOTICE in err  # a first compile says so
        return first


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cold_start_against_a_minimal_kernel(benchmark, dtype):
    times = {"fastnet": [], "minimal": []}

    def both():
        times["minimal"].append(minimal_cold(dtype))
        times["fastnet"].append(fastnet_cold(dtype))

    benchmark.pedantic(both, rounds=2)
    _cold[dtype] = {name: min(values) for name, values in times.items()}


def test_the_books_run_cold_warm_and_beside_a_busy_core(benchmark):
    runs = {}

    def three_runs():
        with tempfile.TemporaryDirectory() as cache:
            runs["empty cache"] = run_timed([], cache)[:2]
            runs["warm cache"] = run_timed([], cache)[:2]
            with busy_core():
                runs["warm cache, one core busy"] = run_timed([], cache)[:2]

    benchmark.pedantic(three_runs, rounds=1)
    _cold["book's run"] = runs


def pytest_terminal_summary_lines():
    """Lines for conftest.py's summary."""
    lines = []
    for dtype in ("float64", "float32"):
        if dtype in _cold:
            fast, minimal = _cold[dtype]["fastnet"], _cold[dtype]["minimal"]
            lines.append(f"  cold start {dtype}: fastnet's first epoch line {fast:.1f} s, minimal kernel "
                         f"{minimal:.1f} s: {fast / minimal:.2f}x (best of 2 fresh processes each)")
    for name, (first, last) in _cold.get("book's run", {}).items():
        lines.append(f"  the book's 30-epoch run, {name}: first epoch line {first:.1f} s, last line {last:.1f} s")
    return lines
