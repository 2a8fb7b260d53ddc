"""Sweeps: a grid's runs on several processes give what the same runs give one after another in one
process; results reach the file as they finish; dead workers, Ctrl-C and --resume; bad grids."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import fastnet
from fastnet._book.validation import BadType, BadValue
from fastnet.tools.sweep import Result, ResultsFile, grid, make_run, summary, sweep, train
from fastnet.tools import workers as workers_module
from fastnet.tools.workers import LocalWorkers, can_fork
from conftest import DATA

SMALL = dict(epochs=2, train_size=1000)  # runs of a fraction of a second


def in_sequence(runs, keep=False):
    """The runs one after another in this process: what any sweep of them must reproduce."""
    return [train((run, DATA, keep)) for run in runs]


def same_numbers(got, want):
    assert [r.run for r in got] == [r.run for r in want]
    for a, b in zip(got, want):
        assert a.status == b.status == "done"
        assert a.scores == b.scores and a.best == b.best and a.best_epoch == b.best_epoch and a.test == b.test


def test_a_grid_is_every_combination_with_the_chapters_defaults():
    runs = grid(3, network=[[784, 30, 10], "784-20-10"], eta=[0.1, 0.5], seed=range(3))
    assert len(runs) == 12 and len(set(runs)) == 12
    assert {r.network for r in runs} == {"784-30-10", "784-20-10"} and {r.seed for r in runs} == {0, 1, 2}
    assert all(r.lmbda == 5.0 and r.epochs == 30 and r.mini_batch_size == 10 and r.dtype == "float64" for r in runs)
    assert grid(1)[0] == make_run(1) and make_run(1).eta == 3.0 and make_run(6).network == "relu"
    assert make_run(6).dtype == "float32" and grid(1, network=[784, 10])[0].network == "784-10"


@pytest.mark.parametrize("options, error, words", [
    (dict(etta=[1.0]), BadType, "unknown option 'etta'"),
    (dict(eta=[]), BadValue, "eta has no values"),
    (dict(seed=range(0)), BadValue, "seed has no values"),
    (dict(network="784-30-9"), BadValue, "784 inputs to 10 outputs"),
    (dict(network="784-0-10"), BadValue, "at least 1 neuron"),
    (dict(network="big"), BadValue, "layer sizes"),
    (dict(eta=0.0), BadValue, "eta must be more than 0"),
    (dict(eta=float("nan")), BadValue, "eta must be"),
    (dict(lmbda=0.1), BadValue, "lmbda must be 0 in chapter 1"),
    (dict(epochs=0), BadValue, "epochs must be at least 1"),
    (dict(epochs=2.5), BadType, "epochs must be a whole number"),
    (dict(train_size=50_001), BadValue, "train_size must be at least 1 and at most 50000"),
    (dict(dtype="float16"), BadValue, "dtype must be"),
    (dict(seed=2**32), BadValue, "seed must be"),
    (dict(expanded=True), BadValue, "only in chapter 6"),
])
def test_a_bad_grid_is_refused_before_anything_runs(options, error, words):
    with pytest.raises(error, match=words):
        grid(1, **options)


def test_bad_runs_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(BadValue, match="chapter must be 1, 3 or 6"):
        make_run(2)
    with pytest.raises(BadValue, match="chapter 6's networks"):
        make_run(6, network="784-30-10")
    with pytest.raises(BadValue, match="mini_batch_size must be at most the 10000 images"):
        make_run(6, mini_batch_size=10_001)
    with pytest.raises(BadValue, match="epochs must be at least 1"):
        make_run(1, epochs=-10**400)
    with pytest.raises(BadValue, match="runs is empty"):
        sweep([])
    with pytest.raises(BadValue, match=r"runs\[1\] repeats runs\[0\]"):
        sweep([make_run(1), {"chapter": 1}])
    with pytest.raises(BadType, match=r"runs\[0\] must be a Run"):
        sweep(["784-30-10"])
    out = tmp_path / "out.jsonl"
    out.write_text("{}\n")
    with pytest.raises(BadValue, match="already holds results"):
        sweep([make_run(1, **SMALL)], out, data=DATA)


@pytest.fixture(params=["fork", "spawn"])
def started_by(request, monkeypatch):
    """Each way ``LocalWorkers`` starts its processes: forked where this process allows it, else spawned."""
    if request.param == "fork" and not can_fork():
        pytest.skip("this process may not fork (not Linux, or an earlier test left a thread running)")
    if request.param == "spawn":
        monkeypatch.setattr(workers_module, "can_fork", lambda: False)
    return request.param


def test_workers_are_forked_only_from_a_process_without_other_threads():
    fresh = subprocess.run([sys.executable, "-c", "from fastnet.tools.workers import can_fork; print(can_fork())"],
                           capture_output=True, text=True)
    assert fresh.stdout.strip() == str(sys.platform.startswith("linux")), fresh.stderr
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        other.join()


def test_a_sweep_on_two_processes_gives_the_runs_numbers_in_their_order_and_writes_each(tmp_path, started_by):
    runs = grid(1, network=["784-30-10", "784-16-10"], eta=[1.0, 3.0], seed=[0, 1], **SMALL)
    runs += grid(3, network="784-20-10", seed=[0, 1], **SMALL) + grid(1, dtype="float32", seed=2, **SMALL)
    out, lines = tmp_path / "sweep.jsonl", []
    results = sweep(runs, out, workers=2, data=DATA, log=lines.append)
    same_numbers(results, in_sequence(runs))
    assert len(lines) == len(runs) and all(": best " in line for line in lines)
    assert all(r.compiled == 0 and r.attempts == 1 and r.machine["cpus"] >= 1 for r in results)  # compiled once, here
    assert {r.scored_on for r in results} == {"test", "validation"}
    written = [Result.from_line(line) for line in out.read_text().splitlines()]
    assert sorted(written, key=lambda r: runs.index(r.run)) == results  # every run, once, as returned
    table = summary(results)
    assert table.count("\n") == 2 + len({r.configuration for r in runs}) - 1 and "| 2 |" in table


def test_resume_runs_only_what_the_file_lacks(tmp_path):
    runs = grid(1, network="784-12-10", seed=range(4), **SMALL)
    out = tmp_path / "sweep.jsonl"
    first = sweep(runs[:2], out, workers=1, data=DATA, log=None)
    with open(out, "a") as file:
        file.write(Result(runs[2], "failed", [], float("nan"), -1, "test", None, 0.0, {}, 0, 2, "died").line() + "\n")
        file.write('{"run": {"chapter": 1, "netw')  # a line cut short by a crash
    lines = []
    results = sweep(runs, out, workers=2, resume=True, data=DATA, log=lines.append)
    assert results[:2] == first and len(lines) == 2  # the failed run is tried again, the finished ones are not
    same_numbers(results, in_sequence(runs))
    assert len(ResultsFile(out).finished()) == 4
    assert sweep(runs, out, resume=True, data=DATA, log=lines.append) == results and len(lines) == 2


def test_resume_refuses_results_trained_on_other_data(tmp_path):
    runs = grid(1, network="784-12-10", seed=range(2), **SMALL)
    out = tmp_path / "sweep.jsonl"
    first = sweep(runs[:1], out, workers=1, data=DATA, log=None)
    assert first[0].data == str(Path(DATA).resolve())
    other = tmp_path / "other"  # never read: the check comes first
    with pytest.raises(BadValue, match=f"holds runs trained on {Path(DATA).resolve()}, not on {other}"):
        sweep(runs, out, resume=True, data=other, log=None)
    with pytest.raises(BadType, match="data must be MNIST's directory or file path"):
        sweep(runs, out, resume=True, data=5, log=None)
    assert len(ResultsFile(out).finished()) == 1  # the file as it was
    argv = [sys.executable, "-m", "fastnet", "sweep", "--network", "784,12,10", "--seed", "0", "1", "--epochs", "2",
            "--train-size", "1000", "--out", str(out), "--data", str(other), "--resume"]
    command = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert command.returncode != 0 and "Traceback" not in command.stderr
    assert f"sweep: data: {out} holds runs trained on" in command.stderr


def die_on_first_attempt(marker):
    """Kill this process (kill -9) unless ``marker`` exists, which it makes: the first attempt dies."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def always_die(_):
    os.kill(os.getpid(), signal.SIGKILL)


