"""Numbers quoted in the user guide and README that no example prints.

Run from the repository root:  python benchmarks/claims.py  (about 20 s).

1. Penalty share: for estimators whose penalty scales with the total weight,
   Koh & Liang's ``-H⁻¹∇L`` against the weight derivative of tight refits
   (central differences), next to skinfluence's ``influence_params_`` (diabetes,
   standardized, weights uniform in [0.5, 2], rows 0, 17 and 101).
2. Gamma regression diagnostics: skinfluence's one-step DFBETA / Cook's distance
   and statsmodels' ``GLMInfluence`` against exact leave-one-out refits.
3. Smooth hinge at a small temperature on an unconverged liblinear fit (digits
   1 vs 7): Pearson R of predicted against exact leave-one-out changes.

The setups are the tests' (``tests/test_influence_more.py``,
``tests/test_glm_diagnostics.py``, ``tests/hinge_oracle.py``), imported from there.
"""

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))


def penalty_share():
    from sklearn import linear_model as lm
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler
    from test_influence_more import TIGHT_GLM, _weight_derivative

    import skinfluence as sk

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    lasso = dict(tol=1e-14, max_iter=100_000)
    cases = [
        ("Poisson alpha=0.1", "PoissonRegressor", dict(alpha=0.1, **TIGHT_GLM), y),
        ("Gamma alpha=0.1", "GammaRegressor", dict(alpha=0.1, **TIGHT_GLM), y),
        (
            "Tweedie power=1.5 alpha=0.1",
            "TweedieRegressor",
            dict(power=1.5, alpha=0.1, **TIGHT_GLM),
            y,
        ),
        ("Lasso alpha=0.5", "Lasso", dict(alpha=0.5, **lasso), y / y.std()),
        (
            "ElasticNet alpha=0.1 l1_ratio=0.5",
            "ElasticNet",
            dict(alpha=0.1, l1_ratio=0.5, **lasso),
            y / y.std(),
        ),
    ]
    print("1. penalty share: relative error against the weight derivative of refits")
    print(f"   {'estimator':<36}{'-H⁻¹∇L (rows 0, 17, 101)':<30}influence_params_")
    for name, cls, params, target in cases:
        model = getattr(sk, f"Influence{cls}")(**params).fit(
            X, target, sample_weight=sw
        )
        fitted = model.influence_state()
        G = np.asarray(fitted.objective.sample_gradients(fitted.theta))
        paper = -fitted.solve(G.T).T

        def refit(X, y, w, cls=cls, params=params):
            return getattr(lm, cls)(**params).fit(X, y, sample_weight=w)

        paper_err, ours_err = [], []
        for i in [0, 17, 101]:
            expected = _weight_derivative(refit, X, target, sw, i)
            norm = np.linalg.norm(expected)
            paper_err.append(np.linalg.norm(paper[i] - expected) / norm)
            ours_err.append(
                np.linalg.norm(model.influence_params_[i] - expected) / norm
            )
        print(
            f"   {name:<36}{' '.join(f'{e:7.1%}' for e in paper_err):<30}"
            + " ".join(f"{e:.1e}" for e in ours_err)
        )


def gamma_diagnostics():
    import test_glm_diagnostics as t
    from sklearn.linear_model import GammaRegressor

    X, y, sw, model, result = t._fitted("gamma", t.WEIGHTINGS[0])
    n = len(y)
    s = np.ones(n) if sw is None else sw
    theta = t._theta(model)
    exact = []
    for i in range(n):
        keep = np.arange(n) != i
        refit = GammaRegressor(
            alpha=0, solver="newton-cholesky", tol=1e-12, max_iter=1000
        ).fit(X[keep], y[keep], sample_weight=s[keep])
        exact.append(theta - t._theta(refit))
    exact = np.array(exact)
    statsmodels = t._glm_influence(result)
    phi = t._gamma_one_step("gamma", t.WEIGHTINGS[0])["phi"]
    Xa = np.column_stack([X, np.ones(n)])
    A = Xa.T @ ((s * y / model.predict(X))[:, None] * Xa)
    cook_exact = np.einsum("ij,jk,ik->i", exact, A, exact) / (Xa.shape[1] * phi)

    def worst_row(a, b):
        return (np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)).max()

    def worst(a, b):
        return (np.abs(a - b) / b).max()

    print(f"2. Gamma, {n} rows: largest relative error over rows against exact refits")
    print(
        f"   DFBETA: skinfluence {worst_row(model.dfbeta(), exact):.1%}, "
        f"statsmodels {worst_row(statsmodels['dfbeta'], exact):.1%}"
    )
    print(
        f"   Cook's distance: skinfluence "
        f"{worst(model.cooks_distance(), cook_exact):.1%}, statsmodels "
        f"{worst(statsmodels['cooks_distance'], cook_exact):.1%}"
    )


def small_temperature():
    from hinge_oracle import (
        digits_one_vs_seven,
        exact_hinge_svm,
        leave_one_out_weights,
        zero_temperature_removals,
    )
    from scipy.stats import pearsonr

    from skinfluence import InfluenceLinearSVC

    X, y, Xt, yt = digits_one_vs_seven()
    C = 1 / (250 * 0.01)
    w = exact_hinge_svm(X, y, C, fit_intercept=False)[0][0]
    margins = yt * (Xt @ w)
    j = np.argmin(margins)
    x, label = Xt[j], yt[j]
    refits = leave_one_out_weights(X, y, C)
    actual = np.maximum(0, 1 - label * refits @ x) - np.maximum(0, 1 - margins[j])
    base = -label * zero_temperature_removals(X, y, w, C) @ x
    print("3. smooth hinge, digits 1 vs 7, hardest test point, all rows")
    print(f"   t=0 (exact hinge): R = {pearsonr(base, actual)[0]:.3f}")
    for tol, temperature in [(1e-8, 1e-3), (1e-4, 1e-3), (1e-4, 1e-6)]:
        rs = []
        for seed in range(5):
            model = InfluenceLinearSVC(
                loss="hinge",
                C=C,
                fit_intercept=False,
                tol=tol,
                max_iter=100_000,
                smooth_hinge_temperature=temperature,
                random_state=seed,
            ).fit(X, y)
            predicted = model.loo_loss_change(x[None], [label], "influence")[0]
            rs.append(pearsonr(predicted, actual)[0])
        print(
            f"   liblinear tol={tol:g}, t={temperature:g}: R over random_state 0-4 "
            + " ".join(f"{r:.2f}" for r in rs)
        )


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    penalty_share()
    gamma_diagnostics()
    small_temperature()
