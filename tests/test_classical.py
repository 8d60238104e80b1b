"""Studentized residuals, σ₍ᵢ₎, DFFITS, COVRATIO, PRESS, outlier test, summary table
and group diagnostics against published R output, statsmodels and exact refits.

Published reference values (R and SAS output shipped with statsmodels' test suite,
``statsmodels/stats/tests/results``; the fits are described in
``statsmodels/stats/tests/test_diagnostic.py::TestDiagnosticG`` and
``test_influence.py``):

- ``influence_lsdiag_R.json`` and ``influence_measures_R.csv`` /
  ``influence_measures_bool_R.csv``: R's ``ls.diag`` and ``influence.measures``
  of ``lm(gs_l_realinv ~ gs_l_realgdp + lint)`` on statsmodels' ``macrodata``
  (US quarterly growth rates of real investment and GDP, 202 quarters);
- ``results_influence_logit.csv``: SAS ``PROC LOGISTIC`` influence output for
  Finney's (1947) vasoconstriction data (Pregibon 1981), printed to 4 decimals;
- R's ``glm(cbind(yi, mi - yi) ~ xi, family = binomial)`` hat values and Cook's
  distances for 5 dose groups of 40 mice, printed in
  ``test_influence.py::TestInfluenceBinomialGLMMLE::test_r``.

GLM fits are compared at full convergence (``tol=1e-12``): R and statsmodels
take GLM hat values from the last IRLS weights, so a loosely converged fit
differs by its distance to the optimum.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import report_accuracy
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.preprocessing import scale

from skinfluence import (
    InfluenceGammaRegressor,
    InfluenceLinearRegression,
    InfluenceLinearSVC,
    InfluenceLogisticRegression,
    InfluencePoissonRegressor,
    InfluenceRidge,
)

sm = pytest.importorskip("statsmodels.api")
pd = pytest.importorskip("pandas")
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.outliers_influence import OLSInfluence  # noqa: E402

RESULTS = Path(sm.__file__).parent / "stats" / "tests" / "results"
OLS_RTOL = 1e-8
GLM_RTOL = 1e-6


def _rel(ours, reference):
    """Largest difference over the largest reference value (per column)."""
    ours, reference = np.asarray(ours, float), np.asarray(reference, float)
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    err = np.abs(ours - reference).max(axis=0) / np.abs(reference).max(axis=0)
    return float(np.max(err))


def _agree(name, ours, reference, rtol):
    err = _rel(ours, reference)
    report_accuracy(name, max_rel_diff=err)
    assert err <= rtol, f"{name}: {err:.3g} > {rtol}"


# --------------------------------------------------------------------------
# least squares: R's published influence.measures on macrodata


def _macrodata():
    from statsmodels.datasets import macrodata

    d = macrodata.load_pandas().data
    d["gs_l_realinv"] = 400 * np.log(d["realinv"]).diff()
    d["gs_l_realgdp"] = 400 * np.log(d["realgdp"]).diff()
    d["lint"] = d["realint"].shift(1)
    d = d.dropna()
    return d[["gs_l_realgdp", "lint"]], d["gs_l_realinv"]


@pytest.fixture(scope="module")
def macro():
    X, y = _macrodata()
    model = InfluenceLinearRegression().fit(X, y)
    with open(RESULTS / "influence_lsdiag_R.json", encoding="utf-8") as f:
        lsdiag = json.load(f)
    measures = pd.read_csv(RESULTS / "influence_measures_R.csv", index_col=0)
    flags = pd.read_csv(RESULTS / "influence_measures_bool_R.csv", index_col=0)
    ols = OLSInfluence(sm.OLS(y, sm.add_constant(X, prepend=False)).fit())
    return X, y, model, lsdiag, measures, flags, ols


R_MACRO = {
    "leverage": (lambda m: m.leverage(), lambda ls, im: ls["hat"]),
    "studentized internal": (
        lambda m: m.studentized_residuals("internal"),
        lambda ls, im: ls["std.res"],
    ),
    "studentized external": (
        lambda m: m.studentized_residuals("external"),
        lambda ls, im: ls["stud.res"],
    ),
    "cooks_distance": (lambda m: m.cooks_distance(), lambda ls, im: ls["cooks"]),
    "dffits": (lambda m: m.dffits(), lambda ls, im: im["dffit"]),
    "covratio": (lambda m: m.covratio(), lambda ls, im: im["cov.r"]),
    # R's columns: intercept first
    "dfbetas": (lambda m: m.dfbetas()[:, [2, 0, 1]], lambda ls, im: im.iloc[:, :3]),
}


@pytest.mark.parametrize("measure", list(R_MACRO))
def test_ols_matches_r_influence_measures(macro, measure):
    _, _, model, lsdiag, measures, _, _ = macro
    ours, theirs = R_MACRO[measure]
    _agree(
        f"OLS macrodata {measure} vs R", ours(model), theirs(lsdiag, measures), OLS_RTOL
    )


def test_ols_flags_are_rs_is_inf(macro):
    """R's ``is.inf`` matrix, every cell (6 DFFITS, 15 COVRATIO, 10 hat flags)."""
    _, _, model, _, _, flags, _ = macro
    frame = model.summary_frame()
    ours = frame[
        [
            "inf_dfb_intercept",
            "inf_dfb_gs_l_realgdp",
            "inf_dfb_lint",
            "inf_dffits",
            "inf_covratio",
            "inf_cooks_d",
            "inf_hat",
        ]
    ].to_numpy()
    np.testing.assert_array_equal(ours, flags.to_numpy())
    assert flags.to_numpy().sum() == 31
    np.testing.assert_array_equal(frame["influential"], flags.to_numpy().any(axis=1))


