"""Non-uniform sample weights everywhere a share or a count appears.

With unit weights ``s_i/S = 1/n`` and a bug that uses ``n`` for ``S`` (or a
count for a weighted count) cannot be seen; every test here uses weights in
[0.2, 5] (some zero) and compares exact values with independent computations:
central differences of refits in one row's weight, real refits, statsmodels'
WLS, and scikit-learn's own fits with the weights spelled out.
"""

import warnings

import numpy as np
import pytest
from oracles import oracle_removal, rel_err, sample_loss, theta_of
from sklearn.base import clone
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    SGDClassifier,
)
from sklearn.utils.class_weight import compute_class_weight

import skinfluence as sk
from skinfluence import prediction_gap
from skinfluence._adapters import adapter_for
from skinfluence._capabilities import make_data

N = 30


def _weights(n=N, zeros=True, seed=7):
    """Weights in [0.2, 5], rows 3 and 11 at zero; the same on every call."""
    w = np.random.default_rng(seed).uniform(0.2, 5.0, size=n)
    if zeros:
        w[[3, 11]] = 0.0
    return w


def _derivative(estimator, X, y, w, i, f=theta_of, eps=1e-5):
    """``∂f(θ̂)/∂s_i`` by central differences of refits (not scaled by S)."""
    values = []
    for sign in (1.0, -1.0):
        v = w.copy()
        v[i] += sign * eps
        values.append(np.asarray(f(clone(estimator).fit(X, y, sample_weight=v))))
    return (values[0] - values[1]) / (2 * eps)


def _attached(estimator, X, y, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk.attach(clone(estimator).fit(X, y, sample_weight=w), X, y, w)


CASES = {
    "logistic": (
        LogisticRegression(C=0.7, solver="newton-cholesky", tol=1e-12),
        "binary",
    ),
    "ridge": (Ridge(alpha=2.0), "regression"),
    "poisson": (
        PoissonRegressor(alpha=0.3, solver="newton-cholesky", tol=1e-14),
        "counts",
    ),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def weighted(request):
    estimator, kind = CASES[request.param]
    X, y, X_test, y_test = make_data(kind, n=N, d=3, seed=3)
    w = _weights()
    return estimator, X, y, w, X_test, y_test, _attached(estimator, X, y, w)


def test_first_order_removal_uses_each_rows_weight(weighted):
    """``remove_effect(idx, "influence") = θ̂ − Σ_i s_i ∂θ̂/∂s_i``: the share is
    ``s_i/S`` of ``S ∂θ̂/∂s_i``, not ``1/n``."""
    estimator, X, y, w, _, _, model = weighted
    idx = [0, 5, 9]
    expected = theta_of(model) - sum(
        w[i] * _derivative(estimator, X, y, w, i) for i in idx
    )
    actual = theta_of(model.remove_effect(idx, method="influence"))
    step = theta_of(model) - expected
    assert rel_err(actual - theta_of(model), -step) < 1e-4


def test_first_order_loo_params_change_sign_and_share(weighted):
    """``loo_params_change("influence")[i] = −s_i ∂θ̂/∂s_i`` (removing lowers s_i)."""
    estimator, X, y, w, _, _, model = weighted
    change = model.loo_params_change("influence")
    for i in (0, 7):
        expected = -w[i] * _derivative(estimator, X, y, w, i)
        assert rel_err(change[i], expected) < 1e-4
    assert np.all(change[[3, 11]] == 0)  # weight 0: removing changes nothing


def test_first_order_loo_loss_change_share(weighted):
    """``loo_loss_change(method="influence")[j, i] = −s_i ∂L_j/∂s_i``."""
    estimator, X, y, w, X_test, y_test, model = weighted
    change = model.loo_loss_change(X_test[:2], y_test[:2], method="influence")

    def losses(fitted):
        return sample_loss(fitted, X_test[:2], y_test[:2])

    for i in (0, 7):
        expected = -w[i] * _derivative(estimator, X, y, w, i, f=losses)
        assert rel_err(change[:, i], expected) < 1e-4


@pytest.mark.parametrize(
    "estimator, kind",
    [
        (PoissonRegressor(alpha=0.5, solver="newton-cholesky", tol=1e-14), "counts"),
        (Lasso(alpha=0.01, tol=1e-14, max_iter=100000), "regression"),
        (
            ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-14, max_iter=100000),
            "regression",
        ),
    ],
    ids=["poisson", "lasso", "elastic-net"],
)
def test_newton_removal_rescales_a_weight_sum_penalty(estimator, kind):
    """Σs-scaled penalties: the objective without the rows has penalty
    ``(S − Σ_removed s_i) α``; one Newton step on it equals the oracle's (built
    from scikit-learn's objective on the remaining rows) to rounding, and for
    the lasso (squared error, same support) the refit itself."""
    X, y, _, _ = make_data(kind, n=40, d=3, seed=5)
    w = _weights(40)
    model = _attached(estimator, X, y, w)
    idx = np.array([0, 4, 8, 13])
    actual = theta_of(model.remove_effect(idx, method="newton"))
    expected = oracle_removal(model, X, y, w, idx)
    assert rel_err(actual, expected) < 1e-8
    if isinstance(estimator, ElasticNet):  # Lasso is one
        keep = np.setdiff1d(np.arange(40), idx)
        refit = clone(estimator).fit(X[keep], y[keep], sample_weight=w[keep])
        assert np.array_equal(refit.coef_ != 0, model.coef_ != 0)  # same support
        assert rel_err(actual, theta_of(refit)) < 1e-6


def test_weighted_least_squares_dfbetas_match_statsmodels_wls():
    """DFBETAS of WLS divide by the deleted *weighted* residual variance."""
    sm = pytest.importorskip("statsmodels.api")
    X, y, _, _ = make_data("regression", n=N, d=3, seed=2)
    w = _weights(zeros=False)
    model = _attached(LinearRegression(), X, y, w)
    # WLS is OLS on rows scaled by sqrt(w); its diagnostics (as R's
    # influence.measures(lm(weights=w))) are those of the scaled regression
    root = np.sqrt(w)
    influence = (
        sm.OLS(y * root, sm.add_constant(X) * root[:, None]).fit().get_influence()
    )
    expected = np.roll(influence.dfbetas, -1, axis=1)  # const last, as θ
    np.testing.assert_allclose(model.dfbetas(), expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        model.cooks_distance(), influence.cooks_distance[0], rtol=1e-8
    )
    np.testing.assert_allclose(model.leverage(), influence.hat_matrix_diag, rtol=1e-8)


def test_sgd_balanced_class_weights_use_unweighted_counts():
    """scikit-learn's SGDClassifier computes "balanced" from unweighted class
    counts: the fit with class_weight="balanced" and sample weights equals the
    fit with those counts' weights multiplied in by hand; the adapter's
    effective weights are exactly those."""
    X, y, _, _ = make_data("binary", n=N, d=3, seed=4)
    w = _weights(zeros=False)
    params = dict(loss="log_loss", random_state=0, tol=None, max_iter=50)
    balanced = SGDClassifier(class_weight="balanced", **params).fit(
        X, y, sample_weight=w
    )
    classes = np.unique(y)
    counts_weight = compute_class_weight("balanced", classes=classes, y=y)
    by_hand = SGDClassifier(**params).fit(
        X, y, sample_weight=w * counts_weight[np.searchsorted(classes, y)]
    )
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-10)
    wrong = compute_class_weight("balanced", classes=classes, y=y, sample_weight=w)
    assert not np.allclose(wrong, counts_weight)  # the two definitions differ here
    objective = adapter_for(balanced).objective(X, y, w)
    np.testing.assert_allclose(
        objective.sample_weight, w * counts_weight[np.searchsorted(classes, y)]
    )


