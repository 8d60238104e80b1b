"""Fuzz suite: every public method × every ready configuration on random small
problems (random sizes, weights with zeros, single-class and separable labels,
penalties scaled by up to 1e±8, NaN in the test data; see ``tests/fuzz.py``).

1. No draw may end in an internal error type or a non-finite answer without a
   warning: every exception is one of our clear errors (``fuzz.classify``).
2. On well-posed draws the answers equal independent computations: Newton
   removal and leave-one-out for squared error are exact refits; influences
   are central differences of tight refits in one row's weight.

CI runs a derandomized handful of draws (the ``ci`` hypothesis profile);
``SKINFLUENCE_SLOW=1`` or ``SKINFLUENCE_HYPOTHESIS_PROFILE=thorough`` draws
hundreds. ``python tests/fuzz.py 2000`` prints the census of outcomes.
"""

import os
import warnings

import numpy as np
import pytest
from fuzz import FAILURES, LABEL_KINDS, LABELS, NAN_KINDS, Draw, call_all
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import rel_err, theta_of
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

import skinfluence as sk

THOROUGH = os.environ.get("SKINFLUENCE_SLOW") == "1" or (
    os.environ.get("SKINFLUENCE_HYPOTHESIS_PROFILE") == "thorough"
)
N_DRAWS = 600 if THOROUGH else 24


@st.composite
def draws(draw):
    return Draw(
        label=draw(st.sampled_from(LABELS)),
        n=draw(st.integers(2, 30)),
        d=draw(st.integers(1, 5)),
        labels=draw(st.sampled_from(LABEL_KINDS)),
        weights=draw(st.sampled_from(["none", "positive", "zeros"])),
        scale=draw(st.sampled_from([1e-8, 1e-2, 1.0, 1e2, 1e8])),
        nan=draw(st.sampled_from(NAN_KINDS)),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=N_DRAWS)
@given(draws())
def test_every_outcome_is_an_answer_or_our_clear_error(draw):
    outcomes = call_all(draw)
    failures = {
        method: outcome
        for method, outcome in outcomes.items()
        if outcome.startswith(FAILURES)
    }
    assert not failures, failures


def test_a_planted_internal_error_is_classified_as_one():
    """The classifier itself: an IndexError from numpy is internal, our own
    ValueError is clear (the suite cannot pass by classifying everything ok)."""
    from fuzz import classify

    try:
        np.empty(2)[5]
    except IndexError as error:
        assert classify(error).startswith("internal:IndexError")
    model = sk.InfluenceRidge().fit(np.eye(4, 2), np.arange(4.0))
    with pytest.raises(ValueError) as caught:  # scikit-learn's InvalidParameterError
        model.influence_loss(np.eye(1, 2), 1.0)
    assert classify(caught.value).startswith("clear:")


def test_the_documented_nan_rule_of_row_diagnostics_can_fail():
    """NaN is required at rows of zero weight and needs a warning of ours
    elsewhere: numpy's RuntimeWarning is no announcement."""
    from fuzz import _row_outcome

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    w = np.ones(12)
    w[3] = 0.0
    model = sk.InfluenceLinearRegression().fit(X, y, sample_weight=w)
    values = model.studentized_residuals()
    assert np.isnan(values[3])
    assert _row_outcome(values, model, w, []) == "ok"
    finite = np.where(np.isnan(values), 0.0, values)
    assert _row_outcome(finite, model, w, []) == "nan-rule"
    planted = values.copy()
    planted[5] = np.nan
    assert _row_outcome(planted, model, w, []) == "silent-nan"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.sqrt(-np.ones(1))
    assert caught and _row_outcome(planted, model, w, caught) == "silent-nan"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("row 5 has no value", UserWarning, stacklevel=1)
    assert _row_outcome(planted, model, w, caught) == "ok"


# -- well-posed draws: exact answers ----------------------------------------------
@st.composite
def least_squares(draw):
    d = draw(st.integers(1, 4))
    n = draw(st.integers(d + 4, 25))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 10.0 ** draw(st.sampled_from([-3, 0, 3]))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    w = rng.uniform(0.1, 5.0, size=n)
    w[rng.random(n) < 0.2] = 0.0
    w[:2] = 1.0
    alpha = draw(st.sampled_from([0.0, 1e-6, 1.0, 1e4]))
    remove = rng.choice(n, size=draw(st.integers(1, 3)), replace=False)
    return X, y, w, alpha, remove


