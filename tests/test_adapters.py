"""Adapters state each estimator's exact objective: at a tight fit by scikit-learn
itself, the gradient of the objective we build must vanish. A wrong scale, a
missing intercept penalty or wrong class weights would leave it far from zero."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from skinfluence._adapters import adapter_for


def _classification(K, n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ rng.normal(size=(d, K)) + rng.normal(size=(n, K))
    y = np.array(list("abcdefg"))[logits.argmax(axis=1)]
    return X, y, rng.uniform(0.3, 3.0, n)


LOGISTIC_OPTIONS = {
    "lbfgs": dict(solver="lbfgs"),
    "newton-cg": dict(solver="newton-cg"),
    "newton-cholesky": dict(solver="newton-cholesky"),
    "sag": dict(solver="sag", max_iter=100_000),
    "saga": dict(solver="saga", max_iter=100_000),
    "liblinear-dual": dict(solver="liblinear", dual=True, intercept_scaling=2.5),
    "liblinear-primal": dict(solver="liblinear", intercept_scaling=0.7),
    "no-penalty": dict(solver="newton-cholesky", C=np.inf),
    "no-intercept": dict(solver="newton-cholesky", fit_intercept=False),
    "class_weight-dict": dict(solver="newton-cg", class_weight={"a": 3.0, "b": 0.5}),
    "class_weight-balanced": dict(solver="newton-cg", class_weight="balanced"),
}


@pytest.mark.parametrize("K", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize("option", LOGISTIC_OPTIONS)
def test_logistic_objective_is_stationary_at_tight_fit(option, K):
    if option.startswith("liblinear") and K == 3:
        pytest.skip("liblinear is binary only")
    X, y, sw = _classification(K)
    params = dict(C=0.8, tol=1e-12, max_iter=1000) | LOGISTIC_OPTIONS[option]
    model = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    grad = objective.gradient(theta)
    scale = np.abs(objective.sample_gradients(theta)).max()
    # liblinear's primal trust-region solver and lbfgs (which also stops on a
    # relative decrease of 64 eps) end near 1e-9 whatever tol says; a wrong
    # objective is off by more than 1e-3 (test below)
    bound = 1e-7 if option in ("liblinear-primal", "lbfgs") else 1e-9
    assert np.abs(grad).max() < bound * scale


def test_liblinear_objective_needs_the_intercept_penalty():
    """The same check fails when the intercept penalty is left out (guards the test)."""
    X, y, sw = _classification(2)
    model = LogisticRegression(solver="liblinear", dual=True, tol=1e-12, C=0.3).fit(
        X, y, sample_weight=sw
    )
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    assert np.abs(objective.gradient(theta)).max() < 1e-10
    objective.penalty[-1] = 0.0
    assert np.abs(objective.gradient(theta)).max() > 1e-3


@pytest.mark.parametrize(
    "class_weight", [{"a": 3.0, "c": 0.5}, "balanced"], ids=["dict", "balanced"]
)
def test_effective_weights_reproduce_sklearn_class_weights(class_weight):
    X, y, sw = _classification(3, seed=4)
    weighted = LogisticRegression(
        class_weight=class_weight, solver="newton-cg", tol=1e-12
    )
    weighted.fit(X, y, sample_weight=sw)
    s = adapter_for(weighted).effective_weights(y, sw)
    plain = LogisticRegression(solver="newton-cg", tol=1e-12).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(plain.coef_, weighted.coef_, atol=1e-9)
    np.testing.assert_allclose(plain.intercept_, weighted.intercept_, atol=1e-9)


@pytest.mark.parametrize(
    "model, targets",
    [
        pytest.param(LinearRegression(), 1, id="LinearRegression"),
        pytest.param(
            LinearRegression(fit_intercept=False),
            2,
            id="LinearRegression-nointercept-2targets",
        ),
        pytest.param(Ridge(alpha=2.5), 1, id="Ridge"),
        pytest.param(Ridge(alpha=np.array([0.5, 4.0])), 2, id="Ridge-alpha-per-target"),
        pytest.param(
            Ridge(alpha=1.5, fit_intercept=False, solver="cholesky"),
            1,
            id="Ridge-nointercept",
        ),
        pytest.param(Ridge(alpha=1.5, solver="lsqr", tol=1e-14), 1, id="Ridge-lsqr"),
    ],
)
def test_squared_error_objective_is_stationary(model, targets):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 4))
    y = X @ rng.normal(size=(4, targets)) + rng.normal(size=(40, targets)) + 3.0
    y = y[:, 0] if targets == 1 else y
    sw = rng.uniform(0.5, 2.0, 40)
    model.fit(X, y, sample_weight=sw)
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    scale = np.abs(objective.sample_gradients(theta)).max()
    assert np.abs(objective.gradient(theta)).max() < 1e-9 * scale


@pytest.mark.parametrize(
    "model, match",
    [
        pytest.param(
            LogisticRegression(l1_ratio=1.0, solver="saga"), "l1_ratio=1.0", id="l1"
        ),
        pytest.param(
            LogisticRegression(l1_ratio=0.5, solver="saga"),
            "l1_ratio=0.5",
            id="elasticnet",
        ),
        pytest.param(LinearRegression(positive=True), "positive=True", id="positive"),
    ],
)
def test_non_smooth_objectives_are_refused(model, match):
    X, y, _ = _classification(2)
    if not isinstance(model, LogisticRegression):
        y = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    with pytest.raises(NotImplementedError, match=match) as info:
        adapter_for(model).check_supported()
    assert type(model).__name__ in str(info.value)


def test_unsupported_estimator_is_a_type_error():
    from sklearn.linear_model import Lasso

    with pytest.raises(TypeError, match="no adapter for Lasso"):
        adapter_for(Lasso())
