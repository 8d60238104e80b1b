"""
Influence against real leave-one-out refits on handwritten digits
=================================================================

Koh & Liang (2017, figure 2) check influence functions by removing training
images one at a time, retraining, and comparing the actual change of a test
image's loss with the change the influence function predicts. Here the same
check runs on scikit-learn's 8x8 digits with a 10-class logistic regression.

For training row ``i`` with weight ``s_i`` (here 1) and total weight ``S``
(here ``n``), removal is up-weighting by ``ε = -s_i/S``, so the predicted change
of the test loss is ``-(s_i/S) · influence_loss[0, i]``.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skinfluence import (
    InfluenceLogisticRegression,
    LeaveOneOutDisplay,
    TopInfluenceDisplay,
)

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=400, random_state=0, stratify=y
)

# A tight tolerance: the refits are the ground truth, so they must be exact minima.
model = InfluenceLogisticRegression(C=1.0, solver="newton-cg", tol=1e-10)
model.fit(X_train, y_train)
print(f"test accuracy {model.score(X_test, y_test):.3f}")

# %%
# Pick the test image the model finds hardest among the correctly classified
# ones, and compute the influence of all 400 training images on its loss.
proba = model.predict_proba(X_test)
loss = -np.log(proba[np.arange(len(y_test)), y_test])
correct = model.predict(X_test) == y_test
j = int(np.flatnonzero(correct)[np.argmax(loss[correct])])
x, label = X_test[j : j + 1], y_test[j : j + 1]
influence = model.influence_loss(x, label)[0]
print(f"test image {j}: digit {label[0]}, log-loss {loss[j]:.3f}")

# %%
# Refit without each of the 80 training images with the largest influence
# (as in the paper, which retrains on the most influential points) and plot
# predicted against actual change of the test loss.
top = np.argsort(-np.abs(influence))[:80]
start = time.perf_counter()
disp = LeaveOneOutDisplay.from_estimator(model, x, label, indices=top)
print(f"{len(top)} refits in {time.perf_counter() - start:.1f} s")
print(f"Pearson {disp.pearson_:.3f}, Spearman {disp.spearman_:.3f}")
disp.ax_.set_title(f"Digits, 10-class logistic regression, test image {j}")

# %%
# The training images behind that test loss: the most helpful ones (negative
# influence, removing them would raise the loss) and the most harmful ones.
rows = TopInfluenceDisplay.from_estimator(model, x, label, n_top=5, image_shape=(8, 8))
print("most helpful rows:", rows.helpful_rows_, "digits", y_train[rows.helpful_rows_])
print("most harmful rows:", rows.harmful_rows_, "digits", y_train[rows.harmful_rows_])
plt.show()
