"""Hypothesis profiles and an accuracy table printed at the end of the run.

``SKINFLUENCE_HYPOTHESIS_PROFILE=thorough`` draws many more problems than the
default ``ci`` profile (fixed seed, no example database, a few problems per test).
"""

import os
import warnings

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("SKINFLUENCE_HYPOTHESIS_PROFILE", "ci"))

ACCURACY_ROWS = []

#: ``fit_intercept`` both ways, with readable ids
INTERCEPT = pytest.mark.parametrize(
    "fit_intercept", [True, False], ids=["intercept", "nointercept"]
)


def influence_at(model):
    """``influence_params_`` of a model deliberately not at the minimum of its
    (smoothed) objective: its ``NonStationaryWarning`` silenced."""
    from skinfluence import NonStationaryWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonStationaryWarning)
        return model.influence_params_


def report_accuracy(name, **numbers):
    """Record a row for the accuracy table printed after the tests."""
    ACCURACY_ROWS.append((name, numbers))


def pytest_terminal_summary(terminalreporter):
    if not ACCURACY_ROWS:
        return
    terminalreporter.section("skinfluence accuracy against real refits")
    for name, numbers in ACCURACY_ROWS:
        values = "  ".join(f"{k}={v:.6g}" for k, v in numbers.items())
        terminalreporter.write_line(f"{name:<55} {values}")
