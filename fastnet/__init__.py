"""fastnet: the chapter-1 network of Nielsen's *Neural Networks and Deep Learning*, fast.

``import fastnet as network`` and ``from fastnet import mnist_loader`` run the book's code unchanged.
"""

from . import mnist_loader
from .baselines import average_darkness
from .network import Network, load, sigmoid, sigmoid_prime
from .overrides import OverrideWarning

__all__ = ["Network", "load", "sigmoid", "sigmoid_prime", "mnist_loader", "average_darkness", "OverrideWarning"]
__version__ = "0.1.0"
