"""A sweep on a real Dask cluster (a scheduler and two worker processes on this machine) gives, bit for bit,
what the same runs give one after another in one process; a worker killed under a run costs nothing else."""

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from fastnet.tools.sweep import Result, grid, sweep
from fastnet.tools.workers import DaskWorkers
from conftest import DATA
from test_sweep import in_sequence, same_numbers

distributed = pytest.importorskip("distributed", reason="the cluster extra (pip install 'fastnet[cluster]')")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as cluster, distributed.Client(cluster) as client:
        yield client


def test_a_sweep_on_a_cluster_matches_the_runs_in_sequence_bit_for_bit(client, tmp_path):
    runs = (grid(1, network=["784-24-10", "784-10"], seed=[0, 1], epochs=2, train_size=1000)
            + grid(3, network="784-20-20-10", eta=0.5, seed=[0, 1], epochs=2, train_size=1000)
            + grid(6, network="conv", eta=0.1, seed=0, epochs=1, train_size=200))
    out = tmp_path / "sweep.jsonl"
    results = sweep(runs, out, scheduler=client, networks=True, data=DATA, log=None)
    alone = in_sequence(runs, keep=True)
    same_numbers(results, alone)
    for got, want in zip(results, alone):
        if got.run.chapter == 6:
            mine, theirs = [p.get_value() for p in got.network.params], [p.get_value() for p in want.network.params]
        else:
            mine, theirs = got.network.weights + got.network.biases, want.network.weights + want.network.biases
        assert all(np.array_equal(a, b) for a, b in zip(mine, theirs))
    assert all(r.best == r.scores[r.best_epoch] == max(r.scores) for r in results)
    workers = {r.machine["host"] for r in results}
    assert len(workers) == 1 and all(r.compiled == 0 for r in results)  # warmed on one worker of the one host
    assert sorted(Result.from_line(line).run for line in out.read_text().splitlines()) == sorted(runs)


def die_on_first_attempt(marker):
    """Kill this worker process (kill -9) unless ``marker`` exists, which it makes."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_a_killed_worker_is_replaced_and_its_run_done_again(client, tmp_path):
    workers = DaskWorkers(client)
    markers = [str(tmp_path / f"m{i}") for i in range(3)]
    Path(markers[0]).touch()
    outcomes = dict(workers.run(die_on_first_attempt, markers))
    assert sorted(outcomes) == [0, 1, 2] and all(o.error == "" and o.value > 0 for o in outcomes.values())
    assert all(os.path.exists(marker) for marker in markers)  # calls 1 and 2 died once, then ran again
