"""Where a first compile goes: numba's compile time per function while ``fastnet`` runs in-process.

    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/compile_times.py --epochs 1 [other fastnet train options]

With an empty cache (a new NUMBA_CACHE_DIR) every kernel compiles. Times are exclusive (a
function's own, without the functions it calls), from numba's compile events.
"""

import collections
import sys
import time

START = time.perf_counter()

from numba.core import event  # noqa: E402

NUMBA_IMPORTED = time.perf_counter()


class CompileTimes(event.Listener):
    """Adds up each function's compile time, less that of the compiles nested in it."""

    def __init__(self):
        self.stack, self.totals = [], collections.defaultdict(float)

    def on_start(self, ev):
        self.stack.append((ev.data["dispatcher"].py_func.__qualname__, time.perf_counter()))

    def on_end(self, ev):
        name, start = self.stack.pop()
        took = time.perf_counter() - start
        self.totals[name] += took
        if self.stack:
            self.totals[self.stack[-1][0]] -= took


def main(argv):
    listener = CompileTimes()
    event.register("numba:compile", listener)
    from fastnet.tools import cli

    imported = time.perf_counter()
    cli.main(argv or ["--epochs", "1"])
    done = time.perf_counter()
    print(f"import numba {NUMBA_IMPORTED - START:.2f} s, import fastnet {imported - NUMBA_IMPORTED:.2f} s, "
          f"run {done - imported:.2f} s")
    for name, seconds in sorted(listener.totals.items(), key=lambda item: -item[1]):
        print(f"  {seconds:6.2f} s  {name}")
    print(f"  total compile {sum(listener.totals.values()):.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
