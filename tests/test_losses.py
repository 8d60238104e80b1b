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


def _new_cases():
    from skinfluence._losses import (
        HalfSquaredError,
        Huber,
        MarginLogLoss,
        ModifiedHuber,
        SmoothHinge,
        SquaredHinge,
        TweedieHalfDeviance,
    )

    return {
        "poisson-log": TweedieHalfDeviance(1, "log"),
        "gamma-log": TweedieHalfDeviance(2, "log"),
        "tweedie-1.5-log": TweedieHalfDeviance(1.5, "log"),
        "tweedie-3-log": TweedieHalfDeviance(3, "log"),
        "normal-identity": TweedieHalfDeviance(0, "identity"),
        "tweedie-1.5-identity": TweedieHalfDeviance(1.5, "identity"),
        "margin-log": MarginLogLoss(2),
        "squared-hinge": SquaredHinge(2),
        "smooth-hinge": SmoothHinge(0.3, 2),
        "modified-huber": ModifiedHuber(2),
        "half-squared": HalfSquaredError(2),
        "huber": Huber(0.7, 2),
    }


NEW_CASES = _new_cases()


def _new_inputs(name, rng, n=9):
    if "identity" in name or "log" in name and "margin" not in name:
        y = rng.gamma(2.0, 1.0, (n, 1))
        raw = (
            rng.uniform(0.2, 3.0, (n, 1))
            if "identity" in name
            else rng.normal(size=(n, 1))
        )
        return y, raw
    K = 2
    if name in ("half-squared", "huber"):
        return rng.normal(size=(n, K)), 3 * rng.normal(size=(n, K))
    y = rng.choice([-1.0, 1.0], (n, K))
    # keep margins away from the kinks at -1 and 1
    m = rng.choice([-1.0, 1.0], (n, K)) * rng.uniform(0.1, 3.0, (n, K)) + 1.0 * (
        rng.random((n, K)) < 0.3
    )
    m[np.abs(np.abs(m) - 1) < 0.05] += 0.2
    return y, m * y


@pytest.mark.parametrize("name", NEW_CASES)
def test_new_losses_match_finite_differences(name):
    loss = NEW_CASES[name]
    rng = np.random.default_rng(4)
    y, raw = _new_inputs(name, rng)
    h = 1e-6
    for k in range(raw.shape[1]):
        e = np.zeros_like(raw)
        e[:, k] = h
        fd_grad = (loss.loss(y, raw + e) - loss.loss(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(
            loss.gradient(y, raw)[:, k], fd_grad, rtol=1e-6, atol=1e-8
        )
        fd_hess = (loss.gradient(y, raw + e) - loss.gradient(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(
            loss.hessian_apply(y, raw, e / h), fd_hess, rtol=1e-5, atol=1e-7
        )


@pytest.mark.parametrize("power", [0, 1, 1.5, 2, 3])
def test_tweedie_half_deviance_is_half_sklearn_deviance(power):
    from sklearn.metrics import mean_tweedie_deviance

    from skinfluence._losses import TweedieHalfDeviance

    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 1.0, 12)
    if power in (0, 1):
        y[:3] = 0.0 if power == 1 else -1.0
    mu = rng.uniform(0.3, 3.0, 12)
    for link, raw in [("log", np.log(mu)), ("identity", mu)]:
        ours = TweedieHalfDeviance(power, link).loss(y[:, None], raw[:, None])
        for i in range(12):
            expected = mean_tweedie_deviance(y[i : i + 1], mu[i : i + 1], power=power)
            np.testing.assert_allclose(ours[i], expected / 2, rtol=1e-12, atol=1e-14)


def test_margin_losses_match_sklearn_sgd_losses():
    """Values and derivatives against scikit-learn's own SGD loss objects."""
    from sklearn.linear_model._sgd_fast import Hinge, ModifiedHuber, SquaredHinge

    from skinfluence._losses import ModifiedHuber as Ours
    from skinfluence._losses import SmoothHinge
    from skinfluence._losses import SquaredHinge as OursSquaredHinge

    raw = np.array([-3.0, -1.5, -0.5, 0.3, 0.9, 1.4, 4.0])
    for y in (-1.0, 1.0):
        Y, R = np.full((7, 1), y), raw[:, None]
        for ours, theirs in [
            (Ours(), ModifiedHuber()),
            (OursSquaredHinge(), SquaredHinge(1.0)),
        ]:
            np.testing.assert_allclose(
                ours.loss(Y, R), [theirs.py_loss(r, y) for r in raw], rtol=1e-12
            )
            np.testing.assert_allclose(
                ours.gradient(Y, R)[:, 0],
                [theirs.py_dloss(r, y) for r in raw],
                rtol=1e-12,
            )
        # the smooth hinge tends to the hinge as t -> 0
        hinge = [Hinge(1.0).py_loss(r, y) for r in raw]
        np.testing.assert_allclose(SmoothHinge(1e-4).loss(Y, R), hinge, atol=1e-4)


def test_squared_hinge_uses_the_one_sided_second_derivative_at_the_kink():
    from skinfluence._losses import SquaredHinge

    y = np.ones((3, 1))
    raw = np.array([[1.0 - 1e-9], [1.0], [1.0 + 1e-9]])
    np.testing.assert_array_equal(
        SquaredHinge().hessian_apply(y, raw, np.ones((3, 1))), [[2.0], [0.0], [0.0]]
    )
