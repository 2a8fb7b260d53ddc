"""The sigmoid and its derivative, on an exp that LLVM can vectorise.

Each neuron needs one exp per forward pass. The C library's exp is a function call that a loop
cannot vectorise, and it would cost about as much as the rest of a 784-100-10 forward pass.
``exp_nonpositive`` is exp for x <= 0 (all the sigmoid needs: it only ever takes ``exp(-|z|)``)
written with nothing but arithmetic, so whole layers of it compile to SIMD code:
x = k ln2 + r with |r| <= ln2 / 2, exp(r) from its Taylor series to r^13 (truncation error below
1e-17), and 2^k made directly from its bits. It is accurate to about one unit in the last place.

These functions are compiled without fastmath on purpose (and LLVM still inlines them): the
rounding tricks below must not be re-associated away by a caller's fastmath flags. They use
NumPy's error model (``jit``): a loop over them then has no exception path, and vectorises.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .jit import kernel, ufunc

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so that k * LN2_HI is exact (Cody & Waite)
LN2_LO = 1.90821492927058770002e-10
UNDERFLOW = -745.2  # exp(x) rounds to 0 below this
TWO_MINUS_200 = 2.0**-200
SHIFTER = 1.5 * 2.0**52  # adding it rounds to an integer k, which then sits in the low bits
SHIFTER_BITS = 0x4338000000000000  # the bit pattern of SHIFTER


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (an LLVM bitcast)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_float64(typingctx, x):
    """The int64 bit pattern of the float64 ``x`` (an LLVM bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@kernel(inner=True)
def exp_nonpositive(x):
    """exp(x) for float64 x <= 0 (NaN stays NaN), accurate to about one ulp, branch-free."""
    xc = UNDERFLOW if x < UNDERFLOW else x
    shifted = xc * LOG2E + SHIFTER  # round(x / ln 2) without a float-to-int conversion
    k = shifted - SHIFTER
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = 1 / 6227020800.0  # Horner from r^13 / 13! down to 1
    p = p * r + 1 / 479001600.0
    p = p * r + 1 / 39916800.0
    p = p * r + 1 / 3628800.0
    p = p * r + 1 / 362880.0
    p = p * r + 1 / 40320.0
    p = p * r + 1 / 5040.0
    p = p * r + 1 / 720.0
    p = p * r + 1 / 120.0
    p = p * r + 1 / 24.0
    p = p * r + 1 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k for k in [-1075, 0]: scale by 2^(k + 200), a normal number, then by 2^-200 (one rounding).
    scaled = p * _float64_from_bits((_bits_from_float64(shifted) - SHIFTER_BITS + 1223) << 52) * TWO_MINUS_200
    return 0.0 if x < UNDERFLOW else scaled


@kernel(inner=True)
def logistic(z):
    """Return ``(sigma(z), sigma(-z))`` in float64 from one ``exp(-|z|)``, which never overflows."""
    e = exp_nonpositive(-abs(np.float64(z)))
    r = 1.0 / (1.0 + e)
    if z >= 0:
        return r, e * r
    return e * r, r


def _sigma(z):
    return logistic(z)[0]


def _sigma_prime(z):
    return derivative(z, *logistic(z))


def derivative(z, s, s_minus):
    """sigma'(z) from ``(s, s_minus) = logistic(z)`` in the precision of ``z``: in float64 the book's
    expression s (1 - s) on fastnet's s, bit for bit (exactly 0 once s rounds to 1, for z above
    about 36.7); in float32 the
    float64 product s sigma(-z), rounded once (so that a saturated float32 neuron keeps a tiny
    slope rather than none)."""
    return s * s_minus if isinstance(z, np.float32) else s * (1.0 - s)


@overload(derivative, jit_options={"error_model": "numpy"})  # compiled into its callers, and cached with them
def _derivative(z, s, s_minus):
    if z == types.float32:
        return lambda z, s, s_minus: s * s_minus
    return lambda z, s, s_minus: s * (1.0 - s)


_UFUNCS = {}


def _ufunc(scalar):
    """``scalar`` as a NumPy ufunc on float32 and float64, compiled on first use rather than at import:
    a run that trains never calls the public functions, and should not wait for them."""
    if scalar not in _UFUNCS:
        _UFUNCS[scalar] = ufunc(scalar, ["float32(float32)", "float64(float64)"])
    return _UFUNCS[scalar]


def sigmoid(z):
    """The logistic function sigma(z) = 1 / (1 + exp(-z)), exactly 0 and 1 in its limits."""
    return _ufunc(_sigma)(z)


def sigmoid_prime(z):
    """Derivative of the sigmoid, sigma(z) * (1 - sigma(z)): in float64 the book's expression bit for
    bit, in float32 the float64 sigma(z) * sigma(-z) rounded once (``derivative``); 0.25 at 0."""
    return _ufunc(_sigma_prime)(z)


@intrinsic
def sigmoid_block(typingctx, z):
    """``(sigma(z), sigma'(z))`` of a block (``simd``) lane by lane, as ``logistic`` and ``derivative``
    compute them (in float64, from one exp(-|z|)) and rounded to the block's dtype: the same bits as
    the scalar functions lane by lane, 16 lanes at a time, except that results that would be
    subnormal are zero here (the public ``sigmoid`` keeps them).

    LLVM vectorises a loop over ``logistic`` four float64 lanes wide even where the CPU has 8 (it
    prefers 256-bit vectors on Intel's AVX-512 cores); on a block it uses whole registers.
    """
    from .simd import Block

    if not isinstance(z, Block):
        return None
    pair = types.UniTuple(z, 2)

    def codegen(context, builder, signature, args):
        lanes = z.lanes
        vector = ir.VectorType(ir.DoubleType(), lanes)
        words = ir.VectorType(ir.IntType(64), lanes)

        def const(value, kind=vector):
            return ir.Constant(kind, [value] * lanes)

        def call(name, *values):
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * len(values)), name)
            return builder.call(function, values)

        x64 = builder.fpext(args[0], vector) if z.dtype == types.float32 else args[0]
        x = builder.fneg(call(f"llvm.fabs.v{lanes}f64", x64))
        below = builder.fcmp_ordered("<", x, const(UNDERFLOW))  # exp_nonpositive(x), as above
        xc = builder.select(below, const(UNDERFLOW), x)
        shifted = builder.fadd(builder.fmul(xc, const(LOG2E)), const(SHIFTER))
        k = builder.fsub(shifted, const(SHIFTER))
        r = builder.fsub(builder.fsub(xc, builder.fmul(k, const(LN2_HI))), builder.fmul(k, const(LN2_LO)))
        p = const(1 / 6227020800.0)
        for coefficient in _HORNER:
            p = builder.fadd(builder.fmul(p, r), const(coefficient))
        bits = builder.sub(builder.bitcast(shifted, words), const(SHIFTER_BITS, words))
        power = builder.bitcast(builder.shl(builder.add(bits, const(1223, words)), const(52, words)), vector)
        e = builder.select(below, const(0.0), builder.fmul(builder.fmul(p, power), const(TWO_MINUS_200)))
        reciprocal = builder.fdiv(const(1.0), builder.fadd(const(1.0), e))  # logistic(z), as above
        other = builder.fmul(e, reciprocal)
        nonnegative = builder.fcmp_ordered(">=", x64, const(0.0))
        s = builder.select(nonnegative, reciprocal, other)
        if z.dtype == types.float32:  # sigma'(z) by ``derivative``'s rule for each dtype
            d = builder.fmul(s, builder.select(nonnegative, other, reciprocal))
        else:
            d = builder.fmul(s, builder.fsub(const(1.0), s))
        tiny = const(2.0**-126 if z.dtype == types.float32 else 2.0**-1022)
        results = []
        for value in (s, d):
            value = builder.select(builder.fcmp_ordered(">=", value, tiny), value, const(0.0))
            results.append(builder.fptrunc(value, ir.VectorType(ir.FloatType(), lanes)) if z.dtype == types.float32 else value)
        return context.make_tuple(builder, pair, results)

    return pair(z), codegen


_HORNER = [1 / 479001600.0, 1 / 39916800.0, 1 / 3628800.0, 1 / 362880.0, 1 / 40320.0, 1 / 5040.0, 1 / 720.0,
           1 / 120.0, 1 / 24.0, 1 / 6.0, 0.5, 1.0, 1.0]  # exp_nonpositive's coefficients after r^13 / 13!
