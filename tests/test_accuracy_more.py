"""Predicted vs actual leave-one-out change of a test loss for the estimators
beyond LogisticRegression/Ridge on bundled datasets (every removal refit
tightly). Correlations go to the accuracy table printed at the end of the run.
The plain hinge has its own study in test_smooth_hinge.py."""

import numpy as np
import pytest
from conftest import report_accuracy
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceElasticNet,
    InfluenceElasticNetCV,
    InfluenceGammaRegressor,
    InfluenceHuberRegressor,
    InfluenceLasso,
    InfluenceLassoCV,
    InfluenceLinearSVC,
    InfluenceLogisticRegression,
    InfluenceLogisticRegressionCV,
    InfluencePoissonRegressor,
    InfluenceRidge,
    InfluenceRidgeClassifier,
    InfluenceRidgeClassifierCV,
    InfluenceRidgeCV,
    InfluenceSGDClassifier,
    InfluenceSGDRegressor,
    InfluenceTweedieRegressor,
    NonStationaryWarning,
    loo_refit,
)


def _split(loader, n_train, seed=0):
    X, y = loader(return_X_y=True)
    stratify = y if loader is load_breast_cancer else None
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=n_train, random_state=seed, stratify=stratify
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _loo_correlation(
    model, X, y, x_test, y_test, support_only=False, every=1, reference=None
):
    """Pearson and Spearman of loo_loss_change(method="influence") against refit changes of the
    test point's own loss (the objective's per-sample term, unweighted).
    ``support_only``: Spearman over rows with a nonzero training gradient only
    (for hinge-type losses the others are exact ties at zero). ``every``: refit
    only every k-th removal, to keep slow solvers within the time budget.
    ``reference``: the estimator refit without each row, when it is not the
    model itself (a fixed CV selection, a deterministic solver for SGD)."""
    core = model.influence_state()
    objective, theta = core.objective, core.theta
    adapter = core.adapter
    Y_test = adapter.encode_targets(y_test)

    def loss(t):
        return objective.loss_values(t, x_test, Y_test)[0]

    idx = np.arange(0, len(y), every)
    predicted = model.loo_loss_change(x_test, y_test, method="influence")[0][idx]
    refits = loo_refit(model if reference is None else reference, X, y, indices=idx)
    actual = np.array([loss(t) - loss(theta) for t in refits])
    rows = np.ones(len(idx), bool)
    if support_only:
        G = objective.influence_gradients(theta, idx)
        rows = np.abs(G.toarray() if hasattr(G, "toarray") else G).max(axis=1) > 0
    return pearsonr(predicted, actual)[0], spearmanr(predicted[rows], actual[rows])[0]


GLM_CASES = {
    "diabetes Poisson alpha=0.1": (InfluencePoissonRegressor, {}),
    "diabetes Gamma alpha=0.1": (InfluenceGammaRegressor, {}),
    "diabetes Tweedie power=1.5 alpha=0.1": (
        InfluenceTweedieRegressor,
        dict(power=1.5),
    ),
}


@pytest.mark.parametrize("case", GLM_CASES)
def test_glm_loo_correlation(case):
    cls, params = GLM_CASES[case]
    X, Xt, y, yt = _split(load_diabetes, 150)
    model = cls(alpha=0.1, solver="newton-cholesky", tol=1e-12, **params).fit(X, y)
    pearson, spearman = _loo_correlation(model, X, y, Xt[:1], yt[:1], every=3)
    report_accuracy(f"LOO test-loss change, {case}", pearson=pearson, spearman=spearman)
    assert pearson > 0.97
    assert spearman > 0.97


def test_ridge_classifier_loo_correlation():
    X, Xt, y, yt = _split(load_breast_cancer, 200)
    model = InfluenceRidgeClassifier(alpha=10.0).fit(X, y)
    j = int(np.argmin(model.decision_function(Xt) * np.where(yt == 1, 1, -1)))
    pearson, spearman = _loo_correlation(model, X, y, Xt[j : j + 1], yt[j : j + 1])
    report_accuracy(
        "LOO test-loss change, breast_cancer RidgeClassifier alpha=10",
        pearson=pearson,
        spearman=spearman,
    )
    # the most misclassified test point: high-leverage rows, whose refit change
    # first order misses by 1/(1 - h_ii), dominate the Pearson correlation
    assert pearson > 0.95
    assert spearman > 0.97


