"""Every bad or degenerate input of issue 16, one table row each.

Each case ends in either a correct answer, checked against an independent
computation (a refit, central differences of refits, a textbook identity, the
oracles of ``tests/oracles.py``), or one of our clear errors: a ``ValueError`` /
``TypeError`` whose message names the argument or the reason, or a documented
warning (``doc/guide/refusals.rst``). Never an internal error type.
"""

import re
import warnings

import numpy as np
import pytest
from oracles import cooks_distance, objective_of, oracle_loo, rel_err, theta_of
from scipy import sparse
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
)

import skinfluence as sk
from skinfluence import NonStationaryWarning
from skinfluence._solvers import SingularHessianWarning
from skinfluence._state import SeparationWarning

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))
Y = X @ [1.0, 2.0, 3.0] + RNG.normal(size=20)
Y_BINARY = (X[:, 0] + RNG.logistic(size=20) > 0).astype(int)
Y_COUNTS = RNG.poisson(np.exp(0.3 * X[:, 0])).astype(float)
Y_3 = np.array([0] * 10 + [1] * 9 + [2])  # class 2 has one row: 19


def quiet(factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory()


def ridge():
    return quiet(lambda: sk.InfluenceRidge().fit(X, Y))


def poisson(**kw):
    return quiet(
        lambda: sk.InfluencePoissonRegressor(tol=1e-12, max_iter=1000, **kw).fit(
            X, Y_COUNTS
        )
    )


def logistic3():
    return quiet(
        lambda: sk.InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(
            X, Y_3
        )
    )


def raises(exc, match):
    """A case that must end in our clear error."""

    def check(call):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc, match=match):
                call()

    return check


def warns(category, match):
    """A case that must warn (and then return) with our message."""

    def check(call):
        with pytest.warns(category, match=match):
            return call()

    return check


def equals(expected):
    """A case whose answer is a known value (textbook), without a warning."""

    def check(call):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(call(), expected, atol=1e-10)

    return check


# -- inputs: targets ------------------------------------------------------------
def _pandas_na_targets():
    pd = pytest.importorskip("pandas")
    return pd.array([pd.NA, 1.0], dtype="Float64")


def _pandas_na_object():
    pd = pytest.importorskip("pandas")
    return np.array([pd.NA, 1.0], dtype=object)


