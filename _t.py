import time, numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.linear_model import LogisticRegression
from skinfluence import loo_refit

X, y = load_digits(return_X_y=True)
X = X / 16
for solver in ["newton-cholesky", "lbfgs", "newton-cg"]:
    m = LogisticRegression(solver=solver, tol=1e-10, max_iter=1000)
    t = time.perf_counter()
    loo_refit(m, X[:500], y[:500], indices=range(10))
    print("multi", solver, (time.perf_counter() - t) / 10)
mask = np.isin(y, [3, 8])
Xb, yb = X[mask], y[mask]
for solver in ["newton-cholesky", "lbfgs"]:
    m = LogisticRegression(solver=solver, tol=1e-10, max_iter=1000)
    t = time.perf_counter()
    loo_refit(m, Xb[:250], yb[:250], indices=range(20))
    print("bin", solver, (time.perf_counter() - t) / 20)
