"""The public API of the ready classes: shapes, conventions, removal, errors,
pandas, pickling, clone, Pipeline and GridSearchCV."""

import inspect
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
    NonStationaryWarning,
    SingularHessianWarning,
)
from skinfluence._adapters import REGISTRY


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X[:300], y[:300], X[300:320], y[300:320]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    return X[:120], y[:120], X[120:], y[120:]


def _tight(**kw):
    return InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12, **kw)


def test_shapes_and_parameter_order(iris):
    X, y, Xt, yt = iris
    model = _tight().fit(X, y)
    assert model.influence_params_.shape == (120, 3 * 4 + 3)
    assert model.influence_loss(Xt, yt).shape == (30, 120)
    # influence_loss is ∇L(z_test)ᵀ influence_params_ in θ = [coef_.ravel(), intercept_]
    p = model.predict_proba(Xt[:1])[0]
    r = p - np.eye(3)[yt[0]]
    g_test = np.concatenate([np.outer(r, Xt[0]).ravel(), r])
    np.testing.assert_allclose(
        model.influence_loss(Xt[:1], yt[:1])[0],
        model.influence_params_ @ g_test,
        atol=1e-10,
    )


def test_default_test_labels_are_the_predictions(cancer):
    X, y, Xt, _ = cancer
    model = _tight().fit(X, y)
    np.testing.assert_array_equal(
        model.influence_loss(Xt), model.influence_loss(Xt, model.predict(Xt))
    )


def test_sign_convention_matches_refit_without_the_most_harmful_row(cancer):
    """Positive influence = harmful: removing the top row must lower the test loss."""
    X, y, Xt, yt = cancer
    model = _tight().fit(X, y)
    infl = model.influence_loss(Xt[:1], yt[:1])[0]
    harmful, helpful = int(np.argmax(infl)), int(np.argmin(infl))

    def test_loss(m):
        return -np.log(m.predict_proba(Xt[:1])[0, yt[0]])

    base = test_loss(model)
    for i, sign in [(harmful, -1), (helpful, 1)]:
        keep = np.arange(len(y)) != i
        refit = LogisticRegression(solver="newton-cholesky", tol=1e-12).fit(
            X[keep], y[keep]
        )
        assert sign * (test_loss(refit) - base) > 0


def test_remove_effect_returns_new_model_and_group_effects_add(cancer):
    X, y, Xt, _ = cancer
    w = np.random.default_rng(0).uniform(0.2, 5.0, size=len(y))  # shares s_i/S, not 1/n
    model = _tight().fit(X, y, sample_weight=w)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    one = model.remove_effect(5)
    group = model.remove_effect([5, 17, 40])
    assert type(one) is type(model) and one is not model
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)
    n = len(y)
    theta = np.r_[coef.ravel(), intercept]
    rows = [5, 17, 40]
    expected = theta - (w[rows, None] / w.sum() * model.influence_params_[rows]).sum(
        axis=0
    )
    np.testing.assert_allclose(
        np.r_[group.coef_.ravel(), group.intercept_], expected, atol=1e-12
    )
    assert one.coef_.shape == coef.shape and one.intercept_.shape == intercept.shape
    assert one.predict(Xt).shape == (len(Xt),)
    # the new model keeps the remaining rows as its training data
    assert one.influence_params_.shape == (n - 1, 31)


def test_remove_effect_is_close_to_the_refit(cancer):
    X, y, _, _ = cancer
    model = _tight(C=0.5).fit(X, y)
    i = 11
    keep = np.arange(len(y)) != i
    refit = LogisticRegression(solver="newton-cholesky", tol=1e-12, C=0.5).fit(
        X[keep], y[keep]
    )
    predicted = model.remove_effect(i)
    actual_change = refit.coef_ - model.coef_
    error = predicted.coef_ - refit.coef_
    # first order: the error is second order in 1/n, far below the change itself
    assert np.linalg.norm(error) < 0.05 * np.linalg.norm(actual_change)


