"""The permutation ``random.shuffle`` would make, computed in compiled code.

The book shuffles its training list with ``random.shuffle`` every epoch. To follow the book's
sequence of mini-batches exactly, fastnet shuffles an index array with the very same algorithm
and the very same random numbers: it reads the state of Python's global Mersenne Twister with
``random.getstate()``, replays CPython's ``shuffle`` / ``_randbelow`` / ``getrandbits`` on it in
numba (far faster than ``random.shuffle`` on a list), and writes the advanced state back
with ``random.setstate()``, so that everything after sees the generator the book would leave.
A thread can be given a generator of its own instead (``own_generator``).
"""

import random
import threading
from contextlib import contextmanager

import numpy as np

from .jit import kernel

_N, _M = 624, 397  # MT19937 state size and shift
_MATRIX_A, _UPPER, _LOWER = 0x9908B0DF, 0x80000000, 0x7FFFFFFF


_THREAD = threading.local()  # ``generator``: the calling thread's own, where ``own_generator`` gave it one


@contextmanager
def own_generator(generator):
    """In the block, this thread shuffles with ``generator`` (a ``random.Random``), not the global ``random``.

    A run seeded with ``random.Random(seed)`` then draws exactly what ``random.seed(seed)`` would give
    it, even where other threads of the process draw from the global generator meanwhile (a Dask
    worker's event loop does).
    """
    outer = getattr(_THREAD, "generator", random)
    _THREAD.generator = generator
    try:
        yield
    finally:
        _THREAD.generator = outer


def shuffle_in_place(order):
    """Shuffle the int64 array ``order`` in place exactly as ``random.shuffle`` shuffles a list.

    Uses and advances the global ``random`` state (or the thread's ``own_generator``) just as
    ``random.shuffle`` would.
    """
    generator = getattr(_THREAD, "generator", random)
    version, internal, gauss_next = generator.getstate()
    mt = np.array(internal[:-1], dtype=np.int64)
    position = _shuffle(order, mt, internal[-1])
    generator.setstate((version, tuple(mt.tolist()) + (position,), gauss_next))


@kernel(inner=True)
def _twist(mt):
    """Generate the next 624 words of MT19937 state in place (CPython's ``genrand_uint32``)."""
    for k in range(_N):
        y = (mt[k] & _UPPER) | (mt[(k + 1) % _N] & _LOWER)
        mag = _MATRIX_A if y & 1 else 0
        mt[k] = mt[(k + _M) % _N] ^ (y >> 1) ^ mag


@kernel
def _shuffle(order, mt, position):
    """CPython's ``random.shuffle`` on ``order``; returns the generator's new position."""
    for i in range(len(order) - 1, 0, -1):
        n = i + 1
        bits = 0  # n.bit_length(): getrandbits(bits) draws the top bits of one 32-bit word
        while n >> bits:
            bits += 1
        while True:  # _randbelow: draw until the value falls below n
            if position >= _N:
                _twist(mt)
                position = 0
            y = mt[position]
            position += 1
            y ^= y >> 11
            y ^= (y << 7) & 0x9D2C5680
            y ^= (y << 15) & 0xEFC60000
            y ^= y >> 18
            j = y >> (32 - bits)
            if j < n:
                break
        order[i], order[j] = order[j], order[i]
    return position