SM_OLS = {
    "studentized internal": (
        lambda m: m.studentized_residuals("internal"),
        lambda o: o.resid_studentized_internal,
    ),
    "studentized external": (
        lambda m: m.studentized_residuals("external"),
        lambda o: o.resid_studentized_external,
    ),
    "sigma_loo": (lambda m: m.sigma_loo() ** 2, lambda o: o.sigma2_not_obsi),
    "dffits": (lambda m: m.dffits(), lambda o: o.dffits[0]),
    "covratio": (lambda m: m.covratio(), lambda o: o.cov_ratio),
    "press_residuals": (lambda m: m.press_residuals(), lambda o: o.resid_press),
    "press_statistic": (
        lambda m: np.atleast_1d(m.press_statistic()),
        lambda o: np.atleast_1d(o.ess_press),
    ),
}


@pytest.mark.parametrize("measure", list(SM_OLS))
def test_ols_matches_statsmodels(macro, measure):
    *_, model, _, _, _, ols = macro
    ours, theirs = SM_OLS[measure]
    _agree(
        f"OLS macrodata {measure} vs statsmodels", ours(model), theirs(ols), OLS_RTOL
    )


@pytest.mark.parametrize("method", ["bonferroni", "sidak", "holm", "fdr_bh"])
def test_outlier_test_matches_statsmodels(macro, method):
    X, y, model, *_ = macro
    result = sm.OLS(y, sm.add_constant(X, prepend=False)).fit()
    theirs = result.outlier_test(method=method)
    ours = model.outlier_test(method=method)
    pd.testing.assert_index_equal(ours.index, X.index)
    for col in theirs.columns:
        _agree(
            f"OLS macrodata outlier_test {col} vs statsmodels",
            ours[col],
            theirs[col],
            OLS_RTOL,
        )
    reject = multipletests(ours["unadj_p"], alpha=0.05, method=method)[0]
    np.testing.assert_array_equal(ours["outlier"], reject)


def _r_outlier_test_duncan():
    """R's ``car::outlierTest`` on Duncan's occupational prestige data (car),
    as printed in ``statsmodels/stats/tests/test_diagnostic.py::test_outlier_test``
    (read from that file: the lists ``rstudent``, ``unadj_p``, ``bonf_p`` and
    ``sorted_labels``, ordered by |rstudent|)."""
    import ast
    import inspect

    from statsmodels.stats.tests import test_diagnostic

    tree = ast.parse(inspect.getsource(test_diagnostic.test_outlier_test))
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.List)
    }
    endog, exog, labels = test_diagnostic.get_duncan_data()
    return np.asarray(endog), np.asarray(exog)[:, 1:], labels, values


def test_outlier_test_matches_r_car_on_duncan():
    y, X, labels, r = _r_outlier_test_duncan()
    X = pd.DataFrame(X, columns=["income", "education"], index=labels)
    model = InfluenceLinearRegression().fit(X, y)
    table = model.outlier_test()
    table = table.reindex(
        table["student_resid"].abs().sort_values(ascending=False).index
    )
    assert list(table.index) == r["sorted_labels"]
    _agree(
        "OLS Duncan outlier_test student_resid vs R car",
        table["student_resid"],
        r["rstudent"],
        OLS_RTOL,
    )
    # R printed the p-values to 7 significant digits: compare each to that
    bonf = np.minimum(r["bonf_p"], 1.0)  # Bonferroni p above 1 is 1
    for col, ref in [("unadj_p", r["unadj_p"]), ("bonferroni(p)", bonf)]:
        err = np.max(np.abs(table[col].to_numpy() / ref - 1))
        report_accuracy(
            f"OLS Duncan outlier_test {col} vs R car (7 digits)", max_rel_diff=err
        )
        assert err < 5e-7, (col, err)


