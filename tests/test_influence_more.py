"""influence_params_ = S ∂θ̂/∂s_i for GLMs, RidgeClassifier, the CV estimators,
LinearSVC and SGD: central differences of tight refits by scikit-learn with sample
i's weight moved by ±ε·S (the same check as test_influence.py)."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    RidgeClassifier,
    TweedieRegressor,
)
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_sample_weight

from skinfluence import (
    InfluenceGammaRegressor,
    InfluenceLinearSVC,
    InfluenceLogisticRegressionCV,
    InfluencePoissonRegressor,
    InfluenceRidgeClassifier,
    InfluenceRidgeClassifierCV,
    InfluenceRidgeCV,
    InfluenceSGDClassifier,
    InfluenceSGDRegressor,
    InfluenceTweedieRegressor,
    NonStationaryWarning,
)

EPS = 1e-4


def _theta(model):
    parts = [np.ravel(model.coef_)]
    if model.fit_intercept:
        parts.append(np.atleast_1d(model.intercept_))
    return np.concatenate(parts)


def _weight_derivative(refit, X, y, s, i):
    S = s.sum()
    up, down = s.copy(), s.copy()
    up[i] += EPS * S
    down[i] -= EPS * S
    return (_theta(refit(X, y, up)) - _theta(refit(X, y, down))) / (2 * EPS)


def _check_rows(model, refit, X, y, s, rows, rtol=1e-4, atol=1e-6):
    influence = model.influence_params_
    scale = np.abs(influence).max()
    for i in rows:
        expected = _weight_derivative(refit, X, y, s, i)
        np.testing.assert_allclose(influence[i], expected, rtol=rtol, atol=atol * scale)


# -- Poisson, Gamma, Tweedie ------------------------------------------------------


@st.composite
def glm_problems(draw, family):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(25, 60))
    d = draw(st.integers(1, 4))
    alpha = draw(st.floats(1e-3, 2.0))
    weighted = draw(st.booleans())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    eta = X @ rng.normal(scale=0.4, size=d) + 0.5
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "normal":
        y = eta + rng.normal(size=n)
    else:
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    sw = rng.uniform(0.3, 3.0, n) if weighted else None
    return X, y, sw, alpha, rng.choice(n, size=3, replace=False)


GLM_OPTIONS = {
    # id: (family of y, estimator params); reference = same sklearn class, tight
    "Poisson": ("poisson", InfluencePoissonRegressor, PoissonRegressor, {}),
    "Gamma": ("gamma", InfluenceGammaRegressor, GammaRegressor, {}),
    "Tweedie-1.5": (
        "poisson",
        InfluenceTweedieRegressor,
        TweedieRegressor,
        dict(power=1.5),
    ),
    "Tweedie-0-identity": (
        "normal",
        InfluenceTweedieRegressor,
        TweedieRegressor,
        dict(power=0),
    ),
    "Tweedie-1.2-log": (
        "poisson",
        InfluenceTweedieRegressor,
        TweedieRegressor,
        dict(power=1.2, link="log"),
    ),
    "Poisson-nointercept": (
        "poisson",
        InfluencePoissonRegressor,
        PoissonRegressor,
        dict(fit_intercept=False),
    ),
}
TIGHT_GLM = dict(solver="newton-cholesky", tol=1e-12, max_iter=1000)


@pytest.mark.parametrize("option", GLM_OPTIONS)
def test_glm_influence_is_the_weight_derivative_of_refits(option):
    family, ours, theirs, params = GLM_OPTIONS[option]

    @given(problem=glm_problems(family))
    def check(problem):
        X, y, sw, alpha, rows = problem
        model = ours(alpha=alpha, **TIGHT_GLM, **params).fit(X, y, sample_weight=sw)
        s = np.ones(len(y)) if sw is None else sw

        def refit(X, y, w):
            return theirs(alpha=alpha, **TIGHT_GLM, **params).fit(X, y, sample_weight=w)

        _check_rows(model, refit, X, y, s, rows)

    check()


def test_glm_paper_formula_misses_the_penalty_share():
    """Koh & Liang's -H⁻¹∇h_i is measurably off for a mean-form GLM; ours is not."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = InfluencePoissonRegressor(alpha=0.1, **TIGHT_GLM).fit(
        X, y, sample_weight=sw
    )
    core = model.influence_state()
    G = core.objective.sample_gradients(core.theta)
    paper = -core.solver.solve(G.T).T

    def refit(X, y, w):
        return PoissonRegressor(alpha=0.1, **TIGHT_GLM).fit(X, y, sample_weight=w)

    errors_paper, errors_ours = [], []
    for i in [0, 17, 101]:
        expected = _weight_derivative(refit, X, y, sw, i)
        norm = np.linalg.norm(expected)
        errors_paper.append(np.linalg.norm(paper[i] - expected) / norm)
        errors_ours.append(np.linalg.norm(model.influence_params_[i] - expected) / norm)
    assert min(errors_paper) > 0.01
    assert max(errors_ours) < 1e-5


