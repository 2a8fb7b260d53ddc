"""Code that readers of the book actually run: zips and other iterables, and subclasses that replace methods.

Every override is applied, as the same Python code, to fastnet's ``Network`` and to the book's
algorithm (``ReferenceNetwork``): with the same seeds the two must print the same lines and end with
the same weights, to rounding.
"""

import random
import types
import warnings

import numpy as np
import pytest

import fastnet
from fastnet.tools.reference import ReferenceNetwork
from helpers import measured, random_examples, relative_error, same_arrays, seed_both

SIZES = [12, 7, 4]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return random_examples(rng, SIZES, 23), random_examples(rng, SIZES, 9, labels=True)


def run(net_class, data, epochs=2, mini_batch_size=5, eta=3.0, seed=3, sizes=SIZES, **kwargs):
    """Train a seeded ``net_class`` on copies of ``data``; return the network, its lines and the list's order."""
    training, test = data
    seed_both(seed)
    net = net_class(sizes)
    lines = []
    order = list(training)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        if isinstance(net, fastnet.Network):
            net.SGD(order, epochs, mini_batch_size, eta, test_data=list(test), log=lines.append, **kwargs)
        else:
            lines = _reference_lines(net, order, epochs, mini_batch_size, eta, test)
    return net, lines, order


def _reference_lines(net, order, epochs, mini_batch_size, eta, test):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        net.SGD(order, epochs, mini_batch_size, eta, test_data=list(test))
    return out.getvalue().splitlines()


def assert_same_run(fast, ref, tolerance):
    (net, lines, order), (ref_net, ref_lines, ref_order) = fast, ref
    assert lines == ref_lines and len(lines) == 2
    assert [id(e) for e in order] == [id(e) for e in ref_order]
    assert relative_error(net.weights + net.biases, ref_net.weights + ref_net.biases) <= tolerance


# --- iterables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("container", [tuple, iter, lambda d: (e for e in d), lambda d: zip(*zip(*d))])
def test_any_iterable_of_pairs_trains_like_the_list_and_is_not_modified(data, container):
    training, test = data
    seed_both(3)
    listed = fastnet.Network(SIZES)
    list_lines = []
    listed.SGD(list(training), 2, 5, 3.0, test_data=list(test), log=list_lines.append)
    seed_both(3)
    other = fastnet.Network(SIZES)
    lines = []
    given = container(training)
    before = tuple(given) if isinstance(given, tuple) else None
    scores = other.SGD(given, 2, 5, 3.0, test_data=container(test), log=lines.append)
    assert lines == list_lines and [int(line.split()[2]) for line in lines] == scores
    assert same_arrays(other.weights + other.biases, listed.weights + listed.biases)
    if before is not None:
        assert all(a is b for a, b in zip(given, before))  # a tuple is read, never reordered
    assert other.evaluate(container(test)) == listed.evaluate(test) == scores[-1]
    other.update_mini_batch(container(training[:4]), 1.0)
    listed.update_mini_batch(training[:4], 1.0)
    assert same_arrays(other.weights + other.biases, listed.weights + listed.biases)


def test_a_zip_of_test_data_is_read_once_and_scored_every_epoch(data):
    training, test = data
    seed_both(1)
    net = fastnet.Network(SIZES)
    scores = net.SGD(list(training), 3, 5, 3.0, test_data=zip([x for x, _ in test], [y for _, y in test]))
    assert len(scores) == 3
    assert scores[-1] == net.evaluate(test)


def test_an_exhausted_zip_is_empty_test_data_as_in_the_book(data, capsys):
    training, test = data
    used = zip(*zip(*test))
    list(used)
    seed_both(1)
    assert fastnet.Network(SIZES).SGD(list(training), 1, 5, 3.0, test_data=used) == []
    assert capsys.readouterr().out == "Epoch 0 complete\n"  # the book: `if test_data:` is false
    with pytest.raises(ValueError, match=r"evaluate: test_data is empty.*can be read only once"):
        fastnet.Network(SIZES).evaluate(used)


# --- overrides ---------------------------------------------------------------------------------


def matrix_update_mini_batch(self, mini_batch, eta):
    """Chapter 2's exercise: backprop for the whole mini-batch at once, its examples as matrix columns."""
    X = np.hstack([x for x, _ in mini_batch])
    Y = np.hstack([y for _, y in mini_batch])
    activation, activations, zs = X, [X], []
    for b, w in zip(self.biases, self.weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = 1.0 / (1.0 + np.exp(-z))
        activations.append(activation)
    sp = [a * (1 - a) for a in activations[1:]]
    delta = (activations[-1] - Y) * sp[-1]
    nabla_b, nabla_w = [None] * len(self.biases), [None] * len(self.weights)
    nabla_b[-1], nabla_w[-1] = delta.sum(axis=1, keepdims=True), np.dot(delta, activations[-2].T)
    for l in range(2, self.num_layers):
        delta = np.dot(self.weights[-l + 1].T, delta) * sp[-l]
        nabla_b[-l], nabla_w[-l] = delta.sum(axis=1, keepdims=True), np.dot(delta, activations[-l - 1].T)
    self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
    self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]


