"""Which ranking of training rows finds flipped labels first?

Run from the repository root:

    python benchmarks/mislabels.py             # 5 seeds (about 5 minutes on 2 cores)
    python benchmarks/mislabels.py --quick     # 2 seeds
    python benchmarks/mislabels.py --seeds 20 --datasets breast_cancer --rates 0.1

Koh & Liang (2017, section 5.4) flip some training labels and inspect the rows
in the order given by a score. For every dataset × flip rate × seed:

1. standardize X (on all rows; no labels are used), hold out 10 % of the rows
   with their true labels as a trusted validation set (stratified), and flip
   the label of ``rate`` of the remaining training rows to a different class
   drawn at random;
2. fit ``InfluenceLogisticRegression(C=1, solver="newton-cholesky", tol=1e-10)``
   (multinomial for wine and digits) on the noisy training rows;
3. rank the training rows by each score (larger = check first) and measure the
   average precision (AP) of finding the flipped rows, and the recall after
   checking k rows (k = the number flipped) and 10 % / 20 % of the rows.

Scores (larger = more suspicious):

- ``loss``: training loss ``-log p(noisy label)`` at the fit (the baseline);
- ``self_inf``: ``-model.self_influence()`` (most negative first);
- ``cooks``: ``model.cooks_distance()``;
- ``loo_own``: Newton leave-one-out change of the row's own loss,
  ``ℓ_i(θ* + Δ_i) - ℓ_i(θ*)`` with ``θ* = θ̂ + newton_step_`` and
  ``Δ_i = model.loo_params_change("newton")[i]``;
- ``val_inf``: ``-(s_i/S) mean_j influence_loss(X_val, y_val)[j, i]`` is the
  predicted change of the mean validation loss when row ``i`` is removed; rows
  whose removal lowers it most come first (score = minus that change);
- ``cleanlab``: ``1 - cleanlab.rank.get_label_quality_scores`` on 5-fold
  ``cross_val_predict`` probabilities of ``LogisticRegression(C=1,
  solver="newton-cholesky")`` at scikit-learn's default ``tol`` (skipped when
  cleanlab is not installed);
- ``random``: a random permutation (AP ≈ the flip rate).

Times are per ranking on a model whose influence cache is empty (so the
influence scores include building and factoring the Hessian); the loss time is
``predict_proba`` only, after the shared fit (whose time is printed separately);
cleanlab's includes its 5 cross-validation fits. Not part of the test suite.
"""

import argparse
import copy
import os
import sys
import time
import warnings

import numpy as np
from scipy.special import logsumexp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn.datasets import load_breast_cancer, load_digits, load_wine  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skinfluence import InfluenceLogisticRegression  # noqa: E402

try:
    from cleanlab.rank import get_label_quality_scores
except ImportError:  # benchmark-only dependency
    get_label_quality_scores = None

RATES = (0.05, 0.10, 0.20)
VAL_FRACTION = 0.10


def machine():
    from speed import machine as speed_machine  # benchmarks/ is on sys.path

    return speed_machine(optional_packages=("cleanlab",))


def load(name):
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    elif name == "wine":
        X, y = load_wine(return_X_y=True)
    elif name == "digits":
        X, y = load_digits(return_X_y=True)
    elif name == "digits_3v5":
        X, y = load_digits(return_X_y=True)
        keep = np.isin(y, (3, 5))
        X, y = X[keep], (y[keep] == 5).astype(int)
    else:
        raise ValueError(name)
    return StandardScaler().fit_transform(X), y


def make_model():
    return InfluenceLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10)


def own_loss(model, theta, X, y):
    """Per-row log loss of row ``i`` at parameters ``theta[i]`` (rows of theta).

    ``θ = [coef_.ravel(), intercept_]`` (class-major for multinomial)."""
    n, d = X.shape
    k = model.coef_.shape[0]
    W = theta[:, : k * d].reshape(n, k, d)
    b = theta[:, k * d :]
    z = np.einsum("nkd,nd->nk", W, X) + b  # (n, k) logits
    if k == 1:  # binary: ℓ = log(1 + exp(-(2y-1) z))
        return np.logaddexp(0.0, -(2 * y - 1) * z[:, 0])
    return logsumexp(z, axis=1) - z[np.arange(n), y]


def scores_for(fitted, X, y_noisy, X_val, y_val, rng, n_folds=5):
    """Each ranking's score (larger = check first) and its time in seconds."""
    out = {}
    n = len(y_noisy)
    labels = np.searchsorted(fitted.classes_, y_noisy)

    def timed(name, fn):
        model = copy.deepcopy(fitted)  # influence cache empty
        start = time.perf_counter()
        score = fn(model)
        out[name] = (np.asarray(score, dtype=float), time.perf_counter() - start)

    timed(
        "loss",
        lambda m: (
            -np.log(np.clip(m.predict_proba(X)[np.arange(n), labels], 1e-300, None))
        ),
    )
    timed("self_inf", lambda m: -m.self_influence())
    timed("cooks", lambda m: m.cooks_distance())

    def loo_own(m):
        center = m.coef_.ravel().tolist() + list(m.intercept_)
        center = np.asarray(center) + m.newton_step_
        changes = m.loo_params_change("newton")
        base = own_loss(m, np.broadcast_to(center, changes.shape), X, labels)
        return own_loss(m, center + changes, X, labels) - base

    timed("loo_own", loo_own)
    # predicted change of the mean validation loss when row i is removed (s_i = 1)
    timed("val_inf", lambda m: (m.influence_loss(X_val, y_val).mean(axis=0)) / n)

    if get_label_quality_scores is not None:

        def cleanlab_score(m):
            cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
            # plain scikit-learn, default tol: only the probabilities are used
            est = LogisticRegression(C=1.0, solver="newton-cholesky")
            proba = cross_val_predict(est, X, y_noisy, cv=cv, method="predict_proba")
            return 1.0 - get_label_quality_scores(labels, proba)

        timed("cleanlab", cleanlab_score)
    out["random"] = (rng.permutation(n).astype(float), 0.0)
    return out