INPUT_CASES = [
    (
        "scalar-y_test",
        ridge,
        lambda m: m.influence_loss(X[:1], 1.0),
        "y_test.* must be an array-like",
    ),
    (
        "short-y_test",
        ridge,
        lambda m: m.influence_loss(X[:3], Y[:2]),
        "y_test has 2 value",
    ),
    (
        "nan-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2], [np.nan, 1.0]),
        "y_test has NaN",
    ),
    (
        "inf-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2], [np.inf, 1.0]),
        "y_test has NaN",
    ),
    (
        "pd.NA-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2], _pandas_na_targets()),
        "y_test has NaN",
    ),
    (
        "pd.NA-object-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2], _pandas_na_object()),
        "y_test has NaN",
    ),
    (
        "None-in-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2], [None, 1.0]),
        "y_test has NaN",
    ),
    (
        "nan-y_test-loo_loss_change",
        ridge,
        lambda m: m.loo_loss_change(X[:2], [np.nan, 1.0]),
        "y_test has NaN",
    ),
    (
        "nan-y_test-top_influences",
        ridge,
        lambda m: m.top_influences(X[:2], [np.nan, 1.0]),
        "y_test has NaN",
    ),
    (
        "nan-y_test-mean_loss",
        ridge,
        lambda m: sk.mean_loss(m, X[:2], [np.nan, 1.0]),
        "y_test has NaN",
    ),
    (
        "poisson-negative-y_test",
        poisson,
        lambda m: m.influence_loss(X[:2], [-1.0, 1.0]),
        "non-negative targets",
    ),
    (
        "gamma-zero-y_test",
        lambda: quiet(lambda: sk.InfluenceGammaRegressor().fit(X, Y_COUNTS + 1)),
        lambda m: m.influence_loss(X[:2], [0.0, 1.0]),
        "positive targets",
    ),
    (
        "tweedie-1.5-negative-y_test",
        lambda: quiet(lambda: sk.InfluenceTweedieRegressor(power=1.5).fit(X, Y_COUNTS)),
        lambda m: m.influence_loss(X[:2], [-0.5, 1.0]),
        "non-negative targets",
    ),
    (
        "unseen-label-y_test",
        lambda: quiet(lambda: sk.InfluenceLogisticRegression().fit(X, Y_BINARY)),
        lambda m: m.influence_loss(X[:2], [0, 5]),
        "y_test.*not seen in training",
    ),
    (
        "nan-label-y_test",
        lambda: quiet(lambda: sk.InfluenceLogisticRegression().fit(X, Y_BINARY)),
        lambda m: m.influence_loss(X[:2], [0, np.nan]),
        "y_test.*not seen in training",
    ),
    (
        "regressor-without-y_test",
        ridge,
        lambda m: m.influence_loss(X[:2]),
        "needs y_test",
    ),
    ("nan-X_test", ridge, lambda m: m.influence_loss([[np.nan, 0, 0]], [1.0]), "NaN"),
    (
        "wrong-width-X_test",
        ridge,
        lambda m: m.influence_loss(X[:2, :2], Y[:2]),
        "features",
    ),
    (
        "float-indices",
        ridge,
        lambda m: m.remove_effect([0.5]),
        "indices must be integers",
    ),
    (
        "out-of-range-indices",
        ridge,
        lambda m: m.remove_effect([20]),
        r"indices must be in \[0, 20\)",
    ),
    ("empty-indices", ridge, lambda m: m.remove_effect([]), "indices is empty"),
    ("duplicate-indices", ridge, lambda m: m.remove_effect([1, 1]), "duplicates"),
    (
        "bad-method",
        ridge,
        lambda m: m.remove_effect(0, method="magic"),
        "method.* must be",
    ),
    (
        "bad-response_method",
        ridge,
        lambda m: m.influence_prediction(X[:1], "predict_log"),
        "response_method",
    ),
    (
        "top_influences-k-0",
        ridge,
        lambda m: m.top_influences(X[:1], Y[:1], k=0),
        "k.* must be an int in the range \\[1, inf\\)",
    ),
]


@pytest.mark.parametrize(
    "make, call, match", [c[1:] for c in INPUT_CASES], ids=[c[0] for c in INPUT_CASES]
)
def test_bad_input_is_a_clear_error(make, call, match):
    model = make()
    exc = TypeError if "integers" in match else ValueError
    raises(exc, match)(lambda: call(model))


# -- inputs that are valid at the edge of the domain: correct answers ------------
def _refit_weight_derivative(factory, X, y, i, eps=1e-5):
    """``S ∂θ̂/∂s_i`` by central differences of tight refits (ground truth)."""
    s = np.ones(len(y))
    S = s.sum()
    thetas = []
    for sign in (1, -1):
        w = s.copy()
        w[i] += sign * eps * S
        thetas.append(theta_of(quiet(lambda w=w: factory().fit(X, y, sample_weight=w))))
    return (thetas[0] - thetas[1]) / (2 * eps)


def test_poisson_zero_test_counts_are_in_the_domain():
    """``y_test = 0`` is a valid count: the test loss gradient is ``μ [x, 1]``."""
    model = poisson()
    x = X[:1]
    mu = float(model.predict(x)[0])
    grad = mu * np.append(x[0], 1.0)
    expected = [
        grad
        @ _refit_weight_derivative(
            lambda: PoissonRegressor(tol=1e-12, max_iter=1000), X, Y_COUNTS, i
        )
        for i in (0, 7)
    ]
    actual = model.influence_loss(x, [0.0])[0, [0, 7]]
    assert rel_err(actual, expected) < 1e-5


def test_tweedie_power_zero_accepts_any_real_target():
    model = quiet(lambda: sk.InfluenceTweedieRegressor(power=0, alpha=0.1).fit(X, Y))
    assert np.isfinite(model.influence_loss(X[:2], [-3.0, 2.0])).all()


# -- non-finite fits --------------------------------------------------------------
def test_poisson_all_zero_targets_is_refused():
    """scikit-learn returns ``intercept_ = -inf``: no finite minimum."""
    model = quiet(lambda: sk.InfluencePoissonRegressor().fit(X, np.zeros(20)))
    assert np.isneginf(model.intercept_)
    raises(ValueError, "non-finite fitted parameters")(lambda: model.influence_params_)