def test_tweedie_refuses_a_fit_away_from_a_local_minimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = rng.gamma(2.0, 1.0, 40)
    model = InfluenceTweedieRegressor(power=3, alpha=0.1, **TIGHT_GLM).fit(X, y)
    model.influence_params_  # a local minimum: fine
    # far above the data the power-3 deviance is concave in the log-mean
    model.intercept_ += 5.0
    with pytest.raises(ValueError, match="not positive definite"):
        model.influence_params_


# -- RidgeClassifier and the CV estimators ----------------------------------------


@st.composite
def classification_problems(draw, n_classes):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(30, 70))
    d = draw(st.integers(1, 4))
    weighted = draw(st.booleans())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, d) + rng.normal(size=d)
    logits = X @ rng.normal(size=(d, n_classes)) + 1.5 * rng.gumbel(size=(n, n_classes))
    labels = logits.argmax(axis=1)
    assume(np.bincount(labels, minlength=n_classes).min() >= 4)
    y = np.array([10, 20, 30])[labels]
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    C = draw(st.floats(0.05, 10.0))
    return X, y, sw, C, rng.choice(n, size=3, replace=False)


@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_ridge_classifier_influence_is_the_weight_derivative(n_classes, class_weight):
    @given(problem=classification_problems(n_classes))
    def check(problem):
        X, y, sw, alpha, rows = problem
        model = InfluenceRidgeClassifier(alpha=alpha, class_weight=class_weight)
        model.fit(X, y, sample_weight=sw)
        s = np.ones(len(y)) if sw is None else sw
        if class_weight is not None:  # unweighted counts, held fixed
            s = s * compute_sample_weight(class_weight, y)

        def refit(X, y, w):
            return RidgeClassifier(alpha=alpha).fit(X, y, sample_weight=w)

        _check_rows(model, refit, X, y, s, rows, rtol=1e-5, atol=1e-7)

    check()


def test_cv_estimators_hold_the_selected_hyperparameter_fixed():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y_reg = X @ [1.0, -2.0, 0.5] + rng.normal(size=60)
    y_clf = np.array([10, 20, 30])[(X @ rng.normal(size=(3, 3))).argmax(axis=1)]
    sw = rng.uniform(0.5, 2.0, 60)
    rows = [0, 7, 33]

    ridge = InfluenceRidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y_reg, sample_weight=sw)
    _check_rows(
        ridge,
        lambda X, y, w: Ridge(alpha=ridge.alpha_).fit(X, y, sample_weight=w),
        X,
        y_reg,
        sw,
        rows,
        rtol=1e-5,
        atol=1e-7,
    )
    clf = InfluenceRidgeClassifierCV(alphas=[0.1, 1.0, 10.0]).fit(
        X, y_clf, sample_weight=sw
    )
    _check_rows(
        clf,
        lambda X, y, w: RidgeClassifier(alpha=clf.alpha_).fit(X, y, sample_weight=w),
        X,
        y_clf,
        sw,
        rows,
        rtol=1e-5,
        atol=1e-7,
    )
    logit = InfluenceLogisticRegressionCV(
        Cs=[0.1, 1.0, 10.0],
        l1_ratios=(0,),
        solver="newton-cholesky",
        tol=1e-12,
        use_legacy_attributes=False,
        scoring="neg_log_loss",
    ).fit(X, y_clf, sample_weight=sw)
    C = float(np.ravel(logit.C_)[0])

    def logistic_refit(X, y, w):
        return LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12).fit(
            X, y, sample_weight=w
        )

    # multinomial gauge: compare intercepts after removing their common mean
    influence = logit.influence_params_
    for i in rows:
        expected = _weight_derivative(logistic_refit, X, y_clf, sw, i)
        expected[-3:] -= expected[-3:].mean()
        np.testing.assert_allclose(
            influence[i], expected, rtol=1e-4, atol=1e-6 * np.abs(influence).max()
        )


