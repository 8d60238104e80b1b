"""Adapters state each estimator's exact objective: at a tight fit by scikit-learn
itself, the gradient of the objective we build must vanish. A wrong scale, a
missing intercept penalty or wrong class weights would leave it far from zero."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
)
from sklearn.svm import LinearSVC

from skinfluence._adapters import adapter_for
from skinfluence._penalties import Penalty


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
    l2 = objective.penalty.l2.copy()
    l2[-1] = 0.0
    objective.penalty = Penalty(l2)
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
            LogisticRegression(l1_ratio=1.0, solver="liblinear"),
            "solver='liblinear'",
            id="l1-liblinear",
        ),
        pytest.param(LinearRegression(positive=True), "positive=True", id="positive"),
    ],
)
def test_non_smooth_objectives_are_refused(model, match):
    X, y, _ = _classification(2 if "liblinear" in str(model) else 3)
    if not isinstance(model, LogisticRegression):
        y = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    with pytest.raises(NotImplementedError, match=match) as info:
        adapter_for(model).check_supported()
    assert type(model).__name__ in str(info.value)


def test_unsupported_estimator_is_a_type_error():
    from sklearn.linear_model import TheilSenRegressor

    with pytest.raises(TypeError, match="no influence support for TheilSenRegressor"):
        adapter_for(TheilSenRegressor())


def test_logistic_regression_cv_is_not_mistaken_for_logistic_regression():
    """LogisticRegressionCV subclasses LogisticRegression: its C is C_, not C."""
    X, y, sw = _classification(2)
    model = LogisticRegressionCV(
        Cs=[0.01],
        tol=1e-12,
        solver="newton-cholesky",
        l1_ratios=(0,),
        use_legacy_attributes=False,
        scoring="neg_log_loss",
    ).fit(X, y, sample_weight=sw)
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    assert np.abs(objective.gradient(adapter.theta())).max() < 1e-10


def _glm_data(seed=0, n=80, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    eta = X @ rng.normal(scale=0.4, size=d) + 0.5
    return X, eta, rng, rng.uniform(0.3, 3.0, n)


def _more_cases():
    from sklearn.linear_model import (
        GammaRegressor,
        LogisticRegressionCV,
        PoissonRegressor,
        RidgeClassifier,
        RidgeClassifierCV,
        RidgeCV,
        TweedieRegressor,
    )
    from sklearn.svm import LinearSVC

    X, eta, rng, sw = _glm_data()
    poisson = rng.poisson(np.exp(eta)).astype(float)
    gamma = rng.gamma(2.0, np.exp(eta) / 2)
    normal = eta + rng.normal(size=len(eta))
    logits = X @ rng.normal(size=(3, 3)) + rng.normal(size=(len(eta), 3))
    y3 = np.array(list("abc"))[logits.argmax(1)]
    y2 = np.where(logits[:, 0] > logits[:, 1], "a", "b")
    glm = dict(alpha=0.1, tol=1e-12, solver="newton-cholesky", max_iter=1000)
    svc = dict(C=0.5, tol=1e-12, max_iter=100_000, intercept_scaling=2.0)
    return {
        "Poisson": (PoissonRegressor(**glm), poisson),
        "Gamma": (GammaRegressor(**glm), gamma),
        "Tweedie-1.5": (TweedieRegressor(power=1.5, **glm), poisson),
        "Tweedie-0-identity": (TweedieRegressor(power=0, **glm), normal),
        "Tweedie-3-log": (TweedieRegressor(power=3, **glm), gamma),
        "Tweedie-0-log": (TweedieRegressor(power=0, link="log", **glm), gamma),
        "Tweedie-1-identity": (
            TweedieRegressor(power=1, link="identity", **glm),
            poisson + 1,
        ),
        "RidgeClassifier-binary": (RidgeClassifier(alpha=2.0), y2),
        "RidgeClassifier-balanced": (
            RidgeClassifier(alpha=2.0, class_weight="balanced"),
            y3,
        ),
        "RidgeClassifierCV": (RidgeClassifierCV(alphas=[0.1, 1.0, 10.0]), y3),
        "RidgeCV-gcv": (RidgeCV(alphas=[0.1, 1.0, 10.0]), normal),
        "RidgeCV-kfold": (RidgeCV(alphas=[0.1, 1.0, 10.0], cv=3), normal),
        "LogisticRegressionCV": (
            LogisticRegressionCV(
                Cs=5,
                tol=1e-12,
                solver="newton-cholesky",
                l1_ratios=(0,),
                use_legacy_attributes=False,
                scoring="neg_log_loss",
            ),
            y3,
        ),
        "LinearSVC-binary-dual": (LinearSVC(**svc), y2),
        "LinearSVC-binary-primal-balanced": (
            LinearSVC(dual=False, class_weight="balanced", **svc),
            y2,
        ),
        "LinearSVC-ovr": (LinearSVC(**svc), y3),
    }


MORE_CASES = _more_cases()


@pytest.mark.parametrize("case", MORE_CASES)
def test_more_objectives_are_stationary_at_tight_fits(case):
    model, y = MORE_CASES[case]
    X, _, _, sw = _glm_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs fallbacks of the GLM solver
        model.fit(X, y, sample_weight=sw)
    adapter = adapter_for(model)
    adapter.check_supported()
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    scale = np.abs(objective.sample_gradients(theta)).max()
    # liblinear and lbfgs (the GLM fallback for power 3) stop near 1e-9 whatever tol says
    bound = 1e-8 if "LinearSVC" in case or "Tweedie-3" in case else 1e-12
    assert np.abs(objective.gradient(theta)).max() < bound * scale


def test_glm_objective_needs_the_weight_sum_in_its_penalty():
    """The adapter's penalty is ``S·α`` on the coefficients (exact values), and the
    check above can see the difference: the same objective with ``α`` written
    independently (not derived from the adapter's) leaves a large gradient."""
    from sklearn.linear_model import PoissonRegressor

    model, y = MORE_CASES["Poisson"]
    X, _, _, sw = _glm_data()
    model.fit(X, y, sample_weight=sw)
    assert isinstance(model, PoissonRegressor)
    adapter = adapter_for(model)
    objective = adapter.objective(X, y, sw)
    theta = adapter.theta()
    d = X.shape[1]
    np.testing.assert_allclose(
        objective.penalty.l2, np.r_[np.full(d, sw.sum() * model.alpha), 0.0]
    )
    objective.penalty = Penalty(np.r_[np.full(d, model.alpha), 0.0])
    assert np.abs(objective.gradient(theta)).max() > 1e-3


@pytest.mark.parametrize(
    "make, match",
    [
        pytest.param(
            lambda: LinearSVC(penalty="l1", dual=False),
            "penalty='l1'",
            id="LinearSVC-l1",
        ),
        pytest.param(
            lambda: LinearSVC(multi_class="crammer_singer"),
            "crammer_singer",
            id="LinearSVC-crammer-singer",
        ),
        pytest.param(
            lambda: LinearSVC(class_weight="balanced"),
            "class_weight",
            id="LinearSVC-ovr-class-weight",
        ),
        pytest.param(
            lambda: LogisticRegressionCV(
                refit=False, Cs=2, l1_ratios=(0,), use_legacy_attributes=False
            ),
            "refit=False",
            id="LogisticRegressionCV-norefit",
        ),
    ],
)
def test_more_unsupported_options_are_refused(make, match):
    X, _, rng, _ = _glm_data()
    y = np.array(list("abc"))[rng.integers(0, 3, len(X))]
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    with pytest.raises(NotImplementedError, match=match):
        adapter_for(model).check_supported()
