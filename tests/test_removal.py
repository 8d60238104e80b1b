"""Newton-step removal, vectorized leave-one-out, exact refits and non-converged fits,
against real refits; accuracy tables for first order vs Newton."""

import warnings

import numpy as np
import pytest
from conftest import report_accuracy
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
    NonStationaryWarning,
    loo_refit,
)


def _theta(model):
    parts = [np.ravel(model.coef_)]
    if model.fit_intercept:
        parts.append(np.atleast_1d(model.intercept_))
    return np.concatenate(parts)


@st.composite
def least_squares_problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(12, 50))
    d = draw(st.integers(1, 5))
    assume(n > d + 3)
    n_targets = draw(st.sampled_from([1, 2]))
    fit_intercept = draw(st.booleans())
    weighted = draw(st.booleans())
    alpha = draw(st.sampled_from([0.0, 0.01, 1.0, 30.0]))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.2, 5.0, d) + rng.normal(size=d)
    y = X @ rng.normal(size=(d, n_targets)) + rng.standard_t(3, size=(n, n_targets)) + 2
    y = y[:, 0] if n_targets == 1 else y
    sw = rng.uniform(0.2, 4.0, n) if weighted else None
    return X, y, sw, alpha, fit_intercept, rng


@given(problem=least_squares_problems())
def test_newton_removal_is_the_exact_refit_for_squared_error(problem):
    X, y, sw, alpha, fit_intercept, rng = problem
    if alpha == 0:
        model, reference = InfluenceLinearRegression, LinearRegression
        kw = dict(fit_intercept=fit_intercept)
    else:
        model, reference = InfluenceRidge, Ridge
        kw = dict(alpha=alpha, fit_intercept=fit_intercept)
    fitted = model(**kw).fit(X, y, sample_weight=sw)
    refits = loo_refit(reference(**kw), X, y, sample_weight=sw)
    actual = refits - _theta(fitted)
    newton = fitted.loo_params_change("newton")
    scale = np.abs(actual).max()
    np.testing.assert_allclose(newton, actual, rtol=1e-10, atol=1e-10 * scale)
    # a group of rows, by Woodbury, is the exact group refit too
    group = rng.choice(len(X), size=3, replace=False)
    keep = np.setdiff1d(np.arange(len(X)), group)
    kw_fit = {} if sw is None else {"sample_weight": sw[keep]}
    truth = reference(**kw).fit(X[keep], y[keep], **kw_fit)
    predicted = fitted.remove_effect(group, method="newton")
    np.testing.assert_allclose(
        _theta(predicted), _theta(truth), rtol=1e-10, atol=1e-10 * scale
    )