def test_prediction_gap_defaults_to_the_positive_class_column():
    """Binary ``predict_proba``: the default column is ``classes_[1]``, and the
    value is the gap of scikit-learn's own probabilities of that class."""
    X, y, _, _ = make_data("binary", n=N, d=3, seed=1)
    labels = np.where(y == 1, "yes", "no")
    model = sk.InfluenceLogisticRegression().fit(X, labels)
    gap = prediction_gap(model, X[:10], X[10:])
    assert model.classes_[1] == "yes" and gap.output == 1
    proba = model.predict_proba(X)[:, list(model.classes_).index("yes")]
    assert gap.value_ == pytest.approx(proba[:10].mean() - proba[10:].mean(), rel=1e-12)


def test_objective_weight_sum_is_the_sum_of_effective_weights():
    """``S = Σ s_i`` (with class weights), never the row count."""
    X, y, _, _ = make_data("binary", n=N, d=3, seed=1)
    w = _weights()
    model = LogisticRegression(class_weight={0: 2.0, 1: 0.5}).fit(X, y, sample_weight=w)
    objective = adapter_for(model).objective(X, y, w)
    expected = (w * np.where(y == 0, 2.0, 0.5)).sum()
    assert objective.weight_sum == pytest.approx(expected, rel=1e-14)


def test_sgd_penalty_scales_with_the_row_count_not_the_weight_sum():
    """SGD minimizes ``(1/n) Σ s_i ½ r_i² + α/2 ‖w‖²`` (a count ``n``, not ``S``):
    its sum form ``Σ s_i ½ r_i² + n α/2 ‖w‖²`` is minimized by Ridge with
    ``alpha = n α`` on the same weights; at that minimizer the adapter's
    objective has zero gradient."""
    from sklearn.linear_model import SGDRegressor

    X, y, _, _ = make_data("regression", n=N, d=3, seed=6)
    w = _weights(zeros=False)
    sgd = SGDRegressor(alpha=0.05, random_state=0).fit(X, y, sample_weight=w)
    ridge = Ridge(alpha=N * sgd.alpha).fit(X, y, sample_weight=w)
    sgd.coef_, sgd.intercept_ = ridge.coef_.copy(), np.atleast_1d(ridge.intercept_)
    objective = adapter_for(sgd).objective(X, y, w)
    gradient = objective.gradient(theta_of(ridge))
    assert (
        np.abs(gradient).max()
        < 1e-10 * np.abs(objective.sample_gradients(theta_of(ridge))).max()
    )
