"""Each per-sample loss: gradient and Hessian action against finite differences."""

import numpy as np
import pytest

from skinfluence._losses import BinaryLogLoss, MultinomialLogLoss, SquaredError


def _case(name, rng, n=7):
    if name == "binary":
        return BinaryLogLoss(), rng.integers(0, 2, (n, 1)).astype(float)
    if name == "multinomial":
        y = np.eye(4)[rng.integers(0, 4, n)]
        return MultinomialLogLoss(4), y
    return SquaredError(3), rng.normal(size=(n, 3))


LOSSES = ["binary", "multinomial", "squared"]


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_and_hessian_match_finite_differences(name):
    rng = np.random.default_rng(0)
    loss, y = _case(name, rng)
    raw = 3 * rng.normal(size=y.shape)
    h = 1e-6
    for k in range(y.shape[1]):
        e = np.zeros_like(raw)
        e[:, k] = h
        fd_grad = (loss.loss(y, raw + e) - loss.loss(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(
            loss.gradient(y, raw)[:, k], fd_grad, rtol=1e-7, atol=1e-9
        )
        fd_hess = (loss.gradient(y, raw + e) - loss.gradient(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(
            loss.hessian_apply(y, raw, e / h), fd_hess, rtol=1e-6, atol=1e-8
        )


def test_log_losses_match_direct_formulas_and_stay_finite():
    raw = np.array([[-800.0], [-2.0], [0.0], [3.0], [800.0]])
    y = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]])
    p = 1 / (1 + np.exp(-raw[1:4, 0]))
    expected = -(y[1:4, 0] * np.log(p) + (1 - y[1:4, 0]) * np.log(1 - p))
    values = BinaryLogLoss().loss(y, raw)
    np.testing.assert_allclose(values[1:4], expected, rtol=1e-12)
    np.testing.assert_allclose(values[[0, 4]], [800.0, 800.0])

    raw3 = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    y3 = np.eye(3)[[0, 0]]
    direct = -np.log(np.exp(raw3[0, 0]) / np.exp(raw3[0]).sum())
    values3 = MultinomialLogLoss(3).loss(y3, raw3)
    np.testing.assert_allclose(values3, [direct, 0.0], atol=1e-12)


def test_multinomial_hessian_is_diag_p_minus_ppt():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(1, 5))
    p = np.exp(raw[0]) / np.exp(raw[0]).sum()
    full = np.diag(p) - np.outer(p, p)
    loss = MultinomialLogLoss(5)
    for v in np.eye(5):
        np.testing.assert_allclose(loss.hessian_apply(None, raw, v[None]), [full @ v])
