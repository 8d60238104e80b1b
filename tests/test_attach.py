"""attach(): a fitted scikit-learn model gets the same influences as the Influence class."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale
from sklearn.svm import SVR

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
    NonStationaryWarning,
    TrainingDataWarning,
    attach,
)


def _cancer(n=200):
    X, y = load_breast_cancer(return_X_y=True)
    return scale(X)[:n], y[:n]


def _weights(n, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 2.0, n)


def _cases():
    Xc, yc = _cancer()
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    Y2 = np.c_[yd, np.sqrt(yd)]
    tight = {"tol": 1e-10, "max_iter": 10_000}
    return [
        ("logistic", InfluenceLogisticRegression, LogisticRegression, tight, Xc, yc),
        (
            "liblinear-weighted",
            InfluenceLogisticRegression,
            LogisticRegression,
            {
                "solver": "liblinear",
                "class_weight": "balanced",
                "tol": 1e-12,
                "max_iter": 10_000,
            },
            Xc,
            yc,
        ),
        ("multinomial", InfluenceLogisticRegression, LogisticRegression, tight, Xi, yi),
        ("linear", InfluenceLinearRegression, LinearRegression, {}, Xd, yd),
        ("ridge-2-targets", InfluenceRidge, Ridge, {"alpha": [0.1, 1.0]}, Xd, Y2),
    ]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_attach_matches_influence_class(case, weighted):
    _, influence_cls, sk_cls, params, X, y = case
    sw = _weights(len(X)) if weighted else None
    direct = influence_cls(**params).fit(X, y, sample_weight=sw)
    fitted = sk_cls(**params).fit(X, y, sample_weight=sw)
    attached = attach(fitted, X, y, sample_weight=sw)
    assert type(attached) is influence_cls
    assert attached.get_params() == direct.get_params()
    assert_allclose(attached.coef_, direct.coef_, rtol=0, atol=0)
    assert_allclose(attached.influence_params_, direct.influence_params_, rtol=1e-12)
    assert_allclose(
        attached.influence_loss(X[:5], y[:5]),
        direct.influence_loss(X[:5], y[:5]),
        rtol=1e-12,
    )
    # the original is untouched and has no influence state
    assert type(fitted) is sk_cls
    assert not any(k.startswith("_influence") for k in vars(fitted))


def test_attach_against_weight_derivative_of_refits():
    """Independent check: influence_params_ = S ∂θ̂/∂s_i by central differences."""
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:80], y[:80]
    sw = _weights(80, seed=3)
    fitted = Ridge(alpha=0.5, solver="cholesky").fit(X, y, sample_weight=sw)
    attached = attach(fitted, X, y, sample_weight=sw)
    S = sw.sum()
    for i in (0, 17, 79):
        eps = 1e-4 * S
        thetas = []
        for sign in (1, -1):
            w = sw.copy()
            w[i] += sign * eps
            m = Ridge(alpha=0.5, solver="cholesky").fit(X, y, sample_weight=w)
            thetas.append(np.r_[m.coef_, m.intercept_])
        derivative = S * (thetas[0] - thetas[1]) / (2 * eps)
        assert_allclose(attached.influence_params_[i], derivative, rtol=1e-6)


def test_attach_pipeline():
    X, y = load_breast_cancer(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:320], y[300:320]
    pipe = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10)).fit(
        X_train, y_train
    )
    attached = attach(pipe, X_train, y_train)
    assert type(attached[-1]) is InfluenceLogisticRegression
    assert type(pipe[-1]) is LogisticRegression
    assert_allclose(attached.predict_proba(X_test), pipe.predict_proba(X_test))
    scaler = StandardScaler().fit(X_train)
    direct = InfluenceLogisticRegression(tol=1e-10).fit(
        scaler.transform(X_train), y_train
    )
    got = attached[-1].influence_loss(attached[:-1].transform(X_test), y_test)
    assert_allclose(
        got, direct.influence_loss(scaler.transform(X_test), y_test), rtol=1e-10
    )


def test_attach_keeps_working_copies():
    X, y = _cancer()
    attached = attach(LogisticRegression(tol=1e-10).fit(X, y), X, y)
    again = pickle.loads(pickle.dumps(attached))
    assert_allclose(again.influence_params_, attached.influence_params_)
    refit = clone(attached).fit(X, y)
    assert_allclose(refit.influence_params_, attached.influence_params_, rtol=1e-8)
    # an Influence* estimator can be attached to (its own) data again
    assert_allclose(
        attach(attached, X, y).influence_params_, attached.influence_params_
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_attach_refuses():
    X, y = _cancer()
    with pytest.raises(TypeError, match="no influence support for SVR"):
        attach(SVR(kernel="linear").fit(X, y), X, y)
    with pytest.raises(NotFittedError):
        attach(LogisticRegression(), X, y)
    fitted = LogisticRegression(tol=1e-10).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        attach(fitted, X[:, :5], y)
    with pytest.raises(ValueError, match="rows"):
        attach(fitted, X, y[:-1])
    l1 = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=0.5).fit(X, y)
    with pytest.raises(NotImplementedError, match="L1"):
        attach(l1, X, y)


def test_attach_checks_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _cancer()
    frame = pd.DataFrame(X, columns=[f"f{k}" for k in range(X.shape[1])])
    fitted = LogisticRegression(tol=1e-10).fit(frame, y)
    renamed = frame.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        attach(fitted, renamed, y)
    assert_allclose(
        attach(fitted, frame, y).influence_params_,
        InfluenceLogisticRegression(tol=1e-10).fit(frame, y).influence_params_,
        rtol=1e-12,
    )


def test_attach_warns_on_wrong_data():
    X, y = load_breast_cancer(return_X_y=True)
    X = scale(X)
    fitted = LogisticRegression(tol=1e-10).fit(X[:300], y[:300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attach(fitted, X[:300], y[:300])  # the right data: silent
    with pytest.warns(TrainingDataWarning, match="probably not the data"):
        attach(fitted, X[150:450], y[150:450])
    Xd, yd = load_diabetes(return_X_y=True)
    ridge = Ridge(alpha=0.1).fit(Xd[:300], yd[:300])
    with pytest.warns(TrainingDataWarning, match="probably not the data"):
        attach(ridge, Xd[:300], yd[:300], sample_weight=_weights(300))
    ones = y[:300] == 1
    with pytest.warns(TrainingDataWarning, match="labels"):
        with pytest.warns(TrainingDataWarning, match="probably not the data"):
            attach(fitted, X[:300][ones], y[:300][ones])


def test_attach_passes_on_nonstationary_warning():
    X, y = _cancer(400)
    short = LogisticRegression().fit(X, y)  # default tol: a little short
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        attached = attach(short, X, y)
    assert [w.category for w in record] == [NonStationaryWarning]
    assert 0.1 < attached.influence_state().stationarity.ratio < 2


def _searches():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import (
        GridSearchCV,
        HalvingGridSearchCV,
        HalvingRandomSearchCV,
        RandomizedSearchCV,
    )

    grid = {"ridge__alpha": [0.01, 1.0, 100.0]}
    return [
        pytest.param(GridSearchCV, {"param_grid": grid}, id="GridSearchCV"),
        pytest.param(
            RandomizedSearchCV,
            {"param_distributions": grid, "n_iter": 2, "random_state": 0},
            id="RandomizedSearchCV",
        ),
        pytest.param(
            HalvingGridSearchCV, {"param_grid": grid}, id="HalvingGridSearchCV"
        ),
        pytest.param(
            HalvingRandomSearchCV,
            {"param_distributions": grid, "random_state": 0},
            id="HalvingRandomSearchCV",
        ),
    ]


@pytest.mark.parametrize("search_class, search_params", _searches())
@pytest.mark.parametrize("piped", [False, True], ids=["estimator", "pipeline"])
def test_attach_search_attaches_its_refit_best_estimator(
    search_class, search_params, piped
):
    X, y = load_diabetes(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:305], y[300:305]
    pipe = make_pipeline(StandardScaler(), Ridge())
    params = search_params
    if not piped:
        pipe = Ridge()
        key = "param_grid" if "param_grid" in params else "param_distributions"
        params = {**params, key: {"alpha": params[key]["ridge__alpha"]}}
    search = search_class(pipe, cv=3, **params).fit(X_train, y_train)
    attached = attach(search, X_train, y_train)
    direct = attach(search.best_estimator_, X_train, y_train)
    assert type(attached) is type(direct)
    assert_allclose(
        attached.influence_loss(X_test, y_test), direct.influence_loss(X_test, y_test)
    )
    # and both are the influence of a model fitted with the best parameters
    alpha = search.best_params_["ridge__alpha" if piped else "alpha"]
    scaler = StandardScaler().fit(X_train) if piped else None
    Z_train = scaler.transform(X_train) if piped else X_train
    Z_test = scaler.transform(X_test) if piped else X_test
    refit = InfluenceRidge(alpha=alpha).fit(Z_train, y_train)
    assert_allclose(
        attached.influence_loss(X_test, y_test),
        refit.influence_loss(Z_test, y_test),
        rtol=1e-7,
    )


def test_attach_search_refuses_refit_false_and_unfitted():
    from sklearn.model_selection import GridSearchCV

    X, y = load_diabetes(return_X_y=True)
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2, refit=False)
    with pytest.raises(ValueError, match=r"GridSearchCV\(refit=False\)"):
        attach(search.fit(X, y), X, y)
    with pytest.raises(NotFittedError):
        attach(GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}), X, y)
