"""Learning curves drawn into real PNG files, checked by reading the pixels back (no display needed)."""

import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="plotting is the optional extra fastnet[plot]; the test extra installs it")
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.image import imread  # noqa: E402

import fastnet  # noqa: E402
from fastnet.tools import cli, plots  # noqa: E402


def pixel(image, figure, axis, x, y):
    """The colour of the PNG ``image`` where ``axis`` draws the data point (x, y)."""
    column, row = axis.transData.transform((x, y))
    height = image.shape[0]
    assert figure.dpi * figure.get_size_inches()[1] == height
    return image[int(round(height - row)), int(round(column)), :3]


def near_colour(image, figure, axis, x, y, colour, radius=2):
    """True when a pixel within ``radius`` of the point (x, y) has the colour ``colour``."""
    column, row = axis.transData.transform((x, y))
    height = image.shape[0]
    r, c = int(round(height - row)), int(round(column))
    patch = image[r - radius : r + radius + 1, c - radius : c + radius + 1, :3]
    return bool(np.any(np.all(np.abs(patch - np.array(to_rgb(colour))) < 0.15, axis=-1)))


def test_an_accuracy_curve_goes_through_its_points(tmp_path):
    path = tmp_path / "curve.png"
    scores = [5000, 8000, 9000, 9300, 9400]
    figure = fastnet.plot_history(scores, total=10_000, book=96.59, title="784-100-10", path=path)
    image = imread(path)
    assert image.shape[:2] == (420, 700) and path.stat().st_size > 10_000
    axis = figure.axes[0]
    for epoch, score in enumerate(scores):
        assert near_colour(image, figure, axis, epoch, score / 100, plots.ACCURACY_COLOUR)
    along = [near_colour(image, figure, axis, x, 96.59, "#2ca02c") for x in np.linspace(0.5, 3.5, 13)]
    assert sum(along) >= 5  # the book's figure: a dashed line across
    assert not near_colour(image, figure, axis, 2, 60.0, plots.ACCURACY_COLOUR)  # nowhere else
    assert axis.get_xlabel() == "epoch" and axis.get_ylabel() == "accuracy (%)"


def test_network2s_four_lists_give_accuracy_and_costs_on_two_axes(tmp_path):
    path = tmp_path / "ch3.png"
    results = ([2.0, 1.0, 0.5], [60.0, 80.0, 90.0], [], [])  # evaluation cost and accuracy only
    figure = fastnet.plot_history(results, path=path)
    image = imread(path)
    accuracy_axis, cost_axis = figure.axes
    assert [line.get_label() for line in accuracy_axis.lines] == ["evaluation accuracy"]
    assert [line.get_label() for line in cost_axis.lines] == ["evaluation cost"]
    for epoch, (cost, accuracy) in enumerate(zip(results[0], results[1])):
        assert near_colour(image, figure, accuracy_axis, epoch, accuracy, plots.ACCURACY_COLOUR)
        assert near_colour(image, figure, cost_axis, epoch, cost, plots.COST_COLOURS[0])
    assert accuracy_axis.get_ylabel() == "accuracy"  # the values could be counts: no unit claimed
    assert fastnet.plot_history(results, percent=True).axes[0].get_ylabel() == "accuracy (%)"


def test_nothing_to_draw_is_an_error():
    with pytest.raises(ValueError, match="plot_history: no values to draw"):
        fastnet.plot_history(([], [], [], []))


def test_without_matplotlib_the_option_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # import matplotlib (and any part of it) now fails
    assert cli.main(["train", "--plot", str(tmp_path / "x.png"), "--epochs", "1"]) == 2
    assert capsys.readouterr().err == f"fastnet: error: --plot: {plots.NEEDS_MATPLOTLIB}\n"
    with pytest.raises(ImportError, match=r'pip install "fastnet\[plot\]"'):
        fastnet.plot_history([1, 2])


def test_filters_and_digits_are_drawn_one_image_an_axis_with_their_captions(tmp_path):
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((20, 3, 5, 5))
    figure = plots.plot_filters(weights, title="filters", path=tmp_path / "filters.png")
    assert len(figure.axes) == 20 and figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 10)
    assert all(np.array_equal(axis.images[0].get_array(), w[0]) for axis, w in zip(figure.axes, weights))
    assert imread(tmp_path / "filters.png").shape[:2] == (int(figure.get_size_inches()[1] * 100), int(figure.get_size_inches()[0] * 100))
    images = rng.random((13, 784))
    figure = plots.plot_digits(images, [1, 2, 3] * 4 + [4], [7] * 13)
    assert len(figure.axes) == 13 and figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 12)
    assert [axis.get_title() for axis in figure.axes[:3]] == ["1 (7)", "2 (7)", "3 (7)"]
    assert np.array_equal(figure.axes[12].images[0].get_array(), images[12].reshape(28, 28))