# -- LinearSVC --------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "ovr"])
def test_linear_svc_influence_is_the_weight_derivative(n_classes):
    @given(problem=classification_problems(n_classes))
    def check(problem):
        X, y, sw, C, rows = problem
        params = dict(C=C, intercept_scaling=1.7, tol=1e-12, max_iter=100_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = InfluenceLinearSVC(**params).fit(X, y, sample_weight=sw)
        s = np.ones(len(y)) if sw is None else sw

        def refit(X, y, w):
            fit = LinearSVC(dual=False, **params).fit(X, y, sample_weight=w)
            return _polish_squared_hinge(fit, X, y, w)

        if np.linalg.norm(model.newton_step_) > 1e-9 * np.linalg.norm(_theta(model)):
            tight = refit(X, y, s)
            model.coef_, model.intercept_ = tight.coef_, tight.intercept_
        # θ̂(s) is only piecewise smooth: its derivative jumps when a margin crosses
        # 1, so the differences must not straddle one (margins move by ~EPS·10)
        core = model.influence_state()
        margins = core.objective.Y * core.objective.raw_prediction(core.theta)
        assume(np.abs(margins - 1).min() > 1e-2)
        _check_rows(model, refit, X, y, s, rows)

    check()


def _polish_squared_hinge(fit, X, y, w, steps=3):
    """Exact Newton steps on liblinear's objective, one class at a time, written
    out here: ½‖v‖² + C Σ w_i max(0, 1 - t_i x̃_iᵀv)² on x̃ = [x, intercept_scaling].
    The objective is piecewise quadratic, so Newton is exact once the set of
    violated margins is right; liblinear itself stops near 1e-9."""
    a = fit.intercept_scaling
    b = fit.fit_intercept
    Xa = np.column_stack([X, np.full(len(X), a)]) if b else X
    classes = fit.classes_
    columns = [classes[1]] if len(classes) == 2 else classes
    V = np.column_stack([fit.coef_, fit.intercept_ / a]) if b else fit.coef_.copy()
    for k, label in enumerate(columns):
        t = np.where(y == label, 1.0, -1.0)
        v = V[k]
        for _ in range(steps):
            slack = 1 - t * (Xa @ v)
            on = slack > 0
            grad = v - 2 * fit.C * Xa[on].T @ (w[on] * t[on] * slack[on])
            hess = np.eye(len(v)) + 2 * fit.C * Xa[on].T @ (w[on, None] * Xa[on])
            v = v - np.linalg.solve(hess, grad)
        V[k] = v
    if b:
        fit.coef_, fit.intercept_ = V[:, :-1], a * V[:, -1]
    else:
        fit.coef_ = V
    return fit


def test_plain_hinge_needs_a_temperature():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 2, 40)
    model = InfluenceLinearSVC(loss="hinge", max_iter=10_000).fit(X, y)
    with pytest.raises(ValueError, match="smooth_hinge_temperature"):
        model.influence_params_
    model.set_params(smooth_hinge_temperature=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonStationaryWarning)
        assert np.all(np.isfinite(model.influence_params_))


# -- SGD --------------------------------------------------------------------------


def _binary_data(seed=0, n=80):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.normal(size=n) > 0).astype(int)
    return X, y, rng.uniform(0.5, 2.0, n)


