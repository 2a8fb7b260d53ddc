"""fastnet's tools around the drop-ins: the command line (``cli``), the book's experiments
(``experiments``, ``baselines``), the benchmarks a user can run (``bench``), plots and terminal
progress (``plots``, ``progress``), and the plain-NumPy reference that every kernel is tested
against (``reference``)."""
