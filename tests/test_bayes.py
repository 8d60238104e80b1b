"""BayesianRidge and ARDRegression with the evidence-maximized precisions held
fixed.

The stated objectives are checked against scikit-learn's own fits: BayesianRidge's
``coef_`` is ``Ridge(alpha=lambda_/alpha_)``'s (weights included), ARDRegression's
is a ridge with one penalty ``lambda_j/alpha_`` per kept feature (solved as
``Ridge(alpha=1)`` on the columns divided by ``sqrt(lambda_j/alpha_)``), to
round-off: scikit-learn computes ``coef_`` from the final precisions. Influences
are then the weight derivative of those refits (the precisions held fixed; a
refit of BayesianRidge itself would re-maximize the evidence).
"""

import numpy as np
import pytest
from conftest import report_accuracy
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import minimizer_weight_derivative
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ARDRegression, BayesianRidge, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceARDRegression, InfluenceBayesianRidge

#: refits are direct solves (relative precision ~1e-14): a small step keeps the
#: central difference's truncation error (~100 ε² measured) below 1e-8
EPS = 1e-5


@st.composite
def regression_problems(draw, weighted=True):
    seed = draw(st.integers(0, 2**32 - 1))
    d = draw(st.integers(1, 8))
    # n ≤ d lets the evidence drive lambda_/alpha_ to ~1e-7 (interpolation): the
    # Hessian and the refits are then too ill-conditioned to compare at 1e-6
    n = draw(st.integers(max(12, 3 * d), 60))
    fit_intercept = draw(st.booleans())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d) + rng.normal(size=d)
    coef = np.where(rng.random(d) < 0.4, 0.0, rng.normal(scale=2.0, size=d))
    y = X @ coef + rng.normal(size=n) + rng.normal()
    sw = rng.uniform(0.5, 2.0, n) if weighted and draw(st.booleans()) else None
    return X, y, sw, fit_intercept, rng.choice(n, size=min(n, 3), replace=False)


def _theta(model, fit_intercept):
    return np.r_[model.coef_, model.intercept_] if fit_intercept else model.coef_


def _ard_refit(model, X, y, w, fit_intercept):
    """ARDRegression's objective at fixed precisions, by scikit-learn's Ridge on
    the kept columns scaled by ``1/sqrt(lambda_j/alpha_)``; pruned ones stay 0."""
    kept = model.lambda_ < model.threshold_lambda
    coef = np.zeros(X.shape[1])
    if not kept.any():  # every feature pruned: the intercept is the mean
        return np.r_[coef, np.average(y, weights=w)] if fit_intercept else coef
    scale = np.sqrt(model.lambda_[kept] / model.alpha_)
    ridge = Ridge(alpha=1.0, solver="cholesky", fit_intercept=fit_intercept)
    ridge.fit(X[:, kept] / scale, y, sample_weight=w)
    coef[kept] = ridge.coef_ / scale
    return np.r_[coef, ridge.intercept_] if fit_intercept else coef


def _bayesian_ridge_refit(model, X, y, w, fit_intercept):
    alpha = float(model.lambda_ / model.alpha_)
    ridge = Ridge(alpha=alpha, solver="cholesky", fit_intercept=fit_intercept)
    return _theta(ridge.fit(X, y, sample_weight=w), fit_intercept)


CASES = {
    # id: (ours, scikit-learn's, the objective's exact minimizer, fit takes weights)
    "BayesianRidge": (
        InfluenceBayesianRidge,
        BayesianRidge,
        _bayesian_ridge_refit,
        True,
    ),
    "ARDRegression": (InfluenceARDRegression, ARDRegression, _ard_refit, False),
}