# --------------------------------------------------------------------------
# weighted least squares is R's lm(weights = w): OLS on √w-scaled rows, zero
# weights dropped


def _weighted_data(zero_weights):
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:80, :4], y[:80]
    w = np.random.default_rng(3).uniform(0.2, 3.0, 80)
    if zero_weights:
        w[[5, 17, 40]] = 0.0
    return X, y, w


@pytest.mark.parametrize("zero_weights", [False, True], ids=["positive", "zeros"])
def test_weighted_least_squares_is_r_lm_weights(zero_weights):
    X, y, w = _weighted_data(zero_weights)
    model = InfluenceLinearRegression().fit(X, y, sample_weight=w)
    keep = w > 0
    r = np.sqrt(w[keep])
    # R's lm.wfit: the QR of √w [X, 1]; residuals √w e; zero-weight rows dropped
    oracle = OLSInfluence(
        sm.OLS(
            r * y[keep], np.column_stack([X[keep], np.ones(keep.sum())]) * r[:, None]
        ).fit()
    )
    pairs = {
        "leverage": (model.leverage(), oracle.hat_matrix_diag),
        "cooks_distance": (model.cooks_distance(), oracle.cooks_distance[0]),
        "dfbetas": (model.dfbetas(), oracle.dfbetas),
        "studentized internal": (
            model.studentized_residuals("internal"),
            oracle.resid_studentized_internal,
        ),
        "studentized external": (
            model.studentized_residuals("external"),
            oracle.resid_studentized_external,
        ),
        "dffits": (model.dffits(), oracle.dffits[0]),
        "covratio": (model.covratio(), oracle.cov_ratio),
        "sigma_loo": (model.sigma_loo() ** 2, oracle.sigma2_not_obsi),
    }
    for name, (ours, theirs) in pairs.items():
        _agree(
            f"WLS ({'zero weights' if zero_weights else 'weights'}) {name} vs R lm(weights)",
            ours[keep],
            theirs,
            OLS_RTOL,
        )
    for ours in [pairs[k][0] for k in ("studentized internal", "dffits", "covratio")]:
        assert np.isnan(ours[~keep]).all()  # R drops zero-weight rows
    frame = model.summary_frame()
    np.testing.assert_array_equal(frame.index, np.flatnonzero(keep))
    assert model.outlier_test().shape[0] == keep.sum()


# --------------------------------------------------------------------------
# exactness identities with refits


def _refit(cls_kwargs, X, y, w, keep):
    est = Ridge(**cls_kwargs) if cls_kwargs else LinearRegression()
    return est.fit(X[keep], y[keep], sample_weight=None if w is None else w[keep])


