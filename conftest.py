"""Run the doctests and the test suite without a display: matplotlib's Agg
backend, set here rather than in the docstrings (which readers paste into
notebooks, where ``matplotlib.use("Agg")`` would turn inline plots off)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
