"""Every registered loss and response: derivatives against finite differences,
values against direct formulas and scikit-learn."""

import numpy as np
import pytest

from skinfluence._losses import (
    LOSSES,
    BinaryLogLoss,
    BinaryProbability,
    Exp,
    Identity,
    ModifiedHuberProbability,
    MultinomialLogLoss,
    OneVsRestLogisticProbability,
    SoftmaxProbability,
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


def test_log_loss_pearson_residuals_stay_finite_where_p_rounds_to_0_or_1():
    """``(y − p)/√(p (1 − p))`` with ``(1 − p)/p = e^(−raw)``: ``e^(−raw/2)`` for
    ``y = 1`` and ``−e^(raw/2)`` for ``y = 0``, also where ``p`` rounds to 1
    (``raw ≥ 37``) and the direct formula is ``0/0``; a certain wrong prediction
    beyond the float range is ``±inf``. The ±1-target log-loss agrees."""
    from scipy.special import expit

    from skinfluence._losses import MarginLogLoss

    raw = np.array([[-800.0], [-40.0], [-2.0], [0.0], [3.0], [40.0], [800.0]])
    for label in (0.0, 1.0):
        Y = np.full_like(raw, label)
        with np.errstate(all="raise"):
            ours = BinaryLogLoss().pearson_residuals(Y, raw)
            margin = MarginLogLoss().pearson_residuals(2 * Y - 1, raw)
        expected = np.exp(-raw[:, 0] / 2) if label else -np.exp(raw[:, 0] / 2)
        np.testing.assert_allclose(ours, expected, rtol=1e-13)
        np.testing.assert_allclose(margin, expected, rtol=1e-13)
        p = expit(raw[2:5, 0])
        direct = (label - p) / np.sqrt(p * (1 - p))
        np.testing.assert_allclose(ours[2:5], direct, rtol=1e-13)
    far = BinaryLogLoss().pearson_residuals(
        np.array([[1.0], [0.0]]), np.array([[-2e3], [2e3]])
    )
    np.testing.assert_array_equal(far, [np.inf, -np.inf])


def test_multinomial_hessian_is_diag_p_minus_ppt():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(1, 5))
    p = np.exp(raw[0]) / np.exp(raw[0]).sum()
    full = np.diag(p) - np.outer(p, p)
    loss = MultinomialLogLoss(5)
    for v in np.eye(5):
        np.testing.assert_allclose(loss.hessian_apply(None, raw, v[None]), [full @ v])


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


# -- the registry: every loss, one finite-difference test ---------------------------