def test_ridge_scalar_intercept_keeps_its_type():
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceRidge(alpha=0.5).fit(X, y)
    new = model.remove_effect(0)
    assert np.ndim(new.intercept_) == 0 and new.coef_.shape == (10,)


def test_multi_target_ridge_needs_matching_targets():
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, y**0.5])
    model = InfluenceRidge(alpha=[0.1, 1.0]).fit(X, Y)
    assert model.influence_loss(X[:3], Y[:3]).shape == (3, 442)
    with pytest.raises(ValueError, match="2 target"):
        model.influence_loss(X[:3], y[:3])


def test_user_arrays_are_not_modified_nor_aliased(cancer):
    X, y, Xt, yt = cancer
    X, y = X.copy(), y.copy()
    X0, y0 = X.copy(), y.copy()
    sw = np.ones(len(y))
    model = _tight().fit(X, y, sample_weight=sw)
    model.influence_params_
    model.remove_effect([1, 2])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    before = model.influence_loss(Xt, yt)
    X[:] = 0.0
    sw[:] = 5.0
    model._influence_state.clear()  # recompute from the kept copy
    np.testing.assert_array_equal(model.influence_loss(Xt, yt), before)


def test_pandas_inputs(cancer):
    pd = pytest.importorskip("pandas")
    X, y, Xt, yt = cancer
    columns = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns, index=np.arange(1000, 1300))
    series = pd.Series(np.where(y == 1, "benign", "malignant"), index=frame.index)
    model = _tight().fit(frame, series)
    reference = _tight().fit(X, np.where(y == 1, "benign", "malignant"))
    test_frame = pd.DataFrame(Xt, columns=columns)
    labels = pd.Series(np.where(yt == 1, "benign", "malignant"))
    np.testing.assert_allclose(
        model.influence_loss(test_frame, labels),
        reference.influence_loss(Xt, np.asarray(labels)),
    )
    with pytest.raises(ValueError, match="feature names"):
        model.influence_loss(test_frame[columns[::-1]], labels)


def test_pickle_and_clone_keep_behaviour(iris):
    X, y, Xt, yt = iris
    model = _tight(C=2.0).fit(X, y)
    expected = model.influence_loss(Xt, yt)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.influence_loss(Xt, yt), expected)
    cloned = clone(model)
    assert cloned.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        cloned.influence_params_
    np.testing.assert_allclose(
        cloned.fit(X, y).influence_loss(Xt, yt), expected, atol=1e-9
    )


def test_pipeline_in_gridsearch_keeps_influence(cancer):
    X, y, Xt, yt = cancer
    raw = X * 7.0 + 3.0
    pipe = make_pipeline(StandardScaler(), _tight())
    search = GridSearchCV(pipe, {"influencelogisticregression__C": [0.1, 1.0]}, cv=3)
    search.fit(raw, y)
    best = search.best_estimator_
    last = best[-1]
    transformed = best[:-1].transform(Xt * 7.0 + 3.0)
    direct = _tight(C=last.C).fit(best[:-1].transform(raw), y)
    np.testing.assert_allclose(
        last.influence_loss(transformed, yt),
        direct.influence_loss(transformed, yt),
        atol=1e-9,
    )


def test_nonconverged_fit_warns_and_reports(cancer):
    X, y, Xt, yt = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loose = InfluenceLogisticRegression(max_iter=10).fit(X, y)
    with pytest.warns(NonStationaryWarning, match="not at the minimum"):
        loose.influence_loss(Xt, yt)
    assert loose.gradient_norm_ > 1e-3
    tight = _tight().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonStationaryWarning)
        tight.influence_loss(Xt, yt)
    assert tight.gradient_norm_ < 1e-10
    # one Newton step from the loose fit lands far closer to the minimum
    # (measured: 0.405 -> 0.035 on this problem)
    loose_theta = np.r_[loose.coef_.ravel(), loose.intercept_]
    tight_theta = np.r_[tight.coef_.ravel(), tight.intercept_]
    before = np.linalg.norm(loose_theta - tight_theta)
    after = np.linalg.norm(loose_theta + loose.newton_step_ - tight_theta)
    assert after < 0.2 * before


