"""Chapter 3's ``network2``: the book's draws, costs, weight decay, monitors and JSON, against the plain
NumPy ``ReferenceNetwork2`` and against finite differences."""

import contextlib
import io
import json
import random
import warnings

import numpy as np
import pytest

import fastnet
import fastnet.network2 as network2
from fastnet.tools.reference import ReferenceNetwork2
from helpers import measured, random_examples, relative_error, same_arrays, seed_both
from naive import numerical_gradient

SHAPES = [[2, 3, 1], [784, 10], [12, 7, 4], [7, 16, 9, 3]]
COSTS = {"cross-entropy": network2.CrossEntropyCost, "quadratic": network2.QuadraticCost}
MONITORS = ("monitor_evaluation_cost", "monitor_evaluation_accuracy", "monitor_training_cost", "monitor_training_accuracy")
# Tolerances about 10x the largest relative error measured (FASTNET_PRINT_ERRORS=1 prints them):
TOL = {"weights": 2e-12, "costs": 1e-12, "backprop": 6e-13, "differences": 1e-6}


def twins(sizes, cost, seed, large=False, dtype=np.float64):
    """fastnet's and the reference's chapter-3 networks from the same draws."""
    seed_both(seed)
    net = network2.Network(sizes, cost=COSTS[cost], dtype=dtype)
    if large:
        net.large_weight_initializer()
    seed_both(seed)
    ref = ReferenceNetwork2(sizes, cost=cost)
    if large:
        ref.large_weight_initializer()
    return net, ref


