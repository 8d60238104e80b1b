"""Exact solutions of the plain-hinge linear SVM, independent of skinfluence.

liblinear solves ``½‖v‖² + C Σ s_i max(0, 1 - y_i x̃_iᵀv)`` (x̃ = [x, intercept_scaling]
when the intercept is fitted, penalized like the weights) only to its tolerance:
at ``tol=1e-12`` it is slow and rows off the support still move by ~1e-8 between
refits. The solution is piecewise linear in the weights, so once the three sets
of rows are known it follows from one linear system (the KKT conditions):

- ``m_i > 1`` (outside the margin): ``α_i = 0``;
- ``m_i < 1`` (inside it, "bound"): ``α_i = C s_i``;
- ``m_i = 1`` (on it, "free"): ``0 ≤ α_i ≤ C s_i`` solving ``m_i = 1``,

with ``v = Σ α_i y_i x̃_i`` and ``m_i = y_i x̃_iᵀ v``. :func:`exact_hinge_svm` starts
from liblinear's sets, solves, moves rows that break a condition and repeats
until all hold to round-off.

Also here, shared by ``test_smooth_hinge.py`` and ``benchmarks/smooth_hinge.py``:
Koh & Liang's section 4.3 setting on the digits, its exact leave-one-out
weights, and the paper's ``t = 0`` baseline.
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

KKT_TOL = 1e-10


class ActiveSetError(RuntimeError):
    pass


def _solve_binary(Z, bound_alpha, v0, max_rounds=100):
    """Rows ``z_i = y_i x̃_i``; returns ``(v, free, bound)`` at the exact optimum."""
    m = Z @ v0
    free = np.abs(m - 1) <= 1e-6
    bound = (m < 1) & ~free
    for _ in range(max_rounds):
        F, B = np.flatnonzero(free), np.flatnonzero(bound)
        v = Z[B].T @ bound_alpha[B]
        alpha_free = np.zeros(0)
        if len(F):
            # the minimum-norm u with Z_F u = 1 - Z_F v_B is Z_Fᵀ α_F (lstsq on Z_F
            # itself, not on the squared Z_F Z_Fᵀ); dependent margin rows leave α_F
            # non-unique but v unique
            u = np.linalg.lstsq(Z[F], 1 - Z[F] @ v, rcond=None)[0]
            alpha_free = np.linalg.lstsq(Z[F].T, u, rcond=None)[0]
            v = v + u
        m = Z @ v
        to_zero = F[alpha_free < -KKT_TOL]
        to_bound = F[alpha_free > bound_alpha[F] + KKT_TOL]
        leaves_bound = np.flatnonzero(bound & (m > 1 + KKT_TOL))
        outside = ~free & ~bound
        enters = np.flatnonzero(outside & (m < 1 - KKT_TOL))
        if not (len(to_zero) or len(to_bound) or len(leaves_bound) or len(enters)):
            return v, free, bound
        free[to_zero] = free[to_bound] = False
        bound[to_bound] = True
        bound[leaves_bound] = False
        free[leaves_bound] = free[enters] = True
    raise ActiveSetError("the active set did not settle")


def exact_hinge_svm(
    X, y, C, sample_weight=None, fit_intercept=True, intercept_scaling=1.0
):
    """``LinearSVC(loss="hinge")`` solved exactly; one-vs-rest for more classes.

    Returns ``(coef, intercept, sets)`` shaped like LinearSVC's attributes, with
    ``sets`` a list (one per output) of ``(free, bound)`` boolean masks.
    """
    X = np.asarray(X, dtype=float)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    Xa = (
        np.column_stack([X, np.full(len(X), intercept_scaling)]) if fit_intercept else X
    )
    start = LinearSVC(
        loss="hinge",
        C=C,
        fit_intercept=fit_intercept,
        intercept_scaling=intercept_scaling,
        tol=1e-8,
        max_iter=200_000,
        random_state=0,
    )
    with warnings.catch_warnings():  # only the sets are taken from it
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X, y, sample_weight=s)
    classes = start.classes_
    columns = [classes[1]] if len(classes) == 2 else list(classes)
    V0 = start.coef_
    if fit_intercept:
        V0 = np.column_stack([V0, start.intercept_ / intercept_scaling])
    V, sets = np.empty_like(V0), []
    for k, label in enumerate(columns):
        sign = np.where(np.asarray(y) == label, 1.0, -1.0)
        v, free, bound = _solve_binary(sign[:, None] * Xa, C * s, V0[k])
        V[k] = v
        sets.append((free, bound))
    if fit_intercept:
        return V[:, :-1], intercept_scaling * V[:, -1], sets
    return V, np.zeros(len(V)), sets


def digits_one_vs_seven(n_train=250, seed=0):
    """Digits 1 (+1) vs 7 (-1), pixels in [0, 1]: ``X, y, X_test, y_test``."""
    X, y = load_digits(return_X_y=True)
    keep = (y == 1) | (y == 7)
    X, y = X[keep] / 16.0, np.where(y[keep] == 1, 1, -1)
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


def leave_one_out_weights(X, y, C):
    """Exact ``coef`` of the binary, intercept-free hinge SVM without each row."""
    return np.array(
        [
            exact_hinge_svm(
                np.delete(X, i, 0), np.delete(y, i), C, fit_intercept=False
            )[0][0]
            for i in range(len(y))
        ]
    )


def zero_temperature_removals(X, y, w, C):
    """The paper's ``t = 0`` prediction of each row's removal, ``Δw_i = C g_i``.

    The hinge with its second derivative set to zero: for ``F/C = ‖w‖²/(2C) + Σ
    hinge`` the Hessian is ``I/C``, and the gradient ``g_i = -y_i x_i`` inside the
    margin, zero elsewhere ("derivatives at the hinge set to 0": rows on the
    margin, to round-off, get none). Returns shape ``(n, d)``.
    """
    margins = y * (X @ w)
    return C * -(y[:, None] * X) * (margins < 1 - 1e-9)[:, None]
