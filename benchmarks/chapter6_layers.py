"""The chapter-6 layers the issue measures against one core's peak (``peak.py``): each convolution of
the two-conv network, forward and backward, and the dropout network's 1,000 x 1,000 layer, forward (its
dropout mask applied) and backward (dC/da and the weights' step), each the kernels a step calls, on one
thread, mini-batch 10, 50 calls a round, the median of 7 rounds taking turns:

    python benchmarks/chapter6_layers.py [float32|float64]

A convolution's multiply-adds: m F K qh qw ph pw for y = W cols and as many for dC/dW, and as many again
for dC/dcols past the first layer; a dense layer's: m n_in n_out forward, twice that backward.
"""

import statistics
import sys
import time

import numpy as np

from fastnet import mnist_loader
from fastnet.engine import convnet as kernels
from fastnet.engine.convnet_driver import convnet_dropout_masks, convnet_work, pack_convnet
from fastnet.engine.jit import kernel  # numba's own cache would serve these compiled from older engine sources
from fastnet.tools.experiments import chapter_6_layers

M = 10
ONE = (np.int64(0), np.int64(1))  # the only share of a step


@kernel
def _conv_layer(net, l, work, calls):
    for _ in range(calls):
        kernels._conv_forward(net, l, work, M, ONE)
        kernels._conv_backward(net, l, work, M, ONE)


@kernel
def _dense_forward(net, l, work, masks, calls):
    for _ in range(calls):
        kernels._dense_forward(net, l, work, M, masks, 0, ONE)


@kernel
def _dense_backward(net, l, work, masks, calls):
    for _ in range(calls):
        kernels._dense_backward(net, l, work, M, masks, 0, work.a.dtype.type(1e-6), work.a.dtype.type(0), ONE)


def packed(kind, dtype):
    """A chapter-6 network of ``kind`` packed in ``dtype`` with its work buffers, MNIST's first images as input."""
    np.random.seed(0)
    net = pack_convnet([layer._spec() for layer in chapter_6_layers(kind, M)], dtype)
    work = convnet_work(net, M, 1)
    (X, _), _, _ = mnist_loader.load_data()
    work.a[:, : X.shape[1]] = X[:M]
    return net, work


def medians(parts, calls=50, rounds=7):
    """{name: median microseconds a call} of the ``parts`` {name: (function, args)}, rounds taking turns."""
    for function, args in parts.values():
        function(*args, 1)
    times = {name: [] for name in parts}
    for _ in range(rounds):
        for name, (function, args) in parts.items():
            start = time.perf_counter()
            function(*args, calls)
            times[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: statistics.median(t) for name, t in times.items()}


def main(dtype):
    net, work = packed("relu", dtype)
    for l in range(2):  # layer 1 reads what layer 0 writes
        _conv_layer(net, l, work, 1)
    dense_net, dense_work = packed("dropout", dtype)
    rng = np.random.default_rng(0)
    dense_work.a[:] = rng.random(dense_work.a.shape)
    dense_work.g[:] = rng.standard_normal(dense_work.g.shape) * 1e-3
    masks = convnet_dropout_masks(dense_net, M, rng)(1)
    dense = 3  # conv, conv, 1,000, 1,000, softmax
    times = medians({"conv 0": (_conv_layer, (net, 0, work)), "conv 1": (_conv_layer, (net, 1, work)),
                     "dense forward": (_dense_forward, (dense_net, dense, dense_work, masks)),
                     "dense backward": (_dense_backward, (dense_net, dense, dense_work, masks))})
    for l in range(2):
        C, H, W, F, fh, fw, ph, pw = net.dims[l]
        once = M * F * C * fh * fw * ((H - fh + 1) // ph) * ((W - fw + 1) // pw) * ph * pw
        mac = once * (2 if l == 0 else 3)
        print(f"{np.dtype(dtype).name} convolution {l} ({F} filters {C}x{fh}x{fw}), forward and backward: "
              f"{times[f'conv {l}']:.0f} us, {mac / 1e6:.1f} M multiply-adds, {mac / times[f'conv {l}'] / 1e3:.0f} G a second")
    n_in, n_out = dense_net.dims[dense, 0], dense_net.dims[dense, 1]
    mac = M * n_in * n_out
    forward, backward = times["dense forward"], times["dense backward"]
    print(f"{np.dtype(dtype).name} dense {n_in} x {n_out}: forward {forward:.0f} us ({mac / forward / 1e3:.0f} G), "
          f"backward {backward:.0f} us ({2 * mac / backward / 1e3:.0f} G), {3 * mac / (forward + backward) / 1e3:.0f} G "
          "a second in all")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "float32")
