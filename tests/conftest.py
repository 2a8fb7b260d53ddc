from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


def pytest_collection_modifyitems(items):
    """The Dask cluster's tests last: a Dask client leaves a thread in this process for good, after which a
    sweep's workers are spawned, not forked (``workers.can_fork``), and the fork's tests would be skipped."""
    items.sort(key=lambda item: item.path.name == "test_cluster.py")


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST as ``load_data()`` gives it."""
    from fastnet import mnist_loader

    return mnist_loader.load_data(DATA)


def pytest_terminal_summary(terminalreporter):
    """With FASTNET_PRINT_ERRORS=1: the largest error each comparison measured (``helpers.measured``)."""
    import os

    from helpers import MEASURED

    if os.environ.get("FASTNET_PRINT_ERRORS"):
        terminalreporter.write_line("largest relative errors measured (comparison, dtype):")
        for (name, dtype), error in sorted(MEASURED.items()):
            terminalreporter.write_line(f"  {name:<28} {dtype:<8} {error:.2e}")
