"""The kernels' bundles are declared once (``engine/bundles.py``): a wrong dtype, shape, layout or kind
fails where the bundle is made or handed over, with a message naming the field, instead of compiling
the kernels again for it."""

import numpy as np
import pytest

from fastnet.engine import Step, Training, data_set, pack
from fastnet.engine.bundles import checked
from fastnet.engine.driver import make_work, outputs
from fastnet.engine.inputs import sparse_rows
from fastnet.engine.kernels import Work


def small(dtype=np.float64):
    rng = np.random.default_rng(0)
    params = pack([rng.normal(size=(4, 3)), rng.normal(size=(2, 4))], [np.zeros((4, 1)), np.zeros((2, 1))], dtype)
    data = data_set(rng.random((5, 3)), rng.integers(0, 2, 5), 2, dtype)
    return params, data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_what_fastnet_makes_passes_its_declaration(dtype):
    params, data = small(dtype)
    assert checked(params) is params and checked(data, dtype) is data
    assert checked(make_work(params, 3, 2), dtype).act.dtype == dtype
    assert checked(Step(3.0, 1.0, 0)) == (3.0, 1.0, 0)


@pytest.mark.parametrize("field, value, message", [
    ("sizes", lambda p: p.sizes.astype(np.int32),
     "Params.sizes: declared a C-contiguous 1-D int64 array, got a C-contiguous 1-D int32 array"),
    ("scale", lambda p: p.scale.astype(np.float32),
     "Params.scale: declared a C-contiguous 1-D float64 array, got a C-contiguous 1-D float32 array"),
    ("b", lambda p: p.b.astype(np.float32),
     "Params.b: declared a C-contiguous 1-D float64 array, got a C-contiguous 1-D float32 array"),
    ("wt", lambda p: np.repeat(p.wt, 2)[::2],
     "Params.wt: declared a C-contiguous 1-D float64 array, got a not contiguous 1-D float64 array"),
    ("w_off", lambda p: list(p.w_off), "Params.w_off: declared a 1-D int64 array, got list"),
])
def test_a_wrong_field_of_the_parameters_is_named(field, value, message):
    params, data = small()
    broken = params._replace(**{field: value(params)})
    with pytest.raises(TypeError) as error:
        Training(broken, data)
    assert str(error.value) == message


def test_data_in_another_float_dtype_than_the_parameters_is_refused():
    params, _ = small(np.float64)
    _, data32 = small(np.float32)
    with pytest.raises(TypeError, match=r"^SparseRows.values: declared a C-contiguous 1-D float64 array, got a "
                                        r"C-contiguous 1-D float32 array$"):
        Training(params, data32)
    with pytest.raises(TypeError, match=r"^SparseRows.values: declared .* float64 array, got .* float32 array$"):
        outputs(params, sparse_rows(np.ones((2, 3)), np.float32))


@pytest.mark.parametrize("step, message", [
    (Step(np.float32(3.0), 1.0, 0), "Step.eta: declared a Python float, got float32 3.0"),
    (Step(3.0, 1.0, True), "Step.rule: declared a Python int, got bool True"),
    (Step(3.0, 1, 0), "Step.decay: declared a Python float, got int 1"),
])
def test_a_step_of_other_kinds_of_numbers_is_refused_before_it_runs(step, message):
    params, data = small()
    run = Training(params, data, threads=1)
    before = params.wt.copy()
    with pytest.raises(TypeError) as error:
        run.epoch(2, step)
    assert str(error.value) == message and np.array_equal(params.wt, before)


def test_work_buffers_of_mixed_dtypes_are_refused():
    params, _ = small()
    work = make_work(params, 3, 1)
    with pytest.raises(TypeError, match=r"^Work.sp: declared .* float64 array, got .* float32 array$"):
        checked(work._replace(sp=work.sp.astype(np.float32)), np.float64)
    assert Work.DECLARED["terms"].ndim == 3


def test_a_nested_bundle_shares_the_float_dtype_of_its_parent():
    _, data = small(np.float64)
    mixed = data._replace(targets=data.targets.astype(np.float32))  # inputs float64, targets float32
    with pytest.raises(TypeError, match=r"^DataSet.targets: declared .* float64 array, got .* float32 array$"):
        checked(mixed)


def test_numpy_integers_and_floats_count_as_the_numbers_numba_types_alike():
    assert checked(Step(np.float64(3.0), 1.0, np.int64(0))).rule == 0
    with pytest.raises(TypeError, match=r"^Step.rule: declared a Python int, got bool True$"):
        checked(Step(3.0, 1.0, np.True_))
