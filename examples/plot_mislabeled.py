"""
Looking for mislabelled training rows: self-influence against training loss
===========================================================================

Koh & Liang (2017, section 5.4) flip the labels of 10 % of the training data
and then inspect training rows in some order, counting how many of the flipped
ones are found after checking a given fraction of the data. This example makes
that comparison on the breast-cancer data over 20 random flips, for three
orderings: largest self-influence magnitude first, largest training loss first,
and random.

The self-influence of row ``i`` is ``I_up,loss(z_i, z_i) = -g_iᵀ H⁻¹ g_i`` with
``g_i`` the gradient of its loss: how much up-weighting the row lowers its own
loss. It is never positive; a large magnitude means the model bends towards that
row. It is the diagonal of ``influence_loss(X_train, y_train)``;
``model.self_influence()`` computes it without the full matrix.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import average_precision_score
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceIndexDisplay,
    InfluenceLogisticRegression,
)

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
n = len(y)
n_flipped = n // 10
fractions = np.arange(1, n + 1) / n  # fraction of the rows checked
names = ("training loss", "self-influence", "random")
n_seeds = 20


def flip_and_fit(seed):
    rng = np.random.default_rng(seed)
    flipped = rng.choice(n, size=n_flipped, replace=False)
    y_noisy = y.copy()
    y_noisy[flipped] = 1 - y_noisy[flipped]
    model = InfluenceLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10)
    return model.fit(X, y_noisy), y_noisy, flipped, rng


# %%
# For each seed: flip 10 % of the labels, fit, and score every row (larger =
# check first). For a binary logistic regression ``g_i = (p_i - t_i) [x_i, 1]``,
# so the self-influence is the squared residual times a leverage-like factor
# ``[x_i, 1]ᵀ H⁻¹ [x_i, 1]``; we keep that factor to see which rows it promotes.
recall = {name: [] for name in names}
ap = {name: [] for name in names}
promoted = {"self-influence only": [], "training loss only": []}  # (flipped, leverage)
for seed in range(n_seeds):
    model, y_noisy, flipped, rng = flip_and_fit(seed)
    is_flipped = np.isin(np.arange(n), flipped)
    proba = model.predict_proba(X)[:, 1]
    train_loss = -np.log(np.where(y_noisy == 1, proba, 1 - proba))
    self_inf = model.self_influence()
    leverage = -self_inf / (proba - y_noisy) ** 2
    scores = {
        "training loss": train_loss,
        "self-influence": -self_inf,  # most negative first
        "random": rng.random(n),
    }
    for name, score in scores.items():
        order = np.argsort(-score, kind="stable")
        recall[name].append(np.cumsum(is_flipped[order]) / n_flipped)
        ap[name].append(average_precision_score(is_flipped, score))
    top_loss = set(np.argsort(-train_loss)[:n_flipped])
    top_self = set(np.argsort(self_inf)[:n_flipped])
    for key, rows in (
        ("self-influence only", top_self - top_loss),
        ("training loss only", top_loss - top_self),
    ):
        rows = np.fromiter(rows, dtype=int)
        promoted[key].append((is_flipped[rows], leverage[rows] / np.median(leverage)))

diagonal = np.diag(model.influence_loss(X, y_noisy))
print(
    f"self_influence vs diag(influence_loss): max |diff| {np.abs(self_inf - diagonal).max():.2e}"
)

# %%
# Average precision and recall after checking 5 %, 10 %, 20 % and 30 % of the
# rows (mean over the seeds), and for how many seeds each ordering's average
# precision is above the training loss's.
checks = (0.05, 0.10, 0.20, 0.30)
print(f"{n_flipped} of {n} labels flipped, {n_seeds} seeds; recall after checking")
print(
    f"{'ordering':<16}{'AP':>7}" + "".join(f"{p:>7.0%}" for p in checks) + "  AP > loss"
)
for name in names:
    mean_recall = np.mean(recall[name], axis=0)
    ahead = np.sum(np.array(ap[name]) > np.array(ap["training loss"]))
    print(
        f"{name:<16}{np.mean(ap[name]):>7.3f}"
        + "".join(f"{mean_recall[int(p * n) - 1]:>7.2f}" for p in checks)
        + ("" if name == "training loss" else f"  {ahead}/{n_seeds}")
    )

# %%
# Rows among the first ``n_flipped`` of one ordering and not of the other:
# what fraction really is flipped, and their median leverage-like factor
# relative to the median over all rows.
for key, pairs in promoted.items():
    is_f = np.concatenate([p[0] for p in pairs])
    lev = np.concatenate([p[1] for p in pairs])
    print(
        f"in the top {n_flipped} by {key:<20}: {len(is_f)} rows over the seeds, "
        f"{is_f.mean():.0%} flipped, median leverage {np.median(lev):.1f}x"
    )

# %%
# Fraction of the flipped rows found against fraction of the rows checked,
# averaged over the seeds.
fig, ax = plt.subplots()
for name in names:
    ax.plot(fractions, np.mean(recall[name], axis=0), label=name)
ax.axvline(0.1, color="grey", lw=0.5, ls=":")
ax.set_xlim(0, 0.4)
ax.set_xlabel("fraction of training rows checked")
ax.set_ylabel("fraction of flipped labels found")
ax.legend()

# %%
# On these data the training loss finds the flipped labels at least as fast as
# self-influence: its average precision is higher, and the table above gives
# the number of seeds on which each ordering beats it. Self-influence
# multiplies the squared residual by a leverage-like factor, so it promotes
# rows far out in feature space whether or not their label is wrong: the rows
# it puts first that the loss does not are flipped less often and have a much
# larger leverage than the rows it demotes. ``benchmarks/MISLABELS.md`` repeats
# the comparison on four datasets and three flip rates, with Cook's distance,
# the Newton leave-one-out change of a row's own loss, influence on a trusted
# validation set and cleanlab.
#
# Self-influence of every row for the last seed; the flipped rows are shown as
# crosses, the five largest are labelled.
disp = InfluenceIndexDisplay(self_inf, top_k=n_flipped, n_labeled=5).plot()
disp.ax_.scatter(
    flipped, self_inf[flipped], marker="x", color="k", s=15, label="flipped label"
)
disp.ax_.legend()
plt.show()
