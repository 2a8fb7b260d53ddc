"""The book's methods that a reader has replaced, in a subclass or on the instance, and the warning that says so.

Readers of the book subclass its ``Network`` for the exercises (chapter 2's matrix-based
``update_mini_batch``, a cost of their own in ``cost_derivative``, ...). fastnet then calls their
method exactly where the book's code calls it, which means leaving the compiled epoch for the
book's per-mini-batch (or per-example) path; ``OverrideWarning`` says so once.
"""

import warnings


class OverrideWarning(UserWarning):
    """fastnet calls a reader's own method where the book's code calls it, on a slower path than its compiled one."""


def overridden(obj, base, names):
    """The names among ``names`` whose method on ``obj`` is not ``base``'s: replaced in a subclass or on the instance."""
    return [name for name in names if name in vars(obj) or getattr(type(obj), name) is not getattr(base, name)]


def warn_override(obj, methods, consequence, stacklevel=3):
    """Say in one line that ``obj``'s own ``methods`` run, and what that costs (``consequence``), at the
    reader's call ``stacklevel`` frames up (as ``warnings.warn`` counts them from here)."""
    warnings.warn(
        f"{type(obj).__name__} has its own {' and '.join(methods)}, so {consequence}; "
        "warnings.simplefilter('ignore', fastnet.OverrideWarning) silences this",
        OverrideWarning,
        stacklevel=stacklevel,
    )