def test_sgd_log_loss_minimizes_logistic_regression_with_C_one_over_alpha_n():
    """Independent check of the scale n·α: long averaged SGD lands on
    LogisticRegression(C=1/(α n)), not on a differently scaled C."""
    X, y, sw = _binary_data()
    alpha, n = 0.01, len(y)
    sgd = InfluenceSGDClassifier(
        loss="log_loss",
        alpha=alpha,
        average=True,
        max_iter=3000,
        tol=None,
        learning_rate="constant",
        eta0=0.01,
        random_state=0,
    ).fit(X, y, sample_weight=sw)
    theta = _theta(sgd)

    def distance(C):
        ref = LogisticRegression(C=C, tol=1e-12, solver="newton-cholesky")
        return np.linalg.norm(_theta(ref.fit(X, y, sample_weight=sw)) - theta)

    right = distance(1 / (alpha * n))
    assert right < 0.02 * np.linalg.norm(theta)
    assert distance(2 / (alpha * n)) > 5 * right
    assert distance(0.5 / (alpha * n)) > 5 * right


SGD_CASES = {
    # id: (ours, deterministic solver of the same objective)
    "log_loss": (
        lambda a: InfluenceSGDClassifier(loss="log_loss", alpha=a, random_state=0),
        lambda a, n: LogisticRegression(
            C=1 / (a * n), tol=1e-12, solver="newton-cholesky"
        ),
    ),
    "squared_error": (
        lambda a: InfluenceSGDRegressor(alpha=a, random_state=0),
        lambda a, n: Ridge(alpha=a * n, solver="cholesky"),
    ),
    "squared_hinge-nointercept": (
        lambda a: InfluenceSGDClassifier(
            loss="squared_hinge", alpha=a, fit_intercept=False, random_state=0
        ),
        lambda a, n: LinearSVC(
            C=1 / (a * n), dual=False, fit_intercept=False, tol=1e-12, max_iter=10_000
        ),
    ),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_influence_at_the_minimum_is_the_weight_derivative(case):
    """SGD stops short (NonStationaryWarning); at the exact minimum of its
    objective, found by a deterministic solver, influences match refits."""
    ours, reference = SGD_CASES[case]
    X, y, sw = _binary_data(1)
    if case == "squared_error":
        y = X @ [1.0, 2.0, -1.0] + np.random.default_rng(2).normal(size=len(y))
    alpha = 0.05
    model = ours(alpha).fit(X, y, sample_weight=sw)
    with pytest.warns(NonStationaryWarning):
        model.influence_params_

    def refit(X, y, w):
        fit = reference(alpha, len(y)).fit(X, y, sample_weight=w)
        return _polish_squared_hinge(fit, X, y, w) if "hinge" in case else fit

    tight = refit(X, y, sw)
    model.coef_ = np.reshape(tight.coef_, np.shape(model.coef_))
    model.intercept_ = np.reshape(tight.intercept_, np.shape(model.intercept_))
    assert model.gradient_norm_ < 1e-8
    _check_rows(model, refit, X, y, sw, [0, 5, 41])


def test_sgd_refuses_non_smooth_options():
    X, y, _ = _binary_data()
    for params, match in [
        (dict(loss="log_loss", penalty="l1"), "penalty='l1'"),
        (dict(loss="perceptron"), "loss='perceptron'"),
        (dict(loss="log_loss", early_stopping=True), "early_stopping"),
        (dict(loss="hinge"), "smooth_hinge_temperature"),
    ]:
        model = InfluenceSGDClassifier(**params, random_state=0).fit(X, y)
        with pytest.raises((ValueError, NotImplementedError), match=match):
            model.influence_params_
    model = InfluenceSGDRegressor(loss="epsilon_insensitive").fit(X, X[:, 0])
    with pytest.raises(NotImplementedError, match="epsilon_insensitive"):
        model.influence_params_


def test_partial_fit_forgets_the_training_data():
    X, y, _ = _binary_data()
    model = InfluenceSGDClassifier(loss="log_loss").fit(X, y)
    model.partial_fit(X[:10], y[:10])
    with pytest.raises(AttributeError, match="fit it first"):
        model.influence_params_