# -- leverage-1 rows ------------------------------------------------------------------
SQUARE_X = RNG.normal(size=(4, 3))
SQUARE_Y = RNG.normal(size=4)


def square():
    return quiet(lambda: sk.InfluenceLinearRegression().fit(SQUARE_X, SQUARE_Y))


def one_weighted_row():
    w = np.zeros(20)
    w[0] = 1.0
    return quiet(lambda: sk.InfluenceRidge().fit(X, Y, sample_weight=w))


def test_square_system_has_leverage_one_everywhere():
    """Textbook: the hat matrix of a square full-rank design is the identity."""
    np.testing.assert_allclose(square().leverage(), 1.0, atol=1e-10)


def test_interpolating_fit_is_stationary():
    """An exact interpolation has ``∇R = 0``: no NonStationaryWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonStationaryWarning)
        model = sk.InfluenceLinearRegression().fit(SQUARE_X, SQUARE_Y)
        model.influence_params_


DEGENERATE_CASES = [
    (
        "square-cooks_distance",
        square,
        lambda m: m.cooks_distance(),
        raises(ValueError, "no residual degree of freedom"),
    ),
    (
        "square-dfbetas",
        square,
        lambda m: m.dfbetas(),
        raises(ValueError, "no residual degree of freedom"),
    ),
    (
        "square-newton-removal",
        square,
        lambda m: m.remove_effect(0, method="newton"),
        raises(ValueError, "Newton step does not exist"),
    ),
    (
        "square-first-order-removal",
        square,
        lambda m: m.remove_effect(0),
        raises(ValueError, "leverage 1"),
    ),
    (
        "one-row-ridge-newton-removal",
        one_weighted_row,
        lambda m: m.remove_effect(0, method="newton"),
        raises(ValueError, "no training row with positive weight"),
    ),
    (
        "one-row-ridge-exact-removal",
        one_weighted_row,
        lambda m: m.remove_effect(0, method="exact"),
        raises(ValueError, "no training row with positive weight"),
    ),
    (
        "one-row-ridge-leverage",
        one_weighted_row,
        lambda m: m.leverage(),
        # the only weighted row fits itself through the free intercept: h = 1
        equals(np.eye(1, 20).ravel()),
    ),
    (
        "one-row-ridge-dfbeta",
        one_weighted_row,
        lambda m: m.dfbeta(),
        warns(UserWarning, "no leave-one-out Newton step"),
    ),
    (
        "sole-row-of-class-exact",
        logistic3,
        lambda m: m.remove_effect(19, method="exact"),
        raises(ValueError, r"class\(es\) \[2\]"),
    ),
    (
        "sole-row-of-class-newton",
        logistic3,
        lambda m: m.remove_effect(19, method="newton"),
        raises(ValueError, r"class\(es\) \[2\]"),
    ),
    (
        "sole-row-of-class-influence",
        logistic3,
        lambda m: m.remove_effect(19),
        raises(ValueError, r"class\(es\) \[2\]"),
    ),
    (
        "every-row-of-a-binary-class",
        lambda: quiet(lambda: sk.InfluenceLogisticRegression().fit(X, Y_BINARY)),
        lambda m: m.remove_effect(np.flatnonzero(Y_BINARY == 1), method="newton"),
        raises(ValueError, r"class\(es\) \[1\]"),
    ),
    (
        "every-row-ridge-classifier-class",
        lambda: quiet(lambda: sk.InfluenceRidgeClassifier().fit(X, Y_3)),
        lambda m: m.remove_effect(19),
        raises(ValueError, r"class\(es\) \[2\]"),
    ),
    (
        "sole-row-of-class-dfbeta",
        logistic3,
        lambda m: m.dfbeta(),
        warns(UserWarning, "only training rows with positive weight of their class"),
    ),
    (  # a GLM's penalty scales with the weight: without the row nothing is left
        "one-row-poisson-dfbeta",
        lambda: quiet(
            lambda: sk.InfluencePoissonRegressor(alpha=0.1).fit(
                X, Y_COUNTS, sample_weight=np.eye(1, 20).ravel()
            )
        ),
        lambda m: m.dfbeta(),
        warns(UserWarning, r"Row \[0\] carries all the training weight"),
    ),
    (  # Belsley's update of a penalized fit below zero: σ₍ᵢ₎ undefined
        "penalized-negative-belsley-sigma_loo",
        lambda: sk.InfluenceRidge(alpha=100.0, fit_intercept=False).fit(
            [[1.0], [1.0], [1.0], [10.0]], [0.0, 0.0, 0.0, 100.0]
        ),
        lambda m: m.sigma_loo(),
        warns(UserWarning, r"σ₍ᵢ₎ is NaN for rows \[3\]"),
    ),
    (  # a feature zero on every row: its coefficient has no standard error
        "unidentified-parameter-dfbetas",
        lambda: quiet(
            lambda: sk.InfluenceLinearRegression().fit(
                np.column_stack([X, np.zeros(20)]), Y
            )
        ),
        lambda m: m.dfbetas(),
        warns(UserWarning, r"DFBETAS of parameter\(s\) \[3\] are NaN"),
    ),
    (  # scikit-learn refuses the refit: fewer rows than folds
        "lassocv-exact-removal-below-the-folds",
        lambda: sk.InfluenceLassoCV(cv=3).fit(X[:5], Y[:5]),
        lambda m: m.remove_effect([0, 1, 2], method="exact"),
        raises(ValueError, "exact refit of InfluenceLassoCV on the 2 remaining"),
    ),
    (  # scikit-learn's own ZeroDivisionError, reworded naming the estimator
        "lassocv-fold-of-zero-weight",
        lambda: None,
        lambda m: sk.InfluenceLassoCV(cv=3).fit(
            X[:9], Y[:9], sample_weight=np.repeat([0.0, 1.0], [3, 6])
        ),
        raises(ValueError, r"InfluenceLassoCV: a fold of its cross-validation"),
    ),
]


@pytest.mark.parametrize(
    "make, call, check",
    [c[1:] for c in DEGENERATE_CASES],
    ids=[c[0] for c in DEGENERATE_CASES],
)
def test_degenerate_geometry_is_refused_or_documented(make, call, check):
    model = make()
    check(lambda: call(model))


def test_square_dfbeta_is_nan_with_a_warning():
    with pytest.warns(UserWarning, match="no leave-one-out Newton step"):
        assert np.isnan(square().dfbeta()).all()


def test_zero_weight_row_removal_is_the_refit():
    """Removing a row of weight 0 changes nothing: Newton equals the refit."""
    w = np.ones(20)
    w[3] = 0.0
    model = quiet(lambda: sk.InfluenceRidge().fit(X, Y, sample_weight=w))
    keep = np.arange(20) != 3
    refit = Ridge().fit(X[keep], Y[keep], sample_weight=w[keep])
    new = model.remove_effect(3, method="newton")
    np.testing.assert_allclose(new.coef_, refit.coef_, rtol=1e-10)


def test_sole_row_of_class_is_nan_and_the_others_match_the_oracle():
    model = logistic3()
    with pytest.warns(UserWarning, match="only training rows"):
        changes = model.loo_params_change()
    assert np.isnan(changes[19]).all()
    _, expected = oracle_loo(model, X, Y_3, np.ones(20))
    assert rel_err(changes[:19], expected[:19]) < 1e-6


# -- more parameters than rows ------------------------------------------------------------
WIDE_X = RNG.normal(size=(5, 10))
WIDE_Y = RNG.normal(size=5)


def wide():
    return quiet(lambda: sk.InfluenceLinearRegression().fit(WIDE_X, WIDE_Y))


def test_p_greater_than_n_warns_that_predictions_are_not_identified():
    model = sk.InfluenceLinearRegression().fit(WIDE_X, WIDE_Y)
    with pytest.warns(SingularHessianWarning, match="outside the span"):
        model.influence_params_


@pytest.mark.parametrize("method", ["newton", "influence"])
def test_p_greater_than_n_removal_is_refused_not_unchanged(method):
    """A refit without a row is a different interpolant (the first-order change
    is 0): refuse rather than return the unchanged fit."""
    model = wide()
    keep = np.arange(5) != 0
    refit = LinearRegression().fit(WIDE_X[keep], WIDE_Y[keep])
    assert not np.allclose(refit.coef_, model.coef_)  # the refit does move
    raises(ValueError, "leverage 1|Newton step does not exist")(
        lambda: model.remove_effect(0, method=method)
    )


# -- separation and huge C -------------------------------------------------------------------
SEP_X = RNG.normal(size=(40, 2))
SEP_Y = (SEP_X[:, 0] + 0.5 * SEP_X[:, 1] > 0).astype(int)


def separated(C):
    return sk.InfluenceLogisticRegression(
        C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(SEP_X, SEP_Y)


@pytest.mark.parametrize("C", [np.inf, 1e300], ids=["C=inf", "C=1e300"])
def test_separated_without_effective_penalty_is_refused(C):
    model = quiet(lambda: separated(C))
    raises(ValueError, "separates the training data perfectly")(
        lambda: model.influence_params_
    )


def test_separated_with_huge_C_warns_with_the_largest_leverage():
    model = quiet(lambda: separated(1e10))
    with pytest.warns(SeparationWarning, match=r"Largest leverage h = 0\.9"):
        model.influence_params_
    h = quiet(model.leverage)
    i = int(np.argmax(h))
    refit = LogisticRegression(
        C=1e10, solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(np.delete(SEP_X, i, 0), np.delete(SEP_Y, i))
    first = quiet(lambda: model.remove_effect(i)).coef_
    # the warning is deserved: first order misses the refit by a lot
    assert rel_err(first, refit.coef_) > 0.1


def test_separated_with_moderate_C_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        warnings.simplefilter("ignore", NonStationaryWarning)
        separated(1.0).influence_params_


def never_leave_one_out(fitted):
    raise AssertionError("the (n, p) leave-one-out changes were built")


def test_separated_cg_model_does_not_build_the_leave_one_out_array(monkeypatch):
    """p > n sparse logistic (separable, CG solver): the separation check must not
    build the (n, p) leave-one-out changes (MemoryError, 37 GB, at p = 1e5)."""
    import skinfluence._removal as removal

    monkeypatch.setattr(removal, "leave_one_out", never_leave_one_out)
    X = sparse.random(60, 5000, density=0.01, random_state=0, format="csr")
    y = np.arange(60) % 2
    model = quiet(lambda: sk.InfluenceLogisticRegression(C=10.0).fit(X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        warnings.simplefilter("ignore", NonStationaryWarning)
        values = model.influence_loss(X[:3], y[:3])
    assert values.shape == (3, 60) and np.all(np.isfinite(values))


def test_leverage_needs_no_leave_one_out_array(monkeypatch):
    import skinfluence._removal as removal

    model = quiet(lambda: separated(1.0))
    monkeypatch.setattr(removal, "leave_one_out", never_leave_one_out)
    h = quiet(model.leverage)
    # textbook hat values: diag(W^½ X̃ A⁻¹ X̃ᵀ W^½), A = X̃ᵀ W X̃ + diag(1/C, 0)
    Xt = np.column_stack([SEP_X, np.ones(len(SEP_X))])
    p = model.predict_proba(SEP_X)[:, 1]
    w = p * (1 - p)
    A = Xt.T @ (w[:, None] * Xt) + np.diag([1.0] * SEP_X.shape[1] + [0.0])
    expected = np.einsum("ij,ji->i", Xt, np.linalg.solve(A, (w[:, None] * Xt).T))
    assert rel_err(h, expected) < 1e-8


def test_leave_one_out_array_too_large_is_a_clear_memory_error():
    from skinfluence._removal import changes_array

    with pytest.raises(MemoryError, match=r"leverage\(\) needs no such array"):
        changes_array(10**8, 10**8)


def test_cooks_distance_logistic_with_p_at_least_n_uses_dispersion_one():
    """Dispersion 1 needs no residual degrees of freedom (oracle: Newton LOO)."""
    Xw, yw = RNG.normal(size=(6, 8)), np.array([0, 1, 0, 1, 0, 1])
    model = quiet(
        lambda: sk.InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(
            Xw, yw
        )
    )
    actual = quiet(model.cooks_distance)
    objective = objective_of(model, Xw, yw, np.ones(6))
    _, changes = oracle_loo(model, Xw, yw, np.ones(6))
    assert rel_err(actual, cooks_distance(objective, theta_of(model), changes)) < 1e-6


# -- non-stationarity advice and exact refits ----------------------------------------------------
def test_advice_for_an_estimator_without_tol_does_not_mention_tol():
    model = quiet(lambda: sk.InfluenceLinearRegression().fit(X, Y))
    model.coef_ = model.coef_ + 0.5
    with pytest.warns(NonStationaryWarning) as record:
        model.influence_params_
    text = str(record[0].message)
    assert "smaller tol" not in text and "no tolerance to tighten" in text


def test_advice_for_an_estimator_with_tol_mentions_it():
    model = quiet(lambda: sk.InfluenceLogisticRegression(max_iter=2).fit(X, Y_BINARY))
    with pytest.warns(NonStationaryWarning, match="smaller tol"):
        model.influence_params_


SMOOTHED = {
    "smooth_pinball_temperature": lambda: sk.InfluenceQuantileRegressor(
        alpha=0.01, smooth_pinball_temperature=0.01
    ).fit(X, Y),
    "smooth_epsilon_temperature": lambda: sk.InfluenceLinearSVR(
        smooth_epsilon_temperature=0.01, tol=1e-12, max_iter=100_000
    ).fit(X, Y),
    "smooth_hinge_temperature": lambda: sk.InfluenceLinearSVC(
        loss="hinge", smooth_hinge_temperature=0.1, tol=1e-12, max_iter=100_000
    ).fit(X, Y_BINARY),
}


@pytest.mark.parametrize("parameter", SMOOTHED)
def test_advice_for_a_smoothed_loss_does_not_mention_tol(parameter):
    """The estimator minimizes its exact, kinked loss: the smooth surrogate's
    gradient at the fit is not zero at any tol (here fitted at tol=1e-12 where
    there is one), so the warning must not send the user to a smaller tol."""
    model = quiet(SMOOTHED[parameter])
    with pytest.warns(NonStationaryWarning) as record:
        model.influence_params_
    text = str(record[0].message)
    assert re.search(r"\btol\b", text) is None
    assert f"{parameter}=" in text and "expected" in text


def test_exact_removal_says_when_its_refit_did_not_converge():
    model = quiet(
        lambda: sk.InfluenceSGDClassifier(loss="log_loss", random_state=0).fit(
            X, Y_BINARY
        )
    )
    with pytest.warns(NonStationaryWarning, match="exact refit .* did not converge"):
        model.remove_effect(0, method="exact")


# -- memory guards ----------------------------------------------------------------------------------
MEMORY_CASES = [
    (
        "influence_loss",
        lambda m: m.influence_loss(X[:5], Y[:5], max_bytes=100),
        "top_influences",
    ),
    (
        "influence_frame",
        lambda m: m.influence_loss(X[:5], Y[:5], max_bytes=100),
        "max_bytes",
    ),
    (
        "loo_loss_change-newton",
        lambda m: m.loo_loss_change(X[:5], Y[:5], max_bytes=100),
        "in batches",
    ),
    (
        "loo_loss_change-influence",
        lambda m: m.loo_loss_change(X[:5], Y[:5], method="influence", max_bytes=100),
        "top_influences",
    ),
    (
        "influence_prediction",
        lambda m: m.influence_prediction(X[:5], max_bytes=100),
        "in batches",
    ),
    (
        "influence_perturbation",
        lambda m: m.influence_perturbation(X[:5], Y[:5], max_bytes=100),
        "fewer test rows",
    ),
]


@pytest.mark.parametrize(
    "call, alternative", [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES]
)
def test_memory_guard_names_max_bytes_and_the_streaming_alternative(call, alternative):
    model = ridge()
    with pytest.raises(ValueError, match="max_bytes") as info:
        call(model)
    assert alternative in str(info.value)


def test_memory_guard_passes_below_the_limit():
    model = ridge()
    expected = model.influence_loss(X[:5], Y[:5])
    np.testing.assert_array_equal(
        model.influence_loss(X[:5], Y[:5], max_bytes=8 * 5 * 20), expected
    )
