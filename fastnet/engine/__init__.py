"""fastnet's engine: numba kernels that train and evaluate feedforward networks of sigmoid neurons.

This is everything the book-facing layer (``fastnet._book``, the drop-ins, the tools) may use; the
modules underneath are the engine's own:

- numba plumbing: ``jit`` (how kernels compile and are cached), ``simd`` (blocks and tiles of
  floats held in registers), ``threads`` (shares of a kernel on fastnet's threads);
- numerics: ``activation`` (the sigmoid), ``kernels`` (forward, backward, update), ``layout`` (the
  parameters in the kernels' buffers), ``inputs`` (data in the kernels' formats), ``shuffle`` (the
  book's ``random.shuffle``, compiled);
- the training driver: ``driver`` (an SGD run's epochs on the kernels, the thread choice, batched
  forward passes);
- chapter 6's networks: ``convnet`` (convolution, pooling, dense and softmax layers, the SGD step)
  and its driver ``convnet_driver``.
"""

from .activation import sigmoid, sigmoid_prime
from .convnet import CONV, DENSE, LINEAR, RELU, SIGMOID, SIGMOID_LIMITS, SOFTMAX, TANH
from .convnet_driver import (ConvNetLayer, ConvNetRun, convnet_dropout_masks, convnet_predictions, convnet_work,
                             pack_convnet, unpack_convnet)
from .driver import Training, count_correct, one_step, outputs, prepare_outputs, warm_up
from .inputs import DataSet, data_set, labels_of, one_hot_targets, sparse_rows
from .jit import COMPILE_NOTICE, compile_notice
from .kernels import CROSS_ENTROPY, QUADRATIC, Step
from .layout import Params, pack, unpack
from .shuffle import own_generator
from .threads import available_cpus

__all__ = [
    "sigmoid", "sigmoid_prime",
    "Training", "count_correct", "one_step", "outputs", "prepare_outputs", "warm_up",
    "DataSet", "data_set", "labels_of", "one_hot_targets", "sparse_rows",
    "COMPILE_NOTICE", "compile_notice",
    "CROSS_ENTROPY", "QUADRATIC", "Step",
    "Params", "pack", "unpack",
    "available_cpus", "own_generator",
    "CONV", "DENSE", "SOFTMAX", "LINEAR", "RELU", "SIGMOID", "TANH", "SIGMOID_LIMITS",
    "ConvNetLayer", "ConvNetRun", "convnet_dropout_masks", "convnet_predictions", "convnet_work", "pack_convnet",
    "unpack_convnet",
]