def _logistic_oracle_newton_step(X, y, sw, C, theta, drop):
    """One Newton step on scikit-learn's own loss (LinearModelLoss, a private class used
    only as an independent oracle) without the dropped rows."""
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    classes = np.unique(y)
    K = len(classes)
    loss = LinearModelLoss(
        HalfBinomialLoss() if K == 2 else HalfMultinomialLoss(n_classes=K),
        fit_intercept=True,
    )
    keep = np.setdiff1d(np.arange(len(y)), drop)
    yk = np.searchsorted(classes, y[keep]).astype(float)
    d = X.shape[1]
    if K == 2:
        coef = theta
    else:  # LinearModelLoss orders multinomial coef as (K, d + 1) raveled "F"
        W = np.column_stack([theta[: K * d].reshape(K, d), theta[K * d :]])
        coef = W.ravel(order="F")
    l2 = 0.0 if np.isinf(C) else 1.0 / (C * sw[keep].sum())
    grad, hess, _ = loss.gradient_hessian(
        coef, X[keep], yk, sample_weight=sw[keep], l2_reg_strength=l2
    )
    step = -np.linalg.lstsq(hess, grad.ravel(order="F") if K > 2 else grad, rcond=None)[
        0
    ]
    if K > 2:
        step = step.reshape(d + 1, K).T  # back to (K, d + 1)
        step = np.r_[step[:, :d].ravel(), step[:, d]]
    return step


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize("C", [0.5, np.inf], ids=["C=0.5", "unpenalized"])
def test_logistic_newton_removal_is_one_newton_step_of_sklearns_loss(n_classes, C):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70, 3))
    logits = X @ rng.normal(size=(3, n_classes)) + 2 * rng.gumbel(size=(70, n_classes))
    y = logits.argmax(axis=1)
    sw = rng.uniform(0.5, 2.0, 70)
    model = InfluenceLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y, sample_weight=sw)
    theta = _theta(model)
    for drop in [[4], [10, 20, 30]]:
        step = _logistic_oracle_newton_step(X, y, sw, C, theta, drop)
        ours = _theta(model.remove_effect(drop, method="newton")) - theta
        if n_classes > 2:  # compare modulo the unidentified common shifts
            for v in (step, ours):
                v[9:] -= v[9:].mean()
                if np.isinf(C):
                    W = v[:9].reshape(3, 3)
                    W -= W.mean(axis=0)
                    v[:9] = W.ravel()
        np.testing.assert_allclose(
            ours, step, rtol=1e-7, atol=1e-9 * np.abs(step).max()
        )
        if len(drop) == 1:
            np.testing.assert_allclose(
                model.loo_params_change("newton")[drop[0]] + model.newton_step_,
                _theta(model.remove_effect(drop, method="newton")) - theta,
                atol=1e-12,
            )


def _split(loader, n_train):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=n_train, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


LOO_CASES = {
    "breast_cancer binary C=1": (load_breast_cancer, 200, 1.0),
    "wine multinomial C=1": (load_wine, 120, 1.0),
}


@pytest.mark.parametrize("case", LOO_CASES)
def test_newton_loo_is_at_least_as_accurate_as_first_order(case):
    loader, n_train, C = LOO_CASES[case]
    X, Xt, y, yt = _split(loader, n_train)
    model = InfluenceLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12).fit(
        X, y
    )
    refits = loo_refit(model, X, y)
    probe = model.remove_effect(0)  # a second model to evaluate test losses at any θ
    K, d = model.coef_.shape

    def test_losses(theta):
        probe.coef_, probe.intercept_ = theta[: K * d].reshape(K, d), theta[K * d :]
        return -np.log(
            probe.predict_proba(Xt)[
                np.arange(len(yt)), np.searchsorted(model.classes_, yt)
            ]
        )

    base = test_losses(_theta(model))
    actual = np.array([test_losses(t) - base for t in refits]).T  # (n_test, n_train)
    j = int(np.argmax(base))
    numbers = {}
    for method in ["influence", "newton"]:
        predicted = model.loo_loss_change(Xt, yt, method=method)
        numbers[f"{method}_pearson"] = pearsonr(predicted[j], actual[j])[0]
        numbers[f"{method}_spearman"] = spearmanr(predicted[j], actual[j])[0]
        numbers[f"{method}_rel_err_all"] = np.linalg.norm(
            predicted - actual
        ) / np.linalg.norm(actual)
    report_accuracy(f"LOO hardest test point, {case}", **numbers)
    # Newton's error is second order in the removal, first order's is first order
    assert numbers["newton_pearson"] >= numbers["influence_pearson"]
    assert numbers["newton_rel_err_all"] < 0.5 * numbers["influence_rel_err_all"]


