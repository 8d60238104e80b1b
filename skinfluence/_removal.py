"""One exact Newton step on the objective without some rows (Woodbury), batched.

Write the sum-form objective's Hessian ``A = S H`` and gradient ``q = S ∇R(θ̂)``.
Row ``i`` enters the objective through ``u_i = J_i θ`` (``J_i`` of shape (k, p),
see :mod:`skinfluence._objective`); it contributes ``J_iᵀ ρ_i`` to the gradient
(``ρ_i = s_i ∂L/∂u``) and ``J_iᵀ D_i J_i`` (``D_i = s_i ∂²L/∂u²``) to the Hessian.
Removing a set of rows ``I`` also scales a penalty that depends on the rows by
``1 − δ`` (:meth:`~skinfluence._penalties.Penalty.removal_fractions`), so the
objective without them has Hessian ``B − JᵀDJ`` and gradient ``q̃ − Jᵀρ`` with
``B = A − δ Λ`` (``Λ = diag(λ₂)``) and ``q̃ = q − δ ∇Ω(θ̂)``. With ``c = B⁻¹q̃``,
``Y = B⁻¹Jᵀ``, ``P = J Y``, one Newton step from ``θ̂`` is

    θ' − θ̂ = −c + Y (ρ − z),      z = (I − D P)⁻¹ D (J c − P ρ)

(the Sherman–Morrison–Woodbury identity for ``(B − Jᵀ D J)⁻¹``, written so that
``D`` need not be invertible: the multinomial ``D_i`` is singular). For a fixed
penalty ``−c`` is the step the full objective itself asks for (``newton_step_``,
zero at an exact minimum, Koh & Liang's appendix B) and ``Y (ρ − z)`` is the
part due to the removed rows. For one row of a single-output model ``D P`` is
the generalized leverage ``h_ii`` and that part is the first-order change
divided by ``1 − h_ii``; for squared error the step is exact. Every ``B`` is
solved from one factorization (:meth:`DenseHessianSolver.solve_shifted`).
"""

import copy
import warnings

import numpy as np
from sklearn.base import clone

from ._state import InfluenceState, row_batches


def newton_steps(fitted, J, D, rho, delta):
    """``θ' − θ̂`` for each block of removed rows, and the Woodbury pieces.

    ``J`` (b, k, p), ``D`` (b, k, k), ``rho`` (b, k), ``delta`` (b,): one block
    per independent removal.
    """
    objective, solver = fitted.objective, fitted.solver
    S, penalty = objective.weight_sum, objective.penalty
    b, k, p = J.shape
    Jt = J.reshape(b * k, p).T
    if penalty.shifts_on_removal and np.any(delta > 0):
        lam = penalty.l2 / S
        Y = solver.solve_shifted(Jt, np.repeat(delta, k), lam).T.reshape(b, k, p) / S
        q = S * fitted.stationarity.gradient
        rhs = q[:, None] - penalty.gradient(fitted.theta)[:, None] * delta[None, :]
        c = solver.solve_shifted(rhs, delta, lam).T / S  # (b, p)
    else:  # one constant part for every block: c = −newton_step_
        Y = solver.solve(Jt).T.reshape(b, k, p) / S
        c = -fitted.stationarity.newton_step
    P = np.einsum("ikp,ilp->ikl", J, Y)
    Jc = J @ c if c.ndim == 1 else np.einsum("ikp,ip->ik", J, c)
    t = Jc - np.einsum("ikl,il->ik", P, rho)
    M = np.eye(k) - D @ P
    # I − DP singular: the objective without the rows has no curvature along
    # some direction its gradient points in (a leverage-1 row): no Newton step
    sv = np.abs(M[:, :, 0]) if k == 1 else np.linalg.svd(M, compute_uv=False)
    degenerate = sv[:, -1] <= 1e-10 * np.maximum(sv[:, 0], 1.0)
    M[degenerate] = np.eye(k)
    Dt = np.einsum("ikl,il->ik", D, t)
    z = Dt / M[:, :, 0] if k == 1 else np.linalg.solve(M, Dt[..., None])[..., 0]
    u = rho - z
    step = np.einsum("ikp,ik->ip", Y, u)
    step -= c
    # frozen coordinates do not move (the shifted solves' eigenbasis mixes
    # them at round-off level)
    step[:, objective.frozen] = 0.0
    step[degenerate] = np.nan
    return step, (Y, P, u), degenerate