def test_linear_svc_squared_hinge_loo_correlation():
    X, Xt, y, yt = _split(load_breast_cancer, 200)
    model = InfluenceLinearSVC(C=0.05, dual=False, tol=1e-12).fit(X, y)
    j = int(np.argmin(model.decision_function(Xt) * np.where(yt == 1, 1, -1)))
    pearson, spearman = _loo_correlation(
        model, X, y, Xt[j : j + 1], yt[j : j + 1], support_only=True
    )
    report_accuracy(
        "LOO test-loss change, breast_cancer LinearSVC sq. hinge C=0.05 "
        "(Spearman over margin violators)",
        pearson=pearson,
        spearman=spearman,
    )
    assert pearson > 0.9
    assert spearman > 0.9


def test_huber_loo_correlation():
    X, Xt, y, yt = _split(load_diabetes, 150)
    model = InfluenceHuberRegressor(alpha=1.0, tol=1e-12, max_iter=10_000).fit(X, y)
    pearson, spearman = _loo_correlation(model, X, y, Xt[:1], yt[:1], every=3)
    report_accuracy(
        "LOO test-loss change, diabetes HuberRegressor alpha=1",
        pearson=pearson,
        spearman=spearman,
    )
    assert pearson > 0.9
    assert spearman > 0.9


def test_lasso_loo_correlation():
    """Removals that change the support are included: the active-set assumption
    is then only approximately true."""
    X, Xt, y, yt = _split(load_diabetes, 200)
    model = InfluenceLasso(alpha=1.0, tol=1e-14, max_iter=100_000).fit(X, y)
    pearson, spearman = _loo_correlation(model, X, y, Xt[:1], yt[:1])
    report_accuracy(
        "LOO test-loss change, diabetes Lasso alpha=1 (active set)",
        pearson=pearson,
        spearman=spearman,
    )
    assert pearson > 0.9
    assert spearman > 0.9


def _hardest(model, Xt, yt):
    j = int(np.argmin(model.decision_function(Xt) * np.where(yt == 1, 1, -1)))
    return Xt[j : j + 1], yt[j : j + 1]


def _cv_ridge():
    X, Xt, y, yt = _split(load_diabetes, 150)
    model = InfluenceRidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X, y)
    return (
        model,
        X,
        y,
        Xt[:1],
        yt[:1],
        dict(reference=InfluenceRidge(alpha=model.alpha_)),
    )


def _cv_ridge_classifier():
    X, Xt, y, yt = _split(load_breast_cancer, 200)
    model = InfluenceRidgeClassifierCV(alphas=np.logspace(-2, 3, 11)).fit(X, y)
    reference = InfluenceRidgeClassifier(alpha=model.alpha_)
    return model, X, y, *_hardest(model, Xt, yt), dict(reference=reference)


def _cv_logistic():
    X, Xt, y, yt = _split(load_breast_cancer, 200)
    model = InfluenceLogisticRegressionCV(Cs=5, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y)
    reference = InfluenceLogisticRegression(
        C=model.C_[0], solver="newton-cholesky", tol=1e-12
    )
    return model, X, y, *_hardest(model, Xt, yt), dict(reference=reference)


def _elastic_net():
    X, Xt, y, yt = _split(load_diabetes, 200)
    model = InfluenceElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-14, max_iter=100_000)
    return model.fit(X, y), X, y, Xt[:1], yt[:1], {}


def _lasso_cv():
    X, Xt, y, yt = _split(load_diabetes, 200)
    tight = dict(tol=1e-14, max_iter=100_000)
    model = InfluenceLassoCV(alphas=np.logspace(-2, 1, 7), **tight).fit(X, y)
    return (
        model,
        X,
        y,
        Xt[:1],
        yt[:1],
        dict(reference=Lasso(alpha=model.alpha_, **tight)),
    )


def _elastic_net_cv():
    X, Xt, y, yt = _split(load_diabetes, 200)
    tight = dict(tol=1e-14, max_iter=100_000)
    model = InfluenceElasticNetCV(
        l1_ratio=[0.2, 0.5, 0.9], alphas=np.logspace(-2, 1, 7), **tight
    ).fit(X, y)
    reference = ElasticNet(alpha=model.alpha_, l1_ratio=model.l1_ratio_, **tight)
    return model, X, y, Xt[:1], yt[:1], dict(reference=reference)


def _l1_logistic():
    X, Xt, y, yt = _split(load_breast_cancer, 120)
    model = InfluenceLogisticRegression(
        C=0.5, l1_ratio=0.5, solver="saga", tol=1e-10, max_iter=100_000
    ).fit(X, y)
    return model, X, y, *_hardest(model, Xt, yt), dict(every=4)


def _multinomial_l1_logistic():
    X, Xt, y, yt = _split(load_wine, 120)
    model = InfluenceLogisticRegression(
        C=0.5, l1_ratio=0.7, solver="saga", tol=1e-10, max_iter=100_000
    ).fit(X, y)
    proba = model.predict_proba(Xt)
    j = int(np.argmax(-np.log(proba[np.arange(len(yt)), yt])))  # hardest
    return model, X, y, Xt[j : j + 1], yt[j : j + 1], dict(every=3)


