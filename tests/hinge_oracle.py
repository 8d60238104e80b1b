"""Exact solutions of the plain-hinge linear SVM, independent of skinfluence.

liblinear solves ``½‖v‖² + C Σ s_i max(0, 1 - y_i x̃_iᵀv)`` (x̃ = [x, intercept_scaling]
when the intercept is fitted, penalized like the weights) only to its tolerance:
at ``tol=1e-12`` it is slow and, on digits 1 vs 7, stops at ``max_iter=100_000``
1.6e-3 to 3.2e-3 of the largest weight from the exact solution. The solution is
piecewise linear in the weights, so once the three sets of rows are known it
follows from one linear system (the KKT conditions):

- ``m_i > 1`` (outside the margin): ``α_i = 0``;
- ``m_i < 1`` (inside it, "bound"): ``α_i = C s_i``;
- ``m_i = 1`` (on it, "free"): ``0 ≤ α_i ≤ C s_i`` solving ``m_i = 1``,

with ``v = Σ α_i y_i x̃_i`` and ``m_i = y_i x̃_iᵀ v``. :func:`exact_hinge_svm` starts
from liblinear's sets, finds the true ones by an active-set method on the dual
that lowers its objective at every step, then solves that system and checks the
conditions to round-off.

:func:`exact_epsilon_svr` solves LinearSVR's ε-insensitive loss the same way
(two hinge rows per sample).

Also here, shared by ``test_smooth_hinge.py`` and ``benchmarks/smooth_hinge.py``:
Koh & Liang's section 4.3 setting on the digits, its exact leave-one-out
weights, and the paper's ``t = 0`` baseline.
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC, LinearSVR

KKT_TOL = 1e-10


class ActiveSetError(RuntimeError):
    pass


def _solve_binary(Z, upper, v0, c=None):
    """``min ½‖v‖² + Σ upper_i max(0, c_i - z_iᵀv)`` exactly (``c = 1``: the hinge
    SVM with rows ``z_i = y_i x̃_i``); returns ``(v, free, bound)``.

    A primal active-set method on the dual, ``min ½‖Zᵀα‖² - cᵀα`` over ``0 ≤ α ≤
    upper`` (gradient ``m - c``), from the vertex liblinear's margins suggest.
    Rows at a bound stay there; the others ("free") move to the minimum over
    their face, or, when their margin equations ``m_F = 1`` have no solution,
    along the descent direction that leaves them unsolved; a step stops at the
    first row to reach a bound, which joins its bound. At a face's minimum the
    bound row whose gradient most breaks its sign is freed, until none does.
    The objective never rises and falls with every step that moves, so a set
    can only come back through zero-length steps at a degenerate vertex (then
    the iteration cap raises); a bare swap of every offending row at once, the
    earlier scheme, cycled on a few in every thousand of the tests' draws.
    """
    n = len(Z)
    c = np.ones(n) if c is None else np.asarray(c, dtype=float)
    m = Z @ v0
    free = np.abs(m - c) <= 1e-6
    alpha = np.where((m < c) & ~free, upper, 0.0)
    for _ in range(50 * n):
        F = np.flatnonzero(free)
        if len(F):
            G = Z[F]
            rhs = c[F] - G @ (Z[~free].T @ alpha[~free])  # m_F = c_F: G Gᵀ α_F = rhs
            U, sigma, _ = np.linalg.svd(G, full_matrices=False)
            r = int(np.sum(sigma > 1e-12 * max(1.0, sigma[0]) * max(G.shape)))
            U, sigma = U[:, :r], sigma[:r]
            unsolvable = rhs - U @ (U.T @ rhs)  # the part outside range(G)
            if np.abs(unsolvable).max() > KKT_TOL * max(1.0, np.abs(rhs).max()):
                # the objective falls linearly along it (slope -‖·‖²) to a bound
                step, longest = unsolvable, np.inf
            else:  # to the nearest α_F with G Gᵀ α_F = c
                step, longest = U @ (U.T @ rhs / sigma**2 - U.T @ alpha[F]), 1.0
            tiny = 1e-14 * np.abs(step).max()
            down, up = step < -tiny, step > tiny
            room = np.full(len(F), np.inf)
            room[down] = alpha[F][down] / -step[down]
            room[up] = (upper[F][up] - alpha[F][up]) / step[up]
            k = np.argmin(room)
            if room[k] < longest:  # row F[k] reaches its bound first
                alpha[F] = np.clip(alpha[F] + room[k] * step, 0.0, upper[F])
                alpha[F[k]] = 0.0 if down[k] else upper[F[k]]
                free[F[k]] = False
                continue
            alpha[F] = np.clip(alpha[F] + step, 0.0, upper[F])
        gradient = Z @ (Z.T @ alpha) - c
        breaks = np.where(alpha == 0, -gradient, gradient)
        breaks[free | (upper <= 0)] = 0.0
        j = np.argmax(breaks)
        if breaks[j] <= KKT_TOL:
            break
        free[j] = True
    else:
        raise ActiveSetError("the active set did not settle")
    # the margin rows' equations solved once more, for v exact to round-off:
    # the minimum-norm u with Z_F u = c_F - Z_F v_B is Z_Fᵀ α_F (lstsq on Z_F
    # itself, not on the squared Z_F Z_Fᵀ); dependent margin rows leave α_F
    # non-unique but v unique
    bound = ~free & (alpha > 0)
    v = Z[bound].T @ upper[bound]
    F = np.flatnonzero(free)
    if len(F):
        v = v + np.linalg.lstsq(Z[F], c[F] - Z[F] @ v, rcond=None)[0]
    m = Z @ v
    tol = KKT_TOL * max(1.0, np.abs(c).max())
    if (
        np.abs(m[F] - c[F]).max(initial=0) > tol
        or (m[bound] > c[bound] + tol).any()
        or (m[~free & ~bound] < c[~free & ~bound] - tol).any()
    ):
        raise ActiveSetError("the optimum's margins do not check out")
    return v, free, bound


def _liblinear_start(model, X, y, s, C, fit_intercept):
    """liblinear's approximate fit, from which only the sets are taken."""
    model.set_params(
        C=C, fit_intercept=fit_intercept, tol=1e-8, max_iter=200_000, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, sample_weight=s)


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
    start = _liblinear_start(
        LinearSVC(loss="hinge", intercept_scaling=intercept_scaling),
        X, y, s, C, fit_intercept,
    )  # fmt: skip
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


