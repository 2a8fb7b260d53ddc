"""The scaling table under pytest-benchmark: fastnet's SGD epoch over sizes, mini-batch sizes and dtypes.

The cases are ``fastnet.tools.bench.CASES`` (``fastnet bench`` prints the same table). The reference
trains on ``REFERENCE_IMAGES`` images and is scaled up to the 50,000 of an epoch. The two cases
``test_epoch.py`` already times on whole epochs are left out here.
"""

import pytest

from fastnet.tools.bench import (BOOK_STEP, CASES, DTYPES, EPOCH_IMAGES, REFERENCE_IMAGES, book_examples, case_name,
                           fastnet_training, reference_epoch)
from test_epoch import SIZES

SCALING = [(sizes, m) for sizes, m in CASES if not (m == 10 and sizes in SIZES.values())]
IDS = [case_name(sizes, m).replace(", ", "-").replace(" ", "") for sizes, m in SCALING]


@pytest.mark.parametrize("sizes, mini_batch_size", SCALING, ids=IDS)
def test_reference_scaled(benchmark, record, mnist_arrays, sizes, mini_batch_size):
    training = book_examples(*mnist_arrays, REFERENCE_IMAGES)
    benchmark.pedantic(reference_epoch, args=(sizes, mini_batch_size, training), rounds=1)
    record(case_name(sizes, mini_batch_size), "reference per-example", benchmark, scale=EPOCH_IMAGES / REFERENCE_IMAGES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes, mini_batch_size", SCALING, ids=IDS)
def test_fastnet_scaled(benchmark, record, mnist_arrays, sizes, mini_batch_size, dtype):
    training = fastnet_training(sizes, dtype, *mnist_arrays)
    benchmark.pedantic(training.epoch, args=(mini_batch_size, BOOK_STEP), rounds=3, warmup_rounds=1)
    record(case_name(sizes, mini_batch_size), f"fastnet SGD epoch {dtype}", benchmark)
