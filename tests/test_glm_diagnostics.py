"""Classical diagnostics of unpenalized GLMs against statsmodels.

Definitions under test (θ = [coef_, intercept_], X̃ = [X, 1], L the per-row loss in
the linear predictor η, s_i the sample weight, w_i = s_i d²L/dη², r_i = dL/dη):

- ``leverage``        h_i = w_i x̃_iᵀ A⁻¹ x̃_i, A = X̃ᵀ diag(w) X̃ (observed Hessian)
- ``dfbeta``          θ̂ − θ̂₍ᵢ₎ = −A⁻¹ x̃_i s_i r_i / (1 − h_i) (one Newton step)
- ``cooks_distance``  Δ_iᵀ A Δ_i / (p φ)
- ``dfbetas``         DFBETA / sqrt(φ diag(A⁻¹))

with φ = 1 (Poisson, binomial) or Pearson χ²/(n − p) (Gamma; statsmodels' default
``scale``, n = number of rows, also with weights).

statsmodels' ``GLMResults.get_influence()`` (observed=True) computes

- ``hat_matrix_diag``  = diag(W^½ X (XᵀWX)⁻¹ XᵀW^½), W the *observed* Hessian
  factor: equals ours for every family here;
- ``d_params``         = (XᵀWX)⁻¹ x_i √W_i · r^P_i / √φ / (1 − h_i), r^P the Pearson
  residual √v_i (y − μ)/√V(μ) (same sign as ours: θ̂ − θ̂₍ᵢ₎, no scaling);
- ``cooks_distance``   = (r^P_i)² h_i / (φ p (1 − h_i)²);
- ``dfbetas``          = d_params / bse.

√W_i r^P_i / √φ is the score s_i r_i only when W is the *expected* information,
i.e. for canonical links (Poisson-log, binomial-logit): there every quantity
agrees with ours. For Gamma with the log link W_i = s_i y_i/μ_i (observed) while
the score is s_i (y_i − μ_i)/μ_i, so statsmodels' d_params is √(y_i/μ_i) times the
Newton step, its Cook's distance (y_i/μ_i) times ours (y/μ spans 0.2–2.4 on these
rows: 35–58 % apart), and its dfbetas inherit the d_params factor. Those three
Gamma cells are therefore checked against an explicit one-step Newton computation
in numpy (a fresh solve with each row's Hessian term removed, no Woodbury), which
is itself cross-checked against statsmodels' generic ``MLEInfluence`` (score and
observed Hessian) given the GLM's observed hat values.

Weights: scikit-learn's ``sample_weight`` is statsmodels' ``var_weights`` (score,
Hessian, Pearson residuals and χ² all carry v_i; residual degrees of freedom stay
n − p). ``freq_weights`` have the same fit and hat values, but statsmodels leaves
them out of the Pearson residual (d_params off by 1/√f_i) and counts Σf_i rows in
the scale, so they are not the same model for these diagnostics.
"""

import functools
import itertools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import scale

from skinfluence import (
    InfluenceGammaRegressor,
    InfluenceLogisticRegression,
    InfluencePoissonRegressor,
)

sm = pytest.importorskip("statsmodels.api")
outliers_influence = pytest.importorskip("statsmodels.stats.outliers_influence")

# Both libraries fit with Newton to ~machine precision: parameters agree to ~1e-12
# (sklearn tol=1e-12). The diagnostics are smooth, well-conditioned functions of θ̂,
# so a parameter error of 1e-9 moves them by ~1e-9; 1e-6 leaves three orders of
# margin for the two libraries' different linear algebra while every definitional
# difference measured here is >= 1e-2.
PARAMS_RTOL = 1e-9
RTOL = 1e-6


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return scale(X)[:120, :4], y[:120]  # y in [25, 346]: counts for Poisson, > 0


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return scale(X)[:150, :5], y[:150].astype(float)  # not separable


FAMILIES = {
    "poisson": (
        _diabetes,
        lambda: InfluencePoissonRegressor(
            alpha=0, solver="newton-cholesky", tol=1e-12, max_iter=1000
        ),
        lambda: sm.families.Poisson(),
    ),
    "gamma": (
        _diabetes,
        lambda: InfluenceGammaRegressor(
            alpha=0, solver="newton-cholesky", tol=1e-12, max_iter=1000
        ),
        lambda: sm.families.Gamma(sm.families.links.Log()),
    ),
    "logistic": (
        _breast_cancer,
        lambda: InfluenceLogisticRegression(
            C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000
        ),
        lambda: sm.families.Binomial(),
    ),
}
WEIGHTINGS = ["unweighted", "sample_weight"]
QUANTITIES = ["leverage", "dfbeta", "cooks_distance", "dfbetas"]
# cells where statsmodels' GLMInfluence uses another definition (module docstring)
GLMINFLUENCE_DIFFERS = {
    ("gamma", "dfbeta"),
    ("gamma", "cooks_distance"),
    ("gamma", "dfbetas"),
}