CASES = {
    "ols": (lambda: InfluenceLinearRegression(), {}, False),
    "wls": (lambda: InfluenceLinearRegression(), {}, True),
    "ridge-weighted": (lambda: InfluenceRidge(alpha=0.3), {"alpha": 0.3}, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_press_residual_is_the_refit_residual(case):
    make, kwargs, weighted = CASES[case]
    X, y, w = _weighted_data(False)
    w = w if weighted else None
    model = make().fit(X, y, sample_weight=w)
    press = model.press_residuals()
    rows = [0, 11, 42, 79]
    refit = [
        y[i] - _refit(kwargs, X, y, w, np.arange(80) != i).predict(X[i : i + 1])[0]
        for i in rows
    ]
    _agree(f"PRESS residual vs refit ({case})", press[rows], refit, 1e-9)


@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls"])
def test_dffits_sigma_covratio_are_refit_quantities(weighted):
    """DFFITS = √s_i x̃_iᵀ(θ̂ − θ̂₍ᵢ₎)/(σ₍ᵢ₎√h_i); σ₍ᵢ₎ the refit's residual
    standard error; COVRATIO = det Cov(θ̂₍ᵢ₎) / det Cov(θ̂) of the refits."""
    X, y, w = _weighted_data(False)
    s = w if weighted else np.ones(80)
    model = InfluenceLinearRegression().fit(X, y, sample_weight=s)
    Xa = np.column_stack([X, np.ones(80)])
    n, p = Xa.shape
    theta = np.r_[model.coef_, model.intercept_]
    h = model.leverage()
    sigma2 = s @ (y - Xa @ theta) ** 2 / (n - p)
    _, logdet = np.linalg.slogdet(Xa.T @ (s[:, None] * Xa))
    rows = [0, 7, 33, 64]
    dffits, sigma, covratio = [], [], []
    for i in rows:
        keep = np.arange(n) != i
        refit = LinearRegression().fit(X[keep], y[keep], sample_weight=s[keep])
        theta_i = np.r_[refit.coef_, refit.intercept_]
        s2_i = s[keep] @ (y[keep] - Xa[keep] @ theta_i) ** 2 / (n - 1 - p)
        sigma.append(np.sqrt(s2_i))
        dffits.append(np.sqrt(s[i]) * Xa[i] @ (theta - theta_i) / np.sqrt(s2_i * h[i]))
        _, logdet_i = np.linalg.slogdet(Xa[keep].T @ (s[keep, None] * Xa[keep]))
        covratio.append(np.exp(p * np.log(s2_i / sigma2) - logdet_i + logdet))
    _agree("DFFITS vs refit identity", model.dffits()[rows], dffits, 1e-9)
    _agree("sigma_loo vs refit residual scale", model.sigma_loo()[rows], sigma, 1e-9)
    _agree(
        "COVRATIO vs refit determinant ratio", model.covratio()[rows], covratio, 1e-9
    )


@pytest.mark.parametrize("case", list(CASES))
def test_group_diagnostics_equal_refits_without_the_group(case):
    """Least squares: group DFBETA is θ̂ − θ̂₍G₎ of the refit and group Cook's
    distance its quadratic form in the sum-form Hessian over p φ."""
    make, kwargs, weighted = CASES[case]
    X, y, w = _weighted_data(False)
    s = w if weighted else np.ones(80)
    model = make().fit(X, y, sample_weight=s)
    groups = np.repeat(["a", "b", "c", "d", "e"], 16)[
        np.random.default_rng(0).permutation(80)
    ]
    theta = np.r_[model.coef_, model.intercept_]
    Xa = np.column_stack([X, np.ones(80)])
    n, p = Xa.shape
    A = 2 * Xa.T @ (s[:, None] * Xa) + np.diag(
        [2 * kwargs.get("alpha", 0.0)] * 4 + [0.0]
    )
    phi = 2 * s @ (y - Xa @ theta) ** 2 / (n - p)
    dfbeta, cook = [], []
    for g in np.unique(groups):
        refit = _refit(kwargs, X, y, s, groups != g)
        d = theta - np.r_[refit.coef_, refit.intercept_]
        dfbeta.append(d)
        cook.append(d @ A @ d / (p * phi))
    _agree(f"group DFBETA vs refit ({case})", model.dfbeta(groups=groups), dfbeta, 1e-9)
    _agree(
        f"group Cook's distance vs refit ({case})",
        model.cooks_distance(groups=groups),
        cook,
        1e-9,
    )


def test_groups_of_one_row_are_the_leave_one_out():
    X, y, w = _weighted_data(False)
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(
        X, y > np.median(y), sample_weight=w
    )
    np.testing.assert_allclose(
        model.cooks_distance(groups=np.arange(80)), model.cooks_distance(), rtol=1e-9
    )
    np.testing.assert_allclose(
        model.dfbeta(groups=np.arange(80)), model.dfbeta(), rtol=1e-9, atol=1e-14
    )


# --------------------------------------------------------------------------
# GLMs: statsmodels' GLMInfluence, R's binomial example, SAS's logistic output


def _glm_case(family, weighted):
    if family == "logistic":
        X, y = load_breast_cancer(return_X_y=True)
        X, y = scale(X)[:150, :5], y[:150].astype(float)
        model = InfluenceLogisticRegression(
            C=np.inf, solver="newton-cholesky", tol=1e-12
        )
        fam = sm.families.Binomial()
    else:
        X, y = load_diabetes(return_X_y=True)
        X, y = scale(X)[:120, :4], y[:120]
        cls = (
            InfluencePoissonRegressor
            if family == "poisson"
            else InfluenceGammaRegressor
        )
        model = cls(alpha=0, solver="newton-cholesky", tol=1e-12, max_iter=1000)
        fam = (
            sm.families.Poisson()
            if family == "poisson"
            else sm.families.Gamma(sm.families.links.Log())
        )
    sw = np.random.default_rng(0).uniform(0.3, 3.0, len(y)) if weighted else None
    model.fit(X, y, sample_weight=sw)
    glm = sm.GLM(y, sm.add_constant(X, prepend=False), family=fam, var_weights=sw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = glm.fit(method="newton", tol=1e-13, maxiter=1000)
    return X, y, model, result


GLM_CASES = [(f, w) for f in ("logistic", "poisson", "gamma") for w in (False, True)]


@pytest.mark.parametrize(
    ("family", "weighted"),
    GLM_CASES,
    ids=[f"{f}-{'weighted' if w else 'unweighted'}" for f, w in GLM_CASES],
)
def test_glm_residuals_match_statsmodels(family, weighted):
    """Internal Pearson (statsmodels' ``resid_studentized``) and deviance
    residuals; the likelihood residual and external Pearson residual from
    statsmodels' residuals and hat values with R's formulas."""
    _, _, model, result = _glm_case(family, weighted)
    infl = result.get_influence()
    h = infl.hat_matrix_diag
    label = f"GLM {family}{' weighted' if weighted else ''}"
    _agree(
        f"{label} studentized internal pearson vs statsmodels",
        model.studentized_residuals("internal"),
        infl.resid_studentized,
        GLM_RTOL,
    )
    dev = result.resid_deviance / np.sqrt(result.scale * (1 - h))
    _agree(
        f"{label} studentized internal deviance vs statsmodels",
        model.studentized_residuals("internal", "deviance"),
        dev,
        GLM_RTOL,
    )
    rp, rd = result.resid_pearson, result.resid_deviance
    n, p = len(h), h.size and result.df_model + 1
    if family == "gamma":  # estimated dispersion: σ₍ᵢ₎ of the Pearson residuals
        sigma = np.sqrt((np.sum(rp**2) - rp**2 / (1 - h)) / (n - p - 1))
        sigma_d = np.sqrt((np.sum(rd**2) - rd**2 / (1 - h)) / (n - p - 1))
    else:
        sigma = sigma_d = 1.0
    _agree(
        f"{label} studentized external pearson (R formula)",
        model.studentized_residuals("external"),
        rp / (sigma * np.sqrt(1 - h)),
        GLM_RTOL,
    )
    likelihood = np.sign(rd) * np.sqrt(rd**2 + h * rp**2 / (1 - h)) / sigma_d
    _agree(
        f"{label} likelihood residual (R<=4.5 rstudent.glm)",
        model.studentized_residuals("external", "likelihood"),
        likelihood,
        GLM_RTOL,
    )
    _agree(
        f"{label} DFFITS (R formula)",
        model.dffits(),
        rp * np.sqrt(h) / (sigma * (1 - h)),
        GLM_RTOL,
    )


def test_logistic_dffits_is_the_scaled_one_step_change_of_the_fit():
    """Canonical link, fixed dispersion: DFFITS = √w_i x̃_iᵀ Δθ_i / √h_i with
    statsmodels' one-step ``d_params`` and hat values."""
    X, _, model, result = _glm_case("logistic", False)
    infl = result.get_influence()
    Xa = np.column_stack([X, np.ones(len(X))])
    mu = result.fittedvalues
    expected = (
        np.sqrt(mu * (1 - mu))
        * np.einsum("ij,ij->i", Xa, infl.d_params)
        / np.sqrt(infl.hat_matrix_diag)
    )
    _agree(
        "GLM logistic DFFITS vs statsmodels d_params identity",
        model.dffits(),
        expected,
        GLM_RTOL,
    )


def _r_glm_binomial(yi, mi, X, converge):
    """R's ``glm.fit`` in numpy: R's start ``μ = (m y + ½)/(m + 1)``, IRLS, R's
    stop ``|dev − dev_old|/(|dev| + 0.1) < 1e-8``; ``influence()`` then uses the
    QR of the last IRLS step, i.e. the weights of the *previous* iterate.
    ``converge``: iterate on to the optimum, weights at the final ``μ``."""
    from scipy.special import xlogy

    y, w = yi / mi, np.full(len(yi), float(mi))

    def deviance(mu):
        return 2 * np.sum(w * (xlogy(y, y / mu) + xlogy(1 - y, (1 - y) / (1 - mu))))

    mu = (w * y + 0.5) / (w + 1)
    eta, dev_old = np.log(mu / (1 - mu)), deviance(mu)
    for _ in range(100 if converge else 25):
        W = w * mu * (1 - mu)
        z = eta + (y - mu) / (mu * (1 - mu))
        beta = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * z))
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        dev = deviance(mu)
        if not converge and abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            break
        dev_old = dev
    if converge:
        W = w * mu * (1 - mu)
    Xw = X * np.sqrt(W)[:, None]
    h = np.einsum("ij,ji->i", Xw, np.linalg.solve(Xw.T @ Xw, Xw.T))
    pearson = np.sqrt(w) * (y - mu) / np.sqrt(mu * (1 - mu))
    return h, (pearson / (1 - h)) ** 2 * h / X.shape[1]  # R's cooks.distance.glm


def test_binomial_groups_match_r_glm():
    """R's ``glm(cbind(yi, mi - yi) ~ xi, binomial)`` on 5 dose groups: the
    grouped fit is the logistic fit of 10 rows (successes and failures of each
    group weighted by their counts); a group's hat value is the sum of its
    rows' and its Cook's distance that of removing both rows at once.

    R's printed values are those of its IRLS stopped at a relative deviance
    change below 1e-8 (reproduced here to 1e-13 by replaying R's iterations);
    carried to the optimum they move by 1.3e-6 (hat) and 3.0e-6 (Cook), and
    there ours agree to ~1e-12."""
    yi = np.array([0, 2, 14, 19, 30.0])
    mi = 40.0
    xi = np.arange(1, 6, dtype=float)
    hat_r = [0.2594393406119333, 0.3696442663244837, 0.3535768402250521]
    hat_r += [0.389209198535791057, 0.6281303543027403]
    cooks_r = [0.25220202795934726, 0.26107981497746285, 1.28985614424132389]
    cooks_r += [0.08449722285516942, 0.36362110845918005]
    Xr = np.column_stack([np.ones(5), xi])
    hat_stop, cooks_stop = _r_glm_binomial(yi, mi, Xr, converge=False)
    assert _rel(hat_stop, hat_r) < 1e-13 and _rel(cooks_stop, cooks_r) < 1e-12
    hat_opt, cooks_opt = _r_glm_binomial(yi, mi, Xr, converge=True)

    X = np.repeat(xi, 2)[:, None]
    y = np.tile([1, 0], 5)
    w = np.column_stack([yi, mi - yi]).ravel()
    model = InfluenceLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-14)
    model.fit(X, y, sample_weight=w)
    groups = np.repeat(np.arange(5), 2)
    hat = np.bincount(groups, weights=model.leverage())
    cooks = model.cooks_distance(groups=groups)
    _agree("GLM binomial groups hat vs R glm at convergence", hat, hat_opt, GLM_RTOL)
    _agree(
        "GLM binomial groups Cook's vs R glm at convergence", cooks, cooks_opt, GLM_RTOL
    )
    # the whole difference from R's printed values is R's stopping rule
    report_accuracy(
        "GLM binomial groups hat vs R printed", max_rel_diff=_rel(hat, hat_r)
    )
    report_accuracy(
        "GLM binomial groups Cook's vs R printed", max_rel_diff=_rel(cooks, cooks_r)
    )
    np.testing.assert_allclose(hat - hat_r, hat_opt - hat_stop, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        cooks - cooks_r, cooks_opt - cooks_stop, rtol=1e-6, atol=1e-12
    )


