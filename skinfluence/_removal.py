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

from __future__ import annotations

import copy
import warnings
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ._config import get_config
from ._constraints import TEST_DATA, MatrixLike, Result, validated
from ._frames import labelled
from ._outputs import MAX_BYTES, check_result_size
from ._progress import progress
from ._state import InfluenceState, NonStationaryWarning, row_batches

if TYPE_CHECKING:  # pragma: no cover
    from typing import Self


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
    if k == 1:
        z = Dt / M[:, :, 0]
    else:
        try:
            z = np.linalg.solve(M, Dt[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular M the threshold missed
            z = np.zeros_like(Dt)
            for i in range(b):
                try:
                    z[i] = np.linalg.solve(M[i], Dt[i])
                except np.linalg.LinAlgError:
                    degenerate[i] = True
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
            "only row in the curved part of its loss, or more parameters than "
            "rows): the model without them is not identified, so one Newton step "
            "does not exist. Use method='exact' (a refit returns whichever "
            "solution its solver picks) or method='influence'."
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

    def __init__(self, output_leverage, changes, quadratic, notes=()):
        self.output_leverage = output_leverage
        self.notes = tuple(notes)  # warnings repeated on every use (NaN rows)
        self.leverage = output_leverage.sum(axis=1)
        self.changes, self.quadratic = changes, quadratic


def output_leverages(fitted):
    """``diag(D_i J_i A⁻¹ J_iᵀ)`` of every row, (n, k), without the (n, p)
    leave-one-out changes: memory-bounded batches of one solve each."""
    objective, solver = fitted.objective, fitted.solver
    n, p, S = objective.n_samples, objective.n_params, objective.weight_sum
    rows, out = np.arange(n), None
    for batch in row_batches(n, 4 * max(objective.n_outputs, 2) * p):
        J, D, _ = _row_pieces(fitted, rows[batch])
        if out is None:
            out = np.empty((n, J.shape[1]))
        out[batch] = _batch_leverage(solver, J, D, S)
    return np.zeros((0, 1)) if out is None else out


def _batch_leverage(solver, J, D, S):
    """``diag(D_i J_i A⁻¹ J_iᵀ)`` of a batch of rows (``A = S H``), (b, k)."""
    b, k, p = J.shape
    Y = solver.solve(J.reshape(b * k, p).T).T.reshape(b, k, p) / S
    return np.einsum("ikl,ilk->ik", D, np.einsum("ikp,ilp->ikl", J, Y))


def changes_array(n, p):
    """The (n, p) array of every row's leave-one-out change, or a clear error."""
    try:
        return np.empty((n, p))
    except MemoryError as exc:
        raise MemoryError(
            f"Leave-one-out changes of every row need an array of {n} × {p} float64 "
            f"({8.0 * n * p / 1e9:.3g} GB), more than this machine can allocate: "
            "loo_params_change, dfbeta(s), cooks_distance and the residual "
            "diagnostics use it. leverage() needs no such array; "
            "remove_effect(rows, method='newton') gives the change for chosen rows."
        ) from exc


def leave_one_out(fitted):
    """:class:`LeaveOneOut` of every training row, in memory-bounded batches."""
    objective, solver = fitted.objective, fitted.solver
    n, p = objective.n_samples, objective.n_params
    S, penalty = objective.weight_sum, objective.penalty
    deltas = penalty.removal_fractions(objective.sample_weight)
    shifted = penalty.shifts_on_removal
    # a row carrying all the weight, under a penalty scaled by the weight: without
    # it the objective is zero (and the shifted solves would divide by zero)
    last = (deltas >= 1.0 - 1e-12) if shifted else np.zeros(n, dtype=bool)
    deltas = np.where(last, 0.0, deltas)
    leverage, changes, quad = None, changes_array(n, p), np.empty(n)
    degenerate = np.zeros(n, dtype=bool)
    rows = np.arange(n)
    # J, Y (and Y of the unshifted Hessian) of (k, p) per row, k ≤ max(K, 2)
    bar = progress(n, "leave-one-out Newton steps", unit="row")
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
            leverage[batch] = _batch_leverage(solver, J, D, S)  # of the full fit
            C = changes[batch]
            quad[batch] = S * np.einsum("ip,pi->i", C, solver.multiply(C.T))
        bar.update(batch.stop - batch.start)
    bar.close()
    alone = sole_rows_of_class(fitted)
    notes = []
    if alone.any():
        notes.append(
            f"Rows {np.flatnonzero(alone).tolist()[:10]} are the only training rows "
            "with positive weight of their class: without one of them the model "
            "has no finite minimizer for that class, so its leave-one-out change, "
            "DFBETA(S) and Cook's distance are NaN."
        )
        changes[alone] = np.nan
        degenerate &= ~alone
    last &= ~alone
    if last.any():
        notes.append(
            f"Row {np.flatnonzero(last).tolist()} carries all the training weight, "
            "and the penalty scales with the weight: without it the objective is "
            "zero (no minimizer), so its leave-one-out change, DFBETA(S) and "
            "Cook's distance are NaN."
        )
        changes[last] = np.nan
        degenerate &= ~last
    if degenerate.any():
        notes.append(
            f"Rows {np.flatnonzero(degenerate).tolist()[:10]} have no leave-one-out "
            "Newton step: without any of them the objective has no curvature along "
            "a direction its gradient points in (leverage 1). Their changes, "
            "DFBETA(S) and Cook's distances are NaN; refit without them "
            "(remove_effect(i, method='exact')) to see their effect."
        )
    quad[degenerate | alone | last] = np.nan
    return LeaveOneOut(leverage, changes, quad, notes)


class RemovalMixin:
    """What the model would be without some training rows: first order, one
    Newton step, or an exact refit; and every row's leave-one-out at once."""

    @validated(
        {
            "indices": "no_validation",  # positions, mask or labels: check_indices
            "method": [StrOptions({"influence", "newton", "exact"})],
        }
    )
    def remove_effect(self, indices: ArrayLike, method: str = "influence") -> Self:
        """Predict the model refit without some training rows.

        Parameters
        ----------
        indices : int, array-like of int or bool, or labels
            Rows of the training data to remove, all together: integer
            positions, a boolean mask of length ``n_train``, or labels of the
            training DataFrame's index. Integers are always positions; pass
            integer labels as a :class:`pandas.Index` (e.g.
            ``frame.columns[:3]`` of a labelled result); other labels (strings,
            dates) are recognized as labels.
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
        idx = check_indices(indices, fitted.data)
        keep = np.setdiff1d(np.arange(fitted.n_samples), idx)
        check_remaining(fitted, keep)
        if method == "exact":
            return self._exact_refit(fitted, keep)
        if method == "influence":
            objective = fitted.objective
            check_identified(fitted, idx)
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
        with (
            warnings.catch_warnings(record=True) as caught,
            progress(
                1, f"refit without {fitted.n_samples - keep.size} rows", unit="refit"
            ) as bar,
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                new.fit(data.X, data.y, **kw)
            except ValueError as error:  # e.g. fewer rows left than CV folds
                raise ValueError(
                    f"The exact refit of {fitted.adapter.name} on the {keep.size} "
                    f"remaining rows is refused: {error} Remove fewer rows, or "
                    "predict the refit with method='newton'."
                ) from error
            bar.update()
        new._influence_state.data.index = data.index
        new.set_params(**{k: params[k] for k in tight})
        _check_refit(new, fitted.n_samples - keep.size, caught)
        return new

    def newton_update(self) -> Self:
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

    @validated({"method": [StrOptions({"newton", "influence"})]})
    @labelled("loo_params_change")
    def loo_params_change(self, method: str = "newton") -> Result:
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

    @validated(
        {
            **TEST_DATA,
            "method": [StrOptions({"newton", "influence"})],
            "max_bytes": [Interval(Real, 0, None, closed="left")],
        }
    )
    @labelled("loo_loss_change")
    def loo_loss_change(
        self,
        X_test: MatrixLike,
        y_test: ArrayLike | None = None,
        method: str = "newton",
        max_bytes: float = MAX_BYTES,
    ) -> Result:
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
        max_bytes : float, default=1e9
            Refuse (``ValueError``) when the result, ``8 · n_test · n_train``
            bytes, would be larger.

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
            influence = self.influence_loss(X_test, y_test, max_bytes=max_bytes)
            return -influence * fitted.removal_shares()
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        objective = fitted.objective
        X_test, Y_test = fitted.test_data(X_test, y_test)
        check_result_size(
            "loo_loss_change",
            (X_test.shape[0], fitted.n_samples),
            max_bytes,
            "Pass the test rows in batches.",
            lazy=fitted.distributed,
        )
        changes = fitted.loo().changes  # (n_train, n_params)
        center = fitted.theta + fitted.stationarity.newton_step
        base = objective.loss_values(center, X_test, Y_test)
        values = objective.loss_values_at((center + changes).T, X_test, Y_test)
        return values - base[:, None]


def sole_rows_of_class(fitted):
    """Rows whose removal leaves their class without positive weight (not
    checked on one chunk of a dask fit: class counts are global)."""
    s = fitted.objective.sample_weight
    alone = np.zeros(s.shape[0], dtype=bool)
    data, adapter = getattr(fitted, "data", None), getattr(fitted, "adapter", None)
    if data is None or adapter is None:
        return alone
    y = np.asarray(data.y)
    if not is_classifier(adapter.estimator) or y.ndim != 1:
        return alone
    labels, inverse, counts = np.unique(
        y[s > 0], return_inverse=True, return_counts=True
    )
    single = labels[counts == 1]
    alone[s > 0] = np.isin(y[s > 0], single)
    return alone


def _check_refit(new, n_removed, caught):
    """Warn (ours) when an exact refit stopped short of its minimum: scikit-learn
    said so, or its Newton step is large against one row's effect."""
    unconverged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if w not in unconverged:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    ratio = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ratio = new.influence_state().stationarity.ratio
        except (ValueError, NotImplementedError):
            pass  # influence is refused on the refit: no step to measure
    limit = get_config()["stationarity_threshold"]
    if unconverged or (ratio is not None and ratio > limit):
        measured = (
            ""
            if ratio is None
            else (
                f" its Newton step to the minimum is {ratio:.3g} times the typical "
                "effect of removing one row;"
            )
        )
        warnings.warn(
            f"The exact refit of {type(new).__name__} without the {n_removed} "
            f"removed row(s) did not converge:{measured} its parameters are short "
            "of the minimum. Compare with method='newton', or refit by hand "
            "with a larger max_iter.",
            NonStationaryWarning,
            stacklevel=4,
        )


def check_identified(fitted, idx, limit=4096):
    """Refuse a first-order removal of a row with leverage 1: the model without
    it is not identified (its first-order change is 0 for an interpolated row,
    while a refit picks some other solution). Checked for up to ``limit``
    removed rows (one solve per row and output)."""
    if idx.size * fitted.objective.n_outputs > limit:
        return
    J, D, _ = _row_pieces(fitted, idx)
    b, k, p = J.shape
    Y = fitted.solve(J.reshape(b * k, p).T).T.reshape(b, k, p)
    Y /= fitted.objective.weight_sum
    M = np.eye(k) - D @ np.einsum("ikp,ilp->ikl", J, Y)  # I − D_i J_i A⁺ J_iᵀ
    sv = np.linalg.svd(M, compute_uv=False)
    bad = idx[sv[:, -1] <= 1e-8 * np.maximum(sv[:, 0], 1.0)]
    if bad.size:
        raise ValueError(
            f"Rows {bad.tolist()[:10]} of {fitted.adapter.name} have leverage 1 "
            "(the fit passes exactly through them and no other row pins that "
            "direction, e.g. more parameters than rows): the model without them "
            "is not identified by the data, so no removal can be predicted. "
            "Use method='exact' to see which solution a refit returns."
        )


def check_remaining(fitted, keep):
    """Refuse a removal after which the model cannot be refitted as it is: no
    row with positive weight left, or a class with none (its coefficients
    would have no finite minimizer, and a refit would drop it from ``classes_``)."""
    s = fitted.objective.sample_weight[keep]
    name = fitted.adapter.name
    if not np.any(s > 0):
        raise ValueError(
            f"Removing these rows leaves {name} no training row with positive "
            "weight: there is nothing to refit. Remove fewer rows."
        )
    estimator = fitted.adapter.estimator
    y = np.asarray(fitted.data.y)
    if not is_classifier(estimator) or y.ndim != 1:
        return
    present = np.unique(y[keep][s > 0])
    missing = np.setdiff1d(estimator.classes_, present)
    if missing.size:
        raise ValueError(
            f"Removing these rows leaves class(es) {missing.tolist()} of {name} "
            "without any training row with positive weight: the objective on the "
            "remaining rows has no finite minimizer for that class (its scores "
            "run off to -inf), and a refit would not know the class (a different "
            "classes_). No method can predict that model; remove fewer rows of "
            "the class."
        )


def check_indices(indices, data):
    """Row positions to remove, unique, not empty, from positions, a boolean
    mask or labels of ``data`` (:class:`~skinfluence._state.TrainingData`)."""
    n = data.n_samples
    if _is_index(indices):  # labels, whatever their type
        return _positions_of_labels(indices, data)
    idx = np.atleast_1d(np.asarray(indices))
    if idx.size == 0:
        raise ValueError("indices is empty.")
    idx = idx.ravel()
    if idx.dtype == bool:
        if idx.size != n:
            raise ValueError(
                f"indices is a boolean mask of {idx.size} values; the model has "
                f"{n} training rows."
            )
        if not idx.any():
            raise ValueError("indices is a boolean mask that selects no row.")
        return np.flatnonzero(idx)
    if not np.issubdtype(idx.dtype, np.integer):
        if data.index is not None:
            return _positions_of_labels(idx, data)
        raise TypeError(
            "indices must be integers (positions), a boolean mask, or labels of the "
            f"training DataFrame's index (this model was fitted on an array); got "
            f"dtype {idx.dtype}."
        )
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices must be in [0, {n}), got {idx.min()}..{idx.max()}.")
    if np.unique(idx).size != idx.size:
        raise ValueError("indices contain duplicates.")
    return idx


def _is_index(indices):
    """A pandas Index (of any type) holds labels."""
    return hasattr(indices, "get_indexer")


def _positions_of_labels(labels, data):
    """Positions of training-row labels; every label must name one row."""
    from ._frames import require_pandas

    pd = require_pandas()
    labels = pd.Index(np.atleast_1d(np.asarray(labels, dtype=object)).ravel())
    if labels.size == 0:
        raise ValueError("indices is empty.")
    if not labels.is_unique:
        raise ValueError("indices contain duplicates.")
    train = pd.Index(data.labels())
    if not train.is_unique:
        raise ValueError(
            "The training rows' labels are not unique: remove rows by position "
            "or with a boolean mask."
        )
    positions = train.get_indexer(labels)
    missing = labels[positions < 0]
    if missing.size:
        raise ValueError(
            f"indices {list(missing[:10])} are not labels of the training rows "
            "(integers are positions; pass integer labels as a pandas Index)."
        )
    return positions
