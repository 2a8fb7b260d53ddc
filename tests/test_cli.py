"""The fastnet command on a small synthetic MNIST directory (real runs are in the README)."""

import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest

import fastnet.network2 as network2
from fastnet.engine import COMPILE_NOTICE
from fastnet import Network, average_darkness, load, mnist_loader
from fastnet.tools import cli
from fastnet.tools.reference import ReferenceNetwork
from test_mnist_loader import make_idx_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    make_idx_dir(directory, n_train=50_020, n_test=40)
    return directory


def test_train_prints_the_books_lines_then_a_summary_and_saves(data_dir, tmp_path, capsys):
    model = tmp_path / "model.npz"
    argv = ["train", "--sizes", "784,12,10", "--epochs", "3", "--train-size", "200", "--seed", "3",
            "--dtype", "float32", "--save", str(model), "--data", str(data_dir)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Training 784-12-10 (float32) on 200 images: 3 epochs, mini-batch 10, eta 3.0"
    for j, line in enumerate(lines[1:4]):
        assert line.startswith(f"Epoch {j}: ") and " / 40  (" in line and line.endswith(" s)")
    scores = [int(line.split()[2]) for line in lines[1:4]]
    assert lines[4].startswith(f"Best: {max(scores)} / 40 ") and f"in epoch {scores.index(max(scores))}" in lines[4]
    assert lines[-1] == f"Saved to {model}"
    net = load(model)
    assert net.sizes == [784, 12, 10] and net.dtype == np.float32
    _, _, (test_x, test_y) = mnist_loader.load_data(data_dir)
    guesses = np.argmax(net.feedforward(test_x.T), axis=0)
    missing = [d for d in range(10) if np.sum(guesses == d) < np.sum(test_y == d) / 10]
    assert len(lines) == (7 if missing else 6)  # the stall line, when the net hardly ever predicts a digit
    assert lines[5].startswith("The network ") == bool(missing)


@pytest.mark.parametrize("seed, epochs", [(0, 3), (0, 30), (6, 30)])
def test_a_digit_hardly_ever_predicted_is_said_in_one_line_with_what_to_try(seed, epochs, capsys, tmp_path):
    """The book's 784-100-10 at eta 3.0 on MNIST: seed 0 stalls (after three epochs it never predicts an 8, after
    thirty it predicts one a few times), seed 6 learns every digit. The guesses are counted here, from the
    saved network, digit by digit."""
    model = tmp_path / "model.npz"
    assert cli.main(["--seed", str(seed), "--epochs", str(epochs), "--save", str(model)]) == 0
    out = capsys.readouterr().out
    _, _, (test_x, test_y) = mnist_loader.load_data()
    guesses = np.argmax(load(model).feedforward(test_x.T), axis=0)
    words = []
    for digit in range(10):
        times, shown = int(np.sum(guesses == digit)), int(np.sum(test_y == digit))
        if times < shown / 10:
            how = f"only {times} time{'s' if times > 1 else ''}" if times else ""
            words.append(f"never predicts the digit {digit}" if not times else f"predicts the digit {digit} {how}")
            words[-1] += f" ({shown} of the 10000 images are {digit}s)"
    stall = [line for line in out.splitlines() if line.startswith("The network ")]
    assert bool(words) == (seed == 0)  # the cases this test is for
    if words:
        assert stall == [f"The network {' and '.join(words)}. Some runs stall like this, as the book warns; if more "
                         "epochs do not help, try another --seed, or chapter 3's cross-entropy cost (--cost "
                         "cross-entropy)."]
    else:
        assert stall == []


def test_a_fault_of_fastnets_shows_its_traceback_and_says_it_is_a_bug(data_dir, capsys, monkeypatch):
    """Only the user's mistakes become one line: a TypeError from inside fastnet is a bug, shown whole."""

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")

    monkeypatch.setattr(cli, "Network", broken)
    assert cli.main(["--epochs", "1", "--data", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'" in err
    assert err.rstrip().endswith("this is a bug in fastnet 0.1.0, not a mistake of yours; please report it with the "
                                 "traceback above")


def test_a_value_the_parser_let_through_is_a_fault_of_fastnets(data_dir, capsys, monkeypatch):
    """The command checks its options itself: a bad value that reaches the API's checks (here a learning rate
    a broken parser let through) is fastnet's bug, shown whole, not a mistake of the user's."""
    monkeypatch.setattr(cli, "_eta", float)
    assert cli.main(["--eta", "nan", "--epochs", "1", "--data", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "BadValue: SGD: eta must be a finite number > 0, got nan" in err
    assert "this is a bug in fastnet" in err


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "argument --seed: expected a whole number from 0 to 4294967293, got -1"),
    (["--seed", "4294967294"], "argument --seed: expected a whole number from 0 to 4294967293, got 4294967294"),
    (["book", "--seed", "x"], "argument --seed: expected a whole number from 0 to 4294967293, got 'x'"),
    (["book", "--chapter", "6", "--seed", "4294967292"],
     "chapter 6 seeds its runs with the seed and the next 4, which NumPy takes below 2**32; expected at most 4294967291, got 4294967292"),
    (["--epochs", "1", "--train-size", "20", "--save", "/no/such/dir/model.npz"], "--save: [Errno 2] No such file"),
])
def test_files_and_seeds_that_cannot_be_used_are_one_line(data_dir, argv, message, capsys):
    assert cli.main(argv + ["--data", str(data_dir)]) == 2
    err = capsys.readouterr().err.replace(COMPILE_NOTICE + "\n", "")  # on an empty cache the run says it compiles
    assert err.startswith("fastnet: error: ") and message in err and err.count("\n") == 1


def test_a_model_file_in_another_dtype_is_one_line(tmp_path, capsys):
    model = tmp_path / "half.npz"
    np.savez(model, format=np.array("fastnet-network"), version=np.array(1), sizes=np.array([784, 10]),
             dtype=np.array("float16"), weights_0=np.zeros((10, 784), np.float16), biases_0=np.zeros((10, 1), np.float16))
    assert cli.main(["evaluate", str(model)]) == 2
    assert capsys.readouterr().err == f"fastnet: error: {model}: holds a network in float16; fastnet's are float64 or float32\n"


def test_a_stalled_cross_entropy_run_is_not_told_to_use_cross_entropy(capsys, monkeypatch):
    """Chapter 3's runs are on the cross-entropy cost already: the advice is another seed only."""
    monkeypatch.setattr(cli, "neglected_digits", lambda net, data: [cli.Neglected(8, 0, 974, 10000)])
    assert cli.main(["--cost", "cross-entropy", "--sizes", "784,10", "--epochs", "1", "--train-size", "50"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == ("The network never predicts the digit 8 (974 of the 10000 images are 8s). Some runs stall like "
                    "this, as the book warns; if more epochs do not help, try another --seed.")


def test_options_reach_the_run_as_the_same_call_through_the_api(data_dir, tmp_path, capsys):
    """--eta, --mini-batch-size, --epochs, --sizes, --dtype, --seed and --train-size each reach SGD."""
    model = tmp_path / "model.npz"
    argv = ["train", "--sizes", "784,9,10", "--epochs", "2", "--mini-batch-size", "7", "--eta", "0.5",
            "--dtype", "float32", "--seed", "5", "--train-size", "300", "--save", str(model), "--data", str(data_dir),
            "--threads", "2"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Training 784-9-10 (float32) on 300 images: 2 epochs, mini-batch 7, eta 0.5"
    (train_x, train_y), _, test = mnist_loader.load_data(data_dir)
    random.seed(5)
    np.random.seed(5)
    net = Network([784, 9, 10], dtype=np.float32)
    scores = net.SGD((train_x[:300], train_y[:300]), 2, 7, 0.5, test_data=test, log=lambda line: None)
    assert [int(line.split()[2]) for line in lines[1:3]] == scores
    saved = load(model)
    for got, want in zip(saved.weights + saved.biases, net.weights + net.biases):
        np.testing.assert_array_equal(got, want)


def test_evaluate_prints_accuracy_and_confusion_matrix(data_dir, tmp_path, capsys):
    """Each cell counts the test images of a digit (row) that the network calls another (column)."""
    model = tmp_path / "model.npz"
    cli.main(["train", "--sizes", "784,10", "--epochs", "2", "--train-size", "100", "--seed", "1", "--save", str(model),
              "--data", str(data_dir)])
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), "--data", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    net = load(model)
    _, _, (test_x, test_y) = mnist_loader.load_data(data_dir)
    correct = net.evaluate((test_x, test_y))
    assert lines[0] == f"{model}: 784-10 (float64), {correct} / 40 correct ({100 * correct / 40:.2f}%)"
    reference = ReferenceNetwork.__new__(ReferenceNetwork)
    reference.weights, reference.biases = net.weights, net.biases
    guesses = [int(np.argmax(reference.feedforward(x.reshape(-1, 1)))) for x in test_x]
    expected = [[sum(1 for t, g in zip(test_y, guesses) if t == row and g == column) for column in range(10)]
                for row in range(10)]
    assert lines[2].split() == [str(d) for d in range(10)]
    assert [[int(v) for v in line.split()[1:]] for line in lines[3:13]] == expected
    assert [int(line.split()[0]) for line in lines[3:13]] == list(range(10))
    assert len(set(guesses)) > 1 and len(set(test_y.tolist())) > 1  # a transposed matrix would differ


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--eta", "-1"], "argument --eta: expected a finite number > 0, got -1"),
        (["--epochs", "zero"], "argument --epochs: expected a whole number >= 1, got 'zero'"),
        (["--epochs", "0"], "argument --epochs: expected a whole number >= 1, got 0"),
        (["--eta", "fast"], "argument --eta: expected a positive number, got 'fast'"),
        (["--eta", "inf"], "argument --eta: expected a finite number > 0, got inf"),
        (["--mini-batch-size", "-3"], "argument --mini-batch-size: expected a whole number >= 1, got -3"),
        (["--threads", "0"], "argument --threads: expected a whole number >= 1, got 0"),
        (["--sizes", "784,30"], "argument --sizes: expected positive sizes from 784"),
        (["--sizes", "784,x,10"], "argument --sizes: expected comma-separated whole numbers like 784,100,10, got '784,x,10'"),
        (["--sizes", "784,0,10"], "argument --sizes: expected positive sizes from 784"),
        (["--dtype", "float16"], "argument --dtype: invalid choice"),
        (["--train-size", "60000"], "--train-size 60000 is more than the 50000 training images"),
        (["evaluate", "missing.npz"], "missing.npz: no such file"),
        (["book", "--data", "/no/such/dir"], "MNIST data not found: /no/such/dir"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(data_dir, argv, message, capsys, monkeypatch):
    monkeypatch.setenv("FASTNET_DATA", str(data_dir))
    if argv[0] != "book":
        argv = argv + ["--data", str(data_dir)] if argv[0] != "evaluate" else argv
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastnet: error: ") and message in err and err.count("\n") == 1


def test_evaluate_refuses_a_network_that_is_not_for_mnist(tmp_path, capsys):
    model = tmp_path / "small.npz"
    Network([5, 3, 2]).save(model)
    assert cli.main(["evaluate", str(model)]) == 2
    assert capsys.readouterr().err == f"fastnet: error: {model} is a 5-3-2 network, not one for MNIST (784 in, 10 out)\n"


def test_a_model_with_nan_weights_is_one_line(tmp_path, capsys):
    model = tmp_path / "nan.npz"
    np.savez(model, format=np.array("fastnet-network"), version=np.array(1), sizes=np.array([784, 10]),
             dtype=np.array("float64"), weights_0=np.full((10, 784), np.nan), biases_0=np.zeros((10, 1)))
    assert cli.main(["evaluate", str(model)]) == 2
    err = capsys.readouterr().err
    assert err == f"fastnet: error: {model}: Network: weights[0] contains NaN or infinity\n"


def test_book_quick_prints_the_table(data_dir, capsys):
    assert cli.main(["book", "--quick", "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "--quick: 5 epochs per run, the book ran 30" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0] == "| experiment | the book | measured | time |"
    rows = [row.split(" | ")[:2] for row in table[1:]]
    assert rows == [  # the book's chapter 1, written out here (not read from fastnet's own table)
        ["| 784-30-10, eta 3", "9,129 after epoch 0; best 95.42% (best of three runs)"],
        ["| 784-100-10, eta 3", "best 96.59% (best of three runs)"],
        ["| 784-100-10, eta 0.001", "1,139 after epoch 0; 2,142 after epoch 29"],
        ["| 784-30-10, eta 100", "stuck near 1,009, then 982"],
        ["| 784-10, eta 3", "(exercise: no hidden layer)"],
        ["| average-darkness baseline", "2,225 / 10,000"],
    ]
    assert table[-1].startswith("| average-darkness baseline | 2,225 / 10,000 | ")


def test_average_darkness_on_a_constructed_case():
    training = (np.array([[0.0, 0.0], [0.1, 0.1], [1.0, 1.0], [0.9, 0.9]]), np.array([0, 0, 1, 1]))
    test = (np.array([[0.05, 0.0], [0.8, 1.0], [0.6, 0.6]]), np.array([0, 1, 0]))
    assert average_darkness(training, test) == 2  # the last image is darker than the midpoint 1.0


def test_average_darkness_reproduces_the_book(mnist):
    training, _, test = mnist
    assert average_darkness(training, test) == 2225


def test_bench_prints_a_markdown_row_per_case_and_dtype(data_dir, capsys, monkeypatch):
    import fastnet.tools.bench

    monkeypatch.setattr(fastnet.tools.bench, "CASES", [([784, 5, 10], 10), ([784, 4, 3, 10], 1)])
    monkeypatch.setattr(fastnet.tools.bench, "REFERENCE_IMAGES", 50)
    calls = []

    def run_timed(args, cache):  # the reader's runs are timed for real by benchmarks/test_reader_runs.py
        calls.append(cache)
        return 2.0 * len(calls), 3.0 * len(calls), "", ""

    monkeypatch.setattr(fastnet.tools.bench, "run_timed", run_timed)
    assert cli.main(["bench", "--repeats", "1", "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fastnet bench: ") and "median of 1 epochs of 50,000 images" in out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| 784")]
    assert [(r[0], r[1]) for r in rows] == [
        ("| 784-5-10, mini-batch 10", "float64"), ("| 784-5-10, mini-batch 10", "float32"),
        ("| 784-4-3-10, mini-batch 1", "float64"), ("| 784-4-3-10, mini-batch 1", "float32"),
    ]
    assert out.splitlines()[-4:] == [
        "|---|---|---|",
        "| empty compile cache | 2.0 s | 3.0 s |",
        "| warm cache | 4.0 s | 6.0 s |",
        "| warm cache, one core busy | 6.0 s | 9.0 s |",
    ]
    assert len(set(calls)) == 1  # the same cache: empty at first, warm after
    for _, _, threads, fast, reference, speedup in rows:
        assert int(threads) == 1  # steps this small never start threads
        ratio = float(reference) / float(fast)  # from the printed (rounded) times
        assert float(fast) > 0 and float(reference) > 0
        assert abs(int(speedup.rstrip("x |")) - ratio) <= 1 + 0.1 * ratio


def run_fastnet(args, data_dir, **kwargs):
    env = {**os.environ, "FASTNET_DATA": str(data_dir)}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.parametrize("entry", [[sys.executable, "-m", "fastnet"], [os.path.join(os.path.dirname(sys.executable), "fastnet")]],
                         ids=["python -m fastnet", "console script"])
def test_the_entry_points_train_and_report_errors(data_dir, entry):
    argv = entry + ["--sizes", "784,10", "--epochs", "1", "--train-size", "50", "--seed", "0"]
    run_fastnet(argv, data_dir).communicate(timeout=300)  # fills the cache, whichever tests ran before
    job = run_fastnet(argv, data_dir)
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, err
    assert err == ""  # the kernels are in the cache by now: no compile notice
    assert out.splitlines()[0] == "Training 784-10 (float64) on 50 images: 1 epochs, mini-batch 10, eta 3.0"
    assert out.splitlines()[1].startswith("Epoch 0: ") and out.splitlines()[2].startswith("Best: ")
    job = run_fastnet(entry + ["--eta", "0"], data_dir)
    out, err = job.communicate(timeout=300)
    assert job.returncode == 2 and out == ""
    assert err == "fastnet: error: fastnet train: argument --eta: expected a finite number > 0, got 0 (see 'fastnet train --help')\n"


def test_ctrl_c_stops_with_exit_code_130_and_one_line(data_dir):
    job = run_fastnet([sys.executable, "-m", "fastnet", "--sizes", "784,10", "--epochs", "100000", "--train-size", "200"],
                      data_dir)
    for line in job.stdout:
        if line.startswith("Epoch 0: "):
            job.send_signal(signal.SIGINT)
            break
    out, err = job.communicate(timeout=300)
    assert job.returncode == 130
    assert err == "fastnet: interrupted\n"


def test_a_long_compile_is_announced_once_on_stderr(monkeypatch, capsys):
    import time

    from fastnet.engine import jit

    monkeypatch.setattr(jit, "COMPILE_NOTICE_AFTER", 0.2)
    with jit.compile_notice():
        time.sleep(0.6)  # as long as a compile
    with jit.compile_notice():
        pass  # as short as loading from the cache
    time.sleep(0.3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == jit.COMPILE_NOTICE + "\n"


def test_chapter_3_options_reach_network2_as_the_same_call_through_the_api(data_dir, tmp_path, capsys):
    model, picture = tmp_path / "net.json", tmp_path / "curves.png"
    argv = ["train", "--sizes", "784,8,10", "--epochs", "2", "--mini-batch-size", "6", "--eta", "0.4", "--seed", "2",
            "--train-size", "150", "--cost", "quadratic", "--lmbda", "0.7", "--init", "large", "--monitor", "all",
            "--evaluation-data", "validation", "--save", str(model), "--plot", str(picture), "--data", str(data_dir)]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Training 784-8-10 (float64, QuadraticCost, lmbda 0.7, large init) on 150 images: 2 epochs, "
                        "mini-batch 6, eta 0.4")
    (train_x, train_y), validation, _ = mnist_loader.load_data(data_dir)
    random.seed(2)
    np.random.seed(2)
    net = network2.Network([784, 8, 10], cost=network2.QuadraticCost)
    net.large_weight_initializer()
    got = []
    want = net.SGD((train_x[:150], train_y[:150]), 2, 6, 0.4, lmbda=0.7, evaluation_data=validation,
                   monitor_evaluation_cost=True, monitor_evaluation_accuracy=True, monitor_training_cost=True,
                   monitor_training_accuracy=True, log=got.append)
    assert [line.split("  (")[0] for line in lines[1 : 1 + len(got)]] == got
    assert lines[1 + len(got)].startswith(f"Best validation accuracy: {max(want[1])} / 20 ")
    saved = network2.load(model)
    assert saved.cost is network2.QuadraticCost
    for a, b in zip(saved.weights + saved.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    assert picture.stat().st_size > 10_000 and lines[-1] == f"Plotted to {picture}"


def test_book_chapter_3_quick_prints_the_books_recorded_runs(data_dir, tmp_path, capsys, monkeypatch):
    import fastnet.tools.experiments

    monkeypatch.setattr(fastnet.tools.experiments, "chapter_3_epochs", lambda quick: (3, 1))  # the real ones: 400/30 (--quick 40/5)
    assert cli.main(["book", "--chapter", "3", "--quick", "--plot", str(tmp_path), "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The chapter-3 runs the book recorded, network2, mini-batch 10, seed 12345678")
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 3 + 4
    figures = [row.split(" | ")[1] for row in table[1:]]
    assert figures == ["test accuracy peaks at 82.27%", "test accuracy peaks at 87.10%", "test accuracy peaks at 96.49%",
                       "validation accuracy peaks at 96.53%", "validation accuracy peaks at 96.48%",
                       "validation accuracy peaks at 97.81%", "validation accuracy peaks at 97.55%"]
    assert all(" | peaks at " in row for row in table[1:])
    assert len(list(tmp_path.glob("*.png"))) == 7 and out.rstrip().endswith(f"Plotted 7 experiments to {tmp_path}")


def test_progress_goes_to_stderr_only_when_both_streams_are_terminals(data_dir, monkeypatch):
    """``fastnet book`` on a terminal: the updating line is on stderr, and stdout holds the table alone."""
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["book", "--quick", "--data", str(data_dir)]) == 0
    assert "\r" not in out.getvalue() and " of 5" not in out.getvalue()
    assert "| average-darkness baseline |" in out.getvalue()
    assert err.getvalue().count("\r") >= 20 and "784-30-10, eta 3, seed 0: epoch 1 of 5" in err.getvalue()


def test_progress_is_one_updating_line_on_a_terminal_and_nothing_elsewhere(monkeypatch):
    import io

    from fastnet.tools.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown, quiet = Terminal(), io.StringIO()
    for stream in (shown, quiet):
        progress = Progress(5, stream=stream)
        progress.begin("784-30-10, eta 3")
        for line in ["Epoch 0: 1 / 9", "Cost on training data: 1.0", "Epoch 1: 2 / 9"]:
            progress.epoch_log(line)
        progress.begin("784-10, eta 3", 3)
        progress.epoch_log("Epoch 0: 1 / 9")
        progress.close()
    assert quiet.getvalue() == ""
    text = shown.getvalue()
    assert "\n" not in text and text.count("\r") == 6
    assert "784-30-10, eta 3: epoch 0 of 5" in text and "784-30-10, eta 3: epoch 2 of 5, about " in text
    assert "784-10, eta 3: epoch 0 of 3 (2 of 5 in all), about " in text
    assert "784-10, eta 3: epoch 1 of 3 (3 of 5 in all), about " in text
    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal: the task's name is shortened, the count kept
    narrow = Terminal()
    progress = Progress(5, stream=narrow)
    progress.begin("784-30-10, cross-entropy, large init, eta 0.5", 400)
    assert narrow.getvalue() == "\r\033[K784-30-10, cross-entropy...: epoch 0 of 400 (0 of 5 in all)"
    assert len(narrow.getvalue()) - len("\r\033[K") == 59


def test_the_time_left_weighs_epochs_by_their_work_when_told(monkeypatch):
    """Chapter 6's runs differ 100-fold in an epoch's time: the estimate of the time left follows the work."""
    import io

    from fastnet.tools import progress as progress_module

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    clock = iter([0.0, 2.0, 2.0, 2.0])  # the start, then each line drawn
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    weighed, even = Terminal(), Terminal()
    progress = progress_module.Progress(3, stream=weighed, work=10.0)  # one cheap epoch, then two of 4.5 each
    progress.begin("cheap", 1, weight=1.0)
    progress.epoch()  # 2 s for 1 of 10: 18 s left
    assert weighed.getvalue().endswith("cheap: epoch 1 of 1 (1 of 3 in all), about 18 s left")
    clock = iter([0.0, 2.0, 2.0])
    progress = progress_module.Progress(3, stream=even)
    progress.begin("cheap", 1)
    progress.epoch()  # 2 s for 1 of 3 epochs: 4 s left
    assert even.getvalue().endswith("cheap: epoch 1 of 1 (1 of 3 in all), about 4 s left")


class _Guessing:
    """A stand-in network that predicts ``digit`` for every image (what ``neglected_digits`` reads)."""

    sizes = [784, 10]

    def __init__(self, guesses):
        self.guesses = guesses

    def feedforward(self, columns):
        out = np.zeros((10, columns.shape[1]))
        out[self.guesses, np.arange(columns.shape[1])] = 1
        return out


def test_neglected_digits_are_those_shown_but_hardly_ever_guessed():
    """Digits the data never shows are not reported; fewer guesses than a tenth of a digit's images is."""
    images = np.zeros((100, 784))
    labels = np.array([0] * 50 + [1] * 50)
    always_zero = cli.neglected_digits(_Guessing(np.zeros(100, dtype=int)), (images, labels))
    assert always_zero == [cli.Neglected(1, 0, 50, 100)]  # digits 2-9: no image shows them
    five_ones = np.array([0] * 95 + [1] * 5)  # a tenth of the 50 ones: on the line, so not reported
    assert cli.neglected_digits(_Guessing(five_ones), (images, labels)) == []
    four_ones = np.array([0] * 96 + [1] * 4)
    assert cli.neglected_digits(_Guessing(four_ones), (images, labels)) == [cli.Neglected(1, 4, 50, 100)]


def test_each_epoch_line_shows_that_epochs_own_time(monkeypatch, capsys):
    clock = iter([0.0, 1.0, 1.5, 3.0, 6.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(clock))
    log = cli._timed_log()  # started at 0
    log("Epoch 0: 1 / 9")  # at 1
    log("Cost on training data: 1.0")  # not an epoch line: no time taken
    log("Epoch 1: 2 / 9")  # at 1.5
    log("Epoch 2: 3 / 9")  # at 3
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 0: 1 / 9  (1.00 s)", "Cost on training data: 1.0", "Epoch 1: 2 / 9  (0.50 s)", "Epoch 2: 3 / 9  (1.50 s)"]


def test_train_size_may_be_every_training_image(data_dir, capsys):
    assert cli.main(["--train-size", "50000", "--epochs", "1", "--sizes", "784,10", "--data", str(data_dir)]) == 0
    assert "on 50000 images" in capsys.readouterr().out
    assert cli.main(["--train-size", "50001", "--epochs", "1", "--data", str(data_dir)]) == 2


@pytest.mark.parametrize("chapter", [1, 3])
def test_the_progress_counts_every_epoch_the_experiments_run(chapter, monkeypatch):
    """The time left is right only if the total counted up front is what the runs then report."""
    import fastnet.tools.experiments as experiments

    class Counting:
        def __init__(self):
            self.done = 0

        def begin(self, task, size=None):
            pass

        def epoch(self, count=1):
            self.done += count

        def epoch_log(self, line):
            if line.startswith("Epoch "):
                self.epoch()

    rng = np.random.default_rng(0)
    images, labels = rng.random((40, 784)).astype(np.float32), rng.integers(0, 10, 40)
    progress = Counting()
    if chapter == 1:
        monkeypatch.setattr(experiments, "chapter_1_epochs", lambda quick: 2)
        experiments.chapter_1((images, labels), (images[:10], labels[:10]), 0, True, progress)
        assert progress.done == experiments.chapter_1_total(True)
    else:
        monkeypatch.setattr(experiments, "chapter_3_epochs", lambda quick: (3, 1))
        eye = np.eye(10)
        training = [(x.reshape(-1, 1), eye[:, [d]]) for x, d in zip(images, labels)]
        scored = [(x.reshape(-1, 1), int(d)) for x, d in zip(images[:10], labels[:10])]
        experiments.chapter_3(training, scored, scored, 0, True, progress)
        assert progress.done == experiments.chapter_3_total(True)


def test_book_chapter_6_quick_runs_the_chapters_networks_and_the_ensemble(data_dir, tmp_path, capsys, monkeypatch):
    import re

    import fastnet.tools.experiments

    monkeypatch.setenv("FASTNET_CACHE", str(tmp_path / "cache"))  # the expanded set is built here, not in ~/.cache
    monkeypatch.setattr(fastnet.tools.experiments, "QUICK_6", (1, 1000, 500))  # --quick itself: 2 epochs, 5,000 images
    plots = tmp_path / "plots"
    assert cli.main(["book", "--chapter", "6", "--quick", "--plot", str(plots), "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("The chapter-6 experiments, network3, float32, mini-batch 10, seeds from 0 (--quick: "
                               "1 epochs on 1,000 training images, scored on 500")
    assert re.fullmatch(r"11 runs; about (\d+ s|\d+ min \d+ s|\d+ h \d+ min) on this machine \(timed on each network's first "
                        r"mini-batches\)", lines[1])
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 1 + 7 + 1
    figures = [row.split(" | ")[1] for row in table[1:]]
    assert figures == [f"{f}% (best of three runs)" for f in ("97.80", "98.78", "99.06", "99.23", "99.37", "99.43", "99.60")] + ["99.67%"]
    for row in table[1:-1]:
        measured = re.fullmatch(r"(\d+\.\d\d)% \(validation (\d+\.\d\d)% after epoch 0\)", row.split(" | ")[2])
        assert measured and all(0 < float(v) <= 100 for v in measured.groups()), row
    vote = re.fullmatch(r"(\d+\.\d\d)% \((\d+) of (\d+) wrong\)", table[-1].split(" | ")[2])
    assert vote and float(vote[1]) == pytest.approx(100 * (1 - int(vote[2]) / int(vote[3])), abs=0.005), table[-1]
    assert table[-1].startswith("| vote of the 5 dropout networks (the first one above, 4 more) |")
    pictures = sorted(p.name for p in plots.glob("*.png"))
    assert len(pictures) == 7 + 2 and "filters.png" in pictures and "ensemble-mistakes.png" in pictures
    assert all((plots / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)


def test_durations_read_as_a_person_would_say_them():
    from fastnet.tools.progress import duration

    assert [duration(s) for s in (0.4, 42, 60, 185, 3599.4, 3600, 7619, 12079)] == [
        "0 s", "42 s", "1 min 0 s", "3 min 5 s", "59 min 59 s", "1 h 0 min", "2 h 7 min", "3 h 21 min"]
