"""Nothing lost on Ctrl-C, no overflow or NaN in extreme training, bitwise determinism, no cache needed."""

import _thread
import os
import shutil
import random
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastnet
from helpers import random_examples, seed_both

SIZES = [30, 20, 5]


def trained(epochs, data, sizes=SIZES, dtype=np.float64, log=lambda line: None):
    """A network trained from seeds 0 for ``epochs`` epochs, and the list order SGD left."""
    seed_both(0)
    net = fastnet.Network(sizes, dtype=dtype)
    order = list(data)
    net.SGD(order, epochs, 5, 3.0, log=log)
    return net, order


def assert_same_network(net, order, expected, expected_order):
    for got, want in zip(net.weights + net.biases, expected.weights + expected.biases):
        np.testing.assert_array_equal(got, want)
    assert [id(e) for e in order] == [id(e) for e in expected_order]


def test_interrupt_after_an_epoch_keeps_completed_epochs_and_reaches_the_caller():
    data = random_examples(np.random.default_rng(0), SIZES, 40)

    def interrupt_at_epoch_1(line):
        if line.startswith("Epoch 1"):
            raise KeyboardInterrupt

    seed_both(0)
    net = fastnet.Network(SIZES)
    order = list(data)
    with pytest.raises(KeyboardInterrupt):
        net.SGD(order, 5, 5, 3.0, log=interrupt_at_epoch_1)
    assert_same_network(net, order, *trained(2, data))


def test_interrupt_inside_an_epoch_lets_the_epoch_finish(monkeypatch):
    """A Ctrl-C arriving while epoch 1 shuffles: epoch 1 completes, and weights, order and random agree."""
    import fastnet.engine.driver

    data = random_examples(np.random.default_rng(5), SIZES, 40)
    shuffle = fastnet.engine.driver.shuffle_in_place
    calls = []

    def shuffle_then_interrupt(order):
        shuffle(order)
        calls.append(len(order))
        if calls.count(len(data)) == 2:  # the second epoch's shuffle (SGD first shuffles nothing, to compile)
            _thread.interrupt_main()  # the SIGINT handler runs now, between shuffle and training

    monkeypatch.setattr(fastnet.engine.driver, "shuffle_in_place", shuffle_then_interrupt)
    seed_both(0)
    net = fastnet.Network(SIZES)
    order = list(data)
    with pytest.raises(KeyboardInterrupt):
        net.SGD(order, 5, 5, 3.0, log=lambda line: None)
    state = random.getstate()
    monkeypatch.setattr(fastnet.engine.driver, "shuffle_in_place", shuffle)
    assert_same_network(net, order, *trained(2, data))
    assert random.getstate() == state


def test_real_sigint_mid_training_leaves_whole_epochs():
    """Ctrl-C lands inside a compiled epoch: the network keeps that epoch whole, nothing half-done."""
    sizes = [784, 100, 10]
    data = random_examples(np.random.default_rng(1), sizes, 3000)
    seed_both(0)
    net = fastnet.Network(sizes)
    order = list(data)
    lines = []
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.SGD(order, 10_000, 5, 3.0, log=lines.append)
    finally:
        timer.cancel()
    # The interrupt arrives during epoch len(lines) or just after its line: replay both and compare bitwise.
    for epochs in (len(lines) + 1, len(lines)):
        expected, expected_order = trained(epochs, data, sizes)
        if all(np.array_equal(a, b) for a, b in zip(net.weights + net.biases, expected.weights + expected.biases)):
            assert [id(e) for e in order] == [id(e) for e in expected_order]
            return
    pytest.fail(f"the interrupted network matches neither {len(lines)} nor {len(lines) + 1} whole epochs")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_learning_rate_and_weights_stay_finite_and_warning_free(dtype):
    data = random_examples(np.random.default_rng(2), SIZES, 60)
    test = random_examples(np.random.default_rng(3), SIZES, 20, labels=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            seed_both(0)
            net = fastnet.Network(SIZES, dtype=dtype)
            net.weights = [w * 500 for w in net.weights]  # saturate every neuron
            net.SGD(list(data), 3, 5, 100.0, test_data=test, log=lambda line: None)
            out = net.feedforward(np.full((SIZES[0], 4), 1000.0))
            assert fastnet.sigmoid(np.float64(-1000.0)) == 0.0 and fastnet.sigmoid_prime(1000.0) == 0.0
    assert all(np.all(np.isfinite(p)) for p in net.weights + net.biases)
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seeds_give_bitwise_identical_weights(dtype):
    data = random_examples(np.random.default_rng(4), SIZES, 50)
    first, first_order = trained(3, data, dtype=dtype)
    assert all(p.dtype == dtype for p in first.weights + first.biases)
    assert_same_network(first, first_order, *trained(3, data, dtype=dtype))


def test_works_when_no_compile_cache_can_be_written(tmp_path):
    """A copy of the package whose __pycache__ cannot be created, and no writable cache elsewhere."""
    package = Path(fastnet.__file__).parent
    copy = tmp_path / "fastnet"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for directory in [copy, *(p for p in copy.iterdir() if p.is_dir())]:
        (directory / "__pycache__").write_text("a file where numba would make its cache directory")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(HOME=str(blocker), XDG_CACHE_HOME=str(blocker), NUMBA_CACHE_DIR=str(blocker / "x"),
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(tmp_path))
    script = (
        "import numpy as np, fastnet\n"
        "from fastnet.engine.jit import CACHE\n"
        "net = fastnet.Network([3, 2])\n"
        "print(CACHE, net.feedforward(np.ones(3)).shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "(2,)"]
