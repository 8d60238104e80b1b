"""KernelRidge: skinfluence against pyinfluence's KernelRidge and exact refits.

Run from the repository root:

    python benchmarks/kernel_ridge.py            # about 2-4 minutes on 2 cores
    python benchmarks/kernel_ridge.py --threads 2

pyinfluence (PyPI ``pyinfluence``, tested with 0.5.0) is optional: without it
only skinfluence and the refits are measured. It is not a dependency of
skinfluence.

Estimand: the change of each test point's squared error ``(y − f(x))²`` when
one training row is removed. skinfluence: first order
``loo_loss_change(method="influence")`` and the exact downdate
``loo_loss_change()``; pyinfluence: ``InfluenceFunctions(mode="loss")
.explain`` (first order, ``½(y − f)²``, hence ×2), with its default
``damping=1e-5`` and with ``damping=0``; ground truth: ``KernelRidge`` refits
without each row (on every row, or on ``--refit-rows`` evenly spaced rows for
the larger problems). "err vs refits" is the max-norm error over the compared
entries relative to the largest refit change, "Pearson" their correlation
over all (test point, row) pairs; "vs ours first order" compares pyinfluence
with skinfluence's first-order values (the same estimand).

Times: the minimum of ``--repeats`` runs of a cold computation from a fitted
``KernelRidge``: skinfluence ``attach`` + ``loo_loss_change`` (factorization,
stationarity check, test solves), pyinfluence ``fit`` + ``explain``; ratios are
measured in the same process. BLAS threads are set with threadpoolctl and
printed. Not part of the test suite.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scipy.stats import pearsonr  # noqa: E402
from sklearn.datasets import load_diabetes, make_friedman1  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from skinfluence import attach  # noqa: E402

try:
    from pyinfluence import InfluenceFunctions
except ImportError:  # optional: the comparison is skipped
    InfluenceFunctions = None


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    return X[:300], y[:300], X[300:350], y[300:350]


def friedman(n):
    X, y = make_friedman1(n_samples=n + 50, noise=1.0, random_state=0)
    return X[:n], y[:n], X[n:], y[n:]


#: (name, data, KernelRidge parameters, rows refit: None = all)
CASES = [
    ("diabetes n=300 rbf γ=0.1", diabetes, dict(alpha=1.0, kernel="rbf", gamma=0.1)),
    (
        "diabetes n=300 laplacian",
        diabetes,
        dict(alpha=0.5, kernel="laplacian", gamma=0.1),
    ),
    (
        "diabetes n=300 poly 2",
        diabetes,
        dict(alpha=1.0, kernel="poly", degree=2, gamma=0.1, coef0=1.0),
    ),
    (
        "diabetes n=300 rbf γ=0.001 α=1e-3",
        diabetes,
        dict(alpha=1e-3, kernel="rbf", gamma=1e-3),
    ),
    (
        "friedman1 n=1000 rbf",
        lambda: friedman(1000),
        dict(alpha=0.1, kernel="rbf", gamma=0.1),
    ),
    (
        "friedman1 n=2000 rbf",
        lambda: friedman(2000),
        dict(alpha=0.1, kernel="rbf", gamma=0.1),
    ),
]


def best_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def refit_changes(params, X, y, X_test, y_test, rows):
    base = (y_test - KernelRidge(**params).fit(X, y).predict(X_test)) ** 2
    out = np.empty((len(y_test), len(rows)))
    for k, i in enumerate(rows):
        keep = np.arange(len(y)) != i
        f = KernelRidge(**params).fit(X[keep], y[keep]).predict(X_test)
        out[:, k] = (y_test - f) ** 2 - base
    return out


def err(got, expected):
    return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


def compare(row, values, actual, rows, first=None):
    row["err vs refits"] = err(values[:, rows], actual)
    row["Pearson vs refits"] = float(
        pearsonr(values[:, rows].ravel(), actual.ravel())[0]
    )
    if first is not None:
        row["vs ours first order"] = err(values, first)
    return row


def run(name, data, params, repeats, refit_rows):
    """Rows of the table for one case: ours (first order, exact), pyinfluence
    (damping 1e-5 and 0), refits."""
    X, y, X_test, y_test = data()
    n = len(y)
    model = KernelRidge(**params).fit(X, y)
    rows = np.arange(n) if n <= 300 else np.linspace(0, n - 1, refit_rows).astype(int)
    start = time.perf_counter()
    actual = refit_changes(params, X, y, X_test, y_test, rows)
    t_refit = (time.perf_counter() - start) / len(rows) * n

    def ours(method):
        return attach(model, X, y).loo_loss_change(X_test, y_test, method=method)

    t_first, first = best_time(lambda: ours("influence"), repeats)
    t_exact, exact = best_time(lambda: ours("newton"), repeats)
    out = [
        compare(
            {"method": "skinfluence first order", "time s": t_first},
            first,
            actual,
            rows,
        ),
        compare(
            {"method": "skinfluence exact", "time s": t_exact}, exact, actual, rows
        ),
    ]
    if InfluenceFunctions is not None:
        for damping in (1e-5, 0.0):
            row = {"method": f"pyinfluence damping={damping:g}"}
            caught = []

            def theirs(damping=damping, caught=caught):
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    a = InfluenceFunctions(mode="loss", damping=damping).fit(
                        model, X, y
                    )
                    out = 2.0 * a.explain(X_test, y_test)  # ½(y − f)² → (y − f)²
                caught[:] = sorted({str(m.message)[:48] for m in w})
                return out

            try:
                row["time s"], values = best_time(theirs, repeats)
            except Exception as error:  # noqa: BLE001 - reported in the table
                row["note"] = f"fails: {type(error).__name__}: {str(error)[:50]}"
                out.append(row)
                continue
            compare(row, values, actual, rows, first)
            if caught:
                row["note"] = "warns: " + "; ".join(caught)
            out.append(row)
    out.append({"method": f"refits ({len(rows)} timed)", "time s": t_refit})
    for row in out:
        row["case"], row["n"] = name, n
        if "time s" in row:
            row["time / skinfluence first order"] = row["time s"] / t_first
    return out


COLUMNS = (
    "case",
    "n",
    "method",
    "err vs refits",
    "Pearson vs refits",
    "vs ours first order",
    "time s",
    "time / skinfluence first order",
    "note",
)


def markdown(rows):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = []
        for key in COLUMNS:
            value = row.get(key, "")
            cells.append(f"{value:.3g}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--refit-rows", type=int, default=40)
    args = parser.parse_args()
    if InfluenceFunctions is None:
        print("pyinfluence is not installed: measuring skinfluence and refits only.")
    with threadpool_limits(limits=args.threads):
        blas = [
            f"{p['internal_api']} {p.get('version')} {p['num_threads']} threads"
            for p in threadpool_info()
        ]
        print("BLAS (threadpoolctl):", "; ".join(blas))
        print("load average:", os.getloadavg())
        rows = []
        for name, data, params in CASES:
            rows += run(name, data, params, args.repeats, args.refit_rows)
            print(f"{name}: done", flush=True)
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
