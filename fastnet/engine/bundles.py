"""The kernels' bundles of state, declared once: each field's dtype and dimensions, checked where a
bundle is handed to the kernels.

A bundle is a namedtuple of arrays (and a few numbers): numba passes it as its fields, at no cost.
numba also compiles a kernel once for every combination of argument types it meets, so a field of
the wrong dtype (an int32 index array, float32 scales, a strided view) would not fail: it would
compile the kernels again for the new types, silently, and run arithmetic that nobody asked for.
Each bundle class therefore declares its fields (``declare``), and ``checked`` tests a bundle
against the declaration, with a message that names the bundle, the field, what was declared and
what it holds.
"""

from typing import NamedTuple

import numpy as np

FLOAT = "float"  # the network's float dtype: float32 or float64, the same in every such field


class Array(NamedTuple):
    """A field that is a C-contiguous array of ``dtype`` (a NumPy dtype name, or ``FLOAT``) with ``ndim`` dimensions."""

    dtype: str
    ndim: int


def declare(**fields):
    """Class decorator for a bundle: each of its fields is an ``Array``, a Python type (a number or a
    flag), or another declared bundle class."""

    def decorate(cls):
        if tuple(fields) != cls._fields:
            raise TypeError(f"{cls.__name__}: declare every field, in order: {cls._fields}, got {tuple(fields)}")
        cls.DECLARED = fields
        return cls

    return decorate


NUMBERS = {float: (float,), int: (int, np.integer), bool: (bool, np.bool_)}  # what numba types alike


def checked(bundle, float_dtype=None):
    """Return ``bundle`` after checking every field against its class's declaration, its ``FLOAT`` arrays
    (in nested bundles too) all of one dtype: ``float_dtype`` when given, else float32 or float64.
    Raises ``TypeError``."""
    _check(bundle, float_dtype)
    return bundle


def _check(bundle, float_dtype):
    """Check ``bundle``; return the float dtype of its ``FLOAT`` arrays (``float_dtype`` if it has none)."""
    name = type(bundle).__name__
    for field, declared in type(bundle).DECLARED.items():
        value = getattr(bundle, field)
        if hasattr(declared, "DECLARED"):
            float_dtype = _check(value, float_dtype)
        elif isinstance(declared, Array):
            float_dtype = _check_array(f"{name}.{field}", declared, value, float_dtype)
        elif not isinstance(value, NUMBERS[declared]) or (declared is not bool and isinstance(value, (bool, np.bool_))):
            raise TypeError(f"{name}.{field}: declared a Python {declared.__name__}, got {type(value).__name__} {value}")
    return float_dtype


def _check_array(label, declared, value, float_dtype):
    """Check one array field; returns the float dtype the bundle now has."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{label}: declared a {declared.ndim}-D {declared.dtype} array, got {type(value).__name__}")
    want = declared.dtype
    if want == FLOAT:
        want = float_dtype if float_dtype is not None else value.dtype
        if np.dtype(want) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{label}: declared float32 or float64, got {value.dtype}")
        float_dtype = np.dtype(want)
    if value.dtype != np.dtype(want) or value.ndim != declared.ndim or not value.flags.c_contiguous:
        layout = "C-contiguous" if value.flags.c_contiguous else "not contiguous"
        raise TypeError(f"{label}: declared a C-contiguous {declared.ndim}-D {np.dtype(want)} array, got a {layout} "
                        f"{value.ndim}-D {value.dtype} array")
    return float_dtype
