"""Checks at the public boundary: once per call, before any parameter changes.

Each check raises a ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value)
whose message names the call, the argument (and the position of the offending example), what was
expected and what was found. The kernels underneath check nothing.
"""

import numbers

import numpy as np

from .arrays import is_array_pair

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _describe(value):
    """A short description of a value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def sizes(value):
    """The layer sizes: a sequence of at least two positive integers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"Network: sizes must be a list of layer sizes like [784, 30, 10], got {_describe(value)}")
    if len(value) < 2:
        raise ValueError(
            f"Network: sizes must list at least two layers (input and output), got {len(value)}: {list(value)}"
        )
    for i, n in enumerate(value):
        if not _is_int(n):
            raise TypeError(f"Network: sizes[{i}] must be a positive integer, got {_describe(n)}")
        if n < 1:
            raise ValueError(f"Network: sizes[{i}] must be a positive integer, got {n}")
    return [int(n) for n in value]


def dtype(value):
    """float64 or float32."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt not in DTYPES:
        raise ValueError(f"Network: dtype must be float64 or float32, got {_describe(value)}")
    return dt


def count(where, name, value, minimum):
    """An integer (epochs, mini_batch_size) of at least ``minimum``."""
    if not _is_int(value):
        raise TypeError(f"{where}: {name} must be an integer >= {minimum}, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value}")
    return int(value)


def learning_rate(where, value):
    """eta: a finite number greater than zero."""
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: eta must be a positive number, got {_describe(value)}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{where}: eta must be a finite number > 0, got {value}")
    return float(value)


def parameters(net):
    """``net.weights`` / ``net.biases`` (which users may edit or rebind) still fit ``net.sizes``."""
    sizes = net.sizes
    for name, arrays, shape_of in (
        ("weights", net.weights, lambda l: (sizes[l + 1], sizes[l])),
        ("biases", net.biases, lambda l: (sizes[l + 1], 1)),
    ):
        if not isinstance(arrays, (list, tuple)) or len(arrays) != len(sizes) - 1:
            raise ValueError(
                f"Network: {name} must be a list of {len(sizes) - 1} arrays for sizes {sizes}, got {_describe(arrays)}"
            )
        for l, a in enumerate(arrays):
            a = np.asarray(a)
            if a.shape != shape_of(l) or not np.issubdtype(a.dtype, np.number):
                raise ValueError(
                    f"Network: {name}[{l}] must be a numeric array of shape {shape_of(l)}, got {_describe(a)}"
                )
            if not np.all(np.isfinite(a)):
                raise ValueError(f"Network: {name}[{l}] contains NaN or infinity")


def _numeric_array(where, what, value):
    """``value`` as a numeric NumPy array, or a TypeError naming ``what``."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = None
    if array is None or not (np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)):
        raise TypeError(f"{where}: {what} must be numeric, got {_describe(value)}")
    return array


def _check_finite(where, array, label):
    """Name the first row (example) holding NaN or infinity: ``label(row)``."""
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argmax(bad.reshape(len(array), -1).any(axis=1)))
        raise ValueError(f"{where}: {label(row)} contains NaN or infinity")


def _listed(name):
    """Labels for the parts of example i of the list ``name``: 'training_data[3] input x'."""
    return lambda i, part: f"{name}[{i}] {part}"


def _single(i, part):
    """Labels for the one example of ``backprop(x, y)``: just 'x' or 'y'."""
    return part.split()[-1]


def examples(where, name, data, n_in, n_out):
    """Validate a data set and return it as arrays ``(X (n, n_in), T)``.

    ``data`` is the book's list of ``(x, t)`` tuples or a pair of arrays ``(X, T)``; a target is an
    integer label or a one-hot ``(n_out, 1)`` column. Returns ``T`` as int labels ``(n,)`` or as
    rows ``(n, n_out)``. ``name`` is the argument's name; ``None`` means the one example of
    ``backprop(x, y)``.
    """
    label = _single if name is None else _listed(name)
    if is_array_pair(data):
        return _array_pair(where, name, data, n_in, n_out)
    if isinstance(data, (str, bytes, np.ndarray)) or not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
        raise TypeError(
            f"{where}: {name} must be a list of (x, y) tuples or a pair of arrays (X, Y), got {_describe(data)}"
        )
    if len(data) == 0:
        raise ValueError(f"{where}: {name} is empty: expected at least one (x, y) example")
    for i, example in enumerate(data):
        if not isinstance(example, (tuple, list)) or len(example) != 2:
            raise TypeError(f"{where}: {name}[{i}] must be an (x, y) tuple, got {_describe(example)}")
    X = _stack(where, label, "input x", [example[0] for example in data], n_in)
    _check_finite(where, X, lambda row: label(row, "input x"))
    return X, _targets(where, label, [example[1] for example in data], n_out)


