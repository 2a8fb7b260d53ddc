"""The data travel with the package: a non-editable install and a wheel find MNIST from any directory."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import fastnet

ROOT = Path(fastnet.__file__).resolve().parent.parent
DATA_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz", "SHA256SUMS"]
PROBE = (
    "from fastnet import mnist_loader\n"
    "(tr, _), (va, _), (te, _) = mnist_loader.load_data()\n"
    "print(mnist_loader.default_data_dir(), len(tr), len(va), len(te))\n"
)


def clean_tree(destination):
    """The files a release is built from, copied without caches or build output."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, destination / name)
    for name in ("fastnet", "data"):
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def test_a_non_editable_install_and_a_wheel_find_the_data_from_any_directory(tmp_path):
    pip = [sys.executable, "-m", "pip", "--quiet"]
    jobs = [  # both builds at once, each from its own copy (they would share build/)
        subprocess.Popen(pip + ["install", "--no-deps", "--target", str(tmp_path / "installed"),
                                str(clean_tree(tmp_path / "tree"))]),
        subprocess.Popen(pip + ["wheel", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
                                str(clean_tree(tmp_path / "tree-for-wheel"))]),
    ]
    assert [job.wait(timeout=300) for job in jobs] == [0, 0]
    (wheel,) = (tmp_path / "dist").glob("fastnet-*.whl")
    assert {f"fastnet/data/{name}" for name in DATA_FILES} <= set(zipfile.ZipFile(wheel).namelist())
    subprocess.run(pip + ["install", "--no-deps", "--target", str(tmp_path / "from-wheel"), str(wheel)], check=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FASTNET_DATA"}
    for site in ("installed", "from-wheel"):
        env["PYTHONPATH"] = str(tmp_path / site)
        result = subprocess.run([sys.executable, "-c", PROBE], cwd=elsewhere, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        directory, *counts = result.stdout.split()
        assert Path(directory) == tmp_path / site / "fastnet" / "data"
        assert counts == ["50000", "10000", "10000"]