def test_group_removal_accuracy():
    X, Xt, y, yt = _split(load_breast_cancer, 300)
    model = InfluenceLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(
        X, y
    )
    rng = np.random.default_rng(0)
    groups = {
        f"random {pct}%": [
            rng.choice(300, size=300 * pct // 100, replace=False) for _ in range(12)
        ]
        for pct in (1, 5, 10)
    }
    groups["one class, 10%"] = [
        rng.choice(np.flatnonzero(y == c), size=30, replace=False)
        for c in (0, 1)
        for _ in range(6)
    ]
    for name, members in groups.items():
        actual, first, newton = [], [], []
        for group in members:
            keep = np.setdiff1d(np.arange(300), group)
            refit = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(
                X[keep], y[keep]
            )
            actual.append(refit.decision_function(Xt) - model.decision_function(Xt))
            first.append(
                model.remove_effect(group).decision_function(Xt)
                - model.decision_function(Xt)
            )
            newton.append(
                model.remove_effect(group, method="newton").decision_function(Xt)
                - model.decision_function(Xt)
            )
        numbers = {}
        for method, predicted in [("influence", first), ("newton", newton)]:
            pooled = np.ravel(predicted), np.ravel(actual)
            numbers[f"{method}_pearson"] = pearsonr(*pooled)[0]
            numbers[f"{method}_median_rel_err"] = np.median(
                [
                    np.linalg.norm(p - a) / np.linalg.norm(a)
                    for p, a in zip(predicted, actual, strict=True)
                ]
            )
        report_accuracy(f"group removal ({name}), test decision changes", **numbers)
        if name.startswith("random"):
            # small random groups are where the one-step expansion is accurate:
            # Newton's error is second order in the removal, first order's first
            assert (
                numbers["newton_median_rel_err"] < numbers["influence_median_rel_err"]
            )


def test_exact_removal_is_a_tight_warm_started_refit():
    X, _, y, _ = _split(load_wine, 120)
    model = InfluenceLogisticRegression(C=0.3, tol=1e-4).fit(X, y)  # lbfgs, default tol
    exact = model.remove_effect([3, 9], method="exact")
    keep = np.setdiff1d(np.arange(120), [3, 9])
    truth = LogisticRegression(C=0.3, solver="newton-cholesky", tol=1e-12).fit(
        X[keep], y[keep]
    )
    np.testing.assert_allclose(
        exact.predict_proba(X), truth.predict_proba(X), atol=1e-7
    )
    assert (
        exact.get_params() == model.get_params()
    )  # tolerance restored after the refit
    assert exact.influence_params_.shape == (118, 3 * 13 + 3)


def test_exact_removal_refused_by_the_refit_names_the_estimator():
    """An exact removal is a refit: where scikit-learn refuses it (fewer rows
    left than cross-validation folds) the error names the estimator, the rows
    left and the alternative."""
    from sklearn.linear_model import LassoCV

    from skinfluence import InfluenceLassoCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 2))
    y = X[:, 0] + rng.normal(size=5)
    model = InfluenceLassoCV(cv=3).fit(X, y)
    with pytest.raises(ValueError, match="n_splits=3"):
        LassoCV(cv=3).fit(X[3:], y[3:])
    with pytest.raises(
        ValueError, match="exact refit of InfluenceLassoCV on the 2 remaining rows"
    ):
        model.remove_effect([0, 1, 2], method="exact")


def test_leave_one_out_of_the_row_carrying_all_the_weight_is_nan_with_a_warning():
    """A GLM's penalty scales with the total weight: without the only row of
    positive weight the objective is zero and has no minimizer, so that row's
    leave-one-out change is NaN with a warning (it was an internal ValueError of
    a solve on infinities); removing a row of zero weight changes nothing."""
    from skinfluence import InfluencePoissonRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    y = rng.poisson(2.0, size=6).astype(float)
    w = np.zeros(6)
    w[2] = 1.5
    model = InfluencePoissonRegressor(alpha=0.1, tol=1e-12).fit(X, y, sample_weight=w)
    with pytest.warns(UserWarning, match=r"Row \[2\] carries all the training weight"):
        change = model.loo_params_change()
    assert np.isnan(change[2]).all()
    others = np.delete(change, 2, axis=0)
    np.testing.assert_allclose(others, 0.0, atol=1e-10)