def decaying_update_mini_batch(self, mini_batch, eta):
    """An exercise's L2 weight decay, added in the book's update_mini_batch (it calls self.backprop)."""
    nabla_b = [np.zeros(b.shape) for b in self.biases]
    nabla_w = [np.zeros(w.shape) for w in self.weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = self.backprop(x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    self.weights = [(1 - eta * 0.1 / 23) * w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
    self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]


def idle_update_mini_batch(self, mini_batch, eta):
    """An update that does nothing: the network must not learn."""


def cross_entropy_backprop(self, x, y):
    """The book's backprop with chapter 3's cross-entropy output delta, a - y (no sigma')."""
    activation, activations, zs = x, [x], []
    for b, w in zip(self.biases, self.weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = 1.0 / (1.0 + np.exp(-z))
        activations.append(activation)
    delta = activations[-1] - y
    nabla_b, nabla_w = [None] * len(self.biases), [None] * len(self.weights)
    nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
    for l in range(2, self.num_layers):
        s = 1.0 / (1.0 + np.exp(-zs[-l]))
        delta = np.dot(self.weights[-l + 1].T, delta) * s * (1 - s)
        nabla_b[-l], nabla_w[-l] = delta, np.dot(delta, activations[-l - 1].T)
    return nabla_b, nabla_w


def cross_entropy_cost_derivative(self, output_activations, y):
    """dC/da of the cross-entropy cost."""
    return (output_activations - y) / (output_activations * (1 - output_activations))


def reversed_feedforward(self, a):
    """The output with its order reversed: evaluate's argmax must see it."""
    for b, w in zip(self.biases, self.weights):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return a[::-1]


def percent_evaluate(self, test_data):
    """A score of the reader's own: correct answers in percent, rounded."""
    test_data = list(test_data)
    correct = sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)
    return round(100 * correct / len(test_data))


def subclasses(calls=None, **methods):
    """The same methods on fastnet's Network and on the book's algorithm; each call is counted in
    ``calls[base name][method name]`` when ``calls`` is a dict."""

    def counted(base, name, method):
        def wrapper(self, *args):
            if calls is not None:
                tally = calls.setdefault(base.__name__, {})
                tally[name] = tally.get(name, 0) + 1
            return method(self, *args)

        return wrapper

    return tuple(
        type("Mine", (base,), {name: counted(base, name, m) for name, m in methods.items()})
        for base in (fastnet.Network, ReferenceNetwork)
    )


@pytest.mark.parametrize(
    "methods, tolerance",
    [
        ({"update_mini_batch": matrix_update_mini_batch}, 0.0),
        ({"update_mini_batch": decaying_update_mini_batch}, 1e-12),
        ({"backprop": cross_entropy_backprop}, 0.0),
        ({"cost_derivative": cross_entropy_cost_derivative}, 1e-12),
        ({"feedforward": reversed_feedforward}, 1e-12),
        ({"evaluate": percent_evaluate}, 1e-12),
        ({"feedforward": reversed_feedforward, "cost_derivative": cross_entropy_cost_derivative}, 1e-12),
    ],
    ids=["matrix-update", "decay-update", "backprop", "cost-derivative", "feedforward", "evaluate", "two"],
)
def test_an_override_runs_where_the_book_calls_it(data, methods, tolerance):
    """The same lines and weights as the book's code with the same override, and as many calls of it."""
    calls = {}
    fast_class, ref_class = subclasses(calls, **methods)
    fast, ref = run(fast_class, data), run(ref_class, data)
    assert_same_run(fast, ref, tolerance)
    assert calls["Network"] == calls["ReferenceNetwork"] and set(calls["Network"]) == set(methods)


def test_an_update_that_does_nothing_leaves_the_network_untrained(data):
    fast_class, _ = subclasses(update_mini_batch=idle_update_mini_batch)
    seed_both(3)
    start = fast_class(SIZES)
    net, _, _ = run(fast_class, data)
    assert same_arrays(net.weights + net.biases, start.weights + start.biases)


def test_a_method_replaced_on_the_instance_is_honoured(data):
    training, test = data
    nets = []
    for make in (fastnet.Network, ReferenceNetwork):
        seed_both(3)
        net = make(SIZES)
        net.cost_derivative = types.MethodType(cross_entropy_cost_derivative, net)
        random.seed(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastnet.OverrideWarning)
            net.update_mini_batch(training[:6], 2.0)
        nets.append(net)
    assert relative_error(nets[0].weights + nets[0].biases, nets[1].weights + nets[1].biases) < 1e-12


def test_array_data_reach_an_override_as_the_books_lists(data):
    training, test = data
    X = np.stack([x.ravel() for x, _ in training])
    Y = np.stack([y.ravel() for _, y in training])
    seen = []

    def update_mini_batch(self, mini_batch, eta):
        seen.append([(x.shape, y.shape) for x, y in mini_batch])

    fast_class, _ = subclasses(update_mini_batch=update_mini_batch)
    with pytest.warns(fastnet.OverrideWarning):
        fast_class(SIZES).SGD((X, Y), 1, 10, 1.0)
    assert [len(batch) for batch in seen] == [10, 10, 3]
    assert set(sum(seen, [])) == {((12, 1), (4, 1))}


def test_the_warning_says_which_method_once_and_can_be_silenced(data):
    training, test = data
    fast_class, _ = subclasses(backprop=cross_entropy_backprop)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            fast_class(SIZES).SGD(list(training), 1, 5, 3.0, log=lambda line: None)
    messages = [str(w.message) for w in caught if issubclass(w.category, fastnet.OverrideWarning)]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert messages[0].startswith("Mine has its own backprop, so SGD calls them for each mini-batch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        fast_class(SIZES).SGD(list(training), 1, 5, 3.0, log=lambda line: None)


def test_an_override_that_fails_mid_epoch_leaves_the_completed_epochs(data):
    training, test = data
    calls = []

    def failing(self, mini_batch, eta):
        calls.append(1)
        if len(calls) == 7:  # in the second epoch (5 mini-batches each)
            raise RuntimeError("the reader's bug")
        decaying_update_mini_batch(self, mini_batch, eta)

    fast_class, _ = subclasses(update_mini_batch=failing)
    one_epoch_class, _ = subclasses(update_mini_batch=decaying_update_mini_batch)  # the epoch that completes
    expected, _, expected_order = run(one_epoch_class, data, epochs=1)
    state = random.getstate()
    seed_both(3)
    net = fast_class(SIZES)
    order = list(training)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        with pytest.raises(RuntimeError, match="the reader's bug"):
            net.SGD(order, 3, 5, 3.0, log=lambda line: None)
    assert same_arrays(net.weights + net.biases, expected.weights + expected.biases)
    assert [id(e) for e in order] == [id(e) for e in expected_order]
    assert random.getstate() == state  # as the one-epoch run left it


EXERCISE = lambda self, a, y: (a - y) / (a * (1 - a))  # noqa: E731
RESTATED = lambda self, a, y: a - y  # noqa: E731 (the book's own, as a reader's subclass restates it)


@pytest.mark.parametrize("z_out, derivative", [(12.0, EXERCISE), (25.0, EXERCISE), (33.0, EXERCISE), (-30.0, EXERCISE),
                                               (40.0, RESTATED), (38.0, RESTATED)])
def test_a_readers_cost_derivative_follows_the_book_where_outputs_saturate(z_out, derivative):
    """Chapter 3's exercise: dC/da = (a - y) / (a (1 - a)), so that dC/da sigma'(z) is the cross-entropy's
    a - y. It divides by the book's sigma'(z) = a (1 - a): near saturation (1 - a a few units in the
    last place) any difference between the a it is given and the a that sigma'(z) is computed from is
    amplified a millionfold. fastnet gives it the a of the same z, as the book does, and the book's
    sigma': the gradient is the book's to rounding where the output neurons saturate. Beyond z = 36.7,
    where a rounds to 1, the book's sigma' is exactly 0, and so is the output layer's gradient (an
    e^-z there, as fastnet once computed, would make it non-zero and fail the comparison)."""
    Exercise = type("Exercise", (fastnet.Network,), {"cost_derivative": derivative})
    BookExercise = type("BookExercise", (ReferenceNetwork,), {"cost_derivative": derivative})

    rng = np.random.default_rng(int(z_out) + 100)
    nets = []
    for cls in (Exercise, BookExercise):
        net = cls([6, 5, 3])
        net.weights = [rng.normal(size=(5, 6)), rng.normal(size=(3, 5))] if not nets else [w.copy() for w in nets[0].weights]
        net.biases = [rng.normal(size=(5, 1)), np.full((3, 1), z_out)] if not nets else [b.copy() for b in nets[0].biases]
        nets.append(net)
    errors = []
    for _ in range(20):
        x, y = rng.random((6, 1)), np.eye(3)[:, [int(rng.integers(3))]]
        got, want = nets[0].backprop(x, y), nets[1].backprop(x, y)
        errors.append(relative_error(got[0] + got[1], want[0] + want[1]))
    assert measured("reader's cost_derivative, saturated", np.float64, max(errors), 1e-12)  # measured 4.1e-15


@pytest.mark.parametrize("chapter", ["network", "network2"])
def test_rejected_training_data_leaves_a_zip_of_evaluation_data_unread(data, chapter):
    """The arguments are checked in the book's order, the training data before the data scored after each
    epoch: a call refused for its training data has not used up a zip of test (or evaluation) data."""
    import fastnet.network2 as network2

    training, test = data
    seed_both(0)
    net = fastnet.Network(SIZES) if chapter == "network" else network2.Network(SIZES)
    scored = zip([x for x, _ in test], [y for _, y in test])
    bad_training = [(x[:5], y) for x, y in training]  # inputs of the wrong size
    with pytest.raises(ValueError, match=r"^SGD: training_data\[0\] input x"):
        if chapter == "network":
            net.SGD(bad_training, 1, 5, 3.0, test_data=scored)
        else:
            net.SGD(bad_training, 1, 5, 0.5, evaluation_data=scored, monitor_evaluation_accuracy=True)
    assert len(list(scored)) == len(test)


def test_bad_numbers_are_reported_in_the_books_order_before_any_data(data):
    training, test = data
    net = fastnet.Network(SIZES)
    with pytest.raises(ValueError, match=r"^SGD: epochs must be"):
        net.SGD(training, -1, 0, -3.0, test_data=[("not", "data")])
    with pytest.raises(ValueError, match=r"^SGD: mini_batch_size must be"):
        net.SGD(training, 1, 0, -3.0, test_data=[("not", "data")])
    with pytest.raises(ValueError, match=r"^SGD: eta must be"):
        net.SGD(training, 1, 5, -3.0, test_data=[("not", "data")])


def test_the_readers_cost_derivative_run_prints_the_books_numbers_on_mnist(mnist):
    """The case of issue 18: chapter 3's exercise as a chapter-1 override, dC/da = (a - y) / (a (1 - a)),
    784-30-10, one epoch on 2,000 MNIST images, eta 3.0. The run is chaotic (docs/parity.md: the book's own
    code prints 5,578 to 7,343 when its output biases move by a few parts in 1e15), so only the book's
    arithmetic, bit for bit, prints the book's number: fastnet's path for a reader's methods is that, and
    its weights equal the book's algorithm's exactly."""

    class Exercise(fastnet.Network):
        def cost_derivative(self, a, y):
            return (a - y) / (a * (1 - a))

    class BookExercise(ReferenceNetwork):
        def cost_derivative(self, a, y):
            return (a - y) / (a * (1 - a))

    (X, labels), _, (test_x, test_labels) = mnist
    eye = np.eye(10)
    training = [(x.reshape(-1, 1), eye[:, [d]]) for x, d in zip(X[:2000], labels[:2000])]
    test = list(zip(test_x[:2000, :, None], test_labels[:2000].tolist()))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        fast = run(Exercise, (training, test), epochs=1, mini_batch_size=10, seed=0, sizes=[784, 30, 10])
        ref = run(BookExercise, (training, test), epochs=1, mini_batch_size=10, seed=0, sizes=[784, 30, 10])
    assert fast[1] == ref[1] and len(fast[1]) == 1
    assert same_arrays(fast[0].weights + fast[0].biases, ref[0].weights + ref[0].biases)


@pytest.mark.parametrize("sizes", [[12, 7, 4], [5, 3], [9, 8, 7, 6]])
def test_backprop_is_the_books_bit_for_bit(sizes):
    """``backprop`` is what the book's ``update_mini_batch`` calls: in float64 it computes the book's bits."""
    rng = np.random.default_rng(len(sizes))
    seed_both(1)
    net = fastnet.Network(sizes)
    seed_both(1)
    book = ReferenceNetwork(sizes)
    for x, y in random_examples(rng, sizes, 5):
        got, want = net.backprop(x, y), book.backprop(x, y)
        assert same_arrays(got[0] + got[1], want[0] + want[1])


def test_a_float32_network_stays_float32_under_a_readers_book_style_update(data):
    """A reader's update written for the book's float64 arrays makes float64 weights; the network's dtype holds."""

    class MatrixStyle(fastnet.Network):
        def update_mini_batch(self, mini_batch, eta):
            nabla_b, nabla_w = self._summed_gradients(mini_batch)  # float64 sums, as the book's code makes them
            self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
            self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    training, test = data
    seed_both(0)
    net = MatrixStyle(SIZES, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnet.OverrideWarning)
        net.SGD(list(training), 2, 5, 3.0, log=lambda line: None)
    assert all(a.dtype == np.float32 for a in net.weights + net.biases)
