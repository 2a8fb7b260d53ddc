import random

import numpy as np
import pytest

from fastnet.engine.shuffle import shuffle_in_place


@pytest.mark.parametrize("seed", [0, 1, 2, 99, 2**40])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 623, 624, 625, 5000, 50_000])
def test_matches_random_shuffle_and_leaves_the_same_state(seed, n):
    random.seed(seed)
    expected = list(range(n))
    for _ in range(3):
        random.shuffle(expected)
    after = random.getstate()
    random.seed(seed)
    order = np.arange(n)
    for _ in range(3):
        shuffle_in_place(order)
    assert order.tolist() == expected
    assert random.getstate() == after


def test_state_with_gauss_pending_is_kept():
    random.seed(3)
    random.gauss(0, 1)  # leaves a cached second normal in the state
    state = random.getstate()
    shuffle_in_place(np.arange(10))
    assert random.getstate()[2] == state[2]