def _row_pieces(fitted, rows):
    objective, theta = fitted.objective, fitted.theta
    J = objective.row_jacobian(rows)
    D = objective.row_curvature(theta, rows)
    rho = objective.row_residuals(theta, rows)
    return J, D, rho


def group_newton_step(fitted, idx):
    """``θ' − θ̂`` for one Newton step on the objective without all rows ``idx``."""
    J, D, rho = _row_pieces(fitted, idx)
    b, k, p = J.shape
    D_group = np.zeros((b * k, b * k))
    for i in range(b):
        D_group[i * k : (i + 1) * k, i * k : (i + 1) * k] = D[i]
    objective = fitted.objective
    delta = objective.penalty.removal_fractions(objective.sample_weight)[idx].sum()
    step, _, degenerate = newton_steps(
        fitted,
        J.reshape(1, b * k, p),
        D_group[None],
        rho.reshape(1, b * k),
        np.array([delta]),
    )
    if degenerate[0]:
        raise ValueError(
            "Removing these rows leaves the objective without curvature along a "
            "direction its gradient points in (a row with leverage 1, e.g. the "
            "only row in the curved part of its loss): one Newton step does not "
            "exist. Use method='exact' or method='influence'."
        )
    return step[0]


class LeaveOneOut:
    """Every row's leave-one-out pieces from one factorization.

    ``leverage`` (n,): ``trace(D_i J_i A⁻¹ J_iᵀ)`` of the full fit;
    ``output_leverage`` (n, k): the diagonal of ``D_i J_i A⁻¹ J_iᵀ``, one hat
    value per column of the row (per output of independent outputs);
    ``changes`` (n, p): ``θ'_i − θ*`` with ``θ* = θ̂ + newton_step_``;
    ``quadratic`` (n,): ``Δ_iᵀ A Δ_i`` of those changes.
    """

    def __init__(self, output_leverage, changes, quadratic):
        self.output_leverage = output_leverage
        self.leverage = output_leverage.sum(axis=1)
        self.changes, self.quadratic = changes, quadratic


def leave_one_out(fitted):
    """:class:`LeaveOneOut` of every training row, in memory-bounded batches."""
    objective, solver = fitted.objective, fitted.solver
    n, p = objective.n_samples, objective.n_params
    S, penalty = objective.weight_sum, objective.penalty
    deltas = penalty.removal_fractions(objective.sample_weight)
    shifted = penalty.shifts_on_removal
    leverage, changes, quad = None, np.empty((n, p)), np.empty(n)
    degenerate = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    # J, Y (and Y of the unshifted Hessian) of (k, p) per row, k ≤ max(K, 2)
    for batch in row_batches(n, 4 * max(objective.n_outputs, 2) * p):
        J, D, rho = _row_pieces(fitted, rows[batch])
        step, (Y, P, u), bad = newton_steps(fitted, J, D, rho, deltas[batch])
        degenerate[batch] = bad
        np.subtract(step, fitted.stationarity.newton_step, out=changes[batch])
        if leverage is None:
            leverage = np.empty((n, J.shape[1]))
        if not shifted:
            leverage[batch] = np.einsum("ikl,ilk->ik", D, P)
            quad[batch] = np.einsum("ik,ikl,il->i", u, P, u)  # A⁺AA⁺ = A⁺
        else:
            b, k, _ = J.shape
            Y0 = solver.solve(J.reshape(b * k, p).T).T.reshape(b, k, p) / S
            leverage[batch] = np.einsum(
                "ikl,ilk->ik", D, np.einsum("ikp,ilp->ikl", J, Y0)
            )
            C = changes[batch]
            quad[batch] = S * np.einsum("ip,pi->i", C, solver.multiply(C.T))
    if degenerate.any():
        warnings.warn(
            f"Rows {np.flatnonzero(degenerate).tolist()[:10]} have no leave-one-out "
            "Newton step: without any of them the objective has no curvature along "
            "a direction its gradient points in (leverage 1). Their changes, "
            "DFBETA(S) and Cook's distances are NaN; refit without them "
            "(remove_effect(i, method='exact')) to see their effect.",
            UserWarning,
            stacklevel=4,
        )
    quad[degenerate] = np.nan
    return LeaveOneOut(leverage, changes, quad)