def _registry_inputs(name, loss, rng, n=9):
    K = loss.n_outputs
    if "deviance" in name:
        y = rng.gamma(2.0, 1.0, (n, 1))
        raw = (
            rng.uniform(0.2, 3.0, (n, 1))
            if "identity" in name
            else rng.normal(size=(n, 1))
        )
        return y, raw
    if name == "binary_log_loss":
        return rng.integers(0, 2, (n, 1)).astype(float), 3 * rng.normal(size=(n, 1))
    if name == "multinomial_log_loss":
        return np.eye(K)[rng.integers(0, K, n)], 3 * rng.normal(size=(n, K))
    if name in ("squared_error", "half_squared_error", "huber"):
        return rng.normal(size=(n, K)), 3 * rng.normal(size=(n, K))
    y = rng.choice([-1.0, 1.0], (n, K))
    m = rng.choice([-1.0, 1.0], (n, K)) * rng.uniform(0.1, 3.0, (n, K))
    m[np.abs(np.abs(m) - 1) < 0.05] += 0.2  # away from the kinks at ±1
    return y, m * y


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_registered_loss_matches_finite_differences(name):
    """Gradient, Hessian blocks and declared properties of every loss in LOSSES."""
    loss = LOSSES[name](3)
    rng = np.random.default_rng(11)
    y, raw = _registry_inputs(name, loss, rng)
    K, h = raw.shape[1], 1e-6
    blocks = loss.hessian_blocks(y, raw)
    for k in range(K):
        e = np.zeros_like(raw)
        e[:, k] = h
        fd_grad = (loss.loss(y, raw + e) - loss.loss(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(
            loss.gradient(y, raw)[:, k], fd_grad, rtol=1e-6, atol=1e-8
        )
        fd_hess = (loss.gradient(y, raw + e) - loss.gradient(y, raw - e)) / (2 * h)
        np.testing.assert_allclose(blocks[:, :, k], fd_hess, rtol=1e-5, atol=1e-7)
    if loss.convex:  # declared: every per-sample Hessian is positive semi-definite
        assert np.linalg.eigvalsh(blocks).min() > -1e-12
    if loss.constant_hessian:
        np.testing.assert_allclose(loss.hessian_blocks(y, 2 * raw + 1), blocks)
    if loss.shift_invariant:
        np.testing.assert_allclose(loss.loss(y, raw + 0.7), loss.loss(y, raw))


RESPONSES = {
    "identity": (Identity(), 2),
    "exp": (Exp(), 1),
    "binary-probability": (BinaryProbability(), 1),
    "softmax": (SoftmaxProbability(), 3),
    "ovr-logistic-binary": (OneVsRestLogisticProbability(), 1),
    "ovr-logistic": (OneVsRestLogisticProbability(), 3),
    "modified-huber-binary": (ModifiedHuberProbability(), 1),
    "modified-huber": (ModifiedHuberProbability(), 3),
}


@pytest.mark.parametrize("name", RESPONSES)
def test_responses_jacobians_match_finite_differences(name):
    response, K = RESPONSES[name]
    rng = np.random.default_rng(5)
    raw = rng.uniform(-0.9, 0.9, (6, K)) if "huber" in name else rng.normal(size=(6, K))
    values, J = response(raw)
    h = 1e-6
    for k in range(K):
        e = np.zeros_like(raw)
        e[:, k] = h
        fd = (response(raw + e)[0] - response(raw - e)[0]) / (2 * h)
        np.testing.assert_allclose(J[:, :, k], fd, rtol=1e-6, atol=1e-9)


def test_probability_responses_equal_sklearn_predict_proba():
    """The declared responses reproduce scikit-learn's own predict_proba."""
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    for loss, response in [
        ("log_loss", OneVsRestLogisticProbability()),
        ("modified_huber", ModifiedHuberProbability()),
    ]:
        for n_classes in (2, 3):
            y = rng.integers(0, n_classes, 60)
            model = SGDClassifier(loss=loss, random_state=0).fit(X, y)
            raw = model.decision_function(X).reshape(60, -1)
            np.testing.assert_allclose(response(raw)[0], model.predict_proba(X))


def test_smoothed_piecewise_linear_losses_tend_to_scikit_learns():
    """Within ``2 t log 2`` (ε-insensitive, two smooth hinges) and ``t log 2``
    (pinball) above scikit-learn's exact losses, and equal to them as t → 0."""
    from sklearn.linear_model._sgd_fast import EpsilonInsensitive
    from sklearn.metrics import mean_pinball_loss

    from skinfluence._losses import SmoothEpsilonInsensitive, SmoothPinball

    raw = np.array([-3.0, -0.31, -0.2, 0.0, 0.29, 0.5, 4.0])[:, None]
    y = np.full_like(raw, 0.1)
    exact = np.array([EpsilonInsensitive(0.3).py_loss(r, 0.1) for r in raw[:, 0]])
    pinball = np.array([mean_pinball_loss([0.1], [r], alpha=0.7) for r in raw[:, 0]])
    for t in (0.1, 1e-3, 1e-6):
        eps = SmoothEpsilonInsensitive(0.3, t).loss(y, raw)
        assert np.all(exact <= eps) and np.all(eps <= exact + 2 * t * np.log(2))
        quantile = SmoothPinball(0.7, t).loss(y, raw)
        assert np.all(pinball <= quantile + 1e-15)
        assert np.all(quantile <= pinball + t * np.log(2))