@settings(max_examples=3 * N_DRAWS // 2)
@given(least_squares())
def test_newton_removal_for_squared_error_is_the_weighted_refit(problem):
    X, y, w, alpha, remove = problem
    estimator = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    model = sk.attach(clone(estimator).fit(X, y, sample_weight=w), X, y, w)
    keep = np.setdiff1d(np.arange(len(y)), remove)
    if np.count_nonzero(w[keep]) <= X.shape[1] + 1:
        return  # not identified without them: covered by the table test
    refit = clone(estimator).fit(X[keep], y[keep], sample_weight=w[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = model.remove_effect(remove, method="newton")
    assert rel_err(theta_of(new), theta_of(refit)) < 1e-7


@settings(max_examples=N_DRAWS)
@given(least_squares())
def test_leave_one_out_for_squared_error_is_the_weighted_refit(problem):
    X, y, w, alpha, remove = problem
    estimator = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    model = sk.attach(clone(estimator).fit(X, y, sample_weight=w), X, y, w)
    i = int(remove[0])
    keep = np.arange(len(y)) != i
    if np.count_nonzero(w[keep]) <= X.shape[1] + 1:
        return
    refit = clone(estimator).fit(X[keep], y[keep], sample_weight=w[keep])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        change = model.loo_params_change()[i]
    expected = theta_of(refit) - theta_of(model)
    assert rel_err(change, expected) < 1e-6 or np.allclose(
        change, expected, atol=1e-9 * np.abs(theta_of(model)).max()
    )


def _weight_derivative(estimator, X, y, w, i, eps=1e-5):
    """``S ∂θ̂/∂s_i`` by central differences of refits (the definition)."""
    S = w.sum()
    thetas = []
    for sign in (1.0, -1.0):
        v = w.copy()
        v[i] += sign * eps * S
        thetas.append(theta_of(clone(estimator).fit(X, y, sample_weight=v)))
    return (thetas[0] - thetas[1]) / (2 * eps)


@st.composite
def logistic_problems(draw):
    d = draw(st.integers(1, 4))
    n = draw(st.integers(4 * d + 10, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 2 * rng.logistic(size=n) > 0).astype(int)
    w = rng.uniform(0.2, 4.0, size=n)
    w[rng.random(n) < 0.2] = 0.0
    C = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    return X, y, w, C, int(np.flatnonzero(w)[0])


@settings(max_examples=max(4, N_DRAWS // 4))
@given(logistic_problems())
def test_weighted_logistic_influence_is_the_weight_derivative_of_refits(problem):
    X, y, w, C, i = problem
    if np.unique(y[w > 0]).size < 2:
        return
    estimator = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12)
    model = sk.attach(clone(estimator).fit(X, y, sample_weight=w), X, y, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = model.influence_params_[i]
        expected = _weight_derivative(estimator, X, y, w, i)
    assert rel_err(actual, expected) < 1e-4


@pytest.mark.parametrize("label", ["PoissonRegressor", "Lasso"])
def test_sum_scaled_penalty_influence_is_the_weight_derivative(label):
    """Σs-scaled penalties, weighted: the influence includes ``∇Ω_mean``."""
    from skinfluence._capabilities import make_data

    X, y, _, _ = make_data(
        "counts" if label == "PoissonRegressor" else "regression", 40
    )
    w = np.random.default_rng(1).uniform(0.2, 3.0, size=40)
    from sklearn.linear_model import Lasso, PoissonRegressor

    estimator = (
        PoissonRegressor(alpha=0.5, tol=1e-12, max_iter=1000)
        if label == "PoissonRegressor"
        else Lasso(alpha=0.05, tol=1e-14, max_iter=100000)
    )
    model = sk.attach(clone(estimator).fit(X, y, sample_weight=w), X, y, w)
    for i in (0, 5):
        actual = model.influence_params_[i]
        expected = _weight_derivative(estimator, X, y, w, i, eps=1e-6)
        assert rel_err(actual, expected) < 1e-4
