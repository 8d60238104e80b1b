"""Hypothesis profiles and an accuracy table printed at the end of the run.

``SKINFLUENCE_HYPOTHESIS_PROFILE=thorough`` draws many more problems than the
default ``ci`` profile (fixed seed, no example database, a few problems per test).
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


@st.composite
def regression_problems(draw, noise, unit_weights=True):
    """A small drawn regression ``(X, y, s)``: 30-60 rows, 1-4 features of
    uneven scales, ``y = X w + 1 + noise(rng, n)``; weights uniform in
    [0.5, 2], or ones when ``unit_weights`` and a drawn coin say so."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(30, 60)), draw(st.integers(1, 4))
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
    y = X @ rng.normal(size=d) + 1.0 + noise(rng, n)
    uneven = not unit_weights or draw(st.booleans())
    s = rng.uniform(0.5, 2.0, n) if uneven else np.ones(n)
    return X, y, s


def standardized_diabetes(train_size=150):
    """Diabetes split at ``random_state=0``, X scaled on the training rows and y
    standardized with the training mean and deviation: ``X, X_test, y, y_test``."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    X, Xt, y, yt = train_test_split(X, y, train_size=train_size, random_state=0)
    scaler = StandardScaler().fit(X)
    mu, sd = y.mean(), y.std()
    return scaler.transform(X), scaler.transform(Xt), (y - mu) / sd, (yt - mu) / sd


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
