"""QuantileRegressor through the smooth pinball loss.

scikit-learn solves ``(1/S) Σ s_i ρ_q(r_i) + α‖w‖₁`` exactly as a linear
program; ``smooth_pinball_temperature = t`` replaces ``ρ_q(r) = q r + max(0, -r)``
by ``q r + t log(1 + e^(-r/t))``. Ground truths, none from skinfluence:

- the objective: scikit-learn's fit is the minimizer of our own linear program
  (``oracles.exact_quantile_regression``, HiGHS dual simplex);
- as ``t → 0``, at the exact solution: central differences of exact LP refits
  in one row's weight. The weights enter only the LP's costs, so its optimal
  vertex, and θ̂, is piecewise *constant* in them: the exact derivative is 0
  between breaks, and the smoothed influence must vanish like the bias derived
  in :func:`_smoothing_bias`;
- at fixed ``t``, at the smoothed objective's minimizer (damped Newton on the
  active set, ``oracles.py``): central differences of those minimizers;
- leave-one-out: exact LP refits without each row.
"""

import warnings

import numpy as np
import pytest
from conftest import (
    INTERCEPT,
    influence_at,
    regression_problems,
    report_accuracy,
    standardized_diabetes,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import (
    exact_quantile_regression,
    minimize,
    objective_of,
    piecewise_weight_derivative,
    theta_of,
    weight_derivative,
    with_theta,
)
from scipy.special import expit
from scipy.stats import pearsonr, spearmanr
from sklearn.linear_model import QuantileRegressor

from skinfluence import InfluenceQuantileRegressor, NonStationaryWarning, attach


@st.composite
def problems(draw, unit_weights=True):
    """``unit_weights=False``: always uneven weights. With unit weights and
    ``q·n`` an integer the LP's minimizer is typically not unique (a whole edge
    is optimal): θ̂ jumps between its ends at ``s`` itself, no derivative."""
    X, y, s = draw(
        regression_problems(lambda rng, n: rng.standard_t(3, size=n), unit_weights)
    )
    quantile = draw(st.sampled_from([0.2, 0.5, 0.9]))
    alpha = draw(st.sampled_from([0.0, 0.02, 0.3]))
    return X, y, s, quantile, alpha


def _fit(X, y, s, quantile, alpha, fit_intercept, t):
    return InfluenceQuantileRegressor(
        quantile=quantile,
        alpha=alpha,
        fit_intercept=fit_intercept,
        smooth_pinball_temperature=t,
    ).fit(X, y, sample_weight=s)


@INTERCEPT
def test_fit_is_the_exact_linear_program_minimum(fit_intercept):
    """The objective stated (sum form, penalty ``S α`` on the coefficients,
    intercept free) is the one scikit-learn minimizes: its fit has our LP's
    optimal value (the minimizer itself can be non-unique)."""

    @given(problem=problems())
    def check(problem):
        X, y, s, q, alpha = problem
        theta, _ = exact_quantile_regression(X, y, q, alpha, s, fit_intercept)
        model = QuantileRegressor(quantile=q, alpha=alpha, fit_intercept=fit_intercept)
        fitted = theta_of(model.fit(X, y, sample_weight=s))

        def objective(theta):
            r = y - X @ theta[: X.shape[1]] - (theta[-1] if fit_intercept else 0.0)
            pinball = np.where(r >= 0, q * r, (q - 1) * r)
            return s @ pinball + s.sum() * alpha * np.abs(theta[: X.shape[1]]).sum()

        assert objective(fitted) == pytest.approx(objective(theta), rel=1e-9)

    check()


def _smoothing_bias(Xa, y, s, q, alpha, theta, active, n_coef, t):
    """How far the smoothed influence at the exact LP solution may sit from
    the exact derivative, 0.

    At a vertex the active parameters (``p`` of them: nonzero coefficients,
    intercept) are fixed by ``p`` basis rows with ``r_j = 0``, where the smooth
    pinball has curvature ``1/(4t)``; the other rows, beyond 50t, have
    curvature ``< e⁻⁵⁰/t``. So ``H = A/(4t)`` with ``A = Σ_basis s_j x̃_j x̃_jᵀ``
    (active coordinates) and the influence ``-S H⁻¹ g_i = -4 t S A⁻¹ g_i``,
    ``g_i = -(q - σ(-r_i/t)) x̃_i + α sign(w)`` (the penalty's share, as it is
    proportional to ``S``): O(t), with this leading term.

    A basis residual is zero only to round-off ``δr`` (computed in another
    order by skinfluence), which moves its slope by ``δr/(4t)`` and its
    influence by up to ``S ‖A⁻¹ x̃_i‖ δr``: the returned round-off allowance,
    with ``δr = 16 u (|y_i| + |x̃_i|ᵀ|θ|)``.

    Returns the leading term (rows × active parameters), that allowance (rows),
    ``A``'s condition number and the distance of the nearest non-basis row from
    zero residual.
    """
    r = y - Xa @ theta
    basis = np.abs(r) <= 1e-9 * max(1.0, np.abs(y).max())
    gap = np.abs(r[~basis]).min(initial=np.inf)
    Xb = Xa[:, active]
    A = (Xb[basis].T * s[basis]) @ Xb[basis]
    slope = q - expit(-r / t)  # q - ½ on the basis (to its residuals' round-off)
    share = alpha * np.sign(theta[active]) * (active < n_coef)
    G = -slope[:, None] * Xb + share
    leading = -4 * t * s.sum() * np.linalg.solve(A, G.T).T
    dr = 16 * np.finfo(float).eps * (np.abs(y) + np.abs(Xa) @ np.abs(theta))
    pull = np.abs(np.linalg.solve(A, Xb.T)).max(axis=0)
    return leading, s.sum() * pull * dr, np.linalg.cond(A), gap


@INTERCEPT
def test_small_temperature_influence_vanishes_like_the_exact_derivative(
    fit_intercept,
):
    """Central differences of exact LP refits (steps 1e-5·S, then 1e-7·S, that
    keep the basis) are exactly zero; at ``t = 1e-7`` the smoothed influence at
    the exact solution is that zero plus the O(t) smoothing bias, which it
    matches to within round-off of ``A``'s solve and the neglected ``e⁻⁵⁰``."""
    worst = []

    @given(problem=problems(unit_weights=False))
    def check(problem):
        X, y, s, q, alpha = problem
        S, d = s.sum(), X.shape[1]
        theta, basis = exact_quantile_regression(X, y, q, alpha, s, fit_intercept)
        active = np.flatnonzero(np.append(theta[:d] != 0, [True] * fit_intercept))
        assume(basis[: len(y)].sum() == len(active) > 0)  # a non-degenerate vertex
        Xa = np.column_stack([X, np.ones(len(y))]) if fit_intercept else X
        t = 1e-7
        leading, roundoff, cond, gap = _smoothing_bias(
            Xa, y, s, q, alpha, theta, active, d, t
        )
        assume(gap > 50 * t and cond < 1e8)
        model = _fit(X, y, s, q, alpha, fit_intercept, t)
        model = with_theta(model, theta)  # the LP solution, exact to round-off
        influence = influence_at(model)
        checked = 0
        for i in range(0, len(y), 2):
            found = piecewise_weight_derivative(
                lambda w: exact_quantile_regression(X, y, q, alpha, w, fit_intercept),
                s,
                i,
                basis,
            )
            if found is None:  # a break within ±h: no derivative there
                continue
            checked += 1
            exact, h = found
            assert np.abs(exact).max() <= 1e-9 * S / h * np.abs(theta).max()
            # zero coefficients: frozen, no influence at all
            assert np.all(
                influence[i, np.setdiff1d(np.arange(len(theta)), active)] == 0
            )
            off = np.abs(influence[i, active] - leading[i]).max()
            size = np.abs(leading[i]).max()
            allowed = 1e-6 * size + roundoff[i]
            worst.append((np.abs(influence[i]).max() / (S * t), off / allowed))
            assert off <= allowed
        assert checked >= len(y) // 6  # breaks are rare: most rows are checked

    check()
    over_t, of_allowed = np.max(worst, axis=0)
    report_accuracy(
        f"smooth pinball t=1e-7 at the LP solution ({fit_intercept=})",
        max_influence_over_St=over_t,
        of_allowance=of_allowed,
    )


@INTERCEPT
def test_fixed_temperature_influence_is_the_weight_derivative_of_smoothed_refits(
    fit_intercept,
):
    """At the smoothed objective's minimizer on the active set (zero LP
    coefficients frozen, the others' signs kept; skipped unless the KKT
    conditions certify it as the smoothed L1 objective's minimizer), ``influence_params_`` is ``S ∂θ̂_t/∂s_i``:
    central differences (steps 1e-6·S and half that, extrapolated) of damped-Newton minimizers of the
    smoothed objective written out in ``oracles.py``."""
    worst = []

    @given(problem=problems(), t=st.sampled_from([0.05, 0.5]))
    def check(problem, t):
        X, y, s, q, alpha = problem
        model = _fit(X, y, s, q, alpha, fit_intercept, t)
        assume(fit_intercept or np.any(model.coef_))  # else no parameter moves

        def solve(weights, start):
            objective = objective_of(model, X, y, weights)
            theta = minimize(objective, start)
            # a refit is ground truth only where damped Newton converged
            g = objective.grad_hess(theta)[0][objective.active]
            assume(np.linalg.norm(g) <= 1e-11 * objective.scale(theta))
            return objective, theta

        objective, theta = solve(s, theta_of(model))
        # KKT of the smoothed L1 objective: |w| = sign·w holds (no coefficient
        # changed sign from the LP's) and |∂_j| < τ on the frozen zeros
        g, _ = objective.grad_hess(theta)
        coef = np.arange(X.shape[1])
        active = np.intersect1d(objective.active, coef)
        assume(np.all(np.sign(theta[active]) == objective.sign[active]))
        inactive = np.setdiff1d(coef, objective.active)
        assume(np.all(np.abs(g[inactive]) < objective.tau))
        model = with_theta(model, theta)
        influence = influence_at(model)
        S, h = s.sum(), 1e-6 * s.sum()
        scale = max(np.abs(influence).max(), 1e-3 * S * np.abs(X).max())
        for i in [0, len(y) // 2, len(y) - 1]:
            expected = weight_derivative(lambda w: solve(w, theta)[1], s, i, h)
            worst.append(np.abs(influence[i] - expected).max() / scale)
            assert worst[-1] < 1e-7

    check()
    report_accuracy(
        f"smooth pinball, fixed t vs smoothed refits ({fit_intercept=})",
        max_rel_err=max(worst),
    )


def test_refusal_names_the_parameter_and_attach_passes_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=40)
    plain = QuantileRegressor(alpha=0.01).fit(X, y)
    model = InfluenceQuantileRegressor(alpha=0.01).fit(X, y)
    with pytest.raises(ValueError, match="InfluenceQuantileRegressor.*smooth_pinball"):
        model.influence_params_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonStationaryWarning)
        attached = attach(plain, X, y, smooth_pinball_temperature=0.1)
        ready = model.set_params(smooth_pinball_temperature=0.1)
        np.testing.assert_allclose(
            attached.influence_params_, ready.influence_params_, rtol=1e-12
        )