@pytest.mark.parametrize("case", CASES)
def test_coef_is_the_minimizer_of_the_stated_objective(case):
    ours, theirs, refit, weighted = CASES[case]

    @given(problem=regression_problems(weighted))
    def check(problem):
        X, y, sw, fit_intercept, _ = problem
        kw = {} if sw is None else {"sample_weight": sw}
        model = theirs(fit_intercept=fit_intercept).fit(X, y, **kw)
        expected = refit(model, X, y, sw, fit_intercept)
        np.testing.assert_allclose(
            _theta(model, fit_intercept),
            expected,
            rtol=1e-8,
            atol=1e-10 * max(1.0, np.abs(expected).max()),
        )
        # and our objective is stationary there
        ready = ours(fit_intercept=fit_intercept).fit(X, y, **kw)
        core = ready.influence_state()
        scale = np.abs(core.objective.sample_gradients(core.theta)).sum(axis=0).max()
        assert (
            ready.gradient_norm_ <= 1e-10 * max(scale, 1.0) / core.objective.weight_sum
        )

    check()


@pytest.mark.parametrize("case", CASES)
def test_influence_is_the_weight_derivative_at_fixed_precisions(case):
    ours, _, refit, weighted = CASES[case]

    @given(
        problem=regression_problems(weighted),
        threshold=st.sampled_from([1e3, 1e4]),
    )
    def check(problem, threshold):
        X, y, sw, fit_intercept, rows = problem
        params = dict(fit_intercept=fit_intercept)
        if case == "ARDRegression":
            params["threshold_lambda"] = threshold
        kw = {} if sw is None else {"sample_weight": sw}
        model = ours(**params).fit(X, y, **kw)
        s = np.ones(len(y)) if sw is None else sw
        influence = model.influence_params_
        assume(np.abs(influence).max() > 0)

        def theta(w):
            return refit(model, X, y, w, fit_intercept)

        for i in rows:
            expected = minimizer_weight_derivative(theta, s, i, EPS)
            np.testing.assert_allclose(
                influence[i], expected, rtol=1e-6, atol=1e-8 * np.abs(influence).max()
            )
        if case == "ARDRegression":  # pruned features: frozen, zero influence
            pruned = model.lambda_ >= model.threshold_lambda
            assert np.all(model.coef_[pruned] == 0)
            assert np.all(influence[:, : X.shape[1]][:, pruned] == 0)

    check()


def test_ard_prunes_and_freezes():
    """A problem where ARD prunes: the frozen columns are exactly zero and the
    kept ones match the refits (the hypothesis test may draw no pruning)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 6))
    y = X @ [1.5, -2.0, 0.0, 0.0, 0.7, 0.0] + rng.normal(size=50) + 2.0
    model = InfluenceARDRegression(threshold_lambda=1e3).fit(X, y)
    pruned = model.lambda_ >= model.threshold_lambda
    assert 0 < pruned.sum() < 6
    influence = model.influence_params_
    assert np.all(influence[:, :6][:, pruned] == 0)
    assert np.abs(influence[:, :6][:, ~pruned]).min(axis=0).max() > 0
    for i in [0, 25]:
        expected = minimizer_weight_derivative(
            lambda w: _ard_refit(model, X, y, w, True), np.ones(50), i, EPS
        )
        np.testing.assert_allclose(influence[i], expected, rtol=1e-6, atol=1e-9)


def _split():
    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=200, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


@pytest.mark.parametrize("case", CASES)
def test_loo_correlation(case):
    """Predicted against refit leave-one-out change of a test point's loss
    ``(y - f)²``, every row, refits at the fitted precisions."""
    ours, _, refit, _ = CASES[case]
    X, Xt, y, yt = _split()
    params = {"threshold_lambda": 1e3} if case == "ARDRegression" else {}
    model = ours(**params).fit(X, y)
    predicted = -model.influence_loss(Xt[:1], yt[:1])[0] / len(y)

    def loss(theta):
        return (yt[0] - Xt[0] @ theta[:-1] - theta[-1]) ** 2

    base = loss(_theta(model, True))
    actual = np.array(
        [
            loss(refit(model, np.delete(X, i, 0), np.delete(y, i), None, True)) - base
            for i in range(len(y))
        ]
    )
    pearson, spearman = pearsonr(predicted, actual)[0], spearmanr(predicted, actual)[0]
    report_accuracy(
        f"LOO test-loss change, diabetes {case} (precisions held fixed)",
        pearson=pearson,
        spearman=spearman,
    )
    assert pearson > 0.97
    assert spearman > 0.97
