"""Koh & Liang's section 4.3 (smooth hinge) on scikit-learn's digits, 1 vs 7.

Run from the repository root:  python benchmarks/smooth_hinge.py  (about 10 s).

Their setting: a linear SVM with the plain hinge, no intercept, weight decay
λ = 0.01 on the mean loss (``C = 1/(n λ)``); one hard test point; predicted vs
actual change of its hinge loss when one training row is left out. Actual
changes come from exact hinge-SVM refits (``tests/hinge_oracle.py``). The paper
correlates over the 100 rows of largest |influence| at ``t = 0`` (the hinge with
its second derivative set to zero, i.e. H = penalty); both that and all rows are
reported, and the rows split by where they sit: inside the margin (α = C), on it
(0 < α < C) and outside it (α = 0).
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

from skinfluence import InfluenceLinearSVC, NonStationaryWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hinge_oracle import (  # noqa: E402
    digits_one_vs_seven,
    exact_hinge_svm,
    leave_one_out_weights,
    zero_temperature_removals,
)

TEMPERATURES = (1e-4, 1e-3, 1e-2, 1e-1)


def study(lam, seed, n_train=250, n_test_points=5):
    X, y, X_test, y_test = digits_one_vs_seven(n_train, seed)
    C = 1 / (n_train * lam)
    coef, _, [(free, bound)] = exact_hinge_svm(X, y, C, fit_intercept=False)
    w = coef[0]
    loo = leave_one_out_weights(X, y, C) - w  # (n, d): exact Δw per removal
    models = {}
    for t in TEMPERATURES:
        model = InfluenceLinearSVC(
            loss="hinge",
            C=C,
            fit_intercept=False,
            tol=1e-8,
            random_state=0,
            smooth_hinge_temperature=t,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonStationaryWarning)
            model.fit(X, y)
            models[t] = {m: model.loo_params_change(m) for m in ("influence", "newton")}
    removals_t0 = zero_temperature_removals(X, y, w, C)
    test_margins = y_test * (X_test @ w)
    rows = []
    for j in np.argsort(test_margins)[:n_test_points]:
        x, label = X_test[j], y_test[j]
        # test margin < 1 before and after: hinge change = -label Δw·x
        actual = -label * loo @ x
        predicted = {0: -label * removals_t0 @ x}
        for t in TEMPERATURES:
            for method, change in models[t].items():
                predicted[t, method] = -label * change @ x
        top = np.argsort(-np.abs(predicted[0]))[:100]
        row = {"test margin": test_margins[j]}
        for key, p in predicted.items():
            row[key, "top100"] = pearsonr(p[top], actual[top])[0]
            row[key, "all"] = pearsonr(p, actual)[0]
            row[key, "err inside"] = np.abs(p - actual)[bound].max()
            row[key, "err on"] = np.abs(p - actual)[free].max()
            row[key, "err outside"] = np.abs(p - actual)[~free & ~bound].max()
        row["scale"] = np.abs(actual).max()
        rows.append(row)
    return rows, free.sum(), bound.sum()


def main():
    print(__doc__.split("\n\n")[1])
    for lam in (0.01, 0.1):
        for seed in (0, 1, 2):
            rows, n_on, n_inside = study(lam, seed)
            print(
                f"\nλ={lam} split seed {seed}: {n_inside} rows inside the margin, "
                f"{n_on} on it; 5 hardest test points (margins "
                + ", ".join(f"{r['test margin']:.2f}" for r in rows)
                + "); median over them"
            )
            print(
                f"{'t':>8} {'method':>10} {'R top100':>9} {'R all':>7} "
                f"{'max|err| inside':>16} {'on':>7} {'outside':>8}   (max |actual| "
                f"{np.median([r['scale'] for r in rows]):.3g})"
            )
            keys = [0] + [(t, m) for t in TEMPERATURES for m in ("influence", "newton")]
            for key in keys:
                t, method = (0, "t=0 basel.") if key == 0 else key

                def med(what, key=key, rows=rows):
                    return np.median([r[key, what] for r in rows])

                print(
                    f"{t:>8g} {method:>10} {med('top100'):9.3f} {med('all'):7.3f} "
                    f"{med('err inside'):16.3g} {med('err on'):7.3g} {med('err outside'):8.2g}"
                )


if __name__ == "__main__":
    main()