def exact_epsilon_svr(X, y, C, epsilon, sample_weight=None, fit_intercept=True):
    """``LinearSVR(loss="epsilon_insensitive")`` (intercept_scaling = 1) exactly.

    ``½‖v‖² + C Σ s_i max(0, |x̃_iᵀv - y_i| - ε)`` is a hinge SVM with two rows
    per sample, ``max(0, c - zᵀv)`` with ``(z, c) = (-x̃_i, -y_i - ε)`` (above the
    tube) and ``(x̃_i, y_i - ε)`` (below it), solved by :func:`_solve_binary`
    from liblinear's solution. Returns ``(coef, intercept, (free, bound))``
    with the masks over those 2n rows.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    s = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    Xa = np.column_stack([X, np.ones(len(X))]) if fit_intercept else X
    start = _liblinear_start(LinearSVR(epsilon=epsilon), X, y, s, C, fit_intercept)
    v0 = np.append(start.coef_, start.intercept_) if fit_intercept else start.coef_
    Z = np.vstack([-Xa, Xa])
    c = np.concatenate([-y - epsilon, y - epsilon])
    v, free, bound = _solve_binary(Z, np.tile(C * s, 2), v0, c)
    if fit_intercept:
        return v[:-1], v[-1], (free, bound)
    return v, 0.0, (free, bound)


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
