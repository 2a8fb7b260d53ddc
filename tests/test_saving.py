import os
import zipfile

import numpy as np
import pytest

import fastnet
from fastnet._book.files import ModelFileError
from helpers import random_examples, seed_both


@pytest.mark.parametrize("sizes", [[5, 4, 3], [784, 10], [3, 7, 7, 2]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(tmp_path, sizes, dtype):
    seed_both(1)
    net = fastnet.Network(sizes, dtype=dtype)
    net.SGD(random_examples(np.random.default_rng(0), sizes, 20), 1, 5, 2.0, log=lambda line: None)
    path = tmp_path / "model.npz"
    net.save(path)
    state = np.random.get_state()[1].copy()
    loaded = fastnet.load(path)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # loading draws no random numbers
    assert loaded.sizes == sizes and loaded.num_layers == len(sizes) and loaded.dtype == dtype
    for got, want in zip(loaded.weights + loaded.biases, net.weights + net.biases):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    x = np.random.default_rng(2).random((sizes[0], 3))
    np.testing.assert_array_equal(loaded.feedforward(x), net.feedforward(x))


def test_save_is_atomic(tmp_path, monkeypatch):
    seed_both(0)
    net = fastnet.Network([4, 3, 2])
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    net.weights[0][:] = 0
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == before  # the old file is intact
    assert os.listdir(tmp_path) == ["model.npz"]  # and no temporary file is left behind


def test_damaged_and_foreign_files(tmp_path):
    seed_both(0)
    path = tmp_path / "model.npz"
    fastnet.Network([4, 3, 2]).save(path)
    good = path.read_bytes()
    cases = {
        "truncated.npz": (good[: len(good) // 2], r"not a \.npz file|not a readable \.npz file"),
        "text.npz": (b"hello", r"not a \.npz file \(not a zip archive\)"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError, match=rf"{name}: ({message})"):
            fastnet.load(tmp_path / name)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(ModelFileError, match=r"foreign.npz: not a fastnet network file"):
        fastnet.load(foreign)
    newer = tmp_path / "newer.npz"
    with np.load(path) as f:
        contents = dict(f)
    np.savez(newer, **{**contents, "version": np.array(99)})
    with pytest.raises(ModelFileError, match=r"newer.npz: file format version 99, this fastnet reads version 1"):
        fastnet.load(newer)
    mismatched = tmp_path / "mismatched.npz"
    np.savez(mismatched, **{**contents, "weights_1": np.zeros((2, 4))})
    with pytest.raises(ModelFileError, match=r"mismatched.npz: layer 1 holds weights \(2, 4\)"):
        fastnet.load(mismatched)
    with pytest.raises(ModelFileError, match=r"missing.npz: no such file"):
        fastnet.load(tmp_path / "missing.npz")
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize("field", ["weights_0", "biases_0"])
def test_a_file_whose_arrays_disagree_with_its_dtype_is_refused(tmp_path, field):
    """A float32 network file holding a float64 array would load as a float32 network with float64 arrays."""
    arrays = {"format": np.array("fastnet-network"), "version": np.array(1), "sizes": np.array([3, 2]),
              "dtype": np.array("float32"), "weights_0": np.zeros((2, 3), np.float32), "biases_0": np.zeros((2, 1), np.float32)}
    arrays[field] = arrays[field].astype(np.float64)
    path = tmp_path / "mixed.npz"
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=r"mixed.npz: layer 0 holds weights \(2, 3\) float(32|64) and biases"):
        fastnet.load(path)
    good = tmp_path / "good.npz"
    fastnet.Network([3, 2], dtype=np.float32).save(good)
    net = fastnet.load(good)
    assert all(a.dtype == np.float32 for a in net.weights + net.biases)
