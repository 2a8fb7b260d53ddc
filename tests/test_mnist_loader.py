"""The loader on the bundled MNIST files and on small synthetic IDX and pickle files."""

import gzip
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from fastnet import mnist_loader
from fastnet.mnist_loader import DataError, FILES
from conftest import DATA
from naive import write_idx

TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_files_formats_and_facts(mnist):
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = mnist
    assert tr_x.shape == (50_000, 784) and va_x.shape == (10_000, 784) and te_x.shape == (10_000, 784)
    assert tr_x.dtype == np.float32 and tr_y.shape == (50_000,) and np.issubdtype(tr_y.dtype, np.integer)
    assert 0.0 == tr_x.min() and tr_x.max() == 255 / 256  # the book's pickle: byte k as k/256
    assert np.array_equal(tr_x * 256, np.round(tr_x * 256))
    assert tr_y[0] == 5 and te_y[0] == 7
    assert np.bincount(te_y, minlength=10).tolist() == TEST_CLASS_COUNTS
    assert len(va_y) == 10_000


def test_wrapper_gives_the_books_lists(mnist):
    training, validation, test = mnist_loader.load_data_wrapper(DATA)
    assert isinstance(training, list) and len(training) == 50_000
    assert isinstance(validation, list) and isinstance(test, list) and len(test) == 10_000
    x, y = training[0]
    assert x.shape == (784, 1) and y.shape == (10, 1) and y[5, 0] == 1.0 and y.sum() == 1.0
    np.testing.assert_array_equal(x[:, 0], mnist[0][0][0])
    tx, label = test[0]
    assert tx.shape == (784, 1) and label == 7 and type(label) is int


def test_default_path_and_environment_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("FASTNET_DATA", raising=False)
    assert mnist_loader.default_data_dir() == DATA
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path))
    assert mnist_loader.default_data_dir() == tmp_path


def test_vectorized_result():
    for j in range(10):
        e = mnist_loader.vectorized_result(j)
        assert e.shape == (10, 1) and e[j, 0] == 1.0 and e.sum() == 1.0
    with pytest.raises(ValueError, match="digit 0..9, got 10"):
        mnist_loader.vectorized_result(10)


def make_idx_dir(directory, n_train=60, n_test=7, seed=0):
    """Write four small IDX files (n_train training, n_test test images) and their SHA256SUMS."""
    rng = np.random.default_rng(seed)
    train_images = np.zeros((n_train, 28, 28), dtype=np.uint8)  # mostly blank: quick to compress
    train_images[:5] = rng.integers(0, 256, (5, 28, 28))
    train_images[-3:] = rng.integers(0, 256, (3, 28, 28))
    arrays = {
        "train_images": (train_images, 2051),
        "train_labels": (rng.integers(0, 10, n_train), 2049),
        "test_images": (rng.integers(0, 256, (n_test, 28, 28)), 2051),
        "test_labels": (rng.integers(0, 10, n_test), 2049),
    }
    lines = []
    for key, (array, magic) in arrays.items():
        path = directory / FILES[key]
        write_idx(path, array, magic)
        lines.append(f"{hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()}  {path.name[:-3]}")
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return {key: array for key, (array, _) in arrays.items()}


def test_synthetic_idx_files(tmp_path, monkeypatch):
    arrays = make_idx_dir(tmp_path, n_train=50_003)
    monkeypatch.setenv("FASTNET_DATA", str(tmp_path))
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = mnist_loader.load_data()
    assert len(tr_y) == 50_000 and len(va_y) == 3 and len(te_y) == 7
    np.testing.assert_array_equal(va_y, arrays["train_labels"][50_000:])
    np.testing.assert_array_equal(te_x[2] * 256, arrays["test_images"][2].reshape(-1).astype(np.float32))
    np.testing.assert_array_equal(tr_x[1], arrays["train_images"][1].reshape(-1) / np.float32(256))
    np.testing.assert_array_equal(va_x[2], arrays["train_images"][50_002].reshape(-1) / np.float32(256))
    assert tr_x.dtype == np.float32


def test_books_pickle(tmp_path):
    rng = np.random.default_rng(1)
    sets = tuple((rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n)) for n in (5, 3, 4))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(sets, f, protocol=2)
    loaded = mnist_loader.load_data(path)
    for (x, y), (want_x, want_y) in zip(loaded, sets):
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)
    training, validation, test = mnist_loader.load_data_wrapper(path)
    assert len(training) == 5 and training[0][1].shape == (10, 1) and test[0][1] == sets[2][1][0]


