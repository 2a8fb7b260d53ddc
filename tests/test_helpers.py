"""The comparisons every other test relies on cannot be fooled by a NaN or an infinity, wherever it is."""

import numpy as np
import pytest

from helpers import measured_close, relative_error, same_arrays

ONES = np.ones((3, 2))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_non_finite_value_anywhere_fails_every_comparison(bad, where):
    broken = [ONES.copy(), ONES.copy(), ONES.copy()]
    broken[where][1, 1] = bad
    assert relative_error(broken, [ONES] * 3) == np.inf
    assert relative_error([ONES] * 3, broken) == np.inf
    assert not same_arrays(broken, broken)
    assert not measured_close("helpers", np.float64, broken[where], ONES, 1e300)
    assert not measured_close("helpers", np.float64, ONES, broken[where], 1e300, each=True)


def test_the_issue_case_nan_second_is_not_zero():
    assert relative_error([ONES, np.full((3, 2), np.nan)], [ONES, ONES]) == np.inf


def test_lists_of_different_lengths_or_shapes_never_match():
    assert relative_error([ONES], [ONES, ONES]) == np.inf
    assert relative_error([ONES], [np.ones((2, 3))]) == np.inf
    assert not same_arrays([ONES], [ONES, ONES])


def test_equal_and_close_values_compare_as_they_should():
    assert relative_error([ONES, 2 * ONES], [ONES, 2 * ONES]) == 0.0
    assert relative_error([ONES * (1 + 1e-12)], [ONES]) == pytest.approx(1e-12, rel=1e-3)
    assert same_arrays([ONES], [ONES.copy()]) and not same_arrays([ONES], [ONES + 1e-16 * 4])
