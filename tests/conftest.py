from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "fastnet" / "data"


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST as ``load_data()`` gives it."""
    from fastnet import mnist_loader

    return mnist_loader.load_data(DATA)