def test_newton_update_repairs_an_underconverged_fit():
    """Appendix B: at a non-minimum, influences from the Newton-updated point match the
    weight derivative of converged refits far better than naive ones."""
    X, _, y, _ = _split(load_breast_cancer, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loose = InfluenceLogisticRegression(C=1.0, max_iter=10).fit(X, y)
    with pytest.warns(NonStationaryWarning):
        naive = loose.influence_params_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonStationaryWarning)
        corrected = loose.newton_update().influence_params_
    eps = 1e-4
    errors_naive, errors_corrected = [], []
    for i in [0, 50, 150]:
        s_up, s_down = np.ones(200), np.ones(200)
        s_up[i] += eps * 200
        s_down[i] -= eps * 200
        tight = dict(C=1.0, solver="newton-cholesky", tol=1e-12)
        up = LogisticRegression(**tight).fit(X, y, sample_weight=s_up)
        down = LogisticRegression(**tight).fit(X, y, sample_weight=s_down)
        truth = (_theta(up) - _theta(down)) / (2 * eps)
        errors_naive.append(np.linalg.norm(naive[i] - truth) / np.linalg.norm(truth))
        errors_corrected.append(
            np.linalg.norm(corrected[i] - truth) / np.linalg.norm(truth)
        )
    report_accuracy(
        "under-converged fit (max_iter=10): influence rel. error",
        naive=max(errors_naive),
        newton_updated=max(errors_corrected),
    )
    assert max(errors_corrected) < 0.1 * max(errors_naive)


# -- first-order removal: the share is s_i/S, with its sign --------------------------

FIRST_ORDER = {
    "logistic": (
        lambda: LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12),
        lambda: InfluenceLogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12),
    ),
    "ridge": (lambda: Ridge(alpha=2.0), lambda: InfluenceRidge(alpha=2.0)),
}


@pytest.mark.parametrize("case", FIRST_ORDER)
def test_first_order_removal_is_minus_the_weight_times_the_weight_derivative(case):
    """With very unequal weights, ``loo_params_change("influence")[i]``,
    ``remove_effect(i, "influence")`` and ``loo_loss_change(method="influence")``
    must all be ``-s_i ∂/∂s_i`` of tight refits (central differences): the share
    is ``s_i/S`` (not ``1/n``) and the sign is that of a removal."""
    plain, ours = FIRST_ORDER[case]
    rng = np.random.default_rng(7)
    X = rng.normal(size=(50, 3))
    if case == "logistic":
        y = (X @ [1.0, -1.0, 0.5] + rng.logistic(size=50) > 0).astype(int)
        y_test = y[:4]
    else:
        y = X @ [1.0, -1.0, 0.5] + rng.normal(size=50)
        y_test = y[:4] + 1.0
    X_test = X[:4] + 0.3
    w = rng.choice([0.2, 5.0], size=50)  # S/n far from 1 and s_i far from S/n
    model = ours().fit(X, y, sample_weight=w)
    changes = model.loo_params_change("influence")
    losses = model.loo_loss_change(X_test, y_test, method="influence")

    def test_losses(fitted):
        if case == "logistic":
            p = fitted.predict_proba(X_test)[:, 1]
            return -np.log(np.where(y_test == 1, p, 1 - p))
        return (y_test - fitted.predict(X_test)) ** 2

    h = 1e-5
    for i in [0, 3, 11]:
        fits = []
        for sign in (1, -1):
            weights = w.copy()
            weights[i] *= 1 + sign * h
            fits.append(plain().fit(X, y, sample_weight=weights))
        # d/ds_i by central differences, times -s_i: the first-order removal
        d_theta = -(_theta(fits[0]) - _theta(fits[1])) / (2 * h)
        d_loss = -(test_losses(fits[0]) - test_losses(fits[1])) / (2 * h)
        scale = np.abs(d_theta).max()
        np.testing.assert_allclose(changes[i], d_theta, atol=1e-6 * scale)
        removed = _theta(model.remove_effect(i, method="influence"))
        np.testing.assert_allclose(removed - _theta(model), d_theta, atol=1e-6 * scale)
        np.testing.assert_allclose(
            losses[:, i], d_loss, atol=1e-6 * np.abs(d_loss).max()
        )
