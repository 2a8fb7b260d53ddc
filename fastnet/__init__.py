"""fastnet: the networks of Nielsen's *Neural Networks and Deep Learning*, fast.

``import fastnet as network`` (chapter 1), ``import fastnet.network2 as network2`` (chapter 3),
``import fastnet.network3 as network3`` (chapter 6, without Theano) and ``from fastnet import
mnist_loader`` run the book's code unchanged.
"""

__version__ = "0.1.0"

from . import mnist_loader, network2
from ._book.overrides import OverrideWarning
from .network import Network, load, sigmoid, sigmoid_prime
from .tools.baselines import average_darkness
from .tools.plots import plot_history

_SWEEPS = ("sweep", "grid", "vote", "Run")  # from tools.sweep, imported when first used


def __getattr__(name):
    """``fastnet.sweep``, ``grid``, ``vote`` and ``Run``, imported on first use (chapter 1 needs none of them)."""
    if name in _SWEEPS:
        from .tools import sweep

        return getattr(sweep, name)
    raise AttributeError(f"module 'fastnet' has no attribute {name!r}")


__all__ = ["Network", "load", "sigmoid", "sigmoid_prime", "mnist_loader", "network2", "average_darkness", "OverrideWarning",
           "plot_history", *_SWEEPS]