@pytest.mark.parametrize("sizes", SHAPES)
def test_the_books_draws_default_then_large(sizes):
    """Every bias from randn(n, 1), then every weight randn(n_out, n_in) / sqrt(n_in); large: the same without
    the division, drawn afresh."""
    np.random.seed(4)
    net = network2.Network(sizes)
    after = np.random.get_state()
    np.random.seed(4)
    biases = [np.random.randn(n, 1) for n in sizes[1:]]
    weights = [np.random.randn(o, i) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    for got, want in zip(net.biases + net.weights, biases + weights):
        np.testing.assert_array_equal(got, want)
    np.random.set_state(after)
    net.large_weight_initializer()
    np.random.set_state(after)
    biases = [np.random.randn(n, 1) for n in sizes[1:]]
    weights = [np.random.randn(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    for got, want in zip(net.biases + net.weights, biases + weights):
        np.testing.assert_array_equal(got, want)
    assert net.cost is network2.CrossEntropyCost and net.num_layers == len(sizes) and net.sizes == sizes


def test_the_costs_functions():
    a = np.array([[0.2], [0.9], [1.0], [0.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    assert network2.QuadraticCost.fn(a, y) == pytest.approx(0.5 * (0.04 + 0.01))
    with np.errstate(divide="ignore", invalid="ignore"):
        assert network2.CrossEntropyCost.fn(a, y) == pytest.approx(-np.log(0.8) - np.log(0.9))  # 0 ln 0 counts 0
    z = np.array([[0.5], [-1.0], [2.0], [0.0]])
    np.testing.assert_array_equal(network2.CrossEntropyCost.delta(z, a, y), a - y)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(network2.QuadraticCost.delta(z, a, y), (a - y) * s * (1 - s), rtol=1e-14)


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("sizes", SHAPES)
def test_backprop_matches_the_reference(cost, sizes):
    net, ref = twins(sizes, cost, seed=sum(sizes))
    for x, y in random_examples(np.random.default_rng(0), sizes, 3):
        error = relative_error(sum(net.backprop(x, y), []), sum(ref.backprop(x, y), []))
        assert measured(f"network2 backprop, {cost}", np.float64, error, TOL["backprop"])


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("sizes", [[2, 3, 1], [5, 4, 3], [4, 5, 5, 3]])
def test_a_whole_batch_step_descends_the_regularised_cost(cost, sizes):
    """One update on all n examples as one mini-batch is w - eta grad(total_cost), total_cost = mean C_x
    + (lmbda / 2n) sum w^2: the gradient is checked against central differences of the reference's cost."""
    net, ref = twins(sizes, cost, seed=2)
    data = random_examples(np.random.default_rng(1), sizes, 6, sparsity=0.3)
    lmbda, eta = 0.7, 0.3
    numeric = numerical_gradient(lambda: ref.total_cost(data, lmbda), ref.biases + ref.weights)
    assert net.total_cost(data, lmbda) == pytest.approx(ref.total_cost(data, lmbda), rel=1e-14)
    before = net.biases + net.weights
    net.update_mini_batch(data, eta, lmbda, len(data))
    stepped = [(b - a) / eta for a, b in zip(net.biases + net.weights, before)]
    assert measured(f"network2 step vs differences, {cost}", np.float64, relative_error(stepped, numeric), TOL["differences"])
    ref.update_mini_batch(data, eta, lmbda, len(data))
    assert net.total_cost(data, lmbda) == pytest.approx(ref.total_cost(data, lmbda), rel=1e-12)


def run_both(sizes, cost, mini_batch_size, lmbda, large=False, monitors=MONITORS, epochs=3, **kwargs):
    """fastnet's and the reference's SGD on the same random data from the same seeds: (lines, returns, net) each."""
    rng = np.random.default_rng(mini_batch_size)
    training = random_examples(rng, sizes, 23)
    evaluation = random_examples(rng, sizes, 9, labels=True)
    net, ref = twins(sizes, cost, seed=5, large=large)
    fast_lines, fast_training = [], list(training)
    random.seed(7)
    flags = {name: name in monitors for name in MONITORS}
    fast = net.SGD(fast_training, epochs, mini_batch_size, 2.0, lmbda=lmbda, evaluation_data=evaluation,
                   log=fast_lines.append, **flags, **kwargs)
    random.seed(7)
    ref_training = list(training)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        want = ref.SGD(ref_training, epochs, mini_batch_size, 2.0, lmbda, evaluation,
                       monitor=[name[8:].replace("_", " ") for name in monitors])
    assert [id(e) for e in fast_training] == [id(e) for e in ref_training]
    return (fast_lines, fast, net), (out.getvalue().splitlines(), want, ref)


def assert_lines_agree(fast_lines, ref_lines, tolerance):
    """The same lines, but for the last digits of a cost."""
    assert len(fast_lines) == len(ref_lines)
    for got, want in zip(fast_lines, ref_lines):
        if got.startswith("Cost on"):
            head, value = got.rsplit(" ", 1)
            assert head == want.rsplit(" ", 1)[0]
            assert measured("network2 printed costs", np.float64, abs(float(value) / float(want.rsplit(" ", 1)[1]) - 1), tolerance)
        else:
            assert got == want


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("sizes", SHAPES)
@pytest.mark.parametrize("mini_batch_size, lmbda", [(1, 0.0), (4, 0.5), (10, 8.0)])
def test_sgd_matches_the_reference(cost, sizes, mini_batch_size, lmbda):
    """Whole epochs with weight decay (8.0 makes the matrices' scales fold back many times), a short last
    mini-batch, and all four monitors in the book's order."""
    (lines, fast, net), (ref_lines, want, ref) = run_both(sizes, cost, mini_batch_size, lmbda)
    assert_lines_agree(lines, ref_lines, TOL["costs"])
    assert lines[:1] == ["Epoch 0 training complete"] and lines[5] == ""
    assert fast[1] == want[1] and fast[3] == want[3]  # accuracies exactly
    for got, expected in ((fast[0], want[0]), (fast[2], want[2])):
        assert all(isinstance(c, float) for c in got) and np.allclose(got, expected, rtol=TOL["costs"], atol=0)
    error = relative_error(net.weights + net.biases, ref.weights + ref.biases)
    assert measured(f"network2 SGD, {cost}", np.float64, error, TOL["weights"])


def test_the_monitors_print_only_what_is_asked_and_the_lists_stay_empty():
    (lines, fast, _), (ref_lines, want, _) = run_both([6, 5, 3], "cross-entropy", 4, 0.1, monitors=("monitor_training_cost",))
    assert_lines_agree(lines, ref_lines, TOL["costs"])
    assert [len(x) for x in fast] == [0, 0, 3, 0]
    assert lines[:3] == ["Epoch 0 training complete", lines[1], ""] and lines[1].startswith("Cost on training data: ")


def test_the_cost_may_be_an_instance_as_the_books_scripts_pass_it():
    seed_both(3)
    by_class = network2.Network([6, 5, 3], cost=network2.CrossEntropyCost)
    seed_both(3)
    by_instance = network2.Network([6, 5, 3], cost=network2.CrossEntropyCost())
    data = random_examples(np.random.default_rng(0), [6, 5, 3], 20)
    for net in (by_class, by_instance):
        random.seed(1)
        net.SGD(list(data), 2, 5, 0.5, lmbda=0.1, log=lambda line: None)
    assert same_arrays(by_class.weights + by_class.biases, by_instance.weights + by_instance.biases)


@pytest.mark.parametrize("n, monitor", [(1, False), (3, True), (5, True), (3, False)])
def test_early_stopping_stops_where_the_reference_does(n, monitor):
    """``early_stopping_n`` against the reference's (written from the rule, not from fastnet's run): the
    same epochs run, the same lines, the same weights; with or without the accuracy monitored."""
    sizes = [6, 5, 3]
    rng = np.random.default_rng(2)
    training, evaluation = random_examples(rng, sizes, 30), random_examples(rng, sizes, 12, labels=True)
    seed_both(0)
    net, lines = network2.Network(sizes), []
    got = net.SGD(list(training), 40, 5, 0.5, evaluation_data=evaluation, monitor_evaluation_accuracy=monitor,
                  early_stopping_n=n, log=lines.append)
    seed_both(0)
    ref = ReferenceNetwork2(sizes)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        want = ref.SGD(list(training), 40, 5, 0.5, evaluation_data=evaluation,
                       monitor=("evaluation accuracy",) if monitor else (), early_stopping_n=n)
    assert lines == printed.getvalue().splitlines()
    epochs = sum(line.endswith("training complete") for line in lines)
    assert 1 <= epochs < 40  # it stopped early
    assert got == want and len(got[1]) == (epochs if monitor else 0)
    assert relative_error(net.weights + net.biases, ref.weights + ref.biases) <= 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_json_round_trip_in_the_books_format(tmp_path, dtype):
    seed_both(1)
    net = network2.Network([5, 4, 3], cost=network2.QuadraticCost(), dtype=dtype)
    net.SGD(random_examples(np.random.default_rng(0), [5, 4, 3], 10), 1, 5, 1.0, lmbda=0.3, log=lambda line: None)
    path = tmp_path / "net.json"
    net.save(path)
    data = json.loads(path.read_text())
    assert data["sizes"] == [5, 4, 3] and data["cost"] == "QuadraticCost"
    assert np.array(data["weights"][0]).shape == (4, 5) and np.array(data["biases"][1]).shape == (3, 1)
    loaded = network2.load(path)
    assert loaded.cost is network2.QuadraticCost and loaded.dtype == dtype
    for got, want in zip(loaded.weights + loaded.biases, net.weights + net.biases):
        np.testing.assert_array_equal(got, want)


def test_load_reads_a_file_written_the_books_way(tmp_path):
    """The book's save: json.dump of sizes, weights and biases as nested lists, and the cost's class name."""
    rng = np.random.default_rng(0)
    weights, biases = [rng.standard_normal((4, 5)), rng.standard_normal((2, 4))], [rng.standard_normal((4, 1)), rng.standard_normal((2, 1))]
    path = tmp_path / "book.json"
    with open(path, "w") as f:
        json.dump({"sizes": [5, 4, 2], "weights": [w.tolist() for w in weights],
                   "biases": [b.tolist() for b in biases], "cost": "CrossEntropyCost"}, f)
    np.random.seed(0)
    net = network2.load(path)
    np.random.seed(0)
    network2.Network([5, 4, 2])
    drawn = np.random.random()
    np.random.seed(0)
    network2.load(path)
    assert np.random.random() == drawn  # like the book's load, it drew a network's initial weights first
    assert net.cost is network2.CrossEntropyCost and net.dtype == np.float64
    for got, want in zip(net.weights + net.biases, weights + biases):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", r"not a readable network2 JSON file"),
        ('{"sizes": [2, 1]}', r"a network2 file holds sizes, weights, biases and cost"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]], "cost": "HingeCost"}', r"unknown cost 'HingeCost'"),
        ('{"sizes": [2, 1], "weights": [[[1, 2, 3]]], "biases": [[[0]]], "cost": "QuadraticCost"}',
         r"Network: weights\[0\] must be a numeric array of shape \(1, 2\)"),
    ],
)
def test_load_names_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(fastnet._book.files.ModelFileError, match=r"bad.json: " + message):
        network2.load(path)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda net, d: net.SGD(d, 1, 5, 0.5, lmbda=-1), ValueError, r"SGD: lmbda must be a finite number >= 0, got -1"),
        (lambda net, d: net.SGD(d, 1, 5, 0.5, lmbda="5"), TypeError, r"SGD: lmbda must be a number >= 0, got '5'"),
        (lambda net, d: net.SGD(d, 1, 5, 0.5, monitor_evaluation_accuracy=True), ValueError,
         r"SGD: the evaluation monitors and early_stopping_n need evaluation_data"),
        (lambda net, d: net.SGD(d, 1, 5, 0.5, early_stopping_n=-2), ValueError, r"SGD: early_stopping_n must be an integer >= 0"),
        (lambda net, d: net.update_mini_batch(d[:3], 0.5, 0.1, 0), ValueError, r"update_mini_batch: n must be an integer >= 1"),
        (lambda net, d: network2.Network([3, 2], cost="cross-entropy"), TypeError, r"Network: cost must be a cost like"),
    ],
)
def test_bad_arguments_are_named_and_change_nothing(call, error, message):
    seed_both(0)
    net = network2.Network([6, 5, 3])
    data = random_examples(np.random.default_rng(0), [6, 5, 3], 10)
    before = [a.copy() for a in net.weights + net.biases]
    with pytest.raises(error, match=message):
        call(net, data)
    assert same_arrays(net.weights + net.biases, before)


