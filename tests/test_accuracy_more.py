"""Predicted vs actual leave-one-out change of a test loss for the GLMs,
RidgeClassifier and LinearSVC on bundled datasets (every removal refit tightly).
Correlations go to the accuracy table printed at the end of the run."""

import numpy as np
import pytest
from conftest import report_accuracy
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceGammaRegressor,
    InfluenceHuberRegressor,
    InfluenceLasso,
    InfluenceLinearSVC,
    InfluencePoissonRegressor,
    InfluenceRidgeClassifier,
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


def _loo_correlation(model, X, y, x_test, y_test, support_only=False, every=1):
    """Pearson and Spearman of -influence_loss/n against refit changes of the
    test point's own loss (the objective's per-sample term, unweighted).
    ``support_only``: Spearman over rows with a nonzero training gradient only
    (for hinge-type losses the others are exact ties at zero). ``every``: refit
    only every k-th removal, to keep slow solvers within the time budget."""
    core = model._core()
    objective, theta = core["objective"], core["theta"]
    adapter = core["adapter"]
    Y_test = adapter.encode_targets(y_test)

    def loss(t):
        return objective.loss_values(t, x_test, Y_test)[0]

    idx = np.arange(0, len(y), every)
    predicted = -model.influence_loss(x_test, y_test)[0][idx] / len(y)
    refits = loo_refit(model, X, y, indices=idx)
    actual = np.array([loss(t) - loss(theta) for t in refits])
    rows = np.ones(len(idx), bool)
    if support_only:
        G = objective.influence_gradients(theta, idx)
        rows = np.abs(G.toarray() if hasattr(G, "toarray") else G).max(axis=1) > 0
    return pearsonr(predicted, actual)[0], spearmanr(predicted[rows], actual[rows])[0]


GLM_CASES = {
    "diabetes Poisson alpha=0.1": (InfluencePoissonRegressor, 0.1),
    "diabetes Gamma alpha=0.1": (InfluenceGammaRegressor, 0.1),
}


@pytest.mark.parametrize("case", GLM_CASES)
def test_glm_loo_correlation(case):
    cls, alpha = GLM_CASES[case]
    X, Xt, y, yt = _split(load_diabetes, 150)
    model = cls(alpha=alpha, solver="newton-cholesky", tol=1e-12).fit(X, y)
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