def _cv_l1_logistic():
    X, Xt, y, yt = _split(load_wine, 120)
    saga = dict(solver="saga", tol=1e-10, max_iter=100_000)
    model = InfluenceLogisticRegressionCV(
        Cs=[0.2, 1.0], l1_ratios=(0.5, 1.0), cv=3, scoring="neg_log_loss",
        use_legacy_attributes=False, **saga,
    ).fit(X, y)  # fmt: skip
    reference = InfluenceLogisticRegression(
        C=model.C_, l1_ratio=model.l1_ratio_, **saga
    )
    proba = model.predict_proba(Xt)
    j = int(np.argmax(-np.log(proba[np.arange(len(yt)), yt])))  # hardest
    options = dict(every=3, reference=reference)
    return model, X, y, Xt[j : j + 1], yt[j : j + 1], options


def _sgd_at_the_minimum(model, tight, X, y):
    """SGD stops short of its minimum; put it there (a deterministic solver on
    the same objective) so that the comparison measures the influence, not SGD."""
    tight = tight.fit(X, y)
    model.coef_ = np.reshape(tight.coef_, np.shape(model.coef_))
    model.intercept_ = np.reshape(tight.intercept_, np.shape(model.intercept_))
    return model


def _sgd_classifier():
    X, Xt, y, yt = _split(load_breast_cancer, 200)
    alpha, n = 0.01, len(y)
    with pytest.warns(NonStationaryWarning):  # SGD itself is never at the minimum
        model = InfluenceSGDClassifier(loss="log_loss", alpha=alpha, random_state=0)
        model.fit(X, y).influence_params_
    tight = LogisticRegression(C=1 / (alpha * n), solver="newton-cholesky", tol=1e-12)
    model = _sgd_at_the_minimum(model, tight, X, y)
    # SGD's penalty is n α/2 ‖w‖², so without one row it is (n - 1) α/2 ‖w‖²
    reference = LogisticRegression(
        C=1 / (alpha * (n - 1)), solver="newton-cholesky", tol=1e-12
    )
    return model, X, y, *_hardest(model, Xt, yt), dict(reference=reference)


def _sgd_regressor():
    X, Xt, y, yt = _split(load_diabetes, 150)
    alpha, n = 0.01, len(y)
    with pytest.warns(NonStationaryWarning):
        model = InfluenceSGDRegressor(alpha=alpha, random_state=0)
        model.fit(X, y).influence_params_
    # ½ (y - f)² averaged plus α/2 ‖w‖² is Ridge's Σ (y - f)² + n α ‖w‖², halved
    model = _sgd_at_the_minimum(model, Ridge(alpha=alpha * n), X, y)
    reference = Ridge(alpha=alpha * (n - 1))
    return model, X, y, Xt[:1], yt[:1], dict(reference=reference)


LOO_CASES = {
    "diabetes RidgeCV (alpha_ held fixed)": (_cv_ridge, 0.99),
    "breast_cancer RidgeClassifierCV (alpha_ held fixed)": (_cv_ridge_classifier, 0.9),
    "breast_cancer LogisticRegressionCV (C_ held fixed)": (_cv_logistic, 0.9),
    "diabetes ElasticNet l1_ratio=0.5 (active set)": (_elastic_net, 0.9),
    "breast_cancer L1 logistic saga l1_ratio=0.5 (active set)": (_l1_logistic, 0.9),
    "wine multinomial L1 logistic saga l1_ratio=0.7 (active set)": (
        _multinomial_l1_logistic,
        0.9,
    ),
    "wine multinomial LogisticRegressionCV l1_ratio_ > 0 (C_, l1_ratio_ fixed)": (
        _cv_l1_logistic,
        0.9,
    ),
    "diabetes LassoCV (alpha_ held fixed, active set)": (_lasso_cv, 0.9),
    "diabetes ElasticNetCV (alpha_, l1_ratio_ held fixed, active set)": (
        _elastic_net_cv,
        0.9,
    ),
    "breast_cancer SGDClassifier log_loss (at its minimum; n-1 refits)": (
        _sgd_classifier,
        0.9,
    ),
    "diabetes SGDRegressor squared_error (at its minimum; n-1 refits)": (
        _sgd_regressor,
        0.9,
    ),
}


@pytest.mark.parametrize("case", LOO_CASES)
def test_loo_correlation(case):
    build, threshold = LOO_CASES[case]
    model, X, y, x_test, y_test, options = build()
    pearson, spearman = _loo_correlation(model, X, y, x_test, y_test, **options)
    report_accuracy(f"LOO test-loss change, {case}", pearson=pearson, spearman=spearman)
    assert pearson > threshold
    assert spearman > threshold
