"""Load MNIST in the formats of the book's ``mnist_loader``.

``load_data`` gives ``(training, validation, test)``, each ``(images, labels)`` with images float32
``(n, 784)`` and integer labels ``(n,)``; ``load_data_wrapper`` gives the book's lists of ``(x, y)``
column-vector tuples. Both read the four official IDX files (gzip) from a directory, checking them
against its ``SHA256SUMS``, or the book's own ``mnist.pkl.gz`` when given that file's path.

A pixel byte k becomes the float32 k/256, exactly as the book's ``mnist.pkl.gz`` stores it (so
pixels lie in [0, 255/256]): the IDX files and the book's pickle give identical arrays, and the
book's code prints the same numbers from either.

Where to look when no path is given: the directory in the environment variable ``FASTNET_DATA``,
then the copy of MNIST installed with fastnet (the package ``fastnet.data``, the top-level ``data/``
of the source tree).
"""

import gzip
import hashlib
import os
import pickle
import random
import zlib
from importlib.resources import files
from pathlib import Path

import numpy as np

from ._book.files import write_atomically
from ._book.validation import BadType, BadValue

__all__ = ["load_data", "load_data_wrapper", "vectorized_result", "expand", "DataError"]

IMAGE_SIZE = 28 * 28
NUM_CLASSES = 10
TRAINING_SIZE = 50_000  # the book keeps the first 50,000 official training images for training

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CHECKSUMS = "SHA256SUMS"
_IDX_MAGIC = {"images": 2051, "labels": 2049}
_HOW_TO_GET = (
    "fastnet installs MNIST as its package fastnet.data; point the FASTNET_DATA "
    "environment variable or the path argument at a directory holding the four official files "
    f"({', '.join(FILES.values())}) and {CHECKSUMS}, or at the book's mnist.pkl.gz"
)


class DataError(ValueError):
    """A data file is missing, damaged or not what it claims to be."""


def default_data_dir():
    """Return the directory read when no path is given: ``$FASTNET_DATA``, else the bundled ``fastnet.data``."""
    env = os.environ.get("FASTNET_DATA")
    if env:
        return Path(env)
    try:
        return Path(str(files("fastnet.data")))
    except ModuleNotFoundError:  # fastnet run from its source tree, not installed: the tree's data/
        return Path(__file__).resolve().parent.parent / "data"