# -- leave-one-out on a bundled dataset ------------------------------------------


def test_leave_one_out_of_exact_refits():
    """Diabetes (150 rows, X and y standardized), median, α = 0.01, the first
    20 test points: predicted change of each one's pinball loss when each row
    is removed, against exact LP refits without it. A removal moves the LP to
    another vertex (a jump, not a derivative): the smoothed influence at the
    exact fit, first order and one Newton step, tracks those jumps only
    roughly. Medians (and minima) over the test points go to the table."""
    X, Xt, y, yt = standardized_diabetes()
    q, alpha, n = 0.5, 0.01, len(y)
    s = np.ones(n)
    theta, _ = exact_quantile_regression(X, y, q, alpha, s)
    refits = np.array(
        [
            exact_quantile_regression(
                np.delete(X, i, 0), np.delete(y, i), q, alpha, np.ones(n - 1)
            )[0]
            for i in range(n)
        ]
    )
    Xt = np.column_stack([Xt[:20], np.ones(20)])
    r = yt[:20, None] - Xt @ np.column_stack([theta, refits.T])  # (20, 1 + n)
    pinball = np.maximum(q * r, (q - 1) * r)
    actual = pinball[:, 1:] - pinball[:, :1]
    slope = np.where(r[:, 0] > 0, q, q - 1)  # ∂ρ/∂r at each test point
    medians = {}
    for t in (1e-3, 0.03, 0.3):
        model = with_theta(_fit(X, y, s, q, alpha, True, t), theta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonStationaryWarning)
            first = slope[:, None] * (Xt @ model.influence_params_.T) / n
            newton = -slope[:, None] * (Xt @ model.loo_params_change("newton").T)
        rows = {
            "pearson": [pearsonr(p, a)[0] for p, a in zip(first, actual, strict=True)],
            "spearman": [
                spearmanr(p, a)[0] for p, a in zip(first, actual, strict=True)
            ],
            "newton_pearson": [
                pearsonr(p, a)[0] for p, a in zip(newton, actual, strict=True)
            ],
        }
        medians[t] = {k: np.median(v) for k, v in rows.items()}
        report_accuracy(
            f"LOO test-loss change, diabetes QuantileRegressor q=0.5 t={t:g} "
            "(median, min over 20 test points)",
            **medians[t],
            min_pearson=min(rows["pearson"]),
        )
    # measured medians at t = 0.03: Pearson 0.68, Spearman 0.69, Newton 0.69
    assert min(medians[0.03].values()) > 0.6
