"""How fastnet compiles its kernels: ``kernel`` is numba's ``njit`` with fastnet's options, ``ufunc``
its ``vectorize``, and ``compile_notice`` says so when a first compile makes the user wait.

- A compile cache on disk that can never serve stale machine code. numba keys a cached function
  on its own source file only, so an edit to a file it calls into (``simd.py``, ``activation.py``,
  ``threads.py``) or an upgrade of fastnet would load code compiled from the old sources. Every
  function compiled here is therefore stamped with a hash of all the engine's sources
  (``ENGINE_SOURCES``) besides its own file: when any of them changes, its cached code is
  compiled afresh. The stamp is given by a cache locator that numba asks first (numba's
  ``CacheImpl._locator_classes``, not a public interface): where that is missing, or the user
  chose numba's locators with ``NUMBA_CACHE_LOCATOR_CLASSES``, fastnet compiles without a cache
  rather than risk stale code. Where numba finds no writable cache location (a read-only install
  with no writable home, say) ``njit(cache=True)`` would fail at import, so fastnet probes once and
  then compiles without a cache too: slower to start, same results.
- NumPy's error model: a division by zero gives inf or nan instead of raising. No kernel divides
  by zero, but under Python's error model every division carries a test and an exception path,
  and a loop with an exit in it is not vectorised.
"""

import hashlib
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from numba import config, njit, vectorize

try:
    from numba.core.caching import CacheImpl, _CacheLocator
except ImportError:  # a numba without these: no stamped cache, so no cache
    CacheImpl, _CacheLocator = None, object

ENGINE = Path(__file__).resolve().parent


def _sources_hash(directory):
    """SHA-256 of every ``.py`` file in ``directory``, names and contents, in name order."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


ENGINE_SOURCES = _sources_hash(ENGINE)
_STAMPED = set()  # the Python functions compiled by ``kernel`` and ``ufunc``


class _EngineLocator(_CacheLocator):
    """The cache location numba would choose for a function of fastnet's, with a source stamp that
    also covers every engine source file: a change to any of them makes the cached code stale."""

    def __init__(self, located):
        self._located = located

    def ensure_cache_path(self):
        self._located.ensure_cache_path()

    def get_cache_path(self):
        return self._located.get_cache_path()

    def get_source_stamp(self):
        return self._located.get_source_stamp(), ENGINE_SOURCES

    def get_disambiguator(self):
        return self._located.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        if py_func not in _STAMPED:
            return None
        for locator_class in CacheImpl._locator_classes:
            if issubclass(locator_class, _EngineLocator):
                continue
            located = locator_class.from_function(py_func, py_file)
            if located is not None:
                return cls(located)
        return None


def _stamp_caches():
    """Make every numba cache (of functions and of ufuncs) ask ``_EngineLocator`` first; False where it cannot."""
    locators = getattr(CacheImpl, "_locator_classes", None)
    if not isinstance(locators, list) or getattr(config, "CACHE_LOCATOR_CLASSES", None):
        return False
    if _EngineLocator not in locators:
        locators.insert(0, _EngineLocator)
    return True


def _cache_available():
    """True when fastnet's functions can be cached, stamped, in a writable location numba finds."""
    if not _stamp_caches():
        return False

    def probe():
        return 0

    try:
        njit(cache=True)(probe)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return False
    return True


CACHE = _cache_available()


def kernel(function=None, inner=False, **options):
    """``@kernel`` or ``@kernel(nogil=True, ...)``: ``njit`` with the stamped cache and NumPy's error model.

    ``inner=True`` is for kernels that only other kernels call: numba then builds no wrapper to call
    them from Python, which for a function taking a namedtuple of arrays is most of its code (the
    tests call them through ``tests/helpers.run_kernel``).
    """
    if inner:
        options.update(no_cpython_wrapper=True, no_cfunc_wrapper=True)
    decorate = njit(cache=CACHE, error_model="numpy", **options)

    def stamped(f):
        _STAMPED.add(f)
        return decorate(f)

    return stamped if function is None else stamped(function)


def ufunc(scalar, signatures):
    """``scalar`` as a NumPy ufunc for ``signatures``, compiled now, with the stamped cache."""
    _STAMPED.add(scalar)
    return vectorize(signatures, cache=CACHE)(scalar)


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
        timer.join()  # no thread left behind (a worker may be forked from this process next)
