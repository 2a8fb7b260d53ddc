"""Checks at the public boundary: once per call, before any parameter changes.

Each check raises a ``BadType``, a ``TypeError`` (wrong kind of value), or a ``BadValue``, a
``ValueError`` (right kind, wrong value), whose message names the call, the argument (and the
position of the offending example), what was expected and what was found: the caller's mistake,
which the command line reports in one line. The kernels underneath check nothing.
"""

import numbers
from operator import attrgetter
from typing import NamedTuple, Optional

import numpy as np

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class BadValue(ValueError):
    """An argument of the right kind whose value the call cannot take."""


class BadType(TypeError):
    """An argument of a kind the call does not take."""


MISTAKES = (BadValue, BadType)  # what the checks raise: a caller's mistake, never a fault of fastnet's


def is_array_pair(data):
    """True when ``data`` is ``(X, Y)`` of arrays rather than the book's list of ``(x, y)`` tuples."""
    return isinstance(data, tuple) and len(data) == 2 and all(isinstance(a, np.ndarray) for a in data)


def _describe(value):
    """A short description of a value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def _is_int(value):
    return _is_int_type(type(value))


def _is_int_type(kind):
    """True for Python and NumPy integer types, but not for bool."""
    return issubclass(kind, (numbers.Integral, np.integer)) and not issubclass(kind, (bool, np.bool_))


def sizes(value):
    """The layer sizes: a sequence of at least two positive integers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise BadType(f"Network: sizes must be a list of layer sizes like [784, 30, 10], got {_describe(value)}")
    if len(value) < 2:
        raise BadValue(
            f"Network: sizes must list at least two layers (input and output), got {len(value)}: {list(value)}"
        )
    for i, n in enumerate(value):
        if not _is_int(n):
            raise BadType(f"Network: sizes[{i}] must be a positive integer, got {_describe(n)}")
        if n < 1:
            raise BadValue(f"Network: sizes[{i}] must be a positive integer, got {n}")
    return [int(n) for n in value]


def dtype(value):
    """float64 or float32."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt not in DTYPES:
        raise BadValue(f"Network: dtype must be float64 or float32, got {_describe(value)}")
    return dt


def count(where, name, value, minimum):
    """An integer (epochs, mini_batch_size) of at least ``minimum``."""
    if not _is_int(value):
        raise BadType(f"{where}: {name} must be an integer >= {minimum}, got {_describe(value)}")
    if value < minimum:
        raise BadValue(f"{where}: {name} must be an integer >= {minimum}, got {value}")
    return int(value)


def learning_rate(where, value):
    """eta: a finite number greater than zero."""
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise BadType(f"{where}: eta must be a positive number, got {_describe(value)}")
    if not (np.isfinite(value) and value > 0):
        raise BadValue(f"{where}: eta must be a finite number > 0, got {value}")
    return float(value)


def regularisation(where, value):
    """lmbda: a finite number of at least zero."""
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise BadType(f"{where}: lmbda must be a number >= 0, got {_describe(value)}")
    if not (np.isfinite(value) and value >= 0):
        raise BadValue(f"{where}: lmbda must be a finite number >= 0, got {value}")
    return float(value)


def cost(value):
    """A cost: a class or an instance with the book's ``fn(a, y)`` and ``delta(z, a, y)``."""
    if not (callable(getattr(value, "fn", None)) and callable(getattr(value, "delta", None))):
        raise BadType(
            f"Network: cost must be a cost like CrossEntropyCost or QuadraticCost (with fn and delta), got {_describe(value)}"
        )


def parameters(net):
    """``net.weights`` / ``net.biases`` (which users may edit or rebind) still fit ``net.sizes``."""
    sizes = net.sizes
    for name, arrays, shape_of in (
        ("weights", net.weights, lambda l: (sizes[l + 1], sizes[l])),
        ("biases", net.biases, lambda l: (sizes[l + 1], 1)),
    ):
        if not isinstance(arrays, (list, tuple)) or len(arrays) != len(sizes) - 1:
            raise BadValue(
                f"Network: {name} must be a list of {len(sizes) - 1} arrays for sizes {sizes}, got {_describe(arrays)}"
            )
        for l, a in enumerate(arrays):
            a = np.asarray(a)
            if a.shape != shape_of(l) or not np.issubdtype(a.dtype, np.number):
                raise BadValue(
                    f"Network: {name}[{l}] must be a numeric array of shape {shape_of(l)}, got {_describe(a)}"
                )
            if not np.all(np.isfinite(a)):
                raise BadValue(f"Network: {name}[{l}] contains NaN or infinity")