def fail(_):
    raise RuntimeError("a bug")


def test_a_killed_worker_costs_its_call_one_more_attempt_and_nothing_else(tmp_path, started_by):
    markers = [str(tmp_path / f"m{i}") for i in range(3)]
    Path(markers[1]).touch()  # call 1 lives; calls 0 and 2 die once
    with LocalWorkers(2) as workers:
        outcomes = dict(workers.run(die_on_first_attempt, markers))
    assert sorted(outcomes) == [0, 1, 2]
    assert [o.attempts for _, o in sorted(outcomes.items())] == [2, 1, 2]
    assert all(o.error == "" and o.value > 0 for o in outcomes.values())
    with LocalWorkers(2) as workers:
        outcomes = dict(workers.run(always_die, [0]))
        outcomes.update({k + 1: o for k, o in workers.run(fail, [0])})
    assert outcomes[0].value is None and outcomes[0].attempts == 2 and "died, 2 times" in outcomes[0].error
    assert outcomes[1].attempts == 1 and outcomes[1].error == "RuntimeError: a bug"


def test_a_worker_that_died_between_calls_is_replaced_at_the_next(tmp_path, started_by):
    marker = tmp_path / "m"
    marker.touch()  # die_on_first_attempt only returns its process id
    with LocalWorkers(1) as workers:
        (_, first), = workers.run(die_on_first_attempt, [str(marker)])
        os.kill(first.value, signal.SIGKILL)
        workers.workers[0].process.join()  # its every thread gone (its main thread a zombie is not enough)
        (_, second), = workers.run(die_on_first_attempt, [str(marker)])
    assert second.error == "" and second.attempts == 1 and second.value not in (first.value, os.getpid())


