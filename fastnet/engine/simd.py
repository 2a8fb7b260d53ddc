"""Explicit SIMD for numba kernels: a ``Block`` of 16 floats as one value.

LLVM vectorises a plain numba loop over two arrays only after run-time checks that they do not
overlap, and it keeps every partial sum in memory, so a short loop run millions of times spends
most of its instructions on bookkeeping. A ``Block`` is instead an LLVM vector value of ``LANES``
= 16 floats (128 bytes of float64 or 64 of float32: four or two AVX2 registers; LLVM splits it into
whatever the CPU has), that a kernel keeps in registers for as long as it likes:

    acc = load(bias, j)                    # bias[j : j + LANES]
    acc = fma(splat(x), load(W, i), acc)   # acc + x * W[i : i + LANES]
    store(z, j, acc)

A ``Tile`` is ``TILE_BLOCKS`` blocks held as one value (E examples' sums of one block of a layer, or
one block of E rows of a matrix), for the register-tiled kernels: ``spread`` makes a tile whose
block e is ``splat(arr[starts[e] + offset])``, ``repeat`` one whose every block is the same block,
``load_each`` and ``store_each`` move its blocks from and to places ``step`` apart; ``fma``, ``add``,
``sub`` and ``mul`` work on tiles as on blocks. ``larger``, ``where_equal`` and ``where_at_least``
compare blocks lane by lane (max pooling, ReLU and their gradients), ``widened`` makes a block float64;
``vector_registers`` says what registers the tiles must fit.

``load`` and ``store`` take a 1-D contiguous array and the index of the block's first element;
nothing checks bounds, the caller's layout guarantees them (``layout`` pads every layer to
whole blocks). ``fma`` rounds once, as the fused multiply-add instruction does; ``total`` adds a
block's lanes (a dot product is ``total`` of ``mul`` and ``fma`` blocks). ``at(arr, i)`` is
``arr[i]`` for an index known to be in range (``put(arr, i, v)`` writes it): numba would otherwise
test every signed index for being negative (Python's wrap-around), which in a short inner loop costs
as much as the work.
"""

import platform

import numba
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

# Sixteen lanes in both dtypes. A block's column of weight rows over a mini-batch's distinct non-zero
# pixels should stay in the L1 cache from one example to the next, which favours short float32 blocks;
# float64 keeps the same 16 lanes, which spread the per-term index and coefficient over more work
# (the measurements: docs/engine.md).
LANES = 16


def vector_registers():
    """(bytes of a vector register, how many there are) of the CPU numba compiles for: AVX-512 64 and 32,
    AVX2 32 and 16, NEON 16 and 32; AVX2's when the user named a CPU (``NUMBA_CPU_NAME``)."""
    if numba.config.CPU_NAME:
        return 32, 16
    if platform.machine().lower() in ("arm64", "aarch64"):
        return 16, 32
    features = binding.get_host_cpu_features()
    return (64, 32) if features.get("avx512f") else (32, 16) if features.get("avx2") else (16, 16)