class RemovalMixin:
    """What the model would be without some training rows: first order, one
    Newton step, or an exact refit; and every row's leave-one-out at once."""

    def remove_effect(self, indices, method="influence"):
        """Predict the model refit without some training rows.

        Parameters
        ----------
        indices : int or array-like of int
            Rows of the training data to remove, all together.
        method : {"influence", "newton", "exact"}, default="influence"
            - ``"influence"``: first order, ``θ̂ - Σ_i (s_i/S) influence_params_[i]``
              (effects of several rows add), one solve.
            - ``"newton"``: one exact Newton step from ``θ̂`` on the objective
              without those rows, by a Woodbury update of the factored Hessian
              (no refactorization). Exact for squared error; for one row of a
              single-output model with a fixed penalty it is the first-order
              change divided by ``1 - h_ii`` (generalized leverage). A penalty
              that scales with the total weight (GLMs, Lasso, ElasticNet) or the
              row count (SGD) is scaled down with the rows, exactly. It includes
              ``newton_step_``, so it also corrects a fit that stopped short of
              its minimum.
            - ``"exact"``: an actual refit on the remaining rows, warm-started
              from ``θ̂`` where the solver allows, with ``tol`` at most 1e-10.

        Returns
        -------
        estimator : same class as self
            A new fitted estimator whose parameters are the prediction; it keeps
            the remaining rows as its training data. The original estimator is
            not modified.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> from sklearn.linear_model import Ridge
        >>> import numpy as np
        >>> smaller = model.remove_effect([0, 1], method="newton")  # exact for Ridge
        >>> refit = Ridge(alpha=0.1).fit(X[2:], y[2:])
        >>> bool(np.allclose(smaller.coef_, refit.coef_))
        True
        """
        fitted = self.influence_state()
        idx = check_indices(indices, fitted.n_samples)
        keep = np.setdiff1d(np.arange(fitted.n_samples), idx)
        if method == "exact":
            return self._exact_refit(fitted, keep)
        if method == "influence":
            objective = fitted.objective
            G = objective.influence_gradients(fitted.theta, idx)
            summed = np.asarray(G.T @ objective.sample_weight[idx]).ravel()
            new_theta = fitted.theta + fitted.solve(summed) / objective.weight_sum
        elif method == "newton":
            new_theta = fitted.theta + group_newton_step(fitted, idx)
        else:
            raise ValueError(
                f"method must be 'influence', 'newton' or 'exact', got {method!r}."
            )
        return self._with_parameters(fitted, new_theta, keep)

    def _with_parameters(self, fitted, theta, keep):
        """A copy of this estimator with parameters ``theta``, trained on rows ``keep``."""
        state = {k: v for k, v in vars(self).items() if not k.startswith("_influence")}
        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(state))
        fitted.adapter.set_theta(new, theta)
        new._influence_state = InfluenceState(fitted.data.subset(keep))
        return new

    def _exact_refit(self, fitted, keep):
        params = self.get_params()
        new = clone(self)
        tight = {}
        if "tol" in params and params["tol"] is not None:
            tight["tol"] = min(params["tol"], 1e-10)
        if "max_iter" in params and params["max_iter"] is not None:
            tight["max_iter"] = max(params["max_iter"], 1000)
        if "warm_start" in params and getattr(self, "solver", None) != "liblinear":
            # scikit-learn starts from the existing fitted state (coef_,
            # intercept_, and e.g. HuberRegressor's scale_) when warm_start=True
            tight["warm_start"] = True
            for name, value in vars(self).items():
                if name.endswith("_") and not name.startswith("_"):
                    setattr(new, name, copy.deepcopy(value))
        new.set_params(**tight)
        data = fitted.data.subset(keep)
        kw = {} if data.sample_weight is None else {"sample_weight": data.sample_weight}
        new.fit(data.X, data.y, **kw)
        new._influence_state.data.index = data.index
        return new.set_params(**{k: params[k] for k in tight})

    def newton_update(self):
        """A copy of this estimator moved by one Newton step on its full objective.

        For a fit that stopped short of its minimum (a :class:`NonStationaryWarning`),
        ``θ̂ + newton_step_`` is much closer to it, and influences computed on
        the returned estimator describe the converged model (Koh & Liang,
        appendix B: an influence at a non-minimum is the row-dependent part of a
        Newton step; this removes the constant part first).

        Returns
        -------
        estimator : same class as self

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import scale
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = scale(X)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     loose = InfluenceLogisticRegression(max_iter=10).fit(X, y)
        ...     better = loose.newton_update()
        ...     bool(better.gradient_norm_ < loose.gradient_norm_)
        True
        """
        fitted = self.influence_state()
        theta = fitted.theta + fitted.stationarity.newton_step
        return self._with_parameters(fitted, theta, np.arange(fitted.n_samples))

    def loo_params_change(self, method="newton"):
        """Change of the parameters when each training row is left out, all at once.

        Parameters
        ----------
        method : {"newton", "influence"}, default="newton"
            ``"influence"``: ``-(s_i/S) influence_params_[i]``, the first-order
            change from ``θ̂``. ``"newton"``: one exact Newton step on the
            objective without row ``i`` (see :meth:`remove_effect`), as the
            change from the converged full fit ``θ̂ + newton_step_``; exact for
            squared error. Computed in batches from one factorization (cost
            comparable to ``influence_params_`` times the number of outputs).

        Returns
        -------
        change : ndarray of shape (n_train, n_params)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.loo_params_change().shape
        (442, 11)
        """
        fitted = self.influence_state()
        if method == "influence":
            return -fitted.removal_shares()[:, None] * fitted.influence_params()
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        return fitted.loo().changes.copy()

    def loo_loss_change(self, X_test, y_test=None, method="newton"):
        """Change of each test loss when each training row is left out.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like, default=None
            As in :meth:`influence_loss`.
        method : {"newton", "influence"}, default="newton"
            ``"influence"``: ``-(s_i/S) influence_loss[j, i]`` (linear in the
            parameter change, from ``θ̂``). ``"newton"``: the test loss evaluated
            exactly at ``θ* + Δ_i`` minus its value at ``θ* = θ̂ + newton_step_``,
            with ``Δ_i`` from :meth:`loo_params_change`.

        Returns
        -------
        change : ndarray of shape (n_test, n_train)
            Positive: the test loss rises when the row is removed (the row helped).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.loo_loss_change(X[:3], y[:3]).shape
        (3, 442)
        """
        fitted = self.influence_state()
        if method == "influence":
            return -self.influence_loss(X_test, y_test) * fitted.removal_shares()
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        objective = fitted.objective
        X_test, Y_test = fitted.test_data(X_test, y_test)
        changes = fitted.loo().changes  # (n_train, n_params)
        center = fitted.theta + fitted.stationarity.newton_step
        base = objective.loss_values(center, X_test, Y_test)
        values = objective.loss_values_at((center + changes).T, X_test, Y_test)
        return values - base[:, None]


def check_indices(indices, n):
    """Row positions to remove: integers in ``[0, n)``, unique, not empty."""
    idx = np.atleast_1d(np.asarray(indices))
    if idx.size == 0:
        raise ValueError("indices is empty.")
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {idx.dtype}.")
    idx = idx.ravel()
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices must be in [0, {n}), got {idx.min()}..{idx.max()}.")
    if np.unique(idx).size != idx.size:
        raise ValueError("indices contain duplicates.")
    return idx
