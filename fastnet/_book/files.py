"""A network's files: chapter 1's portable ``.npz`` (saved and loaded back exactly), and the atomic
write that every saved file goes through.

The ``.npz`` file holds a format tag and version, the layer sizes, the dtype and every weight and
bias array; nothing is pickled. Files are written to a temporary file beside the target and
renamed over it, so a crash mid-write never leaves a damaged file at the path.
"""

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "fastnet-network"
VERSION = 1


class ModelFileError(ValueError):
    """A file is not a fastnet network, is damaged, or is of an unknown version."""


def write_atomically(path, write, mode="wb"):
    """Call ``write(file)`` on a new temporary file beside ``path`` (opened with ``mode``), then rename it
    to ``path``: the path holds the old file or the whole new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save(net, path):
    """Write ``net`` (sizes, dtype, weights, biases) to ``path`` as ``.npz``, atomically."""
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "sizes": np.array(net.sizes, dtype=np.int64),
        "dtype": np.array(np.dtype(net.dtype).name),
    }
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"weights_{l}"] = np.asarray(w, dtype=net.dtype)
        arrays[f"biases_{l}"] = np.asarray(b, dtype=net.dtype)
    write_atomically(path, lambda f: np.savez(f, **arrays))


def load(path):
    """Read a network written by ``save``; returns ``(sizes, dtype, weights, biases)``."""
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .npz file (not a zip archive): damaged, truncated or foreign")
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {key: f[key] for key in f.files}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: not a readable .npz file (damaged or foreign): {exc}") from None
    if str(contents.get("format", "")) != FORMAT:
        raise ModelFileError(f"{path}: not a fastnet network file (no '{FORMAT}' format tag)")
    version = int(contents.get("version", -1))
    if version != VERSION:
        raise ModelFileError(f"{path}: file format version {version}, this fastnet reads version {VERSION}")
    try:
        sizes = [int(n) for n in contents["sizes"]]
        dtype = np.dtype(str(contents["dtype"]))
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ModelFileError(f"{path}: holds a network in {dtype}; fastnet's are float64 or float32")
        weights = [contents[f"weights_{l}"] for l in range(len(sizes) - 1)]
        biases = [contents[f"biases_{l}"] for l in range(len(sizes) - 1)]
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: incomplete fastnet network file: missing {exc}") from None
    for l in range(len(sizes) - 1):
        want_w, want_b = (sizes[l + 1], sizes[l]), (sizes[l + 1], 1)
        if weights[l].shape != want_w or biases[l].shape != want_b or weights[l].dtype != dtype or biases[l].dtype != dtype:
            raise ModelFileError(
                f"{path}: layer {l} holds weights {weights[l].shape} {weights[l].dtype} and biases "
                f"{biases[l].shape} {biases[l].dtype}; sizes {sizes} and dtype {dtype} need {want_w} and {want_b}"
            )
    return sizes, dtype, weights, biases
