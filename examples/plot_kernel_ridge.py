"""
Kernel ridge: exact leave-one-out without refitting
===================================================

:class:`~skinfluence.InfluenceKernelRidge` computes influences of
scikit-learn's ``KernelRidge`` in dual form, through the kernel matrix. The
loss is squared, so removing rows is an exact downdate of one factorization:
this example compares, for every training row of a noisy 1-D regression with
a few corrupted targets, the predicted change of a test error when the row is
left out -- first order and exact -- with 60 real refits.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import pearsonr
from sklearn.kernel_ridge import KernelRidge

from skinfluence import InfluenceKernelRidge

rng = np.random.default_rng(0)
X = np.sort(rng.uniform(0, 6, 60))[:, None]
y = np.sin(X[:, 0]) + 0.15 * rng.normal(size=60)
corrupted = [12, 30, 47]
y[corrupted] += [1.5, -1.8, 1.2]
X_test = np.linspace(0, 6, 200)[:, None]
y_test = np.sin(X_test[:, 0])

params = dict(alpha=0.1, kernel="rbf", gamma=2.0)
model = InfluenceKernelRidge(**params).fit(X, y)

# %%
# The change of the mean test error when each row is left out: first order
# (``method="influence"``), exact (the default), and refits.
first = model.loo_loss_change(X_test, y_test, method="influence").mean(axis=0)
exact = model.loo_loss_change(X_test, y_test).mean(axis=0)
base = np.mean((y_test - model.predict(X_test)) ** 2)
refits = np.array(
    [
        np.mean(
            (
                y_test
                - KernelRidge(**params)
                .fit(np.delete(X, i, 0), np.delete(y, i))
                .predict(X_test)
            )
            ** 2
        )
        - base
        for i in range(len(y))
    ]
)
print(f"exact downdate: max |error| vs refits {np.max(np.abs(exact - refits)):.2e}")
print(f"first order:    Pearson with refits {pearsonr(first, refits)[0]:.4f}")
most_harmful = int(np.argmin(exact))  # removing it lowers the test error most
print(f"most harmful row: {most_harmful} (corrupted rows: {corrupted})")

# %%
# Removing that row: ``remove_effect`` returns a fitted ``KernelRidge`` on the
# remaining rows, which predicts like a refit.
smaller = model.remove_effect(most_harmful)
refit = KernelRidge(**params).fit(
    np.delete(X, most_harmful, 0), np.delete(y, most_harmful)
)
print(
    "remove_effect vs refit, max |prediction difference|: "
    f"{np.max(np.abs(smaller.predict(X_test) - refit.predict(X_test))):.2e}"
)

# %%
# The exact downdate agrees with the refits to round-off (printed above), for
# every row at once and without refitting. The first-order values are close
# but not exact: leaving a row out changes a prediction by the first-order
# change divided by ``1 − h_ii`` (its leverage), so rows the fit bends towards
# move most. The row whose removal lowers the test error most is, here, one of
# the corrupted ones.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.scatter(X[:, 0], y, c="0.5", s=15, label="training rows")
left.scatter(
    X[corrupted, 0], y[corrupted], c="tab:red", s=30, label="corrupted targets"
)
left.plot(X_test[:, 0], model.predict(X_test), label="fit")
left.plot(
    X_test[:, 0], smaller.predict(X_test), "--", label=f"without row {most_harmful}"
)
left.set(xlabel="x", ylabel="y", title="KernelRidge (rbf)")
left.legend(fontsize=8)
right.scatter(refits, first, s=12, label="first order")
right.scatter(refits, exact, s=12, marker="x", label="exact downdate")
lim = [refits.min(), refits.max()]
right.plot(lim, lim, c="0.6", lw=1)
right.set(
    xlabel="change of mean test error, refit without the row",
    ylabel="predicted change",
    title="Leave-one-out, all 60 rows",
)
right.legend(fontsize=8)
fig.tight_layout()
plt.show()