@functools.cache
def _fitted(family, weighting):
    load, make_model, make_family = FAMILIES[family]
    X, y = load()
    sw = None
    if weighting == "sample_weight":
        sw = np.random.default_rng(0).uniform(0.3, 3.0, len(y))
    model = make_model().fit(X, y, sample_weight=sw)
    # constant appended last: statsmodels' params are then in our order [coef, b]
    glm = sm.GLM(
        y, sm.add_constant(X, prepend=False), family=make_family(), var_weights=sw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Newton (not IRLS) so that bse comes from the observed Hessian at the
        # final parameters: IRLS reports the expected information of its last
        # iterate (for Gamma-log that is XᵀX, another definition altogether)
        result = glm.fit(method="newton", tol=1e-13, maxiter=1000)
    assert result.mle_retvals["converged"]
    return X, y, sw, model, result


def _theta(model):
    return np.r_[np.ravel(model.coef_), np.ravel(model.intercept_)]


def _gamma_one_step(family, weighting):
    """Diagnostics of the half Gamma deviance (log link) from statsmodels' θ̂,
    one explicit Newton step per left-out row."""
    X, y, sw, _, result = _fitted(family, weighting)
    n = len(y)
    s = np.ones(n) if sw is None else sw
    Xa = np.column_stack([X, np.ones(n)])
    p = Xa.shape[1]
    mu = np.exp(Xa @ np.asarray(result.params))
    # L = y/μ + log μ (half deviance up to constants): dL/dη = 1 − y/μ, d²L/dη² = y/μ
    r, d2 = 1 - y / mu, y / mu
    A = Xa.T @ ((s * d2)[:, None] * Xa)
    A_inv = np.linalg.inv(A)
    g = Xa * (s * r)[:, None]
    dfbeta = np.empty((n, p))
    for i in range(n):
        # gradient without row i at θ̂ is −g_i (the full gradient is 0)
        A_without = A - s[i] * d2[i] * np.outer(Xa[i], Xa[i])
        dfbeta[i] = -np.linalg.solve(A_without, g[i])  # θ̂ − (θ̂ + step)
    phi = np.sum(s * (y - mu) ** 2 / mu**2) / (n - p)  # Pearson χ² / (n − p)
    return {
        "leverage": s * d2 * np.einsum("ij,jk,ik->i", Xa, A_inv, Xa),
        "dfbeta": dfbeta,
        "cooks_distance": np.einsum("ij,jk,ik->i", dfbeta, A, dfbeta) / (p * phi),
        "dfbetas": dfbeta / np.sqrt(phi * np.diag(A_inv)),
        "phi": phi,
    }


def _glm_influence(result):
    influence = result.get_influence()  # observed=True
    return {
        "leverage": influence.hat_matrix_diag,
        "dfbeta": influence.d_params,
        "cooks_distance": influence.cooks_distance[0],
        "dfbetas": influence.dfbetas,
    }


def _assert_close(ours, reference, rtol):
    """Error relative to the largest reference value, column by column (values
    near 0 are then held to an absolute tolerance on that column's scale)."""
    ours, reference = np.asarray(ours), np.asarray(reference)
    assert ours.shape == reference.shape
    error = np.abs(ours - reference).max(axis=0) / np.abs(reference).max(axis=0)
    assert np.all(error <= rtol), f"max relative error {error.max():.3g} > {rtol}"


CASES = list(itertools.product(FAMILIES, WEIGHTINGS))
CASE_IDS = [f"{f}-{w}" for f, w in CASES]


@pytest.mark.parametrize(("family", "weighting"), CASES, ids=CASE_IDS)
def test_parameters_match_statsmodels(family, weighting):
    _, _, _, model, result = _fitted(family, weighting)
    _assert_close(_theta(model), np.asarray(result.params), PARAMS_RTOL)


@pytest.mark.parametrize(
    ("family", "weighting", "quantity"),
    [(f, w, q) for (f, w), q in itertools.product(CASES, QUANTITIES)],
    ids=[f"{i}-{q}" for i, q in itertools.product(CASE_IDS, QUANTITIES)],
)
def test_diagnostic_matches_reference(family, weighting, quantity):
    """statsmodels' GLMInfluence where it defines the quantity as we do; the
    explicit one-step Newton computation where it does not (Gamma, see module
    docstring)."""
    _, _, _, model, result = _fitted(family, weighting)
    if (family, quantity) in GLMINFLUENCE_DIFFERS:
        reference = _gamma_one_step(family, weighting)[quantity]
    else:
        reference = _glm_influence(result)[quantity]
    _assert_close(getattr(model, quantity)(), reference, RTOL)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_gamma_one_step_reference_is_statsmodels_mle_influence(weighting):
    """The numpy reference is what statsmodels' generic MLEInfluence computes from
    the score and observed Hessian (d_params = −H⁻¹ score_i / (1 − h_i), Cook's
    distance with cov_params = φ A⁻¹, dfbetas over bse) once it is given the GLM's
    observed hat values (its own default leverage is another, Wei-type, one), and
    φ is statsmodels' default Gamma scale."""
    _, _, _, _, result = _fitted("gamma", weighting)
    reference = _gamma_one_step("gamma", weighting)
    mle = outliers_influence.MLEInfluence(
        result, hat_matrix_diag=result.get_hat_matrix_diag(observed=True)
    )
    assert reference["phi"] == pytest.approx(result.scale, rel=1e-12)
    _assert_close(reference["leverage"], mle.hat_matrix_diag, 1e-10)
    _assert_close(reference["dfbeta"], mle.d_params, 1e-10)
    _assert_close(reference["cooks_distance"], mle.cooks_distance[0], 1e-10)
    _assert_close(reference["dfbetas"], mle.dfbetas, 1e-10)


@pytest.mark.parametrize("weighting", WEIGHTINGS)
def test_gamma_glminfluence_differs_by_y_over_mu(weighting):
    """Pins down how GLMInfluence differs for Gamma-log: Pearson residual times the
    square root of the observed weight y/μ instead of the score."""
    X, y, _, model, result = _fitted("gamma", weighting)
    ratio = y / model.predict(X)
    glm = _glm_influence(result)
    _assert_close(glm["dfbeta"], np.sqrt(ratio)[:, None] * model.dfbeta(), RTOL)
    _assert_close(glm["cooks_distance"], ratio * model.cooks_distance(), RTOL)
