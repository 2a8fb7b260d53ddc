"""Learning curves as pictures: accuracy (and cost) per epoch, the book's figure marked.

Plotting needs matplotlib, an optional extra (``pip install "fastnet[plot]"``). ``plot_history``
draws on a ``matplotlib.figure.Figure`` of its own (no pyplot state, no change of backend), which a
notebook shows when it is the cell's value, and which ``path`` saves as a PNG file.
"""

NEEDS_MATPLOTLIB = 'plotting needs matplotlib: pip install "fastnet[plot]" (or pip install matplotlib)'
ACCURACY_COLOUR, COST_COLOURS = "#1f77b4", ("#d62728", "#ff7f0e", "#9467bd", "#8c564b")


def _figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(NEEDS_MATPLOTLIB) from None
    figure = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _named_curves(curves):
    """``curves`` as ``{name: values}``: a list is one accuracy curve, network2.SGD's four lists are named."""
    if isinstance(curves, dict):
        return {name: list(values) for name, values in curves.items() if len(values)}
    if isinstance(curves, tuple) and len(curves) == 4 and all(isinstance(c, (list, tuple)) for c in curves):
        names = ("evaluation cost", "evaluation accuracy", "training cost", "training accuracy")
        return {name: list(values) for name, values in zip(names, curves) if len(values)}
    return {"accuracy": list(curves)}


