"""The demo behind ``python -m skinfluence``: which training rows made the model
say this about one test patient, and how well influence matched real refits."""

import time

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ._estimators import InfluenceLogisticRegression
from ._validation import loo_refit


def _log_loss(model, X, label):
    proba = model.predict_proba(X)[0]
    return -np.log(proba[np.searchsorted(model.classes_, label)])


def main(n_show=5, n_jobs=None):
    """Run the demo and return the Pearson and Spearman correlations."""
    data = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, train_size=400, random_state=0, stratify=data.target
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    names = data.target_names

    model = InfluenceLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10)
    model.fit(X_train, y_train)
    losses = -np.log(model.predict_proba(X_test)[np.arange(len(y_test)), y_test])
    j = int(np.argmax(losses))  # the test patient the model finds hardest
    x, label = X_test[j : j + 1], y_test[j]
    print(
        "skinfluence demo: breast cancer, logistic regression (C=1), 400 training rows"
    )
    print(
        f"test row {j}: truly {names[label]}, predicted P({names[label]}) = "
        f"{np.exp(-losses[j]):.3f}, log-loss {losses[j]:.3f}\n"
    )

    start = time.perf_counter()
    influence = model.influence_loss(x, [label])[0]
    elapsed = time.perf_counter() - start
    n = len(y_train)
    predicted = -influence / n  # change of this test loss if the row is removed

    def show(title, rows):
        print(title)
        print("   row  label      influence  predicted change of test loss if removed")
        for i in rows:
            print(
                f"  {i:4d}  {names[y_train[i]]:<9}  {influence[i]:+9.4f}  {predicted[i]:+.5f}"
            )
        print()

    order = np.argsort(influence)
    show(
        "most helpful training rows (removing them raises the test loss):",
        order[:n_show],
    )
    show(
        "most harmful training rows (removing them lowers the test loss):",
        order[::-1][:n_show],
    )

    start = time.perf_counter()
    params = loo_refit(model, X_train, y_train, n_jobs=n_jobs)
    refit_time = time.perf_counter() - start
    base = _log_loss(model, x, label)
    actual = np.empty(n)
    refit = InfluenceLogisticRegression(**model.get_params()).fit(X_train, y_train)
    d = X_train.shape[1]
    for i, theta in enumerate(params):
        refit.coef_, refit.intercept_ = theta[:d][None, :], theta[d:]
        actual[i] = _log_loss(refit, x, label) - base
    pearson, spearman = pearsonr(predicted, actual)[0], spearmanr(predicted, actual)[0]
    print(
        f"influence of all {n} rows: {1e3 * elapsed:.1f} ms; {n} exact refits: {refit_time:.1f} s"
    )
    print(
        "predicted vs actual leave-one-out change of the test loss: "
        f"Pearson {pearson:.3f}, Spearman {spearman:.3f}"
    )
    return pearson, spearman
