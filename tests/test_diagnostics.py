"""Leverage, Cook's distance, DFBETA(S), self-influence: statsmodels as the oracle for
unpenalized least squares and logistic regression; exact refits for the rest."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.preprocessing import scale

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
)

sm = pytest.importorskip("statsmodels.api")


def _relative_error(ours, reference):
    return np.abs(ours - reference).max() / np.abs(reference).max()


def test_ols_diagnostics_match_statsmodels():
    from statsmodels.stats.outliers_influence import OLSInfluence

    X, y = load_diabetes(return_X_y=True)
    X, y = X[:120], y[:120]
    model = InfluenceLinearRegression().fit(X, y)
    oracle = OLSInfluence(sm.OLS(y, sm.add_constant(X, prepend=False)).fit())
    assert _relative_error(model.leverage(), oracle.hat_matrix_diag) < 1e-10
    assert _relative_error(model.cooks_distance(), oracle.cooks_distance[0]) < 1e-10
    assert _relative_error(model.dfbeta(), oracle.dfbeta) < 1e-10
    assert _relative_error(model.dfbetas(), oracle.dfbetas) < 1e-10


def test_logistic_diagnostics_match_statsmodels_glm():
    X, y = load_breast_cancer(return_X_y=True)
    X, y = scale(X)[:150, :5], y[:150]
    model = InfluenceLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y)
    glm = sm.GLM(y, sm.add_constant(X, prepend=False), family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = glm.fit(tol=1e-12).get_influence()
    assert _relative_error(model.leverage(), oracle.hat_matrix_diag) < 1e-8
    assert _relative_error(model.cooks_distance(), oracle.cooks_distance[0]) < 1e-8
    assert _relative_error(model.dfbeta(), oracle.d_params) < 1e-8
    # statsmodels' standard errors come from its own fit (parameters equal to ~1e-10)
    assert _relative_error(model.dfbetas(), oracle.dfbetas) < 1e-6


def test_weighted_ridge_diagnostics_match_exact_refits():
    """Penalized and weighted: DFBETA is the exact refit change; Cook's distance is
    its quadratic form in the sum-form Hessian; the hat values trace to the
    effective degrees of freedom."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=40)
    sw = rng.uniform(0.5, 2.0, 40)
    alpha = 3.0
    model = InfluenceRidge(alpha=alpha).fit(X, y, sample_weight=sw)
    theta = np.r_[model.coef_, model.intercept_]
    dfbeta = model.dfbeta()
    Xa = np.column_stack([X, np.ones(40)])
    A = 2 * Xa.T @ (sw[:, None] * Xa) + np.diag([2 * alpha] * 3 + [0.0])
    resid = y - model.predict(X)
    sigma2 = sw @ resid**2 / (40 - 4)
    for i in [0, 13, 39]:
        keep = np.arange(40) != i
        refit = Ridge(alpha=alpha).fit(X[keep], y[keep], sample_weight=sw[keep])
        change = np.r_[refit.coef_, refit.intercept_] - theta
        np.testing.assert_allclose(dfbeta[i], -change, rtol=1e-9, atol=1e-12)
        cook = change @ A @ change / (4 * 2 * sigma2)
        np.testing.assert_allclose(model.cooks_distance()[i], cook, rtol=1e-9)
    hat = 2 * sw[:, None] * Xa @ np.linalg.solve(A, Xa.T)
    np.testing.assert_allclose(model.leverage(), np.diag(hat), rtol=1e-10)


def test_self_influence_is_minus_the_gradient_norm_in_the_hessian_metric():
    X, y = load_breast_cancer(return_X_y=True)
    X, y = scale(X)[:200], y[:200]
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    G = np.column_stack([X, np.ones(200)]) * (p - y)[:, None]
    Xa = np.column_stack([X, np.ones(200)])
    H = Xa.T @ ((p * (1 - p))[:, None] * Xa) / 200 + np.diag([1 / 200] * 30 + [0.0])
    expected = -np.einsum("ip,ip->i", G, np.linalg.solve(H, G.T).T)
    np.testing.assert_allclose(model.self_influence(), expected, rtol=1e-9)
    assert np.all(model.self_influence() <= 0)


def test_collinear_ols_uses_the_identified_parameter_count():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    y = X[:, 0] + rng.normal(size=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InfluenceLinearRegression().fit(X, y)
        leverage = model.leverage()
    np.testing.assert_allclose(leverage.sum(), 3.0, rtol=1e-8)  # rank of [X, 1]
    reference = LinearRegression().fit(X[:, :2], y)
    resid = y - reference.predict(X[:, :2])
    hat = np.diag(
        np.column_stack([X[:, :2], np.ones(30)])
        @ np.linalg.pinv(np.column_stack([X[:, :2], np.ones(30)]))
    )
    sigma2 = resid @ resid / (30 - 3)
    cook = resid**2 * hat / (3 * sigma2 * (1 - hat) ** 2)
    np.testing.assert_allclose(model.cooks_distance(), cook, rtol=1e-7)