def load_data(path=None):
    """Return ``(training, validation, test)``, each a pair ``(images, labels)``.

    Images are float32 arrays ``(n, 784)``, pixel byte k as k/256 (the book's pickle); labels are int64 arrays
    ``(n,)``. ``training`` is the first 50,000 official training images, ``validation`` the last
    10,000 and ``test`` the official 10,000 test images. ``path`` is a directory holding the IDX
    files or the path of the book's ``mnist.pkl.gz``; by default, see the module's docstring.
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise BadType(f"load_data: path must be a directory or a file path, got {path!r} ({type(path).__name__})")
    path = default_data_dir() if path is None else Path(path)
    if path.is_file():
        return _load_pickle(path)
    if not path.is_dir():
        raise DataError(f"MNIST data not found: {path} is neither a directory nor a file. {_HOW_TO_GET}.")
    sums = _read_checksums(path)
    train_images = _read_idx(path / FILES["train_images"], "images", sums)
    train_labels = _read_idx(path / FILES["train_labels"], "labels", sums)
    test_images = _read_idx(path / FILES["test_images"], "images", sums)
    test_labels = _read_idx(path / FILES["test_labels"], "labels", sums)
    _check_counts(path / FILES["train_images"], train_images, path / FILES["train_labels"], train_labels)
    _check_counts(path / FILES["test_images"], test_images, path / FILES["test_labels"], test_labels)
    if len(train_labels) <= TRAINING_SIZE:
        raise DataError(
            f"{path / FILES['train_labels']}: expected more than {TRAINING_SIZE} training examples "
            f"to split off a validation set, found {len(train_labels)}"
        )
    train_x = _scale(train_images)
    test_x = _scale(test_images)
    training = (train_x[:TRAINING_SIZE], train_labels[:TRAINING_SIZE])
    validation = (train_x[TRAINING_SIZE:], train_labels[TRAINING_SIZE:])
    return training, validation, (test_x, test_labels)


def load_data_wrapper(path=None):
    """Return the book's lists ``(training, validation, test)`` of column-vector tuples.

    ``training`` holds 50,000 tuples ``(x, y)`` with ``x`` float32 ``(784, 1)`` and ``y`` the one-hot
    ``(10, 1)`` vector of the digit; ``validation`` and ``test`` hold 10,000 tuples ``(x, label)``
    with an int label. Lists, not one-shot iterators.
    """
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data(path)
    one_hot = np.eye(NUM_CLASSES)[tr_y][:, :, None]  # (n, 10, 1)
    training = list(zip(tr_x[:, :, None], one_hot))
    validation = list(zip(va_x[:, :, None], va_y.tolist()))
    test = list(zip(te_x[:, :, None], te_y.tolist()))
    return training, validation, test


EXPANDED_SHUFFLE_SEED = 0  # the book's expand_mnist.py shuffles unseeded; fastnet's set is the same everywhere
SHIFTS = [(1, 0), (-1, 0), (1, 1), (-1, 1)]  # (direction, axis) of the book's four shifts: down, up, right, left
EXPANDED_FORMAT = f"expanded 1: shifts {SHIFTS}, shuffle seed {EXPANDED_SHUFFLE_SEED}"  # in the cache's key


def expand(path=None, cache=None):
    """Return ``(training, validation, test)`` as ``load_data`` does, with the book's expanded training set.

    The book's ``expand_mnist.py``: each of the 50,000 training images, then the same image shifted by
    one pixel down, up, right and left (a zero row or column shifted in), 250,000 images in all,
    shuffled. The book shuffles without a seed; fastnet shuffles with ``random.Random(0)``, so the
    set is the same on every machine. The images of ``path`` (as ``load_data`` reads it) are
    expanded once and kept in ``cache`` (default: ``$FASTNET_CACHE``, else ``~/.cache/fastnet``), a
    file named after a hash of the training set; later calls read it back. Where no cache can be
    written, the set is built every time.
    """
    training, validation, test = load_data(path)
    images, labels = training
    pixels = images * np.float32(256)
    if not (np.all(pixels == np.round(pixels)) and np.all((0 <= pixels) & (pixels <= 255))):
        raise DataError("expand: the training images must hold pixels k/256 for bytes k (as MNIST's files and the "
                        "book's mnist.pkl.gz do); these do not")
    pixels = pixels.astype(np.uint8).reshape(-1, 28, 28)
    digest = hashlib.sha256(EXPANDED_FORMAT.encode())
    digest.update(memoryview(pixels))
    digest.update(memoryview(np.ascontiguousarray(labels, dtype=np.int64)))
    expanded = _read_expanded(cache, f"mnist_expanded-{digest.hexdigest()[:16]}.npz", 5 * len(labels))
    if expanded is None:
        expanded = _expanded(pixels, labels)
        _write_expanded(cache, f"mnist_expanded-{digest.hexdigest()[:16]}.npz", *expanded)
    return (_scale(expanded[0]), expanded[1]), validation, test


def _read_expanded(cache, name, n):
    """The cached ``(pixels, labels)`` of ``n`` images, or None when there are none or they are not whole."""
    try:
        with np.load(_cache_dir(cache) / name) as f:
            pixels, labels = f["pixels"], f["labels"].astype(np.int64)
    except Exception:  # noqa: BLE001 (missing, unreadable, truncated or foreign: built again)
        return None
    whole = pixels.dtype == np.uint8 and pixels.shape == (n, 28, 28) and labels.shape == (n,)
    return (pixels, labels) if whole and np.all((0 <= labels) & (labels < NUM_CLASSES)) else None


def _write_expanded(cache, name, pixels, labels):
    """Keep the expanded set for later calls, readable by other users of a shared cache; quietly nothing where
    no cache can be written."""

    def write(f):
        np.savez(f, pixels=pixels, labels=labels)
        os.fchmod(f.fileno(), 0o644)

    try:
        directory = _cache_dir(cache)
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(directory / name, write)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        pass


def _expanded(images, labels):
    """The book's expansion of ``images`` (uint8 ``(n, 28, 28)``): each image then its four shifts, shuffled."""
    n = len(images)
    out = np.empty((5, n, 28, 28), dtype=images.dtype)
    out[0] = images
    for k, (direction, axis) in enumerate(SHIFTS, start=1):
        out[k] = np.roll(images, direction, axis=axis + 1)
        edge = 0 if direction == 1 else 27  # the row or column that rolled round is zero instead
        if axis == 0:
            out[k][:, edge, :] = 0
        else:
            out[k][:, :, edge] = 0
    pixels, expanded_labels = out.transpose(1, 0, 2, 3).reshape(5 * n, 28, 28), np.repeat(labels, 5)
    order = list(range(5 * n))  # image i's five versions at 5i .. 5i + 4, as the book appends them
    random.Random(EXPANDED_SHUFFLE_SEED).shuffle(order)
    return pixels[order], expanded_labels[order]