def _all_numeric_arrays(values, n):
    """True when every value is an int or float ndarray, all of shape (n, 1) or all (n,): checked fast."""
    kinds = {(v.shape, v.dtype.kind) if type(v) is np.ndarray else None for v in values}
    shapes = {kind[0] for kind in kinds if kind is not None}
    return None not in kinds and len(shapes) == 1 and shapes <= {(n, 1), (n,)} and {k[1] for k in kinds} <= set("fiu")


def _stack(where, label, part, values, n):
    """Stack ``values`` (each shaped (n, 1) or (n,)) into rows ``(len, n)``, naming the first that is not."""
    if _all_numeric_arrays(values, n):
        return np.array(values).reshape(len(values), n)
    rows = []
    for i, v in enumerate(values):
        what = label(i, part)
        a = _numeric_array(where, what, v)
        if a.shape not in ((n, 1), (n,)):
            raise ValueError(f"{where}: {what} must have shape ({n}, 1), got {_describe(a)}")
        rows.append(a.reshape(n))
    return np.stack(rows)


def _targets(where, label, target_list, n_out):
    """Int labels (all scalars) or one-hot rows (all arrays) from a list of targets."""
    if all(_is_int(t) for t in target_list):
        labels = np.asarray(target_list, dtype=np.int64)
        _check_labels(where, labels, n_out, lambda i: label(i, "label"))
        return labels
    for i, t in enumerate(target_list):
        if np.ndim(t) == 0:
            raise TypeError(
                f"{where}: {label(i, 'target y')} must be an integer label 0..{n_out - 1} or a ({n_out}, 1) column, "
                f"got {_describe(t)}"
            )
    Y = _stack(where, label, "target y", target_list, n_out)
    _check_finite(where, Y, lambda row: label(row, "target y"))
    return Y


def _check_labels(where, labels, n_out, label):
    outside = (labels < 0) | (labels >= n_out)
    if outside.any():
        i = int(np.argmax(outside))
        raise ValueError(f"{where}: {label(i)} is {labels[i]}, outside the output range 0..{n_out - 1}")


def _array_pair(where, name, data, n_in, n_out):
    X, T = data
    X = _numeric_array(where, f"{name} inputs X", X)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{where}: {name} inputs X must have shape (n, {n_in}), got {_describe(X)}")
    if len(X) == 0:
        raise ValueError(f"{where}: {name} is empty: expected at least one example")
    _check_finite(where, X, lambda row: f"{name} X[{row}]")
    T = _numeric_array(where, f"{name} targets", T)
    if T.shape == (len(X),):
        if not np.issubdtype(T.dtype, np.integer):
            raise TypeError(f"{where}: {name} labels must be integers, got dtype {T.dtype}")
        _check_labels(where, T, n_out, lambda i: f"{name} labels[{i}]")
        return X, T.astype(np.int64)
    if T.shape != (len(X), n_out):
        raise ValueError(
            f"{where}: {name} targets must be labels ({len(X)},) or one-hot rows ({len(X)}, {n_out}), got {_describe(T)}"
        )
    _check_finite(where, T, lambda row: f"{name} Y[{row}]")
    return X, T


def network_input(a, n_in):
    """The argument of ``feedforward``: ``(n_in,)``, ``(n_in, 1)`` or ``(n_in, k)``, finite numbers."""
    a = _numeric_array("feedforward", "a", a)
    if a.ndim not in (1, 2) or a.shape[0] != n_in:
        raise ValueError(
            f"feedforward: a must have shape ({n_in},), ({n_in}, 1) or ({n_in}, k) for the input layer of "
            f"{n_in} neurons, got {_describe(a)}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("feedforward: a contains NaN or infinity")
    return a