def test_float32_follows_float64():
    data = random_examples(np.random.default_rng(3), [784, 30, 10], 40)
    nets = []
    for dtype in (np.float64, np.float32):
        seed_both(3)
        net = network2.Network([784, 30, 10], dtype=dtype)
        random.seed(1)
        net.SGD(list(data), 2, 10, 0.5, lmbda=5.0, log=lambda line: None)
        nets.append(net)
    assert all(w.dtype == np.float32 for w in nets[1].weights)
    error = relative_error(nets[1].weights + nets[1].biases, nets[0].weights + nets[0].biases)
    assert measured("network2 float32 vs float64", np.float32, error, 4e-6)


# --- a reader's own methods and costs ---------------------------------------------------------


class LogLikelihoodCost:
    """A reader's cost of their own: -ln a_y, with delta a - y (as for softmax, the book's chapter 3 exercise)."""

    @staticmethod
    def fn(a, y):
        return float(-np.log(a[np.argmax(y)])[0])

    @staticmethod
    def delta(z, a, y):
        return a - y


def tracked(calls, name, method):
    def wrapper(self, *args, **kwargs):
        calls[type(self).__mro__[1].__name__][name] = calls.setdefault(type(self).__mro__[1].__name__, {}).get(name, 0) + 1
        return method(self, *args, **kwargs)
    return wrapper