def test_checksum_mismatch_names_the_file(tmp_path):
    arrays = make_idx_dir(tmp_path, n_train=50_001)
    damaged = arrays["test_images"].copy()
    damaged[0, 0, 0] ^= 1  # one pixel off: still a valid IDX file, but not the one the sums describe
    write_idx(tmp_path / FILES["test_images"], damaged, 2051)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: checksum mismatch"):
        mnist_loader.load_data(tmp_path)


def test_path_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"load_data: path must be a directory or a file path, got 42 \(int\)"):
        mnist_loader.load_data(42)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="not found.*FASTNET_DATA"):
        mnist_loader.load_data(tmp_path / "nowhere")


def resum(directory):
    """Rewrite SHA256SUMS to match the files as they now are (to test damage the sums cannot see)."""
    lines = [
        f"{hashlib.sha256(gzip.decompress((directory / f).read_bytes())).hexdigest()}  {f[:-3]}"
        for f in FILES.values()
    ]
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_missing_file_says_how_to_get_it(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    (tmp_path / FILES["train_labels"]).unlink()
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: file missing.*FASTNET_DATA"):
        mnist_loader.load_data(tmp_path)


def test_truncated_gzip_names_the_file(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    path = tmp_path / FILES["train_images"]
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: not a readable gzip file \(truncated or corrupt\)"):
        mnist_loader.load_data(tmp_path)


def test_not_gzip_at_all(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    (tmp_path / FILES["test_labels"]).write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: not a readable gzip file"):
        mnist_loader.load_data(tmp_path)


def test_wrong_magic_number(tmp_path):
    arrays = make_idx_dir(tmp_path, n_train=50_001)
    write_idx(tmp_path / FILES["test_labels"], arrays["test_labels"], 2051)  # the images' magic
    resum(tmp_path)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: wrong IDX magic number for labels: expected 2049, got 2051"):
        mnist_loader.load_data(tmp_path)


def test_header_and_size_disagree(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    path = tmp_path / FILES["test_images"]
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-10]))
    resum(tmp_path)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: header promises 7 x 28 x 28 = 5488 values, file holds 5478"):
        mnist_loader.load_data(tmp_path)


def test_count_mismatch_between_images_and_labels(tmp_path):
    arrays = make_idx_dir(tmp_path, n_train=50_001)
    write_idx(tmp_path / FILES["test_labels"], arrays["test_labels"][:5], 2049)
    resum(tmp_path)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz holds 7 images but .*t10k-labels-idx1-ubyte.gz holds 5 labels"):
        mnist_loader.load_data(tmp_path)


def test_missing_checksum_file(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    (tmp_path / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match=r"SHA256SUMS: checksum file missing"):
        mnist_loader.load_data(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08\x00garbage", gzip.compress(b"not a pickle", mtime=0),
                                     gzip.compress(pickle.dumps({"a": 1}), mtime=0)],
                         ids=["empty", "cut short", "not a pickle", "not MNIST"])
def test_damaged_or_foreign_pickle(tmp_path, content):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"mnist.pkl.gz: "):
        mnist_loader.load_data(path)


def books_pickle_from_idx(directory, path):
    """Write ``path``, a ``mnist.pkl.gz`` in the book's layout, from the IDX files in ``directory``.

    The book's pickle (Python 2, protocol 2) holds three pairs ``(images, labels)``: images
    float32 ``(n, 784)`` with pixel byte k stored as k / 256, labels int64 ``(n,)``; training is
    the first 50,000 official training images, validation the other 10,000, test the official test set.
    """
    def idx(name, offset, shape):
        return np.frombuffer(gzip.decompress((directory / FILES[name]).read_bytes()), np.uint8, offset=offset).reshape(shape)

    images = {k: idx(f"{k}_images", 16, (-1, 784)).astype(np.float32) / 256 for k in ("train", "test")}
    labels = {k: idx(f"{k}_labels", 8, (-1,)).astype(np.int64) for k in ("train", "test")}
    sets = (
        (images["train"][:50_000], labels["train"][:50_000]),
        (images["train"][50_000:], labels["train"][50_000:]),
        (images["test"], labels["test"]),
    )
    path.write_bytes(gzip.compress(pickle.dumps(sets, protocol=2), compresslevel=0))  # stored: quick