def _tile_blocks(itemsize):
    """Blocks per tile (E) for floats of ``itemsize`` bytes: the largest divisor of 10 (the book's
    mini-batch, and a divisor of its layer sizes 30 and 100) whose accumulators fit the vector
    registers: at most 16 of AVX-512's or NEON's 32, at most 10 of AVX2's or SSE's 16.

    That is 5 (float64) and 10 (float32) blocks on AVX-512, 2 and 5 on AVX2: a tile that would not
    fit spills its accumulators to memory (docs/engine.md has the measurements).
    """
    vector_bytes, registers = vector_registers()
    registers_per_block = max(1, LANES * itemsize // vector_bytes)
    accumulators = 16 if registers == 32 else 10
    return max(e for e in (1, 2, 5, 10) if e * registers_per_block <= accumulators)


TILE_BLOCKS = {8: _tile_blocks(8), 4: _tile_blocks(4)}  # by itemsize: float64, float32


class Block(types.Type):
    """numba type of a block of ``LANES`` floats of ``dtype``."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = LANES
        super().__init__(name=f"Block({dtype})")


class Tile(types.Type):
    """numba type of ``TILE_BLOCKS`` blocks of ``dtype`` as one value (an LLVM array of vectors, each a
    register-sized block: the tile never needs a shuffle across blocks)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.blocks = TILE_BLOCKS[dtype.bitwidth // 8]
        super().__init__(name=f"Tile({dtype}, {self.blocks})")


@register_model(Tile)
class _TileModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        scalar = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.ArrayType(ir.VectorType(scalar, LANES), fe_type.blocks))


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
def put(typingctx, arr, i, value):
    """``arr[i] = value`` of a 1-D contiguous array, for 0 <= i < len(arr): no wrap-around, no bounds check."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and isinstance(i, types.Integer)
            and isinstance(value, (types.Float, types.Integer))):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(arr)(context, builder, args[0]).data
        index = context.cast(builder, args[1], i, types.intp)
        builder.store(context.cast(builder, args[2], value, arr.dtype), builder.gep(data, [index]))
        return context.get_dummy_value()

    return types.none(arr, i, value), codegen


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


def _each_block(builder, typ, args, operation):
    """``operation(builder, *blocks)`` on blocks, or on a tile's blocks one by one."""
    if isinstance(typ, Block):
        return operation(builder, *args)
    result = ir.Constant(args[0].type, ir.Undefined)
    for e in range(typ.blocks):
        parts = [builder.extract_value(a, e) for a in args]
        result = builder.insert_value(result, operation(builder, *parts), e)
    return result


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` lane by lane (blocks or tiles), rounded once."""
    if not (isinstance(a, (Block, Tile)) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        vector_type = ir.VectorType(context.get_value_type(a.dtype), LANES)
        name = f"llvm.fma.v{LANES}f{a.dtype.bitwidth}"
        fused = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector_type, [vector_type] * 3), name)
        return _each_block(builder, a, args, lambda b, x, y, z: b.call(fused, [x, y, z]))

    return a(a, b, c), codegen


def _lanewise(operation, name, doc):
    """An intrinsic ``name(a, b)`` that applies the LLVM instruction ``operation`` (an llvmlite IR
    builder method) to two blocks lane by lane."""

    def typer(typingctx, a, b):
        if not (isinstance(a, (Block, Tile)) and a == b):
            return None

        def codegen(context, builder, signature, args):
            return _each_block(builder, a, args, lambda b, x, y: getattr(b, operation)(x, y))

        return a(a, b), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


add = _lanewise("fadd", "add", "``a + b`` lane by lane.")
sub = _lanewise("fsub", "sub", "``a - b`` lane by lane.")
mul = _lanewise("fmul", "mul", "``a * b`` lane by lane.")


@intrinsic
def larger(typingctx, a, b):
    """The larger of ``a`` and ``b`` lane by lane (``b`` where ``a > b`` is false)."""
    if not (isinstance(a, Block) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(builder.fcmp_ordered(">", args[0], args[1]), args[0], args[1])

    return a(a, b), codegen


def _selecting(predicate, name, doc):
    """An intrinsic ``name(a, b, x)``: ``x`` in the lanes where ``a predicate b`` (an LLVM ordered comparison,
    false for NaN), 0 elsewhere."""

    def typer(typingctx, a, b, x):
        if not (isinstance(a, Block) and a == b == x):
            return None

        def codegen(context, builder, signature, args):
            return builder.select(builder.fcmp_ordered(predicate, args[0], args[1]), args[2],
                                  ir.Constant(args[2].type, None))

        return a(a, b, x), codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


where_equal = _selecting("==", "where_equal", "``x`` in the lanes where ``a == b``, 0 elsewhere.")
where_at_least = _selecting(">=", "where_at_least", "``x`` in the lanes where ``a >= b``, 0 elsewhere.")


@intrinsic
def widened(typingctx, block):
    """``block`` in float64 (itself if it is)."""
    if not isinstance(block, Block):
        return None
    wide = Block(types.float64)

    def codegen(context, builder, signature, args):
        if block.dtype == types.float64:
            return args[0]
        return builder.fpext(args[0], context.get_value_type(wide))

    return wide(block), codegen


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


@intrinsic
def store_totals(typingctx, arr, first, step, tile, accumulate):
    """``arr[first + e * step]`` = the sum of block e's lanes (or, to ``accumulate``, += it), for each block of
    ``tile``: ``total``'s tree for every block (the same sums, bit for bit), the blocks' halves added side by
    side, two blocks to a vector, so that E sums take about E shuffles rather than 4 E."""
    if not (_is_float_vector(arr) and isinstance(first, types.Integer) and isinstance(step, types.Integer)
            and tile == Tile(arr.dtype) and isinstance(accumulate, types.Boolean)):
        return None

    def codegen(context, builder, signature, args):
        vector_type = ir.VectorType(context.get_value_type(arr.dtype), LANES)
        zero = ir.Constant(vector_type, None)
        vectors = [builder.extract_value(args[3], e) for e in range(tile.blocks)]
        owners = [[e] for e in range(tile.blocks)]  # per vector, the block whose partial sums each group holds
        width = LANES  # lanes per group
        while width > 1:
            half, paired, paired_owners = width // 2, [], []
            for p in range(0, len(vectors), 2):
                x = vectors[p]
                y, y_owners = (vectors[p + 1], owners[p + 1]) if p + 1 < len(vectors) else (zero, [None] * len(owners[p]))
                lower, upper = [], []
                for g in range(len(owners[p])):  # group g of x, then of y: its lower half, and its upper half
                    for source in (0, LANES):
                        lower += [source + g * width + k for k in range(half)]
                        upper += [source + g * width + half + k for k in range(half)]
                index = ir.VectorType(ir.IntType(32), LANES)
                paired.append(builder.fadd(builder.shuffle_vector(x, y, ir.Constant(index, lower)),
                                           builder.shuffle_vector(x, y, ir.Constant(index, upper))))
                paired_owners.append([o for g in range(len(owners[p])) for o in (owners[p][g], y_owners[g])])
            vectors, owners, width = paired, paired_owners, half
        data = context.make_array(arr)(context, builder, args[0]).data
        at_, stride = _index(context, builder, args[1], first), _index(context, builder, args[2], step)
        for vector, lanes in zip(vectors, owners):
            for lane, e in enumerate(lanes):
                if e is not None:
                    where = builder.gep(data, [builder.add(at_, builder.mul(stride, ir.Constant(stride.type, e)))])
                    value = builder.extract_element(vector, ir.Constant(ir.IntType(32), lane))
                    value = builder.select(args[4], builder.fadd(builder.load(where), value), value)
                    builder.store(value, where)
        return context.get_dummy_value()

    return types.none(arr, first, step, tile, accumulate), codegen


def _index(context, builder, value, value_type):
    return context.cast(builder, value, value_type, types.intp)


def _block_at(context, builder, array_type, data, index):
    vector_type = context.get_value_type(Block(array_type.dtype))
    return builder.bitcast(builder.gep(data, [index]), vector_type.as_pointer())


@intrinsic
def spread(typingctx, arr, starts, offset):
    """The tile whose block e is ``arr[starts[e] + offset]`` in every lane (``starts``: int64, one per block)."""
    if not (_is_float_vector(arr) and isinstance(starts, types.Array) and isinstance(offset, types.Integer)):
        return None
    tile = Tile(arr.dtype)

    def codegen(context, builder, signature, args):
        data = context.make_array(arr)(context, builder, args[0]).data
        first = context.make_array(starts)(context, builder, args[1]).data
        shift = _index(context, builder, args[2], offset)
        vector_type = ir.VectorType(context.get_value_type(arr.dtype), LANES)
        everywhere = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        value = ir.Constant(context.get_value_type(tile), ir.Undefined)
        for e in range(tile.blocks):
            start = builder.load(builder.gep(first, [ir.Constant(ir.IntType(64), e)]))
            scalar = builder.load(builder.gep(data, [builder.add(start, shift)]))
            one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
            value = builder.insert_value(value, builder.shuffle_vector(one, one, everywhere), e)
        return value

    return tile(arr, starts, offset), codegen


@intrinsic
def repeat(typingctx, block):
    """The tile whose every block is ``block``."""
    if not isinstance(block, Block):
        return None
    tile = Tile(block.dtype)

    def codegen(context, builder, signature, args):
        value = ir.Constant(context.get_value_type(tile), ir.Undefined)
        for e in range(tile.blocks):
            value = builder.insert_value(value, args[0], e)
        return value

    return tile(block), codegen


def _tile_places(context, builder, array_type, args, first, step, blocks):
    """Pointers to the ``blocks`` blocks of the array ``args[0]`` that start at ``args[1] + e * args[2]``."""
    data = context.make_array(array_type)(context, builder, args[0]).data
    at_, stride = _index(context, builder, args[1], first), _index(context, builder, args[2], step)
    return [_block_at(context, builder, array_type, data, builder.add(at_, builder.mul(stride, ir.Constant(stride.type, e))))
            for e in range(blocks)]


@intrinsic
def load_each(typingctx, arr, first, step):
    """The tile whose block e is ``arr[first + e * step : ... + LANES]``."""
    if not (_is_float_vector(arr) and isinstance(first, types.Integer) and isinstance(step, types.Integer)):
        return None
    tile = Tile(arr.dtype)

    def codegen(context, builder, signature, args):
        value = ir.Constant(context.get_value_type(tile), ir.Undefined)
        for e, where in enumerate(_tile_places(context, builder, arr, args, first, step, tile.blocks)):
            value = builder.insert_value(value, builder.load(where, align=arr.dtype.bitwidth // 8), e)
        return value

    return tile(arr, first, step), codegen


@intrinsic
def store_each(typingctx, arr, first, step, tile):
    """Write block e of ``tile`` to ``arr[first + e * step : ... + LANES]``."""
    if not (_is_float_vector(arr) and isinstance(first, types.Integer) and isinstance(step, types.Integer)
            and tile == Tile(arr.dtype)):
        return None

    def codegen(context, builder, signature, args):
        for e, where in enumerate(_tile_places(context, builder, arr, args, first, step, tile.blocks)):
            builder.store(builder.extract_value(args[3], e), where, align=arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(arr, first, step, tile), codegen
