import numpy as np
import pytest

import fastnet
from naive import sigmoid as naive_sigmoid, sigmoid_prime as naive_sigmoid_prime


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shape", [(), (1,), (7,), (30, 1), (4, 5, 6)])
@pytest.mark.parametrize("scale", [1.0, 10.0, 800.0])
def test_sigmoid_matches_naive(seed, shape, scale):
    z = np.random.default_rng(seed).normal(scale=scale, size=shape)
    s = fastnet.sigmoid(z)
    np.testing.assert_allclose(s, naive_sigmoid(z), rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(fastnet.sigmoid_prime(z), s * (1 - s))  # the book's expression, bit for bit
    np.testing.assert_allclose(fastnet.sigmoid_prime(z), naive_sigmoid_prime(z), rtol=1e-13, atol=3e-16)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dtype_is_kept(dtype):
    z = np.linspace(-5, 5, 11).astype(dtype)
    assert fastnet.sigmoid(z).dtype == dtype
    assert fastnet.sigmoid_prime(z).dtype == dtype
    np.testing.assert_allclose(fastnet.sigmoid(z), naive_sigmoid(z), rtol=1e-6)


def test_limits_are_exact_and_warning_free():
    z = np.array([-np.inf, -1000.0, -745.2, 0.0, 40.0, 1000.0, np.inf])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = fastnet.sigmoid(z)
        sp = fastnet.sigmoid_prime(z)
    assert s[0] == 0.0 and s[1] == 0.0 and s[-2] == 1.0 and s[-1] == 1.0
    assert s[3] == 0.5 and sp[3] == 0.25
    assert sp[0] == 0.0 and sp[-1] == 0.0 and sp[1] == 0.0
    assert sp[4] == 0.0  # sigma(40) rounds to 1, so the book's sigma(40)(1 - sigma(40)) is exactly 0
    assert fastnet.sigmoid_prime(36.0) > 0 and fastnet.sigmoid_prime(37.0) == 0  # where sigma first rounds to 1
    assert fastnet.sigmoid_prime(np.float32(40)) > 0  # float32's own rule: float64 sigma(z) sigma(-z), rounded
    assert fastnet.sigmoid(0) == 0.5 and fastnet.sigmoid(-3) == pytest.approx(1 / (1 + np.exp(3)), rel=1e-15)


def test_symmetry():
    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(fastnet.sigmoid(z) + fastnet.sigmoid(-z), 1.0, rtol=1e-15)
    np.testing.assert_allclose(fastnet.sigmoid_prime(z), fastnet.sigmoid_prime(-z), rtol=1e-12, atol=3e-16)


def test_float32_values_are_the_float64_formula_rounded_once():
    """float32 sigma and sigma' from z (not from a rounded activation) over |z| <= 30.

    Guards against sigma'(z) computed as a (1 - a) from the float32 activation a: that loses all
    digits once a rounds to 1 (z > 17) and is 4.6e-4 off at z = 10.
    """
    z = np.linspace(-30, 30, 60_001).astype(np.float32)
    exact_s = naive_sigmoid(z.astype(np.float64))
    exact_sp = naive_sigmoid_prime(z)
    half_ulp = 2.0**-24  # float32 rounding: measured error is at most this, relative
    assert np.max(np.abs(fastnet.sigmoid(z) - exact_s) / exact_s) <= 1.01 * half_ulp
    assert np.max(np.abs(fastnet.sigmoid_prime(z) - exact_sp) / exact_sp) <= 1.01 * half_ulp


def test_the_derivative_rule_is_the_same_in_python_and_compiled():
    """``activation.derivative`` picks sigma'(z)'s rule by z's dtype, called from Python as from a kernel."""
    from numba import njit

    from fastnet.engine.activation import derivative, logistic

    compiled = njit(lambda z: derivative(z, *logistic(z)))
    pair = njit(lambda z: logistic(z))  # (sigma(z), sigma(-z)) in float64
    for z in (np.float64(40.0), np.float32(40.0), np.float64(-3.5), np.float32(12.0)):
        assert derivative(z, *pair(z)) == compiled(z)
    assert derivative(np.float64(40.0), *pair(np.float64(40.0))) == 0.0
    assert derivative(np.float32(40.0), *pair(np.float32(40.0))) > 0.0


def test_in_float64_the_public_sigmoid_is_the_books_expression_bit_for_bit():
    """A reader's exercise built on ``network.sigmoid`` computes the book's bits; float32 keeps fastnet's rule."""
    z = np.random.default_rng(5).normal(scale=12, size=2000)
    with np.errstate(over="ignore"):
        book = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_array_equal(fastnet.sigmoid(z), book)
    np.testing.assert_array_equal(fastnet.sigmoid_prime(z), book * (1 - book))
    z32 = z.astype(np.float32)
    assert fastnet.sigmoid_prime(z32).dtype == np.float32
    np.testing.assert_array_equal(fastnet.sigmoid_prime(z32), naive_sigmoid_prime(z32).astype(np.float32))
