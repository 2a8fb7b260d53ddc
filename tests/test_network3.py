"""Chapter 6's ``network3`` against the plain-NumPy statement of the book's (``tools/reference3.py``): the same
draws, the same steps to rounding over 200 mini-batches of a two-convolution network (sigmoid and ReLU,
dropout included, its masks replayed), the book's printed lines, the Theano-style reads and writes, and
the errors that come before anything trains."""

import contextlib
import io

import numpy as np
import pytest

import fastnet.network3 as network3
from fastnet.engine import convnet_driver
from fastnet.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer
from fastnet.tools import reference3 as r3
from helpers import measured, relative_error, same_arrays

M = 10
REFERENCE_ACTIVATION = {network3.sigmoid: r3.sigmoid, network3.ReLU: r3.ReLU, network3.tanh: r3.tanh, network3.linear: r3.linear}


def two_conv(activation, p_dropout=0.0):
    """A small two-convolution network on 28x28 images (the book's shape, fewer filters), built after seeding."""
    return [ConvPoolLayer((4, 1, 5, 5), (M, 1, 28, 28), (2, 2), activation),
            ConvPoolLayer((6, 4, 5, 5), (M, 4, 12, 12), (2, 2), activation),
            FullyConnectedLayer(6 * 4 * 4, 30, activation, p_dropout=p_dropout),
            SoftmaxLayer(30, 10, p_dropout=p_dropout)]


def reference_of(layers, activation, dtype=np.float64):
    """The reference network with the same layers, drawn again from the same seed."""
    return [r3.ConvPoolLayer(layer.filter_shape, layer.image_shape, layer.poolsize, REFERENCE_ACTIVATION[activation], dtype)
            if isinstance(layer, ConvPoolLayer) else
            r3.SoftmaxLayer(layer.n_in, layer.n_out, layer.p_dropout, dtype) if isinstance(layer, SoftmaxLayer) else
            r3.FullyConnectedLayer(layer.n_in, layer.n_out, REFERENCE_ACTIVATION[activation], layer.p_dropout, dtype)
            for layer in layers]


@pytest.fixture(scope="module")
def data(mnist):
    (X, y), (vx, vy), (tx, ty) = mnist
    return (X[:2000], y[:2000]), (vx[:300], vy[:300]), (tx[:300], ty[:300])


@pytest.mark.parametrize("activation", [network3.sigmoid, network3.ReLU], ids=["sigmoid", "ReLU"])
@pytest.mark.parametrize("p_dropout", [0.0, 0.5])
def test_200_mini_batches_follow_the_books_network3_to_rounding(data, activation, p_dropout):
    training, validation, test = data
    np.random.seed(3)
    net = Network(two_conv(activation, p_dropout), M, dtype=np.float64)
    np.random.seed(3)
    ref = r3.ReferenceNetwork3(reference_of(net.layers, activation), M)
    for layer, book in zip(net.layers, ref.layers):  # the same draws
        assert np.array_equal(layer.w.get_value(), book.w) and np.array_equal(layer.b.get_value(), book.b)
    packed = convnet_driver.pack_convnet([layer._spec() for layer in net.layers], np.float64)
    draw = convnet_driver.convnet_dropout_masks(packed, M, np.random.default_rng(net.dropout_seed))
    masks = draw(200)  # the masks the run draws, in the same order
    dropped = [l for l in range(4) if packed.keep[l] < 1]

    def replay(step):
        return [masks[step][:, packed.mask_off[l] : packed.mask_off[l + 1]] if l in dropped else None for l in range(4)]

    lines = []
    net.SGD(training, 1, M, 0.03, validation, test, lmbda=0.1, log=lines.append)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        ref.SGD(training, 1, M, 0.03, validation, test, lmbda=0.1, masks=replay)
    assert lines == printed.getvalue().splitlines()
    got = [p.get_value() for p in net.params]
    want = [a for layer in ref.layers for a in (layer.w, layer.b)]
    assert all(np.all(np.isfinite(g)) for g in got)
    assert measured("network3 200 steps", np.float64, relative_error(got, want), 1e-12)  # measured 8e-16