def slow_and_large(seconds):
    time.sleep(seconds)
    return bytes(4 << 20)  # more than a pipe holds: sending it blocks until someone reads


@pytest.mark.parametrize("when", ["between calls", "during a call with a large result"])
def test_workers_end_soon_after_their_parent_is_killed(tmp_path, when):
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "from fastnet.tools.workers import LocalWorkers\n"
              "from test_sweep import die_on_first_attempt, slow_and_large\n"
              "if __name__ == '__main__':\n"
              "    workers = LocalWorkers(2)\n"
              f"    print(*(o.value for _, o in workers.run(die_on_first_attempt, [{str(tmp_path)!r}] * 2)), flush=True)\n"
              f"    list(workers.run(slow_and_large, [0.5, 0.5])) if {when != 'between calls'} else input()\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    time.sleep(0.2)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids) == 2 and not any(map(running, pids))  # each noticed within a second or so


def fails_to_start():
    raise OSError("no data here")


class Unreadable:
    """Pickled in a worker, but cannot be rebuilt where it is read."""

    def __reduce__(self):
        return fails_to_start, ()


def unreadable(_):
    return Unreadable()


def unpicklable(_):
    return lambda: None


def test_what_a_worker_cannot_do_is_reported_with_the_call_and_the_others_go_on(tmp_path, started_by):
    with LocalWorkers(1) as workers:
        workers.start(fails_to_start)
        (_, first), = workers.run(fail, [0])
    assert first.error == "the worker's initializer failed: OSError: no data here" and first.attempts == 1
    marker = tmp_path / "m"
    marker.touch()
    with LocalWorkers(2) as workers:
        outcomes = dict(workers.run(unreadable, [0]))
        outcomes.update({k + 1: o for k, o in workers.run(unpicklable, [0])})
        outcomes.update({k + 2: o for k, o in workers.run(die_on_first_attempt, [str(marker)])})
    assert outcomes[0].error.startswith("its result could not be read: OSError: no data here")
    assert "pickle" in outcomes[1].error.lower() and outcomes[1].value is None
    assert outcomes[2].error == "" and outcomes[2].value > 0 and all(o.attempts == 1 for o in outcomes.values())