def test_logistic_matches_sas_output():
    """SAS PROC LOGISTIC on Finney's data, printed to 4 significant decimals."""
    data = pd.read_csv(RESULTS / "binary_constrict.csv", index_col=0)
    sas = pd.read_csv(RESULTS / "results_influence_logit.csv", index_col=0)
    X = data[["log_rate", "log_volumne"]]
    model = InfluenceLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    model.fit(X, data["constrict"])
    h = model.leverage()
    pearson = model.studentized_residuals("internal") * np.sqrt(1 - h)
    deviance = model.studentized_residuals("internal", "deviance") * np.sqrt(1 - h)
    frame = model.summary_frame()
    # SAS: Pearson and deviance residuals, hat, DFBETAS, C = p × Cook's distance
    for ours, col, atol in [
        (pearson, "resid_pearson", 6e-5),
        (deviance, "resid_deviance", 6e-5),
        (h, "hat_matrix_diagonal", 6e-5),
        (frame["dfb_intercept"], "dfb_intercept", 1e-4),
        (frame["dfb_log_rate"], "dfb_lograte", 1e-4),
        (frame["dfb_log_volumne"], "dfb_logvolumne", 1e-4),
        (3 * frame["cooks_d"], "Cooks C", 6e-5),
    ]:
        err = np.max(np.abs(np.asarray(ours) - sas[col].to_numpy()))
        report_accuracy(
            f"GLM logistic Finney {col} vs SAS (abs, 4 decimals)", max_abs_diff=err
        )
        assert err < atol, (col, err)
    pd.testing.assert_index_equal(frame.index, X.index)