def test_float32_starts_from_the_books_cast_draws_and_trains_in_float32(data):
    training, validation, _ = data
    np.random.seed(4)
    net = Network(two_conv(network3.ReLU), M)
    np.random.seed(4)
    draws = [a for layer in reference_of(net.layers, network3.ReLU, np.float64) for a in (layer.w, layer.b)]
    assert same_arrays([p.get_value() for p in net.params], [d.astype(np.float32) for d in draws])
    net.SGD((training[0][:200], training[1][:200]), 1, M, 0.03, validation, log=lambda line: None)
    assert all(p.get_value().dtype == np.float32 for p in net.params)


def test_the_books_lines_count_mini_batches_over_all_epochs(data):
    training, validation, test = data
    np.random.seed(5)
    net = Network([FullyConnectedLayer(784, 20), SoftmaxLayer(20, 10)], M)
    lines = []
    best, iteration, test_accuracy = net.SGD((training[0][:1005], training[1][:1005]), 3, M, 0.1, validation, test,
                                             log=lines.append)
    assert [line for line in lines if line.startswith("Training")] == ["Training mini-batch number 0"]
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert len(epochs) == 3 and all(line.startswith(f"Epoch {j}: validation accuracy ") for j, line in enumerate(epochs))
    assert iteration in (99, 199, 299)  # 1,005 // 10 = 100 mini-batches an epoch, the remainder never trained on
    assert lines[-3:] == ["Finished training network.",
                          f"Best validation accuracy of {best:.2%} obtained at iteration {iteration}",
                          f"Corresponding test accuracy of {test_accuracy:.2%}"]


def test_the_training_mini_batch_lines_every_thousand(data):
    training, validation, _ = data
    np.random.seed(6)
    net = Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], M)
    lines = []
    net.SGD(training, 6, M, 0.1, validation, log=lines.append)  # 200 mini-batches an epoch, 1,200 in all
    assert [line for line in lines if line.startswith("Training")] == ["Training mini-batch number 0",
                                                                        "Training mini-batch number 1000"]
    epoch = [i for i, line in enumerate(lines) if line.startswith("Epoch ")]
    assert epoch[4] < lines.index("Training mini-batch number 1000") < epoch[5]  # mini-batch 1,000 opens epoch 5


def test_parameters_and_data_read_as_the_books_code_reads_them():
    training, validation, test = network3.load_data_shared()
    assert network3.size(training) == 50_000 and network3.size(test) == 10_000
    assert training[0].get_value(borrow=True).dtype == np.float32 and test[1].eval().dtype == np.int32
    layer = FullyConnectedLayer(3, 2)
    layer.w.set_value(np.ones((3, 2)))
    assert np.array_equal(layer.w.eval(), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"^set_value: w has shape \(3, 2\), got an array of shape \(2, 3\)$"):
        layer.w.set_value(np.ones((2, 3)))


