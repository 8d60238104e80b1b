"""HuberObjective against scikit-learn's own Huber loss and gradient, its Hessian
against finite differences, and influences against tight refits."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import HuberRegressor
from sklearn.linear_model._huber import _huber_loss_and_gradient

from skinfluence import InfluenceHuberRegressor
from skinfluence._huber import HuberObjective

EPS = 1e-4


def _data(seed=0, n=60, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 2.0 + rng.standard_t(2, size=n)
    return X, y, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_matches_sklearn_loss_and_gradient(fit_intercept):
    X, y, sw = _data()
    obj = HuberObjective(X, y, sw, alpha=0.3, epsilon=1.35, fit_intercept=fit_intercept)
    rng = np.random.default_rng(1)
    for _ in range(5):
        theta = np.r_[rng.normal(size=obj.n_params - 1), rng.uniform(0.5, 2.0)]
        loss, grad = _huber_loss_and_gradient(theta, X, y, 1.35, 0.3, sw)
        F = sw @ obj.loss_values(theta) + 0.3 * theta[:3] @ theta[:3]
        np.testing.assert_allclose(F, loss, rtol=1e-12)
        np.testing.assert_allclose(
            obj.gradient(theta) * obj.weight_sum, grad, rtol=1e-10, atol=1e-10
        )


@pytest.mark.parametrize("sparse", [False, True])
def test_hessian_matches_finite_differences(sparse):
    X, y, sw = _data(2)
    Xf = sp.csr_matrix(X) if sparse else X
    obj = HuberObjective(Xf, y, sw, alpha=0.3, epsilon=1.35, fit_intercept=True)
    theta = np.r_[0.2, -0.1, 0.4, 1.8, 1.3]
    r = np.abs(y - X @ theta[:3] - theta[3])
    assert np.abs(r - 1.35 * theta[-1]).min() > 1e-3  # away from the kink
    h = 1e-6
    fd = np.column_stack(
        [
            (obj.gradient(theta + h * e) - obj.gradient(theta - h * e)) / (2 * h)
            for e in np.eye(5)
        ]
    )
    np.testing.assert_allclose(obj.hessian(theta), fd, rtol=1e-6, atol=1e-8)


def _polish(X, y, w, alpha, epsilon, theta, steps=4):
    """Newton steps on scikit-learn's own Huber objective, Hessian by central
    differences of its gradient (L-BFGS-B stops on a relative decrease)."""
    h = 1e-7

    def grad(t):
        return _huber_loss_and_gradient(t, X, y, epsilon, alpha, w)[1]

    for _ in range(steps):
        H = np.column_stack(
            [
                (grad(theta + h * e) - grad(theta - h * e)) / (2 * h)
                for e in np.eye(len(theta))
            ]
        )
        theta = theta - np.linalg.solve((H + H.T) / 2, grad(theta))
    return theta


def _tight_theta(X, y, w, alpha=0.3, epsilon=1.35):
    fit = HuberRegressor(alpha=alpha, epsilon=epsilon, tol=1e-12, max_iter=10_000).fit(
        X, y, sample_weight=w
    )
    theta = np.r_[fit.coef_, fit.intercept_, fit.scale_]
    return _polish(X, y, w, alpha, epsilon, theta)


def test_huber_influence_is_the_weight_derivative_of_refits():
    X, y, sw = _data(3)
    model = InfluenceHuberRegressor(alpha=0.3, tol=1e-12, max_iter=10_000).fit(
        X, y, sample_weight=sw
    )
    theta = _tight_theta(X, y, sw)
    model.coef_, model.intercept_, model.scale_ = theta[:3], theta[3], theta[4]
    assert model.gradient_norm_ < 1e-9
    # central differences must not straddle the kink |r| = εσ
    r = np.abs(y - X @ theta[:3] - theta[3])
    assert np.abs(r - 1.35 * theta[4]).min() > 1e-3
    influence = model.influence_params_
    assert influence.shape == (60, 5)
    S = sw.sum()
    for i in [0, 9, 31]:
        up, down = sw.copy(), sw.copy()
        up[i] += EPS * S
        down[i] -= EPS * S
        expected = (_tight_theta(X, y, up) - _tight_theta(X, y, down)) / (2 * EPS)
        np.testing.assert_allclose(
            influence[i], expected, rtol=1e-4, atol=1e-6 * np.abs(influence).max()
        )


def test_huber_remove_effect_writes_the_scale():
    X, y, _ = _data(4)
    w = np.random.default_rng(1).uniform(0.2, 5.0, size=len(y))  # s_0/S, not 1/n
    model = InfluenceHuberRegressor(tol=1e-10, max_iter=10_000).fit(
        X, y, sample_weight=w
    )
    smaller = model.remove_effect([0])
    expected = model.scale_ - model.influence_params_[0, -1] * w[0] / w.sum()
    np.testing.assert_allclose(smaller.scale_, expected)
    assert smaller.coef_.shape == model.coef_.shape