def halved_accuracy(self, data, convert=False):
    """A reader's accuracy: counts every other example only."""
    data = list(data)[::2]
    if isinstance(self, network2.Network):
        return network2.Network.accuracy(self, data, convert)
    return ReferenceNetwork2.accuracy(self, data)


def doubled_total_cost(self, data, lmbda, convert=False):
    if isinstance(self, network2.Network):
        return 2 * network2.Network.total_cost(self, data, lmbda, convert)
    return 2 * ReferenceNetwork2.total_cost(self, data, lmbda)


def plain_update(self, mini_batch, eta, lmbda, n):
    """The book's update_mini_batch, written out by a reader."""
    nabla_b = [np.zeros(b.shape) for b in self.biases]
    nabla_w = [np.zeros(w.shape) for w in self.weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = self.backprop(x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
    self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]


@pytest.mark.parametrize(
    "methods, tolerance",
    [
        ({"update_mini_batch": plain_update}, 1e-13),
        ({"accuracy": halved_accuracy}, 1e-12),
        ({"total_cost": doubled_total_cost}, 1e-12),
    ],
    ids=["update_mini_batch", "accuracy", "total_cost"],
)
def test_a_readers_method_runs_where_the_book_calls_it(methods, tolerance):
    sizes = [6, 5, 3]
    rng = np.random.default_rng(4)
    training, evaluation = random_examples(rng, sizes, 20), random_examples(rng, sizes, 8, labels=True)
    fast_class = type("Mine", (network2.Network,), methods)
    ref_class = type("Mine", (ReferenceNetwork2,), methods)
    seed_both(1)
    net = fast_class(sizes)
    seed_both(1)
    ref = ref_class(sizes)
    lines = []
    random.seed(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        got = net.SGD(list(training), 2, 5, 0.5, lmbda=0.2, evaluation_data=evaluation, log=lines.append,
                      **{name: True for name in MONITORS})
    random.seed(2)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        want = ref.SGD(list(training), 2, 5, 0.5, 0.2, evaluation, monitor=[n[8:].replace("_", " ") for n in MONITORS])
    assert_lines_agree(lines, out.getvalue().splitlines(), tolerance)
    assert got[1] == want[1] and got[3] == want[3]
    assert relative_error(net.weights + net.biases, ref.weights + ref.biases) <= tolerance


def test_a_readers_own_cost_trains_through_its_delta_and_is_monitored_through_its_fn():
    sizes = [6, 5, 3]
    rng = np.random.default_rng(5)
    training, evaluation = random_examples(rng, sizes, 20), random_examples(rng, sizes, 8, labels=True)
    seed_both(1)
    net = network2.Network(sizes, cost=LogLikelihoodCost)
    seed_both(1)
    cross = network2.Network(sizes, cost=network2.CrossEntropyCost)  # the same delta, compiled
    results = []
    for model in (net, cross):
        random.seed(3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(model.SGD(list(training), 2, 5, 0.5, lmbda=0.1, evaluation_data=evaluation,
                                     monitor_evaluation_cost=True, log=lambda line: None))
        if model is net:
            assert any("cost.delta" in str(w.message) for w in caught) and any("cost.fn" in str(w.message) for w in caught)
    assert relative_error(net.weights + net.biases, cross.weights + cross.biases) < 1e-12
    want = np.mean([-np.log(net.feedforward(x)[y, 0]) for x, y in evaluation])
    want += 0.5 * (0.1 / len(evaluation)) * sum(np.sum(w ** 2) for w in net.weights)
    assert results[0][0][-1] == pytest.approx(want, rel=1e-12)
