"""How fastnet compiles its kernels: ``kernel`` is numba's ``njit`` with fastnet's options, and
``compile_notice`` says so when a first compile makes the user wait.

- A compile cache on disk where numba can keep one. numba caches compiled kernels next to the
  source or in the user's cache directory; when neither can be written (a read-only install with
  no writable home, say) ``njit(cache=True)`` would fail at import, so fastnet probes once and
  then compiles without a cache instead: slower to start, same results.
- NumPy's error model: a division by zero gives inf or nan instead of raising. No kernel divides
  by zero, but under Python's error model every division carries a test and an exception path,
  and a loop with an exit in it is not vectorised: the sigmoid's loop ran 5x slower for it.
"""

import sys
import threading
from contextlib import contextmanager

from numba import njit


def _cache_available():
    """True when numba finds a writable cache location for this package's files."""

    def probe():
        return 0

    try:
        njit(cache=True)(probe)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return False
    return True


CACHE = _cache_available()


def kernel(function=None, inner=False, **options):
    """``@kernel`` or ``@kernel(nogil=True, ...)``: ``njit`` with the cache and NumPy's error model.

    ``inner=True`` is for kernels that only other kernels call: numba then builds no wrapper to call
    them from Python, which for a function taking a namedtuple of arrays is most of its code (the
    cold compile of an SGD run took 1.2-1.4 s less without them; the tests call them through
    ``tests/helpers.run_kernel``).
    """
    if inner:
        options.update(no_cpython_wrapper=True, no_cfunc_wrapper=True)
    decorate = njit(cache=CACHE, error_model="numpy", **options)
    return decorate if function is None else decorate(function)


COMPILE_NOTICE_AFTER = 1.5  # seconds: loading compiled kernels from the cache takes less, compiling them more
COMPILE_NOTICE = (
    "fastnet: compiling its kernels for this machine, once (about 5 to 20 s); later runs load them from the cache"
)


@contextmanager
def compile_notice():
    """Say on stderr, in one line, that a first compile is under way if the block runs longer than
    ``COMPILE_NOTICE_AFTER`` (so that a first run never looks hung; nothing when the cache is warm)."""
    timer = threading.Timer(COMPILE_NOTICE_AFTER, lambda: print(COMPILE_NOTICE, file=sys.stderr, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