def test_bundled_idx_files_and_the_books_pickle_give_identical_arrays(tmp_path, mnist):
    pickle_path = tmp_path / "mnist.pkl.gz"
    books_pickle_from_idx(DATA, pickle_path)
    for (x, y), (px, py) in zip(mnist, mnist_loader.load_data(pickle_path)):
        assert x.dtype == px.dtype == np.float32 and y.dtype == py.dtype
        np.testing.assert_array_equal(x, px)
        np.testing.assert_array_equal(y, py)
    first = mnist[0][0][0]  # the book's first training image, a 5: its brightest pixel is 255/256
    assert first.max() == np.float32(0.99609375) and np.count_nonzero(first) == 166


def test_an_idx_file_too_short_for_its_header(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    path = tmp_path / FILES["train_labels"]
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00"))  # 5 bytes: a label file's header needs 8
    resum(tmp_path)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: too short for an IDX labels header \(5 bytes\)"):
        mnist_loader.load_data(tmp_path)


@pytest.mark.parametrize(
    "line, message",
    [
        ("0123abcd  t10k-labels-idx1-ubyte", r"SHA256SUMS, line 4: expected '<sha256 hex> <file name>', got '0123abcd  t10k"),
        ("just-one-field", r"SHA256SUMS, line 4: expected '<sha256 hex> <file name>', got 'just-one-field'"),
    ],
)
def test_a_malformed_checksum_line_is_named(tmp_path, line, message):
    make_idx_dir(tmp_path, n_train=50_001)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("\n".join(sums.read_text().splitlines()[:3] + [line]) + "\n")
    with pytest.raises(DataError, match=message):
        mnist_loader.load_data(tmp_path)


def test_a_file_without_a_checksum_entry_is_named(tmp_path):
    make_idx_dir(tmp_path, n_train=50_001)
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("\n".join(l for l in sums.read_text().splitlines() if "t10k-images" not in l) + "\n")
    with pytest.raises(DataError, match=r"SHA256SUMS: has no checksum for t10k-images-idx3-ubyte"):
        mnist_loader.load_data(tmp_path)


def test_too_few_training_images_to_split_off_validation(tmp_path):
    make_idx_dir(tmp_path, n_train=50_000)
    with pytest.raises(DataError, match=r"expected more than 50000 training examples .* found 50000"):
        mnist_loader.load_data(tmp_path)


@pytest.mark.parametrize(
    "sets, message",
    [
        ((1, 2), r"expected a pickled tuple \(training, validation, test\), got tuple"),
        ([(np.zeros((2, 784)), np.zeros(2))] * 3, r"expected a pickled tuple \(training, validation, test\), got list"),
        ((np.zeros((2, 784)), (np.zeros((2, 784)), np.zeros(2)), (np.zeros((2, 784)), np.zeros(2))),
         r"the training set must be a pair \(images, labels\), got ndarray"),
        (((np.zeros((2, 784)), np.zeros(2)), (np.zeros((2, 28, 28)), np.zeros(2)), (np.zeros((2, 784)), np.zeros(2))),
         r"validation set must be images \(n, 784\) with labels \(n,\), got \(2, 28, 28\) and \(2,\)"),
        (((np.zeros((2, 784)), np.zeros(2)), (np.zeros((2, 784)), np.zeros(2)), (np.zeros((3, 784)), np.zeros(2))),
         r"test set must be images \(n, 784\) with labels \(n,\), got \(3, 784\) and \(2,\)"),
    ],
    ids=["pair", "list", "not-a-pair", "image-shape", "label-count"],
)
def test_a_wrongly_shaped_pickle_is_named(tmp_path, sets, message):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(sets, protocol=2)))
    with pytest.raises(DataError, match=r"mnist.pkl.gz: " + message):
        mnist_loader.load_data(path)


def test_a_source_tree_without_an_install_reads_its_own_data_folder(monkeypatch):
    """Run from a checkout that was never installed, ``fastnet.data`` is not a package: the tree's ``data/``."""
    monkeypatch.delenv("FASTNET_DATA", raising=False)

    def not_installed(package):
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(mnist_loader, "files", not_installed)
    assert mnist_loader.default_data_dir() == Path(mnist_loader.__file__).resolve().parent.parent / "data"
    assert (mnist_loader.default_data_dir() / "SHA256SUMS").is_file()


