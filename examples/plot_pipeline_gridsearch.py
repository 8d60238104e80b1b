"""
Influence in a Pipeline tuned with GridSearchCV
===============================================

An influence estimator is an ordinary scikit-learn estimator, so it can be the
last step of a :class:`~sklearn.pipeline.Pipeline` and be tuned by
:class:`~sklearn.model_selection.GridSearchCV`. Its influence methods see what
the last step sees: the *transformed* data. Pass test rows through
``best_estimator_[:-1]`` first.

The training rows are the rows the refit best estimator was trained on (all of
``X_train``); the scaler fitted on them is held fixed, so the influences
describe the effect of a row on the logistic regression alone.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluenceIndexDisplay, InfluenceLogisticRegression

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    StandardScaler(), InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10)
)
search = GridSearchCV(pipe, {"influencelogisticregression__C": [0.01, 0.1, 1.0, 10.0]})
search.fit(X_train, y_train)
print("best C:", search.best_params_["influencelogisticregression__C"])

# %%
# The last step of the refit best pipeline, and the test rows transformed by
# the steps before it.
best = search.best_estimator_
model = best[-1]
Xt_test = best[:-1].transform(X_test)
influence = model.influence_loss(Xt_test, y_test)
print("influence_loss shape (n_test, n_train):", influence.shape)
print(f"gradient norm at the fit: {model.gradient_norm_:.1e}")

# %%
# Training rows that hurt the test set most on average: positive mean
# influence means up-weighting the row raises the mean test loss.
mean_influence = influence.mean(axis=0)
worst = np.argsort(mean_influence)[::-1][:5]
print("most harmful rows for the test set:", worst)
print("their mean influence:", np.round(mean_influence[worst], 3))
InfluenceIndexDisplay.from_predictions(
    mean_influence, top_k=5, score_name="mean influence on the test loss"
)

# %%
# Check the first-order prediction for the most harmful row against a refit
# of the whole pipeline without it (same C; the scaler is refit too, which the
# influence does not model, so the agreement is close but not exact).
n = len(y_train)
keep = np.arange(n) != worst[0]
refit = make_pipeline(
    StandardScaler(),
    InfluenceLogisticRegression(C=model.C, solver="newton-cholesky", tol=1e-10),
).fit(X_train[keep], y_train[keep])


def mean_test_loss(p):
    proba = p.predict_proba(X_test)
    return -np.log(proba[np.arange(len(y_test)), y_test]).mean()


print(f"predicted change of mean test loss: {-mean_influence[worst[0]] / n:+.5f}")
print(
    f"actual change (full pipeline refit): {mean_test_loss(refit) - mean_test_loss(best):+.5f}"
)

# %%
# A pipeline fitted with plain scikit-learn can be given influence functions
# afterwards with :func:`skinfluence.attach`, without refitting: the last step
# becomes an ``InfluenceLogisticRegression`` on the transformed training data.
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skinfluence import attach  # noqa: E402

plain = make_pipeline(
    StandardScaler(), LogisticRegression(C=model.C, solver="newton-cholesky", tol=1e-10)
).fit(X_train, y_train)
attached = attach(plain, X_train, y_train)
same = attached[-1].influence_loss(attached[:-1].transform(X_test), y_test)
print(f"attach vs influence estimator: max |diff| {np.abs(same - influence).max():.1e}")