# --------------------------------------------------------------------------
# labels, refusals, bad input


def test_summary_frame_labels_and_columns():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X.index = [f"patient{i}" for i in range(len(X))]
    model = InfluenceRidge(alpha=0.5).fit(X, y)
    frame = model.summary_frame()
    assert list(frame.index) == list(X.index)
    assert [c[4:] for c in frame.columns[:11]] == list(X.columns) + ["intercept"]
    np.testing.assert_array_equal(frame["hat"], model.leverage())
    np.testing.assert_array_equal(frame["dfb_bmi"], model.dfbetas()[:, 2])
    assert list(model.outlier_test().index) == list(X.index)


@pytest.mark.parametrize(
    "method",
    [
        "studentized_residuals",
        "sigma_loo",
        "dffits",
        "covratio",
        "summary_frame",
        "outlier_test",
        "press_residuals",
    ],
)
def test_refused_without_a_single_output_likelihood(method):
    X, y = load_breast_cancer(return_X_y=True)
    X = scale(X)[:100, :4]
    svc = InfluenceLinearSVC().fit(X, y[:100])
    with pytest.raises(NotImplementedError, match="InfluenceLinearSVC"):
        getattr(svc, method)()
    multi = InfluenceLogisticRegression().fit(X, np.arange(100) % 3)
    with pytest.raises(NotImplementedError, match="output"):
        getattr(multi, method)()