@pytest.mark.parametrize("build, error, message", [
    (lambda: ConvPoolLayer((20, 2, 5, 5), (10, 1, 28, 28)), ValueError, r"filter_shape \(20, 2, 5, 5\) does not fit"),
    (lambda: ConvPoolLayer((20, 1, 5, 5), (10, 1, 28)), ValueError, r"image_shape must be 4 whole numbers"),
    (lambda: FullyConnectedLayer(10, 5, activation_fn=np.exp), ValueError, r"activation_fn must be one of"),
    (lambda: FullyConnectedLayer(10, 5, p_dropout=1.0), ValueError, r"p_dropout must be a number from 0"),
    (lambda: Network([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28)), FullyConnectedLayer(2880, 10), SoftmaxLayer(10, 10)], 5),
     ValueError, r"layers\[0\] has image_shape \(10, 1, 28, 28\) for mini-batches of 10, but mini_batch_size is 5"),
    (lambda: Network([FullyConnectedLayer(784, 30), SoftmaxLayer(20, 10)], 10), ValueError,
     r"layers\[1\] takes 20 inputs, but layers\[0\] gives 30"),
    (lambda: Network([FullyConnectedLayer(784, 10)], 10), ValueError, r"the last layer, and only the last, must be a SoftmaxLayer"),
])
def test_bad_layers_are_named_before_anything_trains(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_bad_sgd_arguments_are_named_and_change_nothing(data):
    training, validation, _ = data
    net = Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], M)
    before = [p.get_value() for p in net.params]
    with pytest.raises(ValueError, match=r"^SGD: mini_batch_size is 5, but the network was built for mini-batches of 10$"):
        net.SGD(training, 1, 5, 0.1, validation)
    with pytest.raises(ValueError, match=r"^SGD: training_data must be inputs \(n, 784\) with labels \(n,\)"):
        net.SGD((training[0][:, :100], training[1]), 1, M, 0.1, validation)
    with pytest.raises(ValueError, match=r"^SGD: validation_data labels must be whole numbers from 0 to 9$"):
        net.SGD(training, 1, M, 0.1, (validation[0], validation[1] + 10))
    assert same_arrays([p.get_value() for p in net.params], before)


def test_the_vote_is_a_plurality_with_ties_to_the_earliest_network(data, monkeypatch):
    _, validation, _ = data
    nets = [Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], M) for _ in range(3)]
    guesses = [np.array([1, 2, 3, 4]), np.array([1, 5, 6, 4]), np.array([7, 5, 6, 9])]
    for net, guess in zip(nets, guesses):
        monkeypatch.setattr(net, "predictions", lambda x, guess=guess: guess)
    accuracy, errors, wrong = network3.vote(nets, (validation[0][:4], np.array([1, 5, 3, 9])))
    # votes: 1 (two of three); 5 (two); 6 beats 3 (two); 4 (two) against the label 9
    assert (accuracy, errors, wrong) == (0.5, [2, 3], [6, 4])
    nets[2].predictions = lambda x: np.array([7, 0, 3, 9])  # example 1: 2, 5 and 0 once each: the first net's 2
    assert network3.vote(nets, (validation[0][:4], np.array([1, 2, 3, 4])))[0] == 1.0
    real = Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], M)
    assert network3.vote([real], validation)[1] == np.flatnonzero(real.predictions(validation[0]) != validation[1]).tolist()


def test_load_data_shared_gives_the_expanded_set_when_asked(monkeypatch):
    from fastnet import mnist_loader

    small = (np.zeros((2, 784), np.float32), np.array([3, 4]))
    monkeypatch.setattr(mnist_loader, "expand", lambda path=None: ((np.zeros((10, 784), np.float32), np.arange(10)), small, small))
    training, validation, _ = network3.load_data_shared(expanded=True)
    assert network3.size(training) == 10 and network3.size(validation) == 2
    assert training[1].eval().dtype == np.int32


def test_dropout_masks_go_on_from_one_sgd_call_to_the_next(data):
    """One stream of masks for a network, as the book's: two one-epoch calls train as one two-epoch call."""
    training, validation, _ = data
    small = (training[0][:200], training[1][:200])
    runs = []
    for calls in ([2], [1, 1]):
        np.random.seed(8)
        net = Network([FullyConnectedLayer(784, 20, p_dropout=0.5), SoftmaxLayer(20, 10, p_dropout=0.5)], M)
        for epochs in calls:
            net.SGD(small, epochs, M, 0.1, validation, log=lambda line: None)
        runs.append([p.get_value() for p in net.params])
    assert same_arrays(runs[0], runs[1])