def children(pid):
    """The processes whose parent is ``pid`` (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def running(pid):
    """True while ``pid`` runs (a zombie, dead but not yet reaped by a parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux's /proc")
def test_ctrl_c_keeps_the_finished_runs_and_resume_finishes_the_sweep(tmp_path):
    out = tmp_path / "sweep.jsonl"
    argv = [sys.executable, "-m", "fastnet", "sweep", "--network", "784,30,10", "--seed", *map(str, range(8)),
            "--epochs", "6", "--train-size", "5000", "--workers", "2", "--out", str(out), "--data", str(DATA)]
    sweeping = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(sweeping.pid)
    os.killpg(sweeping.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the sweep and its workers
    stdout, stderr = sweeping.communicate(timeout=60)
    assert sweeping.returncode == 130, stderr
    finished = ResultsFile(out).finished()
    assert 1 <= len(finished) < 8 and "--resume continues" in stderr
    assert "fastnet: interrupted" in stderr and "Traceback" not in stderr
    time.sleep(0.5)
    assert workers and not [pid for pid in workers if running(pid)]  # no worker outlives the sweep
    resumed = subprocess.run(argv + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} of them already in" in resumed.stdout
    lines = out.read_text().splitlines()
    assert len(lines) == 8 and len(ResultsFile(out).finished()) == 8  # each run once: none ran twice
    assert "| ch1 784-30-10, eta 3, m 10, 6 epochs, float64, 5000 images | 8 |" in resumed.stdout


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_cold_cache_compiles_once_before_many_workers_start(tmp_path, start):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "sweep.jsonl"
    spawning = "import fastnet.tools.workers as w; w.can_fork = lambda: False; "  # spawned: they read the cache
    argv = [sys.executable, "-c", f"{spawning if start == 'spawn' else ''}import sys; from fastnet.tools.cli import main; sys.exit(main())",
            "sweep", "--chapter", "3", "--network", "784,10,10", "--seed", "0", "1",
            "2", "3", "--epochs", "1", "--train-size", "500", "--workers", "4", "--out", str(out), "--data", str(DATA)]
    swept = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
    assert swept.returncode == 0, swept.stderr
    results = [Result.from_line(line) for line in out.read_text().splitlines()]
    assert len(results) == 4 and all(r.compiled == 0 for r in results)  # every worker loaded what this one compiled
    same_numbers(sorted(results, key=lambda r: r.run.seed), in_sequence(sorted(r.run for r in results)))


def test_a_sweep_returns_networks_that_vote(mnist):
    runs = grid(3, network="784-20-10", seed=range(3), **SMALL)
    results = sweep(runs, workers=2, networks=True, data=DATA, log=None)
    alone = in_sequence(runs, keep=True)
    for got, want in zip(results, alone):
        assert all(np.array_equal(a, b) for a, b in zip(got.network.weights + got.network.biases,
                                                        want.network.weights + want.network.biases))
    _, _, (x, y) = mnist
    accuracy, errors, wrong = fastnet.vote([r.network for r in results], (x[:500], y[:500]))
    votes = np.stack([np.argmax(r.network.feedforward(x[:500].T), axis=0) for r in results])
    majority = np.array([np.bincount(v, minlength=10).argmax() if np.bincount(v).max() > 1 else v[0] for v in votes.T])
    assert errors == np.flatnonzero(majority != y[:500]).tolist() and wrong == majority[errors].tolist()
    assert accuracy == 1 - len(errors) / 500
    with pytest.raises(BadType, match="one chapter"):
        fastnet.vote([results[0].network, fastnet.Network([784, 10])], (x, y))


def test_own_generators_nest_and_leave_the_global_one_alone():
    from fastnet.engine import own_generator
    from fastnet.engine.shuffle import shuffle_in_place

    random.seed(3)
    before = random.getstate()
    inner_order, outer_order = np.arange(10), np.arange(10)
    with own_generator(random.Random(1)):
        with own_generator(random.Random(2)):
            shuffle_in_place(inner_order)
        shuffle_in_place(outer_order)
    assert random.getstate() == before
    want_inner, want_outer = list(range(10)), list(range(10))
    random.Random(2).shuffle(want_inner)
    random.Random(1).shuffle(want_outer)
    assert inner_order.tolist() == want_inner and outer_order.tolist() == want_outer