def test_collinear_linear_regression_warns_and_predictions_match_refit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])
    y = X[:, 0] + rng.normal(size=50)
    model = InfluenceLinearRegression().fit(X, y)
    with pytest.warns(SingularHessianWarning, match="rank 4 of 5"):
        influence = model.influence_params_
    eps = 1e-5
    s = np.ones(50)
    s[7] += eps * 50
    up = LinearRegression().fit(X, y, sample_weight=s)
    s[7] -= 2 * eps * 50
    down = LinearRegression().fit(X, y, sample_weight=s)
    Xa = np.column_stack([X, np.ones(50)])
    # parameters are not identified along the flat direction, predictions are
    fd = (up.predict(X) - down.predict(X)) / (2 * eps)
    np.testing.assert_allclose(Xa @ influence[7], fd, rtol=1e-5, atol=1e-8)


def test_unpenalized_quasi_separable_multinomial_is_refused():
    """Class 2 is split off by x0 > 2 while classes 0 and 1 overlap: no finite
    minimizer although the training accuracy is below 1."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    X[60:, 0] += 6.0
    y = np.r_[rng.integers(0, 2, 60), np.full(30, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InfluenceLogisticRegression(
            C=np.inf, solver="newton-cholesky", tol=1e-12
        )
        model.fit(X, y)
        assert model.score(X, y) < 1.0
        with pytest.raises(ValueError, match="quasi-separates"):
            model.influence_params_
        with pytest.raises(ValueError, match="quasi-separates"):  # not cached
            model.influence_loss(X[:2], y[:2])
    # with a penalty the minimizer is finite and influences are returned
    penalized = InfluenceLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12)
    assert np.isfinite(penalized.fit(X, y).influence_params_).all()


def test_unpenalized_separable_logistic_is_refused():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InfluenceLogisticRegression(C=np.inf).fit(X, y)
    with pytest.raises(ValueError, match="separates the training data"):
        model.influence_params_


@pytest.mark.parametrize(
    "call, error, match",
    [
        pytest.param(
            lambda m, Xt, yt: m.influence_loss(Xt[:, :5], yt),
            ValueError,
            "features",
            id="n_features",
        ),
        pytest.param(
            lambda m, Xt, yt: m.influence_loss(np.where(Xt > 1, np.nan, Xt), yt),
            ValueError,
            "NaN",
            id="nan",
        ),
        pytest.param(
            lambda m, Xt, yt: m.influence_loss(np.where(Xt > 1, np.inf, Xt), yt),
            ValueError,
            "infinity",
            id="inf",
        ),
        pytest.param(
            lambda m, Xt, yt: m.influence_loss(Xt, yt + 7),
            ValueError,
            "not seen in training",
            id="unseen-label",
        ),
        pytest.param(
            lambda m, Xt, yt: m.influence_loss(Xt, yt[:3]),
            ValueError,
            "rows",
            id="y-length",
        ),
        pytest.param(
            lambda m, Xt, yt: m.remove_effect(300),
            ValueError,
            "in \\[0, 300\\)",
            id="index-high",
        ),
        pytest.param(
            lambda m, Xt, yt: m.remove_effect(-1),
            ValueError,
            "in \\[0, 300\\)",
            id="index-negative",
        ),
        pytest.param(
            lambda m, Xt, yt: m.remove_effect([1, 1]),
            ValueError,
            "duplicates",
            id="index-duplicate",
        ),
        pytest.param(
            lambda m, Xt, yt: m.remove_effect(1.5),
            TypeError,
            "integers",
            id="index-float",
        ),
        pytest.param(
            lambda m, Xt, yt: m.remove_effect([]), ValueError, "empty", id="index-empty"
        ),
    ],
)
def test_bad_input_is_a_clear_error(cancer, call, error, match):
    X, y, Xt, yt = cancer
    model = _tight().fit(X, y)
    with pytest.raises(error, match=match):
        call(model, Xt, yt)


@pytest.mark.parametrize(
    "model",
    [InfluenceLogisticRegression(), InfluenceLinearRegression(), InfluenceRidge()],
    ids=type,
)
def test_unfitted_model_raises_not_fitted(model):
    with pytest.raises(NotFittedError):
        model.influence_params_
    with pytest.raises(NotFittedError):
        model.influence_loss(np.ones((2, 3)), np.ones(2))
    with pytest.raises(NotFittedError):
        model.remove_effect(0)


def test_regressor_requires_y_test():
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceRidge().fit(X, y)
    with pytest.raises(ValueError, match="needs y_test"):
        model.influence_loss(X[:2])


def test_liblinear_l1_logistic_refuses_influence_but_still_predicts(cancer):
    """L1 is supported on the active set (tests/test_logistic_l1.py) except with
    liblinear, which also puts an L1 penalty on the intercept."""
    X, y, Xt, yt = cancer
    model = InfluenceLogisticRegression(l1_ratio=1.0, solver="liblinear")
    model.fit(X, y)
    assert model.predict(Xt).shape == (20,)
    with pytest.raises(
        NotImplementedError, match="InfluenceLogisticRegression.*liblinear"
    ):
        model.influence_loss(Xt, yt)


def test_float32_input_is_computed_in_float64(cancer):
    X, y, Xt, yt = cancer
    m32 = _tight().fit(X.astype(np.float32), y)
    m64 = _tight().fit(X.astype(np.float32).astype(np.float64), y)
    # same parameters (scikit-learn fits float32 data in float32), float64 algebra
    m64.coef_, m64.intercept_ = (
        m32.coef_.astype(np.float64),
        m32.intercept_.astype(np.float64),
    )
    assert m32.influence_params_.dtype == np.float64
    np.testing.assert_allclose(
        m32.influence_loss(Xt, yt), m64.influence_loss(Xt, yt), rtol=1e-10, atol=1e-14
    )


# -- fit takes every argument of the estimator's own fit -----------------------------


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.ready)
def test_fit_has_the_signature_of_the_estimators_fit(entry):
    ready = entry.ready_class()
    assert inspect.signature(ready.fit) == inspect.signature(entry.estimator.fit)


def test_fit_passes_every_argument_through():
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import GroupKFold

    from skinfluence import InfluenceRidgeCV, InfluenceSGDClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    start = np.array([[3.0, -1.0, 0.5]])
    ours = InfluenceSGDClassifier(max_iter=1, tol=None, random_state=0)
    theirs = SGDClassifier(max_iter=1, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y, coef_init=start, intercept_init=[0.2])
        theirs.fit(X, y, coef_init=start, intercept_init=[0.2])
    np.testing.assert_array_equal(ours.coef_, theirs.coef_)  # the start was used
    from sklearn import config_context as sklearn_config
    from sklearn.linear_model import RidgeCV

    groups = np.repeat(np.arange(6), 10)
    target = X @ [1.0, 2.0, 0.0] + rng.normal(size=60)
    with sklearn_config(enable_metadata_routing=True):  # RidgeCV routes groups
        model = InfluenceRidgeCV(alphas=[0.1, 10.0], cv=GroupKFold(3))
        model.fit(X, target, groups=groups)
        plain = RidgeCV(alphas=[0.1, 10.0], cv=GroupKFold(3))
        plain.fit(X, target, groups=groups)
    assert model.alpha_ == plain.alpha_
    assert model.influence_params_.shape == (60, 4)
    weights = rng.uniform(0.5, 2.0, 60)
    positional = InfluenceSGDClassifier(loss="log_loss", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        positional.fit(X, y, None, None, weights)  # sample_weight is fit's 5th
        np.testing.assert_array_equal(
            positional.influence_state().data.sample_weight, weights
        )


def test_metadata_routing_sees_sample_weight():
    from sklearn import config_context as sklearn_config

    from skinfluence import InfluenceRidge

    with sklearn_config(enable_metadata_routing=True):
        model = InfluenceRidge().set_fit_request(sample_weight=True)
        assert model.get_metadata_routing().fit.requests["sample_weight"] is True


# -- displaying a fitted model computes nothing --------------------------------------
@pytest.fixture
def builds(monkeypatch):
    """Counts how many times an influence state is built (Hessian factored)."""
    import skinfluence._state as state

    count = []
    original = state.FittedInfluence.__init__

    def counting(self, *args, **kwargs):
        count.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(state.FittedInfluence, "__init__", counting)
    return count


def _display_everything(obj):
    """What a notebook and its variable explorer do with a result."""
    repr(obj), str(obj), dir(obj)
    obj._repr_html_()
    obj._repr_mimebundle_()
    inspect.getmembers(obj)


def test_displaying_a_large_model_computes_no_influence(builds):
    # influence_params_ costs a (p x p) factorization and a (p, n) solve; the
    # display must not pay it (the brief's 20000 x 1500 Ridge: 4.1 s fit, 0.012 s
    # display, 13.6 s influence_params_ on 2 shared cores)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 200))
    model = InfluenceRidge().fit(X, X[:, 0] + rng.normal(size=1500))
    _display_everything(model)
    assert builds == []
    assert "influence_params_" not in dir(model)
    model.influence_params_  # a user's access computes it, once
    assert len(builds) == 1
    # once computed, it is shown like any fitted attribute, without recomputing
    assert "influence_params_" in model._repr_html_()
    assert {"gradient_norm_", "newton_step_", "influence_params_"} <= set(dir(model))
    assert len(builds) == 1
    model.set_params(alpha=2.0)  # stale: hidden again, nothing rebuilt by display
    _display_everything(model)
    assert "influence_params_" not in dir(model) and len(builds) == 1


def test_displaying_an_underconverged_model_does_not_warn(cancer, builds):
    X, y, _, _ = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loose = InfluenceLogisticRegression(max_iter=5).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _display_everything(loose)
        _display_everything(make_pipeline(StandardScaler(), loose))
    assert builds == []
    with pytest.warns(NonStationaryWarning):  # it is under-converged
        loose.gradient_norm_


def test_displaying_a_refused_configuration_does_not_fail(cancer, builds):
    X, y, _, _ = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = InfluenceLogisticRegression(l1_ratio=1.0, solver="liblinear")
        model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _display_everything(model)
        html = model._repr_html_()
    assert "InfluenceLogisticRegression" in html and "coef_" in html
    with pytest.raises(NotImplementedError):  # refused when asked for
        model.influence_params_


def test_displaying_pipelines_and_searches_computes_nothing(cancer, builds):
    from skinfluence import InfluencePipeline, attach

    X, y, _, _ = cancer
    pipe = InfluencePipeline(
        [("scale", StandardScaler()), ("model", InfluenceLogisticRegression())]
    ).fit(X, y)
    search = GridSearchCV(pipe, {"model__C": [0.1, 1.0]}, cv=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for obj in (pipe, search, search.best_estimator_):
            _display_everything(obj)
    assert builds == []
    tight = LogisticRegression(solver="newton-cholesky", tol=1e-12)
    attached = attach(tight.fit(X, y), X, y)  # checks stationarity
    assert len(builds) == 1
    _display_everything(attached)
    assert len(builds) == 1


def test_a_cross_validation_fold_of_zero_weight_is_refused_naming_the_estimator():
    """scikit-learn's LassoCV divides by the weight of each fold: a fold of rows
    of zero weight is its ZeroDivisionError; ours is a ValueError naming the
    estimator, the cv and the way out. With a positive row in the fold both fit."""
    from sklearn.linear_model import LassoCV

    from skinfluence import InfluenceLassoCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 2))
    y = X[:, 0] + rng.normal(size=9)
    w = np.ones(9)
    w[:3] = 0.0  # the first fold of KFold(3), which does not shuffle
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        LassoCV(cv=3).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match=r"InfluenceLassoCV: a fold .* \(cv=3\)"):
        InfluenceLassoCV(cv=3).fit(X, y, sample_weight=w)
    w[0] = 1.0
    ours = InfluenceLassoCV(cv=3).fit(X, y, sample_weight=w)
    assert ours.alpha_ == LassoCV(cv=3).fit(X, y, sample_weight=w).alpha_
