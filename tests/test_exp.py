import math

import numpy as np
import pytest

from fastnet.engine.activation import exp_nonpositive
from fastnet.engine.jit import kernel  # numba's own cache would serve it compiled from an older activation.py


@kernel
def exp_all(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = exp_nonpositive(x[i])
    return out


def ulps(a, b):
    """Distance in units in the last place (spacing of b)."""
    return np.abs(a - b) / np.spacing(np.abs(b))


@pytest.mark.parametrize("low", [-1e-300, -1e-8, -1.0, -40.0, -700.0, -745.0])
def test_within_two_ulps_of_math_exp(low):
    x = np.random.default_rng(int(-low * 7) % 1000).uniform(low, 0, 20_000)
    x = np.concatenate([x, [low, 0.0, -0.0, -math.log(2) / 2, -math.log(2)]])
    want = np.array([math.exp(v) for v in x])
    assert ulps(exp_all(x), want).max() <= 2


def test_limits_and_nan():
    got = exp_all(np.array([0.0, -745.3, -1000.0, -np.inf, np.nan, -708.5]))
    assert got[0] == 1.0 and got[1] == 0.0 and got[2] == 0.0 and got[3] == 0.0
    assert np.isnan(got[4])
    assert got[5] == pytest.approx(math.exp(-708.5), rel=1e-15)  # just into the subnormal scaling path
