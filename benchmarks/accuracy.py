"""Accuracy of first-order and Newton-step removal against exact refits.

Run from the repository root:  python benchmarks/accuracy.py  (a few minutes).
Prints, per bundled dataset, Pearson and Spearman correlations between the
predicted and actual leave-one-out change of test losses, and for groups of
rows removed together the median relative error of the test decision changes.
"""

import time

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceLogisticRegression, loo_refit


def split(loader, n_train, classes=None):
    X, y = loader(return_X_y=True)
    if classes is not None:
        mask = np.isin(y, classes)
        X, y = X[mask], y[mask]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=n_train, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def test_losses(model, theta, X, y):
    K, d = model.coef_.shape
    probe = model.remove_effect(0)
    probe.coef_, probe.intercept_ = theta[: K * d].reshape(K, d), theta[K * d :]
    proba = probe.predict_proba(X)
    return -np.log(proba[np.arange(len(y)), np.searchsorted(model.classes_, y)])


def loo_table(name, loader, n_train, C, classes=None, n_test=20):
    X, Xt, y, yt = split(loader, n_train, classes)
    Xt, yt = Xt[:n_test], yt[:n_test]
    model = InfluenceLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y)
    theta = np.r_[model.coef_.ravel(), model.intercept_]
    start = time.perf_counter()
    refits = loo_refit(model, X, y, n_jobs=-1)
    refit_seconds = time.perf_counter() - start
    base = test_losses(model, theta, Xt, yt)
    actual = np.array([test_losses(model, t, Xt, yt) - base for t in refits]).T
    rows = []
    for method in ["influence", "newton"]:
        start = time.perf_counter()
        predicted = model.loo_loss_change(Xt, yt, method=method)
        seconds = time.perf_counter() - start
        pearson = [pearsonr(p, a)[0] for p, a in zip(predicted, actual, strict=True)]
        spearman = [spearmanr(p, a)[0] for p, a in zip(predicted, actual, strict=True)]
        rows.append(
            (method, np.median(pearson), np.min(pearson), np.median(spearman), seconds)
        )
    print(
        f"\n{name}: n_train={len(y)}, {len(yt)} test points, C={C}; {len(y)} refits {refit_seconds:.1f} s"
    )
    print(
        f"  {'method':<10} {'Pearson (median)':>17} {'Pearson (min)':>14} {'Spearman (median)':>18} {'time (s)':>9}"
    )
    for method, pm, pmin, sm, sec in rows:
        print(f"  {method:<10} {pm:17.4f} {pmin:14.4f} {sm:18.4f} {sec:9.3f}")


def group_table(loader, n_train, C, n_groups=15):
    X, Xt, y, _ = split(loader, n_train)
    model = InfluenceLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y)
    base = model.decision_function(Xt)
    rng = np.random.default_rng(0)
    n = len(y)
    designs = {
        f"random {p}%": [
            rng.choice(n, n * p // 100, replace=False) for _ in range(n_groups)
        ]
        for p in (1, 5, 10)
    }
    designs["one class 10%"] = [
        rng.choice(np.flatnonzero(y == y[k % n]), n // 10, replace=False)
        for k in range(n_groups)
    ]
    print(
        f"\ngroup removal, breast_cancer (n={n}, C={C}): median relative error of test decision changes"
    )
    print(
        f"  {'groups':<14} {'influence':>10} {'newton':>10} {'pooled Pearson infl.':>21} {'pooled Pearson newton':>22}"
    )
    for name, groups in designs.items():
        errors = {"influence": [], "newton": []}
        pooled = {"influence": [], "newton": [], "actual": []}
        for group in groups:
            keep = np.setdiff1d(np.arange(n), group)
            refit = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12).fit(
                X[keep], y[keep]
            )
            actual = refit.decision_function(Xt) - base
            pooled["actual"].append(actual)
            for method in errors:
                predicted = (
                    model.remove_effect(group, method=method).decision_function(Xt)
                    - base
                )
                errors[method].append(
                    np.linalg.norm(predicted - actual) / np.linalg.norm(actual)
                )
                pooled[method].append(predicted)
        a = np.ravel(pooled["actual"])
        r = {m: pearsonr(np.ravel(pooled[m]), a)[0] for m in errors}
        print(
            f"  {name:<14} {np.median(errors['influence']):10.4f} {np.median(errors['newton']):10.4f}"
            f" {r['influence']:21.4f} {r['newton']:22.4f}"
        )


def support_table(alphas=(0.05, 0.2, 0.5)):
    """L1 on the active set: how often does removing one row change the support,
    and how accurate is the influence on those rows compared with the others?"""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Lasso

    from skinfluence import InfluenceLasso

    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n = len(y)
    print(
        "\nLasso on diabetes (n=442): leave-one-out refits against the active-set influence"
    )
    print(
        f"  {'alpha':>6} {'active':>7} {'rows changing support':>22} {'rel. err (support kept)':>24} {'rel. err (support changed)':>27}"
    )
    for alpha in alphas:
        model = InfluenceLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
        theta = np.r_[model.coef_, model.intercept_]
        predicted = -model.influence_params_ / n
        refits = loo_refit(
            Lasso(alpha=alpha, tol=1e-12, max_iter=100_000), X, y, n_jobs=-1
        )
        actual = refits - theta
        changed = np.array(
            [(r[:-1] != 0).tolist() != (model.coef_ != 0).tolist() for r in refits]
        )
        errors = np.linalg.norm(predicted - actual, axis=1) / np.maximum(
            np.linalg.norm(actual, axis=1), 1e-300
        )
        kept = np.median(errors[~changed]) if (~changed).any() else float("nan")
        moved = np.median(errors[changed]) if changed.any() else float("nan")
        print(
            f"  {alpha:6.2f} {int((model.coef_ != 0).sum()):7d} {int(changed.sum()):>14d} of {n}"
            f" {kept:24.4f} {moved:27.4f}"
        )


if __name__ == "__main__":
    loo_table("breast_cancer binary", load_breast_cancer, 400, 1.0)
    loo_table("breast_cancer binary", load_breast_cancer, 400, 0.1)
    loo_table("wine multinomial", load_wine, 120, 1.0)
    loo_table("digits 1 vs 7", load_digits, 250, 0.1, classes=[1, 7])
    loo_table("digits 10 classes", load_digits, 600, 0.1)
    group_table(load_breast_cancer, 400, 1.0)
    support_table()
