"""Chapter 5: the hidden layers' speed of learning against the book's per-example loop, and the chapter's run."""

import numpy as np
import pytest

import fastnet.network2 as network2
from fastnet.tools import chapter5, cli
from conftest import DATA
from helpers import seed_both


def book_mean_bias_gradient(net, pairs):
    """The mean of dC/db over ``pairs`` the book's way: ``backprop`` on each example, summed, divided."""
    total = None
    for x, y in pairs:
        nabla_b = net.backprop(x, y)[0]
        total = nabla_b if total is None else [t + g for t, g in zip(total, nabla_b)]
    return [t.ravel() / len(pairs) for t in total]


@pytest.mark.parametrize("sizes, cost, seed", [
    ([784, 30, 10], network2.CrossEntropyCost, 0),
    ([784, 30, 30, 30, 10], network2.CrossEntropyCost, 1),
    ([784, 7, 5, 10], network2.QuadraticCost, 2),
    ([784, 10], network2.CrossEntropyCost, 3),
])
def test_the_mean_bias_gradient_is_the_mean_of_backprops(mnist, sizes, cost, seed):
    (images, labels), _, _ = mnist
    n = 1 + 37 * seed
    X, Y = images[:n], np.eye(10)[labels[:n]]
    seed_both(seed)
    net = network2.Network(sizes, cost=cost)
    got = chapter5.mean_bias_gradient(net, X, Y)
    want = book_mean_bias_gradient(net, [(x[:, None], y[:, None]) for x, y in zip(X, Y)])
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-15)
    assert chapter5.hidden_norms(net, X, Y) == pytest.approx([np.linalg.norm(w) for w in want[:-1]], rel=1e-10)


def test_the_course_of_training_is_the_books_loop(mnist):
    pairs, X, Y = chapter5._first_images(DATA)
    epochs = 4
    seed_both(5)
    net = network2.Network(chapter5.sizes(2))
    want = []
    for _ in range(epochs):
        want.append([np.linalg.norm(g) for g in book_mean_bias_gradient(net, pairs)[:-1]])
        net.SGD(pairs, 1, 1000, 0.1, lmbda=5.0, log=lambda line: None)
    got = chapter5.gradient_course((2, 5, epochs, DATA))
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert got[-1][0] < got[0][0] and got[-1][1] < got[0][1]  # the norms shrink as the network trains


def test_initial_norms_fall_towards_the_input_as_the_books_do():
    for hidden, book in chapter5.BOOK_NORMS.items():
        mean = chapter5.initial_norms(hidden, range(chapter5.NORM_SEEDS), DATA).mean(axis=0)
        assert np.all(np.diff(mean) > 0)  # each layer slower than the next
        assert np.all((np.array(book) / 2 <= mean) & (mean <= 2 * np.array(book)))  # within a factor of 2


def test_book_chapter_5_quick_prints_the_tables_beside_the_books(capsys, tmp_path):
    assert cli.main(["book", "--chapter", "5", "--quick", "--plot", str(tmp_path), "--data", str(DATA)]) == 0
    out = capsys.readouterr().out
    for hidden, book in chapter5.DEPTHS.items():
        assert f"| {'-'.join(map(str, chapter5.sizes(hidden)))} | {book:.2f}% | " in out
    assert "| 784-30-30-30-30-10 | 0.003, 0.017, 0.070, 0.285 | " in out
    assert "each hidden layer learns slower than the next" in out
    assert "After 20 epochs of full-batch training" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["curves.png", "speed-of-learning-2.png", "speed-of-learning-3.png", "speed-of-learning-4.png"])
