"""LogisticRegression with ``l1_ratio > 0`` beyond the binary case: multinomial
(saga) and LogisticRegressionCV selecting ``l1_ratio_ > 0``, on the active set.

Ground truth: central differences of tight saga refits in one row's weight
(``S ∂θ̂/∂s_i``), by scikit-learn's ``LogisticRegression`` at the same ``C`` and
``l1_ratio`` (the CV selection held fixed), where the support does not change.
The multinomial intercepts are unpenalized, so the objective is flat along a
common shift of all K of them: influences there are the minimum-norm (zero-sum)
representative, and refits are compared after removing their intercepts' mean.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import minimizer_weight_derivative
from sklearn.linear_model import LogisticRegression

from skinfluence import InfluenceLogisticRegression, InfluenceLogisticRegressionCV

EPS = 1e-4
SAGA = dict(solver="saga", tol=1e-13, max_iter=10**6, random_state=0)


@st.composite
def problems(draw, n_classes):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(40, 80))
    d = draw(st.integers(2, 5))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
    logits = X @ rng.normal(size=(d, n_classes)) + 1.5 * rng.gumbel(size=(n, n_classes))
    labels = logits.argmax(axis=1)
    assume(np.bincount(labels, minlength=n_classes).min() >= 4)
    y = np.array([10, 20, 30, 40])[labels]
    sw = rng.uniform(0.5, 2.0, n) if draw(st.booleans()) else None
    fit_intercept = draw(st.booleans())
    return X, y, sw, fit_intercept, rng.choice(n, size=3, replace=False)


def _gauge_free(theta, K, fit_intercept):
    """Intercepts minus their mean (multinomial; a common shift changes nothing)."""
    theta = np.array(theta, dtype=float)
    if fit_intercept and K > 2:
        theta[-K:] -= theta[-K:].mean()
    return theta


def _check_weight_derivative(model, params, X, y, sw, fit_intercept, rows):
    K = len(model.classes_)
    s = np.ones(len(y)) if sw is None else sw
    influence = model.influence_params_
    support = model.coef_ != 0
    assume(support.any())

    def theta(w):
        fit = LogisticRegression(**params, fit_intercept=fit_intercept)
        fit.fit(X, y, sample_weight=w)
        # the derivative exists where the support does not change
        assume(np.array_equal(fit.coef_ != 0, support))
        parts = [fit.coef_.ravel()] + [fit.intercept_] * fit_intercept
        return _gauge_free(np.concatenate(parts), K, fit_intercept)

    for i in rows:
        expected = minimizer_weight_derivative(theta, s, i, EPS)
        np.testing.assert_allclose(
            influence[i], expected, rtol=1e-4, atol=1e-6 * np.abs(influence).max()
        )
    # frozen: zero coefficients have zero influence; the intercept gauge: sum 0
    coef = influence[:, : model.coef_.size]
    assert np.all(coef[:, ~support.ravel()] == 0)
    if fit_intercept and K > 2:
        sums = influence[:, -K:].sum(axis=1)
        assert np.abs(sums).max() <= 1e-10 * np.abs(influence).max()


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5], ids=["l1", "elasticnet"])
def test_multinomial_influence_is_the_weight_derivative(l1_ratio):
    @given(problem=problems(3), C=st.floats(0.1, 3.0))
    def check(problem, C):
        X, y, sw, fit_intercept, rows = problem
        params = dict(C=C, l1_ratio=l1_ratio, **SAGA)
        model = InfluenceLogisticRegression(**params, fit_intercept=fit_intercept)
        model.fit(X, y, sample_weight=sw)
        assert model.gradient_norm_ < 1e-9
        _check_weight_derivative(model, params, X, y, sw, fit_intercept, rows)

    check()


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_cv_selecting_l1_ratio_is_the_weight_derivative(n_classes):
    """Refits are LogisticRegression at the selected C_ and l1_ratio_, held fixed."""

    @given(problem=problems(n_classes))
    def check(problem):
        X, y, sw, fit_intercept, rows = problem
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # saga on the CV path's loose fits
            model = InfluenceLogisticRegressionCV(
                Cs=[0.1, 0.5, 2.0],
                l1_ratios=(0.3, 1.0),
                cv=3,
                fit_intercept=fit_intercept,
                use_legacy_attributes=False,
                scoring="neg_log_loss",
                **SAGA,
            ).fit(X, y, sample_weight=sw)
        assert model.l1_ratio_ > 0
        params = dict(C=model.C_, l1_ratio=model.l1_ratio_, **SAGA)
        _check_weight_derivative(model, params, X, y, sw, fit_intercept, rows)

    check()


def test_liblinear_l1_is_still_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = InfluenceLogisticRegressionCV(
        Cs=[1.0], l1_ratios=(1.0,), solver="liblinear", cv=3, scoring="neg_log_loss"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    with pytest.raises(NotImplementedError, match="liblinear"):
        model.influence_params_
