"""Lasso and ElasticNet on the active set: the restricted objective is stationary
at tight fits, and influences match refits whose support does not change."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import minimizer_weight_derivative
from sklearn.linear_model import ElasticNet, Lasso, MultiTaskLasso

from skinfluence import (
    InfluenceElasticNet,
    InfluenceElasticNetCV,
    InfluenceLasso,
    InfluenceLassoCV,
)
from skinfluence._adapters import adapter_for

EPS = 1e-4
TIGHT = dict(tol=1e-14, max_iter=100_000)


def _data(seed=0, n=60, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
    y = X @ np.r_[1.5, -2.0, 0.7, np.zeros(d - 3)] + rng.normal(size=n) + 3.0
    return X, y, rng.uniform(0.5, 2.0, n)


CASES = {
    "Lasso": (InfluenceLasso, Lasso, dict(alpha=0.3)),
    "ElasticNet": (InfluenceElasticNet, ElasticNet, dict(alpha=0.3, l1_ratio=0.6)),
    "Lasso-nointercept": (InfluenceLasso, Lasso, dict(alpha=0.3, fit_intercept=False)),
}


@pytest.mark.parametrize("case", CASES)
def test_active_set_objective_is_stationary(case):
    _, theirs, params = CASES[case]
    X, y, sw = _data()
    model = theirs(**params, **TIGHT).fit(X, y, sample_weight=sw)
    assert 0 < np.count_nonzero(model.coef_) < X.shape[1]
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    scale = np.abs(objective.sample_gradients(theta)).max()
    assert np.abs(objective.gradient(theta)).max() < 1e-10 * scale
    # guard: without the S-proportional L1 term the gradient is far from zero
    inner = objective.inner
    without_l1 = type(inner)(
        inner.loss,
        inner.X,
        inner.Y,
        inner.sample_weight,
        type(inner.penalty)(inner.penalty.l2, scaling=inner.penalty.scaling),
        inner.fit_intercept,
    )
    assert np.abs(without_l1.gradient(theta[objective.keep])).max() > 1e-3 * scale


def _theta(model):
    return np.r_[model.coef_, model.intercept_] if model.fit_intercept else model.coef_


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", CASES)
def test_active_set_influence_is_the_weight_derivative(case, sparse):
    ours, theirs, params = CASES[case]
    X, y, sw = _data(1)
    Xf = sp.csr_matrix(X) if sparse else X
    model = ours(**params, **TIGHT).fit(Xf, y, sample_weight=sw)
    support = model.coef_ != 0
    influence = model.influence_params_
    assert influence.shape == (60, X.shape[1] + model.fit_intercept)
    S = sw.sum()
    for i in [0, 13, 47]:
        up, down = sw.copy(), sw.copy()
        up[i] += EPS * S
        down[i] -= EPS * S
        fit_up = theirs(**params, **TIGHT).fit(X, y, sample_weight=up)
        fit_down = theirs(**params, **TIGHT).fit(X, y, sample_weight=down)
        # the documented assumption: the support does not change
        assert np.array_equal(fit_up.coef_ != 0, support)
        assert np.array_equal(fit_down.coef_ != 0, support)
        expected = (_theta(fit_up) - _theta(fit_down)) / (2 * EPS)
        np.testing.assert_allclose(
            influence[i], expected, rtol=1e-5, atol=1e-7 * np.abs(influence).max()
        )


def test_multi_task_and_positive_are_refused():
    X, y, _ = _data()
    model = MultiTaskLasso(alpha=0.1).fit(X, np.column_stack([y, y]))
    with pytest.raises(NotImplementedError, match="several targets"):
        adapter_for(model).check_supported()
    model = Lasso(alpha=0.1, positive=True).fit(X, y)
    with pytest.raises(NotImplementedError, match="positive=True"):
        adapter_for(model).check_supported()


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5], ids=["l1", "elasticnet"])
def test_binary_logistic_l1_influence_on_the_active_set(l1_ratio):
    from sklearn.linear_model import LogisticRegression

    from skinfluence import InfluenceLogisticRegression

    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 6))
    y = (X @ [1.5, -1.0, 0.8, 0, 0, 0] + rng.normal(size=80) > 0).astype(int)
    sw = rng.uniform(0.5, 2.0, 80)
    params = dict(l1_ratio=l1_ratio, C=0.3, solver="saga", tol=1e-13, max_iter=10**6)
    model = InfluenceLogisticRegression(**params).fit(X, y, sample_weight=sw)
    support = model.coef_.ravel() != 0
    assert 0 < support.sum() < 6
    assert model.gradient_norm_ < 1e-9
    influence = model.influence_params_
    assert np.all(influence[:, :6][:, ~support] == 0)
    S = sw.sum()

    def theta(w):
        fit = LogisticRegression(**params).fit(X, y, sample_weight=w)
        assert np.array_equal(fit.coef_.ravel() != 0, support)  # support unchanged
        return np.r_[fit.coef_.ravel(), fit.intercept_]

    for i in [2, 30, 71]:
        up, down = sw.copy(), sw.copy()
        up[i] += EPS * S
        down[i] -= EPS * S
        expected = (theta(up) - theta(down)) / (2 * EPS)
        np.testing.assert_allclose(
            influence[i], expected, rtol=1e-4, atol=1e-6 * np.abs(influence).max()
        )


# -- LassoCV and ElasticNetCV: the selection held fixed ----------------------------


@st.composite
def cv_problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(40, 80))
    d = draw(st.integers(3, 6))
    weighted = draw(st.booleans())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
    coef = np.where(rng.random(d) < 0.5, 0.0, rng.normal(scale=2.0, size=d))
    y = X @ coef + rng.normal(size=n) + rng.normal()
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, sw, rng.choice(n, size=3, replace=False)


CV_CASES = {
    # id: (ours, its params, the base estimator refit at the selection)
    "LassoCV": (
        InfluenceLassoCV,
        dict(alphas=np.logspace(-2, 0, 5), cv=3),
        lambda m: Lasso(alpha=m.alpha_),
    ),
    "ElasticNetCV": (
        InfluenceElasticNetCV,
        dict(l1_ratio=[0.3, 0.7, 1.0], alphas=np.logspace(-2, 0, 5), cv=3),
        lambda m: ElasticNet(alpha=m.alpha_, l1_ratio=m.l1_ratio_),
    ),
    "LassoCV-nointercept": (
        InfluenceLassoCV,
        dict(alphas=np.logspace(-2, 0, 5), cv=3, fit_intercept=False),
        lambda m: Lasso(alpha=m.alpha_, fit_intercept=False),
    ),
}


@pytest.mark.parametrize("case", CV_CASES)
def test_cv_influence_is_the_weight_derivative_at_the_selection(case):
    """Refits are of the base estimator at the selected alpha_ (and l1_ratio_),
    held fixed: re-running the cross-validation could select another value."""
    ours, params, base = CV_CASES[case]

    @given(problem=cv_problems())
    def check(problem):
        X, y, sw, rows = problem
        model = ours(**params, **TIGHT).fit(X, y, sample_weight=sw)
        support = model.coef_ != 0
        assume(support.any())
        s = np.ones(len(y)) if sw is None else sw
        influence = model.influence_params_
        reference = base(model).set_params(**TIGHT)
        full = reference.fit(X, y, sample_weight=s)
        np.testing.assert_allclose(full.coef_, model.coef_, rtol=1e-9, atol=1e-11)

        def theta(w):
            fit = reference.fit(X, y, sample_weight=w)
            # the derivative exists where the support does not change
            assume(np.array_equal(fit.coef_ != 0, support))
            return _theta(fit)

        for i in rows:
            expected = minimizer_weight_derivative(theta, s, i, EPS)
            np.testing.assert_allclose(
                influence[i], expected, rtol=1e-5, atol=1e-7 * np.abs(influence).max()
            )

    check()
