"""Explicit SIMD for numba kernels: a ``Block`` of 16 floats as one value.

LLVM vectorises a plain numba loop over two arrays only after run-time checks that they do not
overlap, and it keeps every partial sum in memory, so a short loop run millions of times spends
most of its instructions on bookkeeping. A ``Block`` is instead an LLVM vector value of ``LANES``
= 16 floats (128 bytes of float64 or 64 of float32: four or two AVX2 registers; LLVM splits it into
whatever the CPU has), that a kernel keeps in registers for as long as it likes:

    acc = load(bias, j)                    # bias[j : j + LANES]
    acc = fma(splat(x), load(W, i), acc)   # acc + x * W[i : i + LANES]
    store(z, j, acc)

``load`` and ``store`` take a 1-D contiguous array and the index of the block's first element;
nothing checks bounds, the caller's layout guarantees them (``fastnet.layout`` pads every layer to
whole blocks). ``fma`` rounds once, as the fused multiply-add instruction does; ``total`` adds a
block's lanes (a dot product is ``total`` of ``mul`` and ``fma`` blocks). ``at(arr, i)`` is
``arr[i]`` for an index known to be in range: numba would otherwise test every signed index for
being negative (Python's wrap-around), which in a short inner loop costs as much as the work.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

# Sixteen lanes in both dtypes (measured on the 2-core Zen 3 machine, alternating epochs in one
# process). A block's column of weight rows over a mini-batch's ~380 distinct non-zero pixels must
# stay in the 32 KiB L1 cache from one example to the next: 64-byte float32 blocks (24 KiB) made
# float32 epochs 1.03-1.28x faster than 128-byte ones. 64-byte float64 blocks gained nothing (0.86-1.03x):
# float64 keeps the longer block, which pays the per-term index and coefficient over more work.
LANES = 16


class Block(types.Type):
    """numba type of a block of ``LANES`` floats of ``dtype``."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = LANES
        super().__init__(name=f"Block({dtype})")


@register_model(Block)
class _BlockModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        scalar = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(scalar, fe_type.lanes))


def _is_float_vector(arr):
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and isinstance(arr.dtype, types.Float)


def _block_pointer(context, builder, array_type, array, index_type, index):
    """Pointer to the block of ``array`` that starts at element ``index``."""
    data = context.make_array(array_type)(context, builder, array).data
    index = context.cast(builder, index, index_type, types.intp)
    vector_type = context.get_value_type(Block(array_type.dtype))
    return builder.bitcast(builder.gep(data, [index]), vector_type.as_pointer())


@intrinsic
def at(typingctx, arr, i):
    """``arr[i]`` of a 1-D contiguous array, for 0 <= i < len(arr): no wrap-around, no bounds check."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(arr)(context, builder, args[0]).data
        index = context.cast(builder, args[1], i, types.intp)
        return context.unpack_value(builder, arr.dtype, builder.gep(data, [index]))

    return arr.dtype(arr, i), codegen


@intrinsic
def load(typingctx, arr, i):
    """The block ``arr[i : i + LANES]``."""
    if not (_is_float_vector(arr) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _block_pointer(context, builder, arr, args[0], i, args[1])
        return builder.load(pointer, align=arr.dtype.bitwidth // 8)

    return Block(arr.dtype)(arr, i), codegen


@intrinsic
def store(typingctx, arr, i, block):
    """Write ``block`` to ``arr[i : i + LANES]``."""
    if not (_is_float_vector(arr) and isinstance(i, types.Integer) and block == Block(arr.dtype)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _block_pointer(context, builder, arr, args[0], i, args[1])
        builder.store(args[2], pointer, align=arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(arr, i, block), codegen


@intrinsic
def splat(typingctx, x):
    """A block with every lane equal to the float ``x``."""
    if not isinstance(x, types.Float):
        return None
    block = Block(x)

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(block)
        one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), args[0], ir.Constant(ir.IntType(32), 0))
        everywhere = ir.Constant(ir.VectorType(ir.IntType(32), block.lanes), [0] * block.lanes)
        return builder.shuffle_vector(one, ir.Constant(vector_type, ir.Undefined), everywhere)

    return block(x), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` lane by lane, rounded once."""
    if not (isinstance(a, Block) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(a)
        name = f"llvm.fma.v{a.lanes}f{a.dtype.bitwidth}"
        fused = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector_type, [vector_type] * 3), name)
        return builder.call(fused, args)

    return a(a, b, c), codegen


def _lanewise(operation, name, doc):
    """An intrinsic ``name(a, b)`` that applies the LLVM instruction ``operation`` (an llvmlite IR
    builder method) to two blocks lane by lane."""

    def typer(typingctx, a, b):
        if not (isinstance(a, Block) and a == b):
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, operation)(*args)

        return a(a, b), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


add = _lanewise("fadd", "add", "``a + b`` lane by lane.")
mul = _lanewise("fmul", "mul", "``a * b`` lane by lane.")


@intrinsic
def total(typingctx, block):
    """The sum of a block's lanes, as a fixed tree: the upper half is added to the lower half until one
    lane is left (the same order on every machine)."""
    if not isinstance(block, Block):
        return None

    def codegen(context, builder, signature, args):
        halves, n = args[0], block.lanes
        while n > 1:
            n //= 2
            lower = ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(n)))
            upper = ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(n, 2 * n)))
            halves = builder.fadd(
                builder.shuffle_vector(halves, halves, lower), builder.shuffle_vector(halves, halves, upper)
            )
        return builder.extract_element(halves, ir.Constant(ir.IntType(32), 0))

    return block.dtype(block), codegen
