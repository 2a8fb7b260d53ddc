"""MNIST as fastnet ships it: the four official IDX files and their SHA256SUMS (see README.md here).

This folder is the top-level ``data/`` of fastnet's source tree; it installs as the package
``fastnet.data`` (an editable install, a non-editable one and a wheel alike), which is where
``fastnet.mnist_loader`` finds it.
"""