def _cache_dir(cache):
    """Where ``expand`` keeps its set: ``cache``, ``$FASTNET_CACHE``, or the user's cache directory."""
    if cache is not None:
        return Path(cache)
    if os.environ.get("FASTNET_CACHE"):
        return Path(os.environ["FASTNET_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fastnet"


def vectorized_result(j):
    """Return the one-hot ``(10, 1)`` float64 vector with 1.0 in position ``j`` (a digit 0..9)."""
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)):
        raise BadType(f"vectorized_result: j must be an integer digit 0..9, got {type(j).__name__} {j!r}")
    if not 0 <= j < NUM_CLASSES:
        raise BadValue(f"vectorized_result: j must be a digit 0..9, got {j}")
    e = np.zeros((NUM_CLASSES, 1))
    e[j] = 1.0
    return e


def _scale(images):
    """uint8 pixels ``(n, 28, 28)`` as float32 ``(n, 784)``, byte k as k/256 (exact), as in the book's pickle."""
    scaled = images.reshape(len(images), -1).astype(np.float32)
    scaled *= np.float32(1 / 256)  # in place: one array of 188 MB for the training set, not two
    return scaled


def _read_checksums(directory):
    """Parse ``SHA256SUMS`` into ``{file name: hex digest}``."""
    sums_path = directory / CHECKSUMS
    try:
        text = sums_path.read_text()
    except FileNotFoundError:
        raise DataError(f"{sums_path}: checksum file missing. {_HOW_TO_GET}.") from None
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(f"{sums_path}, line {number}: expected '<sha256 hex> <file name>', got {line!r}")
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _read_idx(gz_path, kind, sums):
    """Read, verify and parse one gzip-compressed IDX file into a uint8 (images) or int64 (labels) array."""
    try:
        raw = gz_path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{gz_path}: file missing. {_HOW_TO_GET}.") from None
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{gz_path}: not a readable gzip file (truncated or corrupt): {exc}") from None
    name = gz_path.name[: -len(".gz")]
    expected = sums.get(name)
    if expected is None:
        raise DataError(f"{gz_path.parent / CHECKSUMS}: has no checksum for {name}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{gz_path}: checksum mismatch (the file is damaged or not the official MNIST file): "
            f"expected SHA256 {expected}, got {actual}"
        )
    return _parse_idx(data, kind, gz_path)


def _parse_idx(data, kind, where):
    """Parse the bytes of an IDX file (big-endian header, then uint8 values)."""
    ndim = 3 if kind == "images" else 1
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{where}: too short for an IDX {kind} header ({len(data)} bytes)")
    magic, *shape = (int(v) for v in np.frombuffer(data, ">u4", count=1 + ndim))
    if magic != _IDX_MAGIC[kind]:
        raise DataError(f"{where}: wrong IDX magic number for {kind}: expected {_IDX_MAGIC[kind]}, got {magic}")
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(
            f"{where}: header promises {' x '.join(map(str, shape))} = {expected} values, "
            f"file holds {len(data) - header}"
        )
    values = np.frombuffer(data, np.uint8, offset=header).reshape(shape)
    return values if kind == "images" else values.astype(np.int64)


def _check_counts(images_path, images, labels_path, labels):
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )


def _load_pickle(path):
    """Read the book's ``mnist.pkl.gz`` (a Python 2 pickle of three ``(images, labels)`` pairs)."""
    try:
        with gzip.open(path, "rb") as f:
            sets = pickle.load(f, encoding="latin1")
    except Exception as exc:  # a damaged or foreign pickle can fail in many ways (EOFError, UnpicklingError, ...)
        raise DataError(f"{path}: not a readable mnist.pkl.gz (truncated, corrupt or not MNIST): {exc!r}") from None
    if not (isinstance(sets, tuple) and len(sets) == 3):
        raise DataError(f"{path}: expected a pickled tuple (training, validation, test), got {type(sets).__name__}")
    result = []
    for name, pair in zip(("training", "validation", "test"), sets):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):  # the book's expanded pickle holds lists
            raise DataError(f"{path}: the {name} set must be a pair (images, labels), got {type(pair).__name__}")
        images, labels = (np.asarray(a) for a in pair)
        if images.ndim != 2 or images.shape[1] != IMAGE_SIZE or labels.shape != (len(images),):
            raise DataError(
                f"{path}: {name} set must be images (n, {IMAGE_SIZE}) with labels (n,), "
                f"got {images.shape} and {labels.shape}"
            )
        result.append((images.astype(np.float32), labels.astype(np.int64)))
    return tuple(result)
