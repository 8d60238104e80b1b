"""
Training-set attack: small feature changes to three rows flip a prediction
==========================================================================

Koh & Liang (2017, section 5.2) craft training-set attacks with
``I_pert,loss``: the gradient of a test loss with respect to a training row's
features. ``model.influence_perturbation(X_test, y_test)[j, i]`` is that
gradient; moving training row ``i`` by a small ``δ`` changes test loss ``j`` by
about ``influence[j, i] @ δ / n``.

On the breast cancer data we pick a correctly classified test row, change the
features of only three training rows by at most a quarter of a standard
deviation each (labels untouched), following the sign of ``I_pert,loss`` for a
few steps with a refit after each, and watch the refit model change its mind.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceLogisticRegression

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=300, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n = len(y_train)
budget = 0.25  # ‖δ‖∞ per row, in standard deviations of each feature
k = 3  # rows the attacker may change


def fit(X):
    return InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(
        X, y_train
    )


def p_true(model, j):
    return model.predict_proba(X_test[j : j + 1])[0, y_test[j]]


model = fit(X_train)
print(f"test accuracy {model.score(X_test, y_test):.3f}")

# %%
# Which test rows are most vulnerable? To first order, moving the ``k`` rows
# with the largest ``‖I_pert,loss‖₁`` by ``budget · sign(I_pert,loss)`` raises
# test loss ``j`` by ``budget / n · Σ ‖I_pert,loss‖₁``; a flip needs an increase
# of ``log(2 p_j)``. Rank the confidently correct test rows (``p > 0.8``) by
# that ratio.
pert = model.influence_perturbation(X_test, y_test)  # (n_test, n_train, d)
p = model.predict_proba(X_test)[np.arange(len(y_test)), y_test]
strongest = -np.sort(-np.abs(pert).sum(axis=2), axis=1)[:, :k].sum(axis=1)
ratio = np.where(p > 0.8, budget / n * strongest / np.log(2 * p), -np.inf)
candidates = np.argsort(-ratio)[:8]


def attack(j, steps=5):
    """Projected sign steps on the k most influential rows, refitting each time."""
    X_attacked, current = X_train.copy(), model
    rows = np.argsort(-np.abs(pert[j]).sum(axis=1))[:k]
    for _ in range(steps):
        grad = current.influence_perturbation(X_test[j : j + 1], y_test[j : j + 1])
        X_attacked[rows] += budget / 2 * np.sign(grad[0, rows])
        X_attacked[rows] = np.clip(
            X_attacked[rows], X_train[rows] - budget, X_train[rows] + budget
        )
        current = fit(X_attacked)
    return X_attacked, rows


# %%
# Attack each candidate; confirm with a plain scikit-learn refit on the
# attacked training set. As a baseline, move the same rows by the same budget
# in random sign directions.
rng = np.random.default_rng(0)
print(" test row  p(true) before  after attack  random baseline")
results = []
for j in candidates:
    X_attacked, rows = attack(j)
    refit = LogisticRegression(solver="newton-cholesky", tol=1e-10)
    after = p_true(refit.fit(X_attacked, y_train), j)
    X_random = X_train.copy()
    X_random[rows] += budget * rng.choice([-1.0, 1.0], size=X_random[rows].shape)
    baseline = p_true(fit(X_random), j)
    results.append((j, rows, X_attacked, after, baseline))
    print(f" {j:8d}  {p[j]:14.3f}  {after:12.3f}  {baseline:15.3f}")
flipped = sum(after < 0.5 for *_, after, _ in results)
print(
    f"flipped {flipped} of the {len(candidates)} most vulnerable among "
    f"{np.sum(p > 0.8)} test rows predicted correctly with p > 0.8"
)

# %%
# The first-order prediction behind the attack, on the first candidate: the
# change of its test loss when its rows move by ``step · sign(I_pert,loss)``,
# predicted and refit. Exact for small steps; at the attack's step size the
# loss curves upward faster than linearly, which is why the attack refits
# between steps.
j, rows = candidates[0], results[0][1]
for step in (0.001, budget / 2):
    delta = np.zeros_like(X_train)
    delta[rows] = step * np.sign(pert[j, rows])
    predicted = np.sum(pert[j] * delta) / n
    actual = np.log(p[j]) - np.log(p_true(fit(X_train + delta), j))
    print(
        f"step {step:5.3f}: loss change predicted {predicted:.5f}, refit {actual:.5f}"
    )
print(
    f"rows changed: {rows}, largest change "
    f"{np.abs(results[0][2] - X_train).max():.2f} standard deviations"
)

# %%
# Probability of the true class for each attacked test row: before, after the
# attack, and after moving the same rows by the same budget in random
# directions.
fig, ax = plt.subplots()
x = np.arange(len(candidates))
ax.bar(x - 0.27, p[candidates], width=0.27, label="before")
ax.bar(x, [r[3] for r in results], width=0.27, label="after attack")
ax.bar(x + 0.27, [r[4] for r in results], width=0.27, label="random baseline")
ax.axhline(0.5, color="k", lw=0.8, ls="--")
ax.set_xticks(x, [str(j) for j in candidates])
ax.set_xlabel("test row")
ax.set_ylabel("p(true class)")
ax.set_title("Training-set attack: three training rows moved")
ax.legend()