def plot_history(curves, *, total=None, percent=False, book=None, title=None, path=None):
    """Draw per-epoch values, epoch 0 first, and return the ``matplotlib.figure.Figure``.

    ``curves``: ``SGD``'s list of test scores, ``network2.SGD``'s four lists, or ``{name: values}``.
    Accuracies (every curve whose name has no "cost") are shown in percent of ``total`` when it is
    given (or as they are, ``percent`` saying they are percentages already), on the left axis; costs
    on a right axis of their own. ``book`` (a percentage) draws the book's figure as a dashed line.
    With ``path``, the figure is also written there as a PNG.
    """
    named = _named_curves(curves)
    if not named:
        raise ValueError("plot_history: no values to draw (every curve is empty)")
    figure = _figure()
    accuracy_axis = figure.add_subplot()
    cost_axis = None
    accuracies = {name: values for name, values in named.items() if "cost" not in name}
    for i, (name, values) in enumerate(accuracies.items()):
        ys = [100 * v / total for v in values] if total else values
        accuracy_axis.plot(range(len(ys)), ys, color=ACCURACY_COLOUR if i == 0 else None, label=name, linewidth=1.6)
    unit = " (%)" if total or percent else ""
    accuracy_axis.set_xlabel("epoch")
    accuracy_axis.set_ylabel(("accuracy" + unit) if accuracies else "")
    if book is not None:
        accuracy_axis.axhline(book, color="#2ca02c", linestyle="--", linewidth=1.6, label=f"the book: {book:.2f}%")
    costs = {name: values for name, values in named.items() if "cost" in name}
    if costs:
        cost_axis = accuracy_axis.twinx() if accuracies or book is not None else accuracy_axis
        for colour, (name, values) in zip(COST_COLOURS, costs.items()):
            cost_axis.plot(range(len(values)), values, color=colour, label=name, linewidth=1.2, alpha=0.9)
        cost_axis.set_ylabel("cost")
    handles, labels = accuracy_axis.get_legend_handles_labels()
    if cost_axis is not None and cost_axis is not accuracy_axis:
        more_handles, more_labels = cost_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    accuracy_axis.legend(handles, labels, loc="lower right", fontsize="small")  # curves rise: that corner is free
    accuracy_axis.grid(alpha=0.3)
    if title:
        accuracy_axis.set_title(title, fontsize="medium")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def _image_grid(images, columns, cell, captions=(), *, title=None, path=None):
    """Grey images (2-D arrays) in a grid of ``columns``, each ``cell`` (width, height) inches with its caption
    above it, under ``title``; saved to ``path`` when given. Returns the figure."""
    figure = _figure()
    columns = max(min(len(images), columns), 1)
    rows = max(-(-len(images) // columns), 1)
    figure.set_size_inches(columns * cell[0] + 0.4, rows * cell[1] + (0.5 if title else 0.2))
    for i, image in enumerate(images):
        axis = figure.add_subplot(rows, columns, i + 1)
        axis.imshow(image, cmap="Greys", interpolation="nearest")
        if i < len(captions):
            axis.set_title(captions[i], fontsize="small")
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title, fontsize="medium")
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def plot_filters(weights, *, title=None, path=None):
    """Draw a convolutional layer's filters ``(filters, maps, fh, fw)`` (each filter's first map) as small grey
    images, ten to a row, dark for large weights as the book's figure, and return the figure."""
    return _image_grid([w[0] for w in weights], 10, (0.7, 0.7), title=title, path=path)


def plot_digits(images, labels, guesses, *, title=None, path=None):
    """Draw 28 x 28 images (rows of 784 values) with their true label and the guess above each, and return the
    figure (for example a network's mistakes, as the book shows its ensemble's)."""
    captions = [f"{label} ({guess})" for label, guess in zip(labels, guesses)]
    return _image_grid([image.reshape(28, 28) for image in images], 12, (0.9, 1.05), captions, title=title, path=path)


def _varying(runs, fields):
    """The fields of ``runs`` (``Run``s) whose values differ between them."""
    return [field for field in fields if len({getattr(run, field) for run in runs}) > 1]


def plot_sweep(results, directory):
    """Draw a sweep's finished ``results`` into ``directory``: ``curves.png``, each configuration's score per
    epoch (the mean over its seeds), and for each number that varies (eta, lmbda, mini-batch size,
    epochs, training images) ``best-against-<option>.png``, every run's best score against it. Returns
    the paths written."""
    from pathlib import Path

    import numpy as np

    done = [r for r in results if r is not None and r.status == "done"]
    if not done:
        raise ValueError("plot_sweep: no finished runs to draw")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    configurations = {}
    for result in done:
        configurations.setdefault(result.run.configuration, []).append(result)
    named = _varying(list(configurations), ("chapter", "network", "eta", "lmbda", "mini_batch_size", "epochs",
                                            "dtype", "train_size", "expanded"))
    label = lambda run: ", ".join(f"{field} {getattr(run, field)}" for field in named) or "every run"  # noqa: E731
    figure = _figure()
    axis = figure.add_subplot()
    for configuration, group in configurations.items():
        length = min(len(r.scores) for r in group)
        mean = np.mean([r.scores[:length] for r in group], axis=0)
        axis.plot(range(length), mean, linewidth=1.4, label=f"{label(configuration)} ({len(group)} seeds)"
                  if len(group) > 1 else label(configuration))
    axis.set_xlabel("epoch")
    axis.set_ylabel(f"{done[0].scored_on} accuracy (%)")
    axis.set_title("each configuration, mean over its seeds")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small")
    paths = [directory / "curves.png"]
    figure.savefig(paths[0])
    for field in _varying(list(configurations), ("eta", "lmbda", "mini_batch_size", "epochs", "train_size")):
        if any(getattr(r.run, field) is None for r in done):
            continue
        others = [f for f in named if f != field]
        figure = _figure()
        axis = figure.add_subplot()
        lines = {}
        for result in done:
            lines.setdefault(tuple(getattr(result.run, f) for f in others), []).append(result)
        for key, group in lines.items():
            xs = sorted({getattr(r.run, field) for r in group})
            means = [np.mean([r.best for r in group if getattr(r.run, field) == x]) for x in xs]
            line, = axis.plot(xs, means, marker="o", linewidth=1.4,
                              label=", ".join(f"{f} {v}" for f, v in zip(others, key)) or "mean over seeds")
            axis.scatter([getattr(r.run, field) for r in group], [r.best for r in group], color=line.get_color(),
                         s=12, alpha=0.5)
        values = [getattr(r.run, field) for r in done]
        if min(values) > 0 and max(values) >= 10 * min(values):
            axis.set_xscale("log")
        axis.set_xlabel(field.replace("_", " "))
        axis.set_ylabel(f"best {done[0].scored_on} accuracy (%)")
        axis.set_title(f"best score of each run against {field.replace('_', ' ')} (lines: mean over seeds)")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
        paths.append(directory / f"best-against-{field.replace('_', '-')}.png")
        figure.savefig(paths[-1])
    return paths


def plot_speed_of_learning(course, book=None, title=None, path=None):
    """Draw each hidden layer's speed of learning (``course``: per epoch, a norm per hidden layer) on a log
    scale, with the book's values at epoch 0 (``book``) as short dashed marks of the same colours there."""
    import numpy as np

    course = np.asarray(course)
    figure = _figure()
    axis = figure.add_subplot()
    for layer in range(course.shape[1]):
        line, = axis.plot(range(len(course)), course[:, layer], linewidth=1.4, label=f"hidden layer {layer + 1}")
        if book is not None:
            axis.plot([0, len(course) / 12], [book[layer]] * 2, color=line.get_color(), linestyle="--", linewidth=1.6,
                      label=f"the book at epoch 0: {book[layer]:.3f}")
    axis.set_yscale("log")
    axis.set_xlim(0, len(course))
    axis.set_xlabel("epochs of training")
    axis.set_ylabel("norm of the mean dC/db")
    axis.grid(True, alpha=0.3)
    axis.set_title(title or "speed of learning")
    axis.legend(fontsize="small", loc="upper right")
    if path is not None:
        figure.savefig(path)
    return figure
