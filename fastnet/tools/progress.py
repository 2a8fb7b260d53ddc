"""One updating line on a terminal for long work: what runs, its epoch out of how many, the time left.

``fastnet book`` and ``fastnet bench`` run for minutes. On a terminal, ``Progress`` keeps one line
of stderr up to date (carriage return, no newline); when stderr is not a terminal (a log file, a
pipe, a notebook) it writes nothing at all, so logs stay clean and stdout is never touched.
"""

import shutil
import sys
import time


class Progress:
    """Counts epochs (or other ``unit``s) out of ``total`` and shows them, with an estimate of the time left.

    The estimate takes every epoch as equal work, unless ``work`` gives the total in other terms (say
    estimated seconds) and ``begin`` each task's ``weight`` of an epoch in them."""

    def __init__(self, total, stream=None, unit="epoch", work=None):
        self.total, self.done, self.unit = max(int(total), 1), 0, unit
        self.work, self.work_done, self.weight = float(work or self.total), 0.0, 1.0
        self.stream = sys.stderr if stream is None else stream
        self.shown = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start, self.task, self.size, self.base = time.perf_counter(), "", None, 0

    def begin(self, task, size=None, weight=1.0):
        """Name the work that starts now, of ``size`` epochs (or units) when given, each ``weight`` of work."""
        self.task, self.size, self.base, self.weight = task, size, self.done, weight
        self._show()

    def epoch(self, count=1):
        """Count ``count`` finished epochs."""
        self.done += count
        self.work_done += count * self.weight
        self._show()

    def epoch_log(self, line):
        """An ``SGD`` log that counts the epochs from its lines (and prints nothing)."""
        if line.startswith("Epoch "):
            self.epoch()

    def say(self, line):
        """Print ``line`` on stdout, the progress line redrawn below it."""
        if self.shown:
            self.stream.write("\r\033[K")
        print(line, flush=True)
        self._show()

    def close(self):
        """Clear the line."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _show(self):
        if not self.shown:
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.work_done * max(self.work - self.work_done, 0.0) if self.work_done else None
        left = "" if left is None else f", about {duration(left)} left"
        count = f"{self.done} of {self.total}"
        if self.size is not None:
            count = f"{self.done - self.base} of {self.size} ({count} in all)"
        status = f": {self.unit} {count}{left}"
        room = shutil.get_terminal_size().columns - 1 - len(status)  # one line: a wrapped one cannot be redrawn
        task = self.task if len(self.task) <= room else self.task[: max(room - 3, 0)] + "..."
        self.stream.write(f"\r\033[K{task}{status}")
        self.stream.flush()


def duration(seconds):
    """``42 s``, ``3 min 5 s`` or ``2 h 7 min``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        minutes = (seconds + 30) // 60
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
