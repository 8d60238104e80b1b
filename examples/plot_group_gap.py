"""
Which training rows widen a gap between two groups?
===================================================

A classifier's mean predicted probability can differ between two groups of
people (a demographic-parity gap). The gap is a smooth function of the fitted
parameters, so each training row has an influence on it:
``model.influence_statistic(prediction_gap(model, X_a, X_b))``. Here we predict
whether a diabetes patient's disease progresses more than the median, compare
the two sexes, and check the predicted effect of removing rows against refits.
"""

# sphinx_gallery_thumbnail_number = 1

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceLogisticRegression, LeaveOneOutDisplay, prediction_gap

X, progression = load_diabetes(return_X_y=True)
y = (progression > np.median(progression)).astype(int)
group = X[:, 1] > 0  # the "sex" column, two values
X_train, X_test, y_train, y_test, g_train, g_test = train_test_split(
    X, y, group, train_size=300, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)


def fit(X, y):
    return InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)


model = fit(X_train, y_train)

# %%
# The gap: mean P(progression above median) in one group minus the other,
# on the test rows.
gap = prediction_gap(model, X_test[g_test], X_test[~g_test])
print(f"gap on the test rows: {gap.value_:+.4f}")

# %%
# Influence of up-weighting each training row on the gap. Removing row ``i``
# changes the gap by about ``-influence[i] / n``; rows with the same sign as
# the gap widen it.
influence = model.influence_statistic(gap)
n = len(y_train)
widening = np.argsort(-np.sign(gap.value_) * influence)
print("rows that widen the gap most:", widening[:5])


def refit_gap(removed):
    keep = np.setdiff1d(np.arange(n), removed)
    refit = LogisticRegression(solver="newton-cholesky", tol=1e-10)
    refit.fit(X_train[keep], y_train[keep])
    p = refit.predict_proba(X_test)[:, 1]
    return p[g_test].mean() - p[~g_test].mean()


# %%
# Check every single-row removal against a refit, then remove the top rows
# together (first-order effects add).
predicted = -influence / n
actual = np.array([refit_gap([i]) - gap.value_ for i in range(n)])
print(
    f"correlation, predicted vs refit change, all {n} rows: "
    f"{np.corrcoef(predicted, actual)[0, 1]:.4f}"
)
for k in (1, 3, 10):
    removed = widening[:k]
    print(
        f"remove top {k:2d}: gap predicted {gap.value_ + predicted[removed].sum():+.4f}"
        f", refit {refit_gap(removed):+.4f}"
    )

# %%
# Predicted against refit change of the gap for every single-row removal.
disp = LeaveOneOutDisplay.from_predictions(predicted, actual)
disp.ax_.set_xlabel("predicted change of the gap (influence)")
disp.ax_.set_ylabel("actual change of the gap (refit)")
disp.ax_.set_title("Removing one training row: the group gap")