def _numeric_array(where, what, value):
    """``value`` as a numeric NumPy array, or a TypeError naming ``what``."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = None
    if array is None or not (np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)):
        raise BadType(f"{where}: {what} must be numeric, got {_describe(value)}")
    return array


def _check_finite(where, array, label):
    """Name the first row (example) holding NaN or infinity: ``label(row)``."""
    if array.dtype.kind != "f" or np.isfinite(np.sum(array)):
        return  # a sum of finite values is finite, unless it overflows: then the full check below runs
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argmax(bad.reshape(len(array), -1).any(axis=1)))
        raise BadValue(f"{where}: {label(row)} contains NaN or infinity")


def _listed(name):
    """Labels for the parts of example i of the data ``name``: 'training_data[3] input x'."""
    return lambda i, part: f"{name}[{i}] {part}"


def _single(i, part):
    """Labels for the one example of ``backprop(x, y)``: just 'x' or 'y'."""
    return part.split()[-1]


class Examples(NamedTuple):
    """A checked data set: inputs ``X (n, n_in)``, targets ``T`` (int labels ``(n,)`` or rows ``(n, n_out)``),
    and ``items``, the ``(x, y)`` pairs as a list (the caller's own list when a list was passed; ``None``
    for a pair of arrays)."""

    X: np.ndarray
    T: np.ndarray
    items: Optional[list]


def read_pairs(where, name, data):
    """``data`` as a list of examples, reading an iterator (a ``zip``, a generator) exactly once.

    A list is returned as it is (``SGD`` shuffles it in place, as the book does); any other iterable
    is copied into a new list and never modified.
    """
    if isinstance(data, list):
        return data
    if isinstance(data, (str, bytes, np.ndarray, dict)) or not hasattr(data, "__iter__"):
        raise BadType(
            f"{where}: {name} must be a list (or other iterable) of (x, y) pairs or a pair of arrays (X, Y), "
            f"got {_describe(data)}"
        )
    return list(data)


def pairs(where, name, data):
    """``data`` read as by ``read_pairs``: a non-empty list whose every item is an ``(x, y)`` pair."""
    items = read_pairs(where, name, data)
    if not items:
        once = "" if isinstance(data, (list, tuple)) else " (a zip or generator can be read only once)"
        raise BadValue(f"{where}: {name} is empty: expected at least one (x, y) example{once}")
    if not (set(map(type, items)) <= {tuple, list} and set(map(len, items)) == {2}):
        for i, example in enumerate(items):
            if not isinstance(example, (tuple, list)) or len(example) != 2:
                raise BadType(f"{where}: {name}[{i}] must be an (x, y) tuple, got {_describe(example)}")
    return items


def examples(where, name, data, n_in, n_out):
    """Validate a data set and return it as ``Examples``.

    ``data`` is any iterable of ``(x, t)`` pairs (the book's list, a tuple, a ``zip``, a generator;
    read once) or a pair of arrays ``(X, T)``; a target is an integer label or a one-hot
    ``(n_out, 1)`` column. ``name`` is the argument's name; ``None`` means the one example of
    ``backprop(x, y)``.
    """
    label = _single if name is None else _listed(name)
    if is_array_pair(data):
        return Examples(*_array_pair(where, name, data, n_in, n_out), None)
    items = pairs(where, name, data)
    X = _stack(where, label, "input x", [example[0] for example in items], n_in)
    _check_finite(where, X, lambda row: label(row, "input x"))
    return Examples(X, _targets(where, label, [example[1] for example in items], n_out), items)


def output_delta(value, n_out):
    """A reader's output-layer delta (from their ``cost_derivative`` or cost's ``delta``) as a float row ``(1, n_out)``."""
    delta = _numeric_array("backprop", "the output layer's delta", value)
    if delta.shape not in ((n_out, 1), (n_out,)):
        raise BadValue(
            f"backprop: the output layer's delta (from your cost_derivative or cost.delta) must have shape "
            f"({n_out}, 1), got {_describe(delta)}"
        )
    return delta.reshape(1, n_out).astype(np.float64)


def _numeric_array_shapes(values, n):
    """The shapes of ``values`` when every one is an int or float ndarray shaped (n, 1) or (n,), else None.

    Checked with ``map`` over the distinct types, shapes and dtypes, without a Python loop.
    """
    if set(map(type, values)) != {np.ndarray}:
        return None
    shapes = set(map(attrgetter("shape"), values))
    kinds = {dt.kind for dt in set(map(attrgetter("dtype"), values))}
    return shapes if shapes <= {(n, 1), (n,)} and kinds <= set("fiu") else None


def _stack(where, label, part, values, n, shapes=None):
    """Stack ``values`` (each shaped (n, 1) or (n,)) into rows ``(len, n)``, naming the first that is not
    (``shapes``: ``_numeric_array_shapes(values, n)`` when already known)."""
    shapes = _numeric_array_shapes(values, n) if shapes is None else shapes
    if shapes is not None:  # np.array is faster, but only stacks arrays of one shape
        stacked = np.array(values) if len(shapes) == 1 else np.concatenate(values, axis=None)
        return stacked.reshape(len(values), n)
    rows = []
    for i, v in enumerate(values):
        what = label(i, part)
        a = _numeric_array(where, what, v)
        if a.shape not in ((n, 1), (n,)):
            raise BadValue(f"{where}: {what} must have shape ({n}, 1), got {_describe(a)}")
        rows.append(a.reshape(n))
    return np.stack(rows)


def _targets(where, label, target_list, n_out):
    """Int labels (all scalars) or one-hot rows (all arrays) from a list of targets."""
    if all(_is_int_type(kind) for kind in set(map(type, target_list))):
        labels = np.asarray(target_list, dtype=np.int64)
        _check_labels(where, labels, n_out, lambda i: label(i, "label"))
        return labels
    shapes = _numeric_array_shapes(target_list, n_out)
    if shapes is None:
        for i, t in enumerate(target_list):
            if np.ndim(t) == 0:
                raise BadType(
                    f"{where}: {label(i, 'target y')} must be an integer label 0..{n_out - 1} or a ({n_out}, 1) "
                    f"column, got {_describe(t)}"
                )
    Y = _stack(where, label, "target y", target_list, n_out, shapes)
    _check_finite(where, Y, lambda row: label(row, "target y"))
    return Y


def _check_labels(where, labels, n_out, label):
    outside = (labels < 0) | (labels >= n_out)
    if outside.any():
        i = int(np.argmax(outside))
        raise BadValue(f"{where}: {label(i)} is {labels[i]}, outside the output range 0..{n_out - 1}")


def _array_pair(where, name, data, n_in, n_out):
    X, T = data
    X = _numeric_array(where, f"{name} inputs X", X)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise BadValue(f"{where}: {name} inputs X must have shape (n, {n_in}), got {_describe(X)}")
    if len(X) == 0:
        raise BadValue(f"{where}: {name} is empty: expected at least one example")
    _check_finite(where, X, lambda row: f"{name} X[{row}]")
    T = _numeric_array(where, f"{name} targets", T)
    if T.shape == (len(X),):
        if not np.issubdtype(T.dtype, np.integer):
            raise BadType(f"{where}: {name} labels must be integers, got dtype {T.dtype}")
        _check_labels(where, T, n_out, lambda i: f"{name} labels[{i}]")
        return X, T.astype(np.int64)
    if T.shape != (len(X), n_out):
        raise BadValue(
            f"{where}: {name} targets must be labels ({len(X)},) or one-hot rows ({len(X)}, {n_out}), got {_describe(T)}"
        )
    _check_finite(where, T, lambda row: f"{name} Y[{row}]")
    return X, T


def network_input(a, n_in):
    """The argument of ``feedforward``: ``(n_in,)``, ``(n_in, 1)`` or ``(n_in, k)``, finite numbers."""
    a = _numeric_array("feedforward", "a", a)
    if a.ndim not in (1, 2) or a.shape[0] != n_in:
        raise BadValue(
            f"feedforward: a must have shape ({n_in},), ({n_in}, 1) or ({n_in}, k) for the input layer of "
            f"{n_in} neurons, got {_describe(a)}"
        )
    if not np.all(np.isfinite(a)):
        raise BadValue("feedforward: a contains NaN or infinity")
    return a
