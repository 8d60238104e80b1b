"""
Poisson regression: influence with a penalty that scales with the data
======================================================================

scikit-learn's GLMs minimize a weighted *mean* deviance plus a fixed penalty,
``Σ s_i h_i / S + α/2 ‖w‖²``. Removing a row therefore also makes the penalty
relatively stronger, and the derivative of the refit with respect to a row's
weight is ``-H⁻¹(∇h_i + α w)``, not Koh & Liang's ``-H⁻¹ ∇h_i``. This example
measures both against real refits on the diabetes data (the target, a disease
progression score, is a positive quantity modelled with a log link).
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import pearsonr
from sklearn.datasets import load_diabetes
from sklearn.linear_model import PoissonRegressor
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluencePoissonRegressor, LeaveOneOutDisplay, loo_refit

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, y_train, X_test = X[:300], y[:300], X[300:]

model = InfluencePoissonRegressor(alpha=0.5, solver="newton-cholesky", tol=1e-12)
model.fit(X_train, y_train)

# %%
# Predicted change of every test prediction ``μ = exp(x·w + b)`` when each
# training row is removed, to first order in the parameter change
# ``-(1/n) · influence_params_[i]``: ours (with the penalty share) and the
# uncorrected formula, ``-H⁻¹∇h_i``.
n = len(y_train)
mu = model.predict(X_test)


def prediction_change(params_change):
    return mu[:, None] * (X_test @ params_change[:, :-1].T + params_change[:, -1])


ours = prediction_change(-model.influence_params_ / n)
core = model.influence_state()  # the uncorrected formula, for comparison only
objective, theta, solver = core.objective, core.theta, core.solver
paper_params = -solver.solve(objective.sample_gradients(theta).T).T
paper = prediction_change(-paper_params / n)

rows = np.arange(0, n, 5)
refits = loo_refit(
    PoissonRegressor(alpha=0.5, solver="newton-cholesky", tol=1e-12),
    X_train,
    y_train,
    indices=rows,
)
actual = np.exp(X_test @ refits[:, :-1].T + refits[:, -1]) - mu[:, None]

for name, predicted in [("with the penalty share", ours), ("uncorrected", paper)]:
    error = np.linalg.norm(predicted[:, rows] - actual) / np.linalg.norm(actual)
    r = pearsonr(predicted[:, rows].ravel(), actual.ravel())[0]
    print(f"{name:<24} relative error {error:.4f}   Pearson {r:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
for ax, (name, predicted) in zip(
    axes, [("with the penalty share", ours), ("uncorrected", paper)], strict=True
):
    disp = LeaveOneOutDisplay.from_predictions(
        predicted[:, rows].ravel(), actual.ravel(), ax=ax
    )
    ax.set_title(name)
    ax.set_xlabel("predicted change of test predictions")
axes[0].set_ylabel("actual change (refit)")
axes[1].set_ylabel("")

# %%
# Removing one of 300 rows is a large step, so second-order effects (about 4 %
# here) blur the difference. The derivative itself shows it: up-weight a row
# by ±ε·S, refit, and compare the central difference with both formulas.
eps = 1e-4
S = float(n)
for i in [0, 1, 2]:
    fits = []
    for sign in (1, -1):
        weights = np.ones(n)
        weights[i] += sign * eps * S
        refit = PoissonRegressor(alpha=0.5, solver="newton-cholesky", tol=1e-12)
        refit.fit(X_train, y_train, sample_weight=weights)
        fits.append(np.r_[refit.coef_, refit.intercept_])
    derivative = (fits[0] - fits[1]) / (2 * eps)
    scale = np.linalg.norm(derivative)
    print(
        f"row {i}: relative error of the weight derivative, "
        f"ours {np.linalg.norm(model.influence_params_[i] - derivative) / scale:.1e}, "
        f"uncorrected {np.linalg.norm(paper_params[i] - derivative) / scale:.1e}"
    )