def shifted(image, where):
    """``image`` moved one pixel ``where``, a zero row or column coming in: written out with slices."""
    out = np.zeros_like(image)
    if where == "down":
        out[1:, :] = image[:-1, :]
    elif where == "up":
        out[:-1, :] = image[1:, :]
    elif where == "right":
        out[:, 1:] = image[:, :-1]
    else:
        out[:, :-1] = image[:, 1:]
    return out


def test_the_expanded_set_is_each_image_and_its_four_shifts_shuffled_the_same_everywhere():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (6, 28, 28), dtype=np.uint8)  # no zero pixel: every shift is visible
    labels = np.arange(6)
    pixels, expanded = mnist_loader._expanded(images, labels)
    assert pixels.shape == (30, 28, 28) and sorted(expanded.tolist()) == sorted(list(range(6)) * 5)
    for i in range(6):
        mine = pixels[expanded == i]
        want = [images[i]] + [shifted(images[i], w) for w in ("down", "up", "right", "left")]
        assert sorted(map(bytes, mine)) == sorted(map(bytes, want))
    again, again_labels = mnist_loader._expanded(images, labels)
    assert np.array_equal(again, pixels) and np.array_equal(again_labels, expanded)
    assert not np.array_equal(expanded, np.repeat(labels, 5))  # shuffled, as the book's script leaves it


def test_expand_builds_once_then_reads_its_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    small = (rng.integers(0, 256, (4, 784)).astype(np.float32) / 256, np.arange(4))
    monkeypatch.setattr(mnist_loader, "load_data", lambda path=None: (small, "validation", "test"))
    (images, labels), validation, test = mnist_loader.expand(cache=tmp_path)
    assert images.shape == (20, 784) and images.dtype == np.float32 and (validation, test) == ("validation", "test")
    assert len(list(tmp_path.glob("mnist_expanded-*.npz"))) == 1
    monkeypatch.setattr(mnist_loader, "_expanded", lambda *args: pytest.fail("built again"))
    (cached_images, cached_labels), _, _ = mnist_loader.expand(cache=tmp_path)
    assert np.array_equal(cached_images, images) and np.array_equal(cached_labels, labels)


def test_the_books_expanded_pickle_of_lists_reads(tmp_path):
    """The book's expand_mnist.py pickles the training set as two lists, not a tuple of arrays."""
    rng = np.random.default_rng(2)
    sets = ([list(rng.random((3, 784)).astype(np.float32)), [1, 2, 3]],
            (rng.random((2, 784)).astype(np.float32), np.array([4, 5])),
            (rng.random((2, 784)).astype(np.float32), np.array([6, 7])))
    path = tmp_path / "mnist_expanded.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(sets, f)
    (x, y), _, _ = mnist_loader.load_data(path)
    assert x.shape == (3, 784) and y.tolist() == [1, 2, 3]


@pytest.mark.parametrize("damage", ["truncated", "empty", "foreign"])
def test_a_damaged_cache_is_built_again(tmp_path, monkeypatch, damage):
    rng = np.random.default_rng(3)
    small = (rng.integers(0, 256, (4, 784)).astype(np.float32) / 256, np.arange(4))
    monkeypatch.setattr(mnist_loader, "load_data", lambda path=None: (small, None, None))
    (images, labels), _, _ = mnist_loader.expand(cache=tmp_path)
    (cached,) = tmp_path.glob("mnist_expanded-*.npz")
    assert oct(cached.stat().st_mode & 0o777) == "0o644"  # a shared cache serves every user
    if damage == "truncated":
        cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])
    elif damage == "empty":
        cached.write_bytes(b"")
    else:
        np.savez(cached, pixels=np.zeros((3, 28, 28), np.uint8), labels=np.zeros(3, np.int64))
    (again, again_labels), _, _ = mnist_loader.expand(cache=tmp_path)
    assert np.array_equal(again, images) and np.array_equal(again_labels, labels)


def test_images_not_in_the_books_scale_are_refused_by_expand(monkeypatch):
    monkeypatch.setattr(mnist_loader, "load_data", lambda path=None: ((np.ones((2, 784), np.float32), np.arange(2)), 0, 0))
    with pytest.raises(mnist_loader.DataError, match=r"^expand: the training images must hold pixels k/256"):
        mnist_loader.expand()