def flip(y, rate, rng):
    """Flip ``round(rate n)`` labels to a different class at random."""
    classes = np.unique(y)
    n = len(y)
    idx = rng.choice(n, size=int(round(rate * n)), replace=False)
    pos = np.searchsorted(classes, y[idx])
    shift = rng.integers(1, len(classes), size=len(idx))
    y_noisy = y.copy()
    y_noisy[idx] = classes[(pos + shift) % len(classes)]
    is_flipped = np.zeros(n, dtype=bool)
    is_flipped[idx] = True
    return y_noisy, is_flipped


def recall_at(score, is_flipped, k):
    order = np.argsort(-score, kind="stable")
    return is_flipped[order[:k]].sum() / is_flipped.sum()


def run_cell(dataset, di, rate, ri, seed):
    X_all, y_all = load(dataset)
    rng = np.random.default_rng([di, ri, seed])
    X, X_val, y, y_val = train_test_split(
        X_all,
        y_all,
        test_size=VAL_FRACTION,
        stratify=y_all,
        random_state=int(rng.integers(2**31)),
    )
    y_noisy, is_flipped = flip(y, rate, rng)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's convergence chatter
        fitted = make_model().fit(X, y_noisy)
    fit_time = time.perf_counter() - start
    n, k = len(y), int(is_flipped.sum())
    res = {}
    for name, (score, seconds) in scores_for(
        fitted, X, y_noisy, X_val, y_val, rng
    ).items():
        res[name] = {
            "ap": average_precision_score(is_flipped, score),
            "r@k": recall_at(score, is_flipped, k),
            "r@10%": recall_at(score, is_flipped, int(round(0.1 * n))),
            "r@20%": recall_at(score, is_flipped, int(round(0.2 * n))),
            "time": seconds,
        }
    return res, fit_time, n, k


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    parser.add_argument("--datasets", default="breast_cancer,wine,digits,digits_3v5")
    parser.add_argument("--rates", default=",".join(str(r) for r in RATES))
    parser.add_argument("--markdown", action="store_true", help="also print markdown")
    args = parser.parse_args()
    n_seeds = 2 if args.quick else args.seeds
    datasets = args.datasets.split(",")
    rates = [float(r) for r in args.rates.split(",")]

    print("machine:")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    print(
        f"seeds 0..{n_seeds - 1}; validation = {VAL_FRACTION:.0%} held out with true "
        "labels; model InfluenceLogisticRegression(C=1, solver='newton-cholesky', "
        "tol=1e-10) on standardized X\n"
    )
    md = []
    summary = []
    for dataset in datasets:
        di = ["breast_cancer", "wine", "digits", "digits_3v5"].index(dataset)
        for rate in rates:
            ri = int(round(rate * 1000))
            runs = []
            fit_times = []
            for seed in range(n_seeds):
                res, fit_time, n, k = run_cell(dataset, di, rate, ri, seed)
                runs.append(res)
                fit_times.append(fit_time)
            names = list(runs[0])
            ap = {m: np.array([r[m]["ap"] for r in runs]) for m in names}
            print(
                f"== {dataset}, {rate:.0%} flipped: n_train={n}, k={k} flipped, "
                f"fit {np.mean(fit_times) * 1e3:.0f} ms (mean over {n_seeds} seeds)"
            )
            header = (
                f"{'ranking':<10}{'AP':>7}{'R@k':>7}{'R@10%':>7}{'R@20%':>7}"
                f"{'ms':>8}{'ΔAP vs loss':>13}{'ahead':>7}"
            )
            print(header)
            for m in names:
                mean = {
                    key: np.mean([r[m][key] for r in runs])
                    for key in ("ap", "r@k", "r@10%", "r@20%", "time")
                }
                diff = ap[m] - ap["loss"]
                ahead = int((diff > 0).sum())
                dtxt = "" if m == "loss" else f"{diff.mean():+.3f}"
                atxt = "" if m == "loss" else f"{ahead}/{n_seeds}"
                print(
                    f"{m:<10}{mean['ap']:>7.3f}{mean['r@k']:>7.3f}"
                    f"{mean['r@10%']:>7.3f}{mean['r@20%']:>7.3f}"
                    f"{mean['time'] * 1e3:>8.1f}{dtxt:>13}{atxt:>7}"
                )
                md.append(
                    f"| {dataset} | {rate:.0%} | {m} | {mean['ap']:.3f} | "
                    f"{mean['r@k']:.3f} | {mean['r@10%']:.3f} | {mean['r@20%']:.3f} | "
                    f"{mean['time'] * 1e3:.1f} | {dtxt} | {atxt} |"
                )
            best = max((m for m in names if m != "random"), key=lambda m: ap[m].mean())
            summary.append((dataset, rate, best, {m: ap[m].mean() for m in names}))
            print()
    print("best mean AP per cell:")
    wins = {}
    for dataset, rate, best, means in summary:
        wins[best] = wins.get(best, 0) + 1
        print(
            f"  {dataset:<14}{rate:>5.0%}  {best:<9}"
            + "  ".join(f"{m} {v:.3f}" for m, v in means.items())
        )
    print("cells won:", ", ".join(f"{m} {c}" for m, c in sorted(wins.items())))
    if args.markdown:
        print(
            "\n| dataset | flipped | ranking | AP | R@k | R@10% | R@20% | ms "
            "| ΔAP vs loss | seeds ahead |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(md))


if __name__ == "__main__":
    main()
