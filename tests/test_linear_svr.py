"""LinearSVR (squared ε-insensitive loss): the objective is liblinear's, and
influences are the weight derivative of tight refits."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.svm import LinearSVR

from skinfluence import InfluenceLinearSVR, attach
from skinfluence._adapters import adapter_for

EPS = 1e-5  # weight step, as a fraction of S


def _fit(cls, X, y, w, epsilon, C, fit_intercept):
    model = cls(
        loss="squared_epsilon_insensitive",
        epsilon=epsilon,
        C=C,
        fit_intercept=fit_intercept,
        dual=False,
        tol=1e-12,
        max_iter=1_000_000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, sample_weight=w)


def _theta(model):
    return np.r_[model.coef_, model.intercept_] if model.fit_intercept else model.coef_


def _exact(X, y, w, epsilon, C, fit_intercept, steps=4):
    """liblinear's solution polished by exact Newton steps on its objective,
    written out here: ½‖v‖² + C Σ w_i max(0, |x̃_iᵀv − y_i| − ε)², x̃ = [x, 1]
    (intercept_scaling = 1). Piecewise quadratic: Newton is exact once the set
    of rows outside the tube is right (liblinear alone stops near 1e-8)."""
    fit = _fit(LinearSVR, X, y, w, epsilon, C, fit_intercept)
    Z = np.column_stack([X, np.ones(len(y))]) if fit_intercept else X
    v = _theta(fit)
    w = np.ones(len(y)) if w is None else w
    for _ in range(steps):
        r = Z @ v - y
        out = np.abs(r) > epsilon
        grad = v + 2 * C * Z.T @ (w * np.sign(r) * np.maximum(0, np.abs(r) - epsilon))
        hess = np.eye(v.size) + 2 * C * (Z[out].T * w[out]) @ Z[out]
        v = v - np.linalg.solve(hess, grad)
    return v


@st.composite
def problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n, d = draw(st.integers(30, 60)), draw(st.integers(1, 4))
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 1.0 + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w, draw(st.sampled_from([0.1, 0.5])), draw(st.sampled_from([0.3, 3.0]))


@pytest.mark.parametrize(
    "fit_intercept", [True, False], ids=["intercept", "nointercept"]
)
def test_influence_is_the_weight_derivative_of_refits(fit_intercept):
    @given(problem=problems())
    def check(problem):
        X, y, w, epsilon, C = problem
        model = _fit(InfluenceLinearSVR, X, y, w, epsilon, C, fit_intercept)
        assert model.gradient_norm_ < 1e-6  # the objective is liblinear's
        exact = _exact(X, y, w, epsilon, C, fit_intercept)
        model.coef_ = exact[: X.shape[1]]
        if fit_intercept:
            model.intercept_ = np.array([exact[-1]])
        assert model.gradient_norm_ < 1e-12
        # θ̂(s) is smooth only away from |r| = ε: the differences must not cross it
        r = np.abs(y - model.predict(X))
        assume(np.abs(r - epsilon).min() > 1e-3)
        S, influence = w.sum(), model.influence_params_
        scale = np.abs(influence).max()
        for i in [0, len(y) // 2, len(y) - 1]:
            up, down = w.copy(), w.copy()
            up[i] += EPS * S
            down[i] -= EPS * S
            expected = (
                _theta(_fit(LinearSVR, X, y, up, epsilon, C, fit_intercept))
                - _theta(_fit(LinearSVR, X, y, down, epsilon, C, fit_intercept))
            ) / (2 * EPS)
            # refits are exact to ~1e-11: the differences carry ~1e-11/EPS
            np.testing.assert_allclose(
                influence[i], expected, atol=1e-5 * max(scale, 1)
            )

    check()


def test_objective_without_the_intercept_penalty_is_not_stationary():
    """Guards the test above: liblinear penalizes the intercept."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -2.0] + 3.0 + rng.normal(size=40)
    model = _fit(LinearSVR, X, y, np.ones(40), 0.1, 1.0, True)
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, None)
    theta = adapter.theta()
    assert np.abs(objective.gradient(theta)).max() < 1e-8
    l2 = objective.penalty.l2.copy()
    l2[-1] = 0.0
    objective.penalty = type(objective.penalty)(l2)
    assert np.abs(objective.gradient(theta)).max() > 1e-3


def test_epsilon_insensitive_needs_a_temperature_and_attach_works():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = InfluenceLinearSVR().fit(X, y)
    with pytest.raises(
        ValueError, match="InfluenceLinearSVR.*epsilon_insensitive.*smooth_epsilon"
    ):
        plain.influence_params_
    fitted = _fit(LinearSVR, X, y, None, 0.1, 1.0, True)
    attached = attach(fitted, X, y)
    assert type(attached).__name__ == "InfluenceLinearSVR"
    assert attached.influence_loss(X[:2], y[:2]).shape == (2, 30)
