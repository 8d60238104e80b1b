"""LinearSVR's ε-insensitive loss through a smoothing temperature.

``smooth_epsilon_temperature = t`` replaces ``max(0, |r| − ε)`` by one smooth
hinge per side of the tube, ``t log(1 + e^((r − ε)/t)) + t log(1 + e^((−r − ε)/t))``.
Ground truths, none from skinfluence:

- at fixed ``t``, at the smoothed objective's minimizer (damped Newton on the
  objective written out in ``oracles.py``): central differences of those
  minimizers in one row's weight;
- as ``t → 0``, at the exact solution (``hinge_oracle.exact_epsilon_svr``: an
  exact active-set method on the dual): central differences of exact solutions,
  whose path is piecewise linear in the weights, within the smoothing bias
  derived below;
- leave-one-out: exact refits without each row.
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
from hinge_oracle import exact_epsilon_svr
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import (
    minimize,
    objective_of,
    piecewise_weight_derivative,
    theta_of,
    weight_derivative,
    with_theta,
)
from scipy.stats import pearsonr, spearmanr
from sklearn.svm import LinearSVR

from skinfluence import InfluenceLinearSVR, NonStationaryWarning, attach


@st.composite
def problems(draw):
    X, y, s = draw(regression_problems(lambda rng, n: rng.normal(size=n)))
    epsilon = draw(st.sampled_from([0.05, 0.3]))
    C = draw(st.floats(0.002, 1.0))
    return X, y, s, epsilon, C


def _fit(X, y, s, epsilon, C, fit_intercept, t):
    model = InfluenceLinearSVR(
        epsilon=epsilon,
        C=C,
        fit_intercept=fit_intercept,
        smooth_epsilon_temperature=t,
        max_iter=20,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, sample_weight=s)


@INTERCEPT
def test_fixed_temperature_influence_is_the_weight_derivative_of_smoothed_refits(
    fit_intercept,
):
    """At the smoothed objective's own minimizer, ``influence_params_`` is
    ``S ∂θ̂_t/∂s_i``: central differences (steps 1e-6·S and half that, extrapolated) of damped-Newton
    minimizers of the smoothed objective, written out in ``oracles.py``."""
    worst = []

    @given(problem=problems(), t=st.sampled_from([0.01, 0.1]))
    def check(problem, t):
        X, y, s, epsilon, C = problem
        model = _fit(X, y, s, epsilon, C, fit_intercept, t)

        def solve(weights, start):
            return minimize(objective_of(model, X, y, weights), start)

        theta = solve(s, theta_of(model))
        model = with_theta(model, theta)
        influence = influence_at(model)
        S, h = s.sum(), 1e-6 * s.sum()
        scale = max(np.abs(influence).max(), 1e-3 * S * C * np.abs(X).max())
        for i in [0, len(y) // 2, len(y) - 1]:
            expected = weight_derivative(lambda w: solve(w, theta), s, i, h)
            worst.append(np.abs(influence[i] - expected).max() / scale)
            # Richardson: truncation O((h/t)⁴); measured ≤ 1.2e-9 (thorough profile)
            assert worst[-1] < 1e-7

    check()
    report_accuracy(
        f"smooth ε-insensitive, fixed t vs smoothed refits ({fit_intercept=})",
        max_rel_err=max(worst),
    )


def _smoothing_bias(Xa, y, s, C, v, epsilon, t):
    """How far the smoothed influence at the exact solution may sit from the
    exact derivative, as for the hinge (``test_smooth_hinge._smoothing_bias``).

    At the exact solution a row on the tube's edge (``|r| = ε``) has smoothed
    gradient ``±½ x̃`` and curvature ``s/(4t)`` (plus ``e^(-2ε/t)/t`` from the
    other side, nothing at ``t = 1e-7``); rows beyond 50t from the edge have
    gradient ``sign(r) x̃`` outside the tube, 0 inside, and curvature
    ``< e⁻⁵⁰/t``. So ``H = (I + C A/(4t))/C`` with ``A = Σ_edge s_j x̃_j x̃_jᵀ``,
    the exact derivative is ``-S C P g_i`` (``P`` projects off the edge rows)
    and the smoothed one ``-S C (I + C A/(4t))⁻¹ g_i``: they differ by at most
    ``4 t S ‖A⁺ g_i‖``.

    Returns that bound per row, H's condition number and the distance of the
    nearest row not on the edge from it.
    """
    r = Xa @ v - y
    edge = np.abs(np.abs(r) - epsilon) < 1e-9
    gap = np.abs(np.abs(r[~edge]) - epsilon).min(initial=np.inf)
    sign = np.where(np.abs(r) > epsilon, np.sign(r), 0.0)
    g = np.where(edge, 0.5 * np.sign(r), sign)[:, None] * Xa
    if not edge.any():
        return np.zeros(len(y)), 1.0, gap
    B = np.sqrt(s[edge])[:, None] * Xa[edge]
    B_pinv = np.linalg.pinv(B)
    bias = 4 * t * s.sum() * np.linalg.norm(B_pinv @ (B_pinv.T @ g.T), axis=0)
    return bias, 1 + C * np.linalg.norm(B, 2) ** 2 / (4 * t), gap


@INTERCEPT
def test_small_temperature_influence_is_the_exact_weight_derivative(fit_intercept):
    """The exact solution is piecewise linear in the weights; between breaks
    ``S ∂θ/∂s_i = -S C P sign(r_i) x̃_i`` for rows outside the tube, zero for the
    others. At ``t = 1e-7`` the smoothed influence at the exact solution is
    that derivative to within ``_smoothing_bias`` (plus round-off)."""
    worst = []

    @given(problem=problems())
    def check(problem):
        X, y, s, epsilon, C = problem
        S = s.sum()

        def solve(weights):
            coef, intercept, sets = exact_epsilon_svr(
                X, y, C, epsilon, weights, fit_intercept
            )
            theta = np.append(coef, intercept) if fit_intercept else coef
            return theta, np.concatenate(sets)

        theta, sets = solve(s)
        Xa = np.column_stack([X, np.ones(len(y))]) if fit_intercept else X
        t = 1e-7
        bias, kappa, gap = _smoothing_bias(Xa, y, s, C, theta, epsilon, t)
        assume(gap > 50 * t)
        model = with_theta(_fit(X, y, s, epsilon, C, fit_intercept, t), theta)
        influence = influence_at(model)
        scale = S * C * np.abs(Xa).max()  # one row's full pull
        errors, ratios = [], []
        for i in range(len(y)):
            found = piecewise_weight_derivative(solve, s, i, sets)
            if found is None:  # a break within ±h: no derivative there
                continue
            expected, h = found
            errors.append(np.abs(influence[i] - expected).max() / scale)
            roundoff = np.finfo(float).eps * (kappa + S / h) * scale
            ratios.append(
                np.linalg.norm(influence[i] - expected) / (bias[i] + roundoff)
            )
        assert len(errors) >= len(y) // 3
        worst.append((max(errors), max(ratios)))
        assert worst[-1][1] <= 1

    check()
    err, of_bound = np.max(worst, axis=0)
    report_accuracy(
        f"smooth ε-insens. t=1e-7 vs exact derivative ({fit_intercept=})",
        err=err,
        of_bound=of_bound,
    )


def test_refusal_names_the_parameter_and_attach_passes_it():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(epsilon=0.1, max_iter=10_000, random_state=0)
        plain = LinearSVR(**kw).fit(X, y)
        model = InfluenceLinearSVR(**kw).fit(X, y)
    with pytest.raises(ValueError, match="InfluenceLinearSVR.*smooth_epsilon_temp"):
        model.influence_params_
    with pytest.raises(ValueError, match="smooth_epsilon_temperature must be > 0"):
        attach(plain, X, y, smooth_epsilon_temperature=0.0).influence_params_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attached = attach(plain, X, y, smooth_epsilon_temperature=0.05)
        ready = model.set_params(smooth_epsilon_temperature=0.05)
        np.testing.assert_allclose(
            attached.influence_params_, ready.influence_params_, rtol=1e-12
        )


# -- leave-one-out on a bundled dataset ------------------------------------------


def test_leave_one_out_of_exact_refits():
    """Diabetes (150 rows, X and y standardized), ε = 0.2, C = 0.05, the
    hardest test point: predicted change of its ε-insensitive loss when each
    row is removed against exact refits without it (``exact_epsilon_svr``),
    first-order influence and one Newton step, both at the exact solution."""
    X, Xt, y, yt = standardized_diabetes()
    C, epsilon = 0.05, 0.2
    coef, intercept, _ = exact_epsilon_svr(X, y, C, epsilon)
    j = int(np.argmax(np.abs(Xt @ coef + intercept - yt)))
    x_test, y_test = Xt[j], yt[j]

    def loss(coef, intercept):
        return max(0.0, abs(x_test @ coef + intercept - y_test) - epsilon)

    base = loss(coef, intercept)
    actual = []
    for i in range(len(y)):
        c_i, b_i, _ = exact_epsilon_svr(np.delete(X, i, 0), np.delete(y, i), C, epsilon)
        actual.append(loss(c_i, b_i) - base)
    actual = np.array(actual)
    x_a = np.append(x_test, 1.0)
    sign = np.sign(x_test @ coef + intercept - y_test)
    numbers = {}
    for t in (1e-3, 0.05):
        model = with_theta(
            _fit(X, y, np.ones(len(y)), epsilon, C, True, t), np.append(coef, intercept)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonStationaryWarning)
            first = -model.influence_params_ @ x_a * sign / len(y)
            newton = model.loo_params_change("newton") @ x_a * sign
        numbers[t] = (
            pearsonr(first, actual)[0],
            spearmanr(first, actual)[0],
            pearsonr(newton, actual)[0],
            spearmanr(newton, actual)[0],
        )
        report_accuracy(
            f"LOO test-loss change, diabetes LinearSVR eps-insens. t={t:g}",
            pearson=numbers[t][0],
            spearman=numbers[t][1],
            newton_pearson=numbers[t][2],
            newton_spearman=numbers[t][3],
        )
    # measured: Pearson 0.79, Spearman 0.82 (first order, t = 1e-3)
    assert min(numbers[1e-3][:2]) > 0.7