def test_float32_follows_the_reference_in_float32_to_its_rounding(data):
    training, validation, test = data
    np.random.seed(9)
    net = Network(two_conv(network3.ReLU), M)
    np.random.seed(9)
    ref = r3.ReferenceNetwork3(reference_of(net.layers, network3.ReLU, np.float32), M)
    net.SGD((training[0][:500], training[1][:500]), 1, M, 0.03, validation, log=lambda line: None)
    with contextlib.redirect_stdout(io.StringIO()):
        ref.SGD((training[0][:500], training[1][:500]), 1, M, 0.03, validation, test)
    got = [p.get_value() for p in net.params]
    want = [a for layer in ref.layers for a in (layer.w, layer.b)]
    assert all(g.dtype == np.float32 for g in got)
    assert measured("network3 50 steps float32", np.float32, relative_error(got, want), 3e-6)  # measured 2.2e-7


def test_sets_too_small_to_score_and_odd_layers_are_refused(data):
    training, validation, _ = data
    net = Network([FullyConnectedLayer(784, 10), SoftmaxLayer(10, 10)], M)
    with pytest.raises(ValueError, match=r"^SGD: validation_data has 9 examples, fewer than one mini-batch of 10"):
        net.SGD(training, 1, M, 0.1, (validation[0][:9], validation[1][:9]))
    with pytest.raises(ValueError, match=r"^ConvPoolLayer: 1 filters of 1x1 over pools of \(2, 2\) give n_out = 0"):
        ConvPoolLayer((1, 1, 1, 1), (M, 1, 4, 4), (2, 2))
    with pytest.raises(ValueError, match=r"^set_value: w takes finite numbers"):
        net.layers[0].w.set_value(np.full((784, 10), np.nan))
    lines = []
    net.SGD((training[0][:100], training[1][:100]), 1, M, 0.1, validation, log=lines.append)
    assert lines[-1].startswith("Best validation accuracy of ")  # no test data: no test accuracy made up


def odd_shapes():
    """Mini-batches of 3 (fewer than a tile), a pooling remainder (23 = 2 x 11 + 1), dropout."""
    return [ConvPoolLayer((5, 1, 5, 5), (3, 1, 27, 27), (2, 2), network3.ReLU),
            FullyConnectedLayer(5 * 11 * 11, 30, network3.sigmoid, p_dropout=0.5), SoftmaxLayer(30, 10, p_dropout=0.2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", ["two conv", "odd shapes"])
def test_every_thread_count_computes_the_same_numbers(data, monkeypatch, dtype, shapes):
    """A step's phases are shared out among threads, each number computed by one of them in the same order:
    two threads (even on a machine with one core) and three train and score bit for bit as one."""
    training, validation, _ = data
    if shapes == "odd shapes":
        pad = lambda x: np.pad(x.reshape(-1, 28, 28)[:, :27, :27], 0).reshape(len(x), -1)  # noqa: E731
        training, validation = ((pad(x), y) for x, y in (training, validation))
        m, build, validation = 3, odd_shapes, (validation[0][:37], validation[1][:37])  # scored: 20 rows, then 16
    else:
        m, build = M, lambda: two_conv(network3.ReLU, 0.5)
    small = (training[0][:600], training[1][:600])
    runs = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("NUMBA_NUM_THREADS", threads)  # fastnet's own count (numba's pool is not involved)
        np.random.seed(4)
        net = Network(build(), m, dtype=dtype)
        lines = []
        net.SGD(small, 2, m, 0.03, validation, lmbda=0.1, log=lines.append)
        runs.append(([p.get_value() for p in net.params], lines))
    np.random.seed(4)
    untrained = [p.get_value() for p in Network(build(), m, dtype=dtype).params]
    assert not same_arrays(runs[0][0], untrained)  # it trained
    assert all(same_arrays(runs[0][0], run[0]) and runs[0][1] == run[1] for run in runs[1:])
