"""
Quick start: which training rows made the model say this?
==========================================================

Fit an influence-capable logistic regression on the breast cancer data, ask
which training rows most helped and most hurt one test prediction, and check
the first-order prediction against the model actually refit without a row.
"""

# sphinx_gallery_thumbnail_number = 1

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceLogisticRegression, TopInfluenceDisplay

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=300, random_state=1
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# A tight tolerance puts the fit at the minimum the influence formulas assume.
model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10).fit(
    X_train, y_train
)

# %%
# Influence of every training row on the loss of the first test row.
# Positive = up-weighting the row raises the test loss (a harmful row).
influence = model.influence_loss(X_test[:1], y_test[:1])[0]
order = np.argsort(influence)
print("most helpful rows:", order[:5])
print("most harmful rows:", order[::-1][:5])

# %%
# What would the model be without the most harmful row? ``remove_effect``
# returns a new fitted model with the first-order prediction; compare with a
# real refit.
worst = order[-1]
predicted = model.remove_effect(worst)
keep = np.arange(len(y_train)) != worst
refit = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(
    X_train[keep], y_train[keep]
)


def test_loss(m):
    return -np.log(m.predict_proba(X_test[:1])[0, y_test[0]])


print(f"test loss now            {test_loss(model):.6f}")
print(f"predicted without row {worst}  {test_loss(predicted):.6f}")
print(f"refit without row {worst}      {test_loss(refit):.6f}")

# %%
# The same question as a picture: the five most harmful and most helpful
# training rows for that test point, with their labels.
TopInfluenceDisplay.from_estimator(model, X_test[:1], y_test[:1], n_top=5)
