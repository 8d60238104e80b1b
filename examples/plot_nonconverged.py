"""
A fit that stopped short of the minimum
=======================================

Influence functions differentiate the *minimum* of the training objective.
When the solver stops early, the fitted ``θ̃`` is not that minimum, and
skinfluence says so with a :class:`~skinfluence.NonStationaryWarning`.

Koh & Liang (2017, appendix B) give the way to read influences then: one
Newton step from ``θ̃`` on the objective without row ``i`` lands at

``θ̃ + newton_step_ - (s_i/S) · influence_params_[i]``

where ``newton_step_ = -H⁻¹∇R(θ̃)`` is the part that does not depend on the
row (the step to the minimum of the full objective) and the row-dependent part
is the influence. This example checks both parts against exact refits, then
refits with a tight tolerance, which is the real remedy.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceLogisticRegression, NonStationaryWarning, loo_refit

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)[:400]
y = y[:400]
n = len(y)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's own
    short = InfluenceLogisticRegression(solver="lbfgs", max_iter=8).fit(X, y)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", NonStationaryWarning)
    influence = short.influence_params_
for w in caught:
    print(f"{w.category.__name__}: {w.message}\n")
print(f"gradient norm ‖∇R(θ̃)‖ = {short.gradient_norm_:.2e}")
print(f"Newton step length ‖newton_step_‖ = {np.linalg.norm(short.newton_step_):.2e}")

# %%
# The exact minimum (a tight refit) and the exact leave-one-out minima for
# a few rows are the ground truth.
tight = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
theta_short = np.r_[short.coef_.ravel(), short.intercept_]
theta_min = np.r_[tight.coef_.ravel(), tight.intercept_]
print(f"‖θ̃ - θ̂‖ = {np.linalg.norm(theta_short - theta_min):.2e}")
print(
    "‖θ̃ + newton_step_ - θ̂‖ = "
    f"{np.linalg.norm(theta_short + short.newton_step_ - theta_min):.2e}"
)

rows = np.arange(0, n, 10)
exact = loo_refit(tight, X, y, indices=rows)
actual = exact - theta_min  # the true effect of removing each row


def report(name, predicted):
    error = np.linalg.norm(predicted - actual, axis=1) / np.linalg.norm(actual, axis=1)
    print(
        f"  {name:<34} relative error: median {np.median(error):.3f}, "
        f"largest {error.max():.3f}"
    )
    return error


print(f"\neffect of removing row i on θ, {len(rows)} rows, against exact refits:")
errors = {
    "at θ̃ (stopped short)": report(
        "-influence_params_/n at θ̃ (short)", -influence[rows] / n
    )
}

# %%
# The remedy: refit to the minimum. No warning, and the influence is the
# derivative of the exact refit.
with warnings.catch_warnings():
    warnings.simplefilter("error", NonStationaryWarning)
    errors["at θ̂ (tight refit)"] = report(
        "-influence_params_/n at θ̂ (tight)", -tight.influence_params_[rows] / n
    )

# %%
# Per row: the relative error of the predicted removal effect against the
# exact refit, for the influence at the stopped-short fit and at the minimum.
fig, ax = plt.subplots()
for name, error in errors.items():
    ax.semilogy(rows, error, "o", ms=4, label=name)
ax.set_xlabel("removed training row")
ax.set_ylabel("relative error of -influence_params_/n")
ax.set_title("Removal effect against exact refits")
ax.legend()
