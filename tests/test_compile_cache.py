"""The engine's compile cache never serves machine code compiled from other sources (``engine/jit.py``).

numba alone keys a cached kernel on its own file: an edit to a file it calls into would go on
running the old code. In a copy of the package, a kernel of ``kernels.py`` is run once (filling the
cache), then a constant in ``activation.py``, which it calls into, is edited: the next process, on
the same cache and with nothing cleared, computes with the new constant.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnet

SCRIPT = """
import numpy as np
from numba import njit
from fastnet.engine import kernels

@njit
def activate(z, sp):
    kernels._activate(z, sp, 0, len(z))

z, sp = np.full(16, 2.0), np.zeros(16)
activate(z, sp)
print(repr(float(z[0])), len(kernels._activate.stats.cache_hits))
"""


def run(copy, cache):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=copy, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    value, hits = result.stdout.split()
    return float(value), int(hits)


def test_an_edit_to_a_callee_in_another_file_is_compiled_not_served_stale(tmp_path):
    copy, cache = tmp_path / "copy", tmp_path / "cache"
    shutil.copytree(Path(fastnet.__file__).parent, copy / "fastnet", ignore=shutil.ignore_patterns("__pycache__"))
    sigma_2 = 1 / (1 + np.exp(-2.0))
    assert run(copy, cache) == (pytest.approx(sigma_2, rel=1e-15), 0)  # compiled, and cached
    assert run(copy, cache) == (pytest.approx(sigma_2, rel=1e-15), 1)  # the cache serves an unchanged engine

    activation = copy / "fastnet" / "engine" / "activation.py"
    source = activation.read_text()
    assert source.count("UNDERFLOW = -745.2") == 1
    activation.write_text(source.replace("UNDERFLOW = -745.2", "UNDERFLOW = -1.5"))  # exp(x) is 0 below -1.5
    assert run(copy, cache) == (1.0, 0)  # sigma(2) = 1 / (1 + 0): the new constant, compiled afresh


def test_numbas_own_locators_chosen_by_the_user_mean_no_cache_rather_than_a_stale_one(tmp_path):
    """With ``NUMBA_CACHE_LOCATOR_CLASSES`` set, numba would not ask fastnet's locator: fastnet then compiles
    its kernels without a cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(NUMBA_CACHE_LOCATOR_CLASSES="UserWideCacheLocator", NUMBA_CACHE_DIR=str(tmp_path))
    probe = "from fastnet.engine import jit; print(jit.CACHE)"
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]
    del env["NUMBA_CACHE_LOCATOR_CLASSES"]
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True"]