def test_press_refused_for_logistic():
    X, y = load_breast_cancer(return_X_y=True)
    model = InfluenceLogisticRegression().fit(scale(X)[:100, :4], y[:100])
    with pytest.raises(NotImplementedError, match="least-squares"):
        model.press_residuals()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.studentized_residuals("middle"), "kind"),
        (lambda m: m.studentized_residuals(type="raw"), "type"),
        (lambda m: m.studentized_residuals("internal", "likelihood"), "external"),
        (lambda m: m.sigma_loo("likelihood"), "type"),
        (lambda m: m.outlier_test(alpha=1.5), "alpha"),
        (lambda m: m.outlier_test(method="magic"), "method"),
        (lambda m: m.cooks_distance(groups=[0, 1]), "groups"),
        (lambda m: m.dfbeta(groups=np.zeros((20, 2))), "groups"),
    ],
    ids=[
        "kind",
        "type",
        "likelihood-internal",
        "sigma-type",
        "alpha",
        "method",
        "groups-length",
        "groups-2d",
    ],
)
def test_bad_arguments(call, match):
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceLinearRegression().fit(X[:20, :3], y[:20])
    with pytest.raises(ValueError, match=match):
        call(model)


def test_pipeline_forwards_the_diagnostics():
    from sklearn.preprocessing import StandardScaler

    from skinfluence import InfluencePipeline

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    pipe = InfluencePipeline(
        [("scale", StandardScaler()), ("ols", InfluenceLinearRegression())]
    ).fit(X, y)
    direct = InfluenceLinearRegression().fit(StandardScaler().fit_transform(X), y)
    np.testing.assert_allclose(pipe.dffits(), direct.dffits(), rtol=1e-10)
    assert pipe.summary_frame().shape == (442, 2 * 11 + 6 + 4 + 1)


