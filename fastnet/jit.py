"""Whether fastnet's kernels keep a compile cache on disk.

numba caches compiled kernels next to the source or in the user's cache directory. When neither
can be written (a read-only install with no writable home, say) ``njit(cache=True)`` would fail
at import. fastnet probes once and then compiles without a cache instead: slower to start, same
results.
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
