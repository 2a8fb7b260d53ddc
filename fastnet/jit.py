"""How fastnet compiles its kernels: ``kernel`` is numba's ``njit`` with fastnet's options.

- A compile cache on disk where numba can keep one. numba caches compiled kernels next to the
  source or in the user's cache directory; when neither can be written (a read-only install with
  no writable home, say) ``njit(cache=True)`` would fail at import, so fastnet probes once and
  then compiles without a cache instead: slower to start, same results.
- NumPy's error model: a division by zero gives inf or nan instead of raising. No kernel divides
  by zero, but under Python's error model every division carries a test and an exception path,
  and a loop with an exit in it is not vectorised: the sigmoid's loop ran 5x slower for it.
"""

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


def kernel(function=None, **options):
    """``@kernel`` or ``@kernel(nogil=True, ...)``: ``njit`` with the cache and NumPy's error model."""
    decorate = njit(cache=CACHE, error_model="numpy", **options)
    return decorate if function is None else decorate(function)