def test_rows_of_leverage_one_are_nan_as_in_r():
    """A row alone on its own dummy column has h = 1: R returns NaN for its
    studentized residuals, DFFITS and COVRATIO (``res[is.infinite(res)] <- NaN``);
    the other rows are unaffected, and no arithmetic warning escapes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=30)
    D = np.column_stack([X, np.eye(30)[:, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "Rows \\[0\\] have no leave-one-out")
        model = InfluenceLinearRegression().fit(D, y)
        values = [
            model.studentized_residuals("internal"),
            model.studentized_residuals("external"),
            model.dffits(),
            model.covratio(),
            model.sigma_loo(),
        ]
        table = model.outlier_test()
    for v in values:
        assert np.isnan(v[0]) and np.isfinite(v[1:]).all()
    # the other rows are those of the fit without row 0 (it is fitted exactly)
    rest = InfluenceLinearRegression().fit(X[1:], y[1:])
    np.testing.assert_allclose(values[1][1:], rest.studentized_residuals(), rtol=1e-9)
    assert np.isnan(table["student_resid"].iloc[0])


def test_too_few_rows_for_a_leave_one_out_scale():
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceLinearRegression().fit(X[:5, :3], y[:5])  # n − p = 1
    assert np.isfinite(model.studentized_residuals("internal")).all()
    for method in ("sigma_loo", "summary_frame", "dfbetas", "covratio"):
        with pytest.raises(ValueError, match="n − p − 1|more than"):
            getattr(model, method)()


def test_saturated_logistic_rows_have_finite_pearson_residuals():
    """Rows whose fitted probability rounds to exactly 0 or 1 (a separated row of
    a large-coefficient fit): the Pearson residual ``(y − p)/√(p (1 − p))`` is
    ``e^(−η/2)`` for ``y = 1`` (``(1 − p)/p = e^(−η)``), tiny and finite, not
    ``0/0``; the studentized residual is it over ``√(1 − h)`` (fixed dispersion)."""
    from sklearn.linear_model import LogisticRegression

    from skinfluence import attach

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(1, 5, 10), -rng.uniform(1, 5, 10)])[:, None]
    y = (x[:, 0] > 0).astype(int)
    y[0] = 0  # one row on the wrong side: the fit is finite
    plain = LogisticRegression().fit(x, y)
    plain.coef_ = plain.coef_ * 40  # |η| up to ~160: p is 1.0 or ~1e-70
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # far from the minimum
        model = attach(plain, x, y)
    eta = model.decision_function(x)
    saturated = 1.0 / (1.0 + np.exp(-eta)) == 1.0
    assert saturated.sum() >= 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        t = model.studentized_residuals()
        values = [t, model.dffits(), model.covratio()]
    for v in values:
        assert np.isfinite(v).all()
    h = model.leverage()
    expected = np.where(y == 1, np.exp(-eta / 2), -np.exp(eta / 2)) / np.sqrt(1 - h)
    np.testing.assert_allclose(t[saturated], expected[saturated], rtol=1e-12)
    moderate = np.abs(eta) < 30
    p, h, y = 1.0 / (1.0 + np.exp(-eta[moderate])), h[moderate], y[moderate]
    direct = (y - p) / np.sqrt(p * (1 - p) * (1 - h))
    np.testing.assert_allclose(t[moderate], direct, rtol=1e-9)


def test_negative_belsley_update_of_a_penalized_fit_is_nan_with_a_warning():
    """For a penalized fit Belsley's ``Σ_j r_j² − r_i²/(1 − h_i)`` is not the
    refit's residual sum of squares and can be negative (a row with a large
    residual and leverage): σ₍ᵢ₎ there is NaN with a warning naming the row, and
    so are its external studentized residual, DFFITS, COVRATIO and DFBETAS; the
    other rows are the documented formula."""
    X = np.array([[1.0], [1.0], [1.0], [10.0]])
    y = np.array([0.0, 0.0, 0.0, 100.0])
    model = InfluenceRidge(alpha=100.0, fit_intercept=False).fit(X, y)
    e, h = y - model.predict(X), model.leverage()
    np.testing.assert_allclose(h, X[:, 0] ** 2 / (X[:, 0] @ X[:, 0] + 100.0))
    remaining = e @ e - e**2 / (1 - h)
    assert remaining[3] < 0 and (remaining[:3] > 0).all()
    for method in ("sigma_loo", "studentized_residuals", "dffits", "covratio"):
        with pytest.warns(UserWarning, match=r"σ₍ᵢ₎ is NaN for rows \[3\]"):
            values = getattr(model, method)()
        assert np.isnan(values[3]) and np.isfinite(values[:3]).all(), method
    with pytest.warns(UserWarning, match=r"DFBETAS is NaN for rows \[3\]"):
        dfbetas = model.dfbetas()
    assert np.isnan(dfbetas[3]).all() and np.isfinite(dfbetas[:3]).all()
    with pytest.warns(UserWarning, match="Belsley"):
        sigma = model.sigma_loo()
    np.testing.assert_allclose(sigma[:3], np.sqrt(remaining[:3] / (4 - 1 - 1)))
    # unpenalized least squares: the update is the refit's, never negative
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ols = InfluenceLinearRegression(fit_intercept=False).fit(X, y)
        assert np.isfinite(ols.sigma_loo()).all()


def test_dfbetas_of_a_parameter_the_data_do_not_identify_is_nan_with_a_warning():
    """A feature that is zero on every row: its coefficient has no standard error
    (the minimum-norm inverse is 0 along it), so its DFBETAS is NaN with a
    warning, not ``0/0``; the other columns are those of the fit without it."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(20, 2)), np.zeros(20)])
    y = X[:, 0] + rng.normal(size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SingularHessianWarning
        model = InfluenceLinearRegression().fit(X, y)
        model.influence_state()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(UserWarning, match=r"DFBETAS of parameter\(s\) \[2\]"):
            dfbetas = model.dfbetas()
    assert np.isnan(dfbetas[:, 2]).all()
    reduced = InfluenceLinearRegression().fit(X[:, :2], y).dfbetas()
    np.testing.assert_allclose(dfbetas[:, [0, 1, 3]], reduced, rtol=1e-9)
