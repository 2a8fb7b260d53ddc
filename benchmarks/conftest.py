"""Shared data for the benchmarks, and a closing table of each engine's speedup over the reference."""

from collections import defaultdict
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
_medians = defaultdict(dict)  # case -> {engine: median seconds per epoch}
_notes = defaultdict(list)  # case -> lines printed under it


@pytest.fixture(scope="session")
def mnist_lists():
    from fastnet import mnist_loader

    return mnist_loader.load_data_wrapper(DATA)


@pytest.fixture(scope="session")
def mnist_arrays():
    from fastnet import mnist_loader

    (X, y), _, _ = mnist_loader.load_data(DATA)
    return X, y


class _Recorder:
    """``record(case, engine, benchmark, scale=1.0)`` keeps a benchmark's median (per epoch) for the summary;
    ``record.value(case, engine, seconds)`` keeps a time measured beside it."""

    def __call__(self, case, engine, benchmark, scale=1.0):
        _medians[case][engine] = benchmark.stats.stats.median * scale

    def value(self, case, engine, seconds):
        _medians[case][engine] = seconds

    def note(self, case, text):
        _notes[case].append(text)


@pytest.fixture
def record():
    return _Recorder()


def pytest_terminal_summary(terminalreporter):
    import sys

    reader_runs = sys.modules.get("test_reader_runs")
    lines = reader_runs.pytest_terminal_summary_lines() if reader_runs else []
    if lines:
        terminalreporter.write_line("")
        terminalreporter.write_line("From the start of a fresh process:")
        for line in lines:
            terminalreporter.write_line(line)
    if not _medians:
        return
    write = terminalreporter.write_line
    write("")
    write("Speedup over the reference (median seconds per epoch of 50,000 images, same run;")
    write("where the reference ran on 2,000 images its time is scaled up to 50,000):")
    for case, engines in _medians.items():
        reference = engines.get("reference per-example")
        write(f"  {case}")
        for engine, seconds in engines.items():
            ratio = f"{reference / seconds:7.1f}x" if reference else ""
            write(f"    {engine:<38} {seconds:8.3f} s  {ratio}")
        for note in _notes.get(case, []):
            write(f"    {note}")
