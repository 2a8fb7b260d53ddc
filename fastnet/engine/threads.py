"""fastnet's own threads: shares of a compiled kernel run on Python threads, met at spin barriers.

A threaded SGD step has two or three phases that must not overlap (the forward pass of the wide
layers, then the deltas, then the update), 5,000 steps an epoch. numba's ``prange`` would start and
join its threads at every phase, and compile a parallel kernel of its own. Here the threads are
started once per call instead: each runs the same compiled kernel (``nogil``) on its own share, and
the shares meet at ``barrier``, a counter that every thread increments and then waits on. A run with one share
is the same kernel with every barrier a no-op, so nothing extra is ever compiled.

The count of shares is fastnet's own, never the threading layer's, so a share can never be left
waiting for a thread that does not run; ``run_shares`` releases the others if a thread fails to
start.
"""

import os
import platform
import sys
import threading

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .jit import kernel

ARRIVED, ABORT = 0, 1  # places in a ``sync`` array: barrier arrivals so far, and a flag that releases every wait
SYNC_SIZE = 16  # int64 values: the counter and the flag, and room so that nothing else shares their cache line


def _element_pointer(context, builder, array_type, array, index_type, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [context.cast(builder, index, index_type, types.intp)])


def _is_int64_array_and_index(arr, i):
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and isinstance(i, types.Integer)


@intrinsic
def _atomic_add(typingctx, arr, i, value):
    """``arr[i] += value`` as one atomic instruction (int64); returns the value before."""
    if not (_is_int64_array_and_index(arr, i) and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, arr, args[0], i, args[1])
        return builder.atomic_rmw("add", pointer, context.cast(builder, args[2], value, types.int64), "seq_cst")

    return types.int64(arr, i, value), codegen


@intrinsic
def _atomic_load(typingctx, arr, i):
    """``arr[i]`` read atomically, so that a spinning loop sees other threads' writes (int64)."""
    if not _is_int64_array_and_index(arr, i):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_element_pointer(context, builder, arr, args[0], i, args[1]), "acquire", 8)

    return types.int64(arr, i), codegen


_SPIN_HINT = {"x86_64": "llvm.x86.sse2.pause", "AMD64": "llvm.x86.sse2.pause"}.get(platform.machine())
_YIELD = "SwitchToThread" if sys.platform == "win32" else "sched_yield"  # the C library's "let another thread run"
SPINS = 200  # spin-wait hints before a waiting share gives its core away at every turn


@intrinsic
def _spin_hint(typingctx):
    """The CPU's "spinning" hint (x86 ``pause``): a waiting loop then yields the core's resources."""

    def codegen(context, builder, signature, args):
        if _SPIN_HINT is not None:
            hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []), _SPIN_HINT)
            builder.call(hint, [])
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def _yield_core(typingctx):
    """Let another runnable thread have this core (``sched_yield``; ``SwitchToThread`` on Windows)."""

    def codegen(context, builder, signature, args):
        os_yield = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), _YIELD)
        builder.call(os_yield, [])
        return context.get_dummy_value()

    return types.none(), codegen


@kernel(inner=True)
def barrier(sync, parts, passed):
    """Wait until all ``parts`` shares have reached their barrier number ``passed`` (counting from 1).

    Every share calls the same barriers in the same order, so barrier n is complete when n * parts
    arrivals have been counted. A waiting share spins ``SPINS`` times, then gives its core away at
    every turn, so that a share whose thread the OS has not yet run (more threads than free cores)
    gets it. Returns False if the run was aborted (``sync[ABORT]``).
    """
    if parts == 1:
        return True
    _atomic_add(sync, ARRIVED, 1)
    target, spins = passed * parts, 0
    while _atomic_load(sync, ARRIVED) < target:
        if _atomic_load(sync, ABORT):
            return False
        if spins < SPINS:
            _spin_hint()
            spins += 1
        else:
            _yield_core()
    return True


def run_shares(kernel, args, parts, sync=None):
    """Call ``kernel(*args, t, parts)`` for t = 0 .. parts-1 at once, share 0 on this thread; return share 0's result.

    ``sync`` is the ``SYNC_SIZE`` int64 array of a kernel that meets at barriers; its counter is
    reset here. If a thread cannot be started, the shares already running are released (``ABORT``)
    and the error is raised.
    """
    if sync is not None:
        sync[:] = 0
    if parts == 1:
        return kernel(*args, 0, 1)
    threads = []
    try:
        for t in range(1, parts):
            thread = threading.Thread(target=kernel, args=(*args, t, parts), daemon=True)
            thread.start()
            threads.append(thread)
    except BaseException:
        if sync is not None:
            sync[ABORT] = 1
        for thread in threads:
            thread.join()
        raise
    try:
        return kernel(*args, 0, parts)
    finally:
        for thread in threads:
            thread.join()


def available_cpus():
    """The CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
