"""One exact Newton step on the objective without some rows (Woodbury), batched.

Write the sum-form objective's Hessian ``A = S H`` and gradient ``q = S ∇R(θ̂)``.
Row ``i`` enters the model through ``raw_i = J_i θ`` (``J_i`` of shape (K, p)); its
weighted data term contributes ``s_i J_iᵀ r_i`` to the gradient and
``J_iᵀ D_i J_i`` (``D_i = s_i ∂²L/∂raw²``) to the Hessian. Removing a set of rows
``I`` (stacked: ``J``, ``D`` block-diagonal, ``ρ = [s_i r_i]``) and taking one
Newton step from ``θ̂`` gives, with ``c = A⁻¹q``, ``Y = A⁻¹Jᵀ``, ``P = J Y``:

    θ' − θ̂ = −c + Y (ρ − z),      z = (I − D P)⁻¹ D (J c − P ρ)

(the Sherman–Morrison–Woodbury identity for ``(A − Jᵀ D J)⁻¹``, written so that
``D`` need not be invertible: the multinomial ``D_i`` is singular). ``−c`` is the
step the full objective itself asks for (zero at an exact minimum, Koh & Liang's
appendix B); ``Y (ρ − z)`` is the part due to the removed rows. For one row of a
single-output model, ``D P`` is the generalized leverage ``h_ii`` and the part is
the first-order change divided by ``1 − h_ii``; for squared error it is exact.
"""

import copy

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.utils import _safe_indexing, gen_batches

from ._objective import LinearObjective, as_dense
from ._solvers import DenseHessianSolver


def _design_rows(objective, rows):
    """``J_i`` for the given rows, shape (len(rows), K, p): row k is ``e_k ⊗ [x_i, 1]``."""
    X = objective.X[rows]
    K = objective.n_outputs
    J = np.empty((len(rows), K, objective.n_params))
    for k in range(K):
        unit = np.zeros((len(rows), K))
        unit[:, k] = 1.0
        G = objective._expand(X, unit)
        J[:, k, :] = as_dense(G)
    return J


def _curvature_rows(objective, theta, rows):
    """``D_i = s_i ∂²L/∂raw²`` for the given rows, shape (len(rows), K, K)."""
    raw = objective.raw_prediction(theta, objective.X[rows])
    Y = objective.Y[rows]
    K = objective.n_outputs
    D = np.empty((len(rows), K, K))
    for k in range(K):
        unit = np.zeros_like(raw)
        unit[:, k] = 1.0
        D[:, :, k] = objective.loss.hessian_apply(Y, raw, unit)
    return D * objective.sample_weight[rows, None, None]


class RowBlocks:
    """Per-row pieces of the Woodbury step for a batch of rows.

    Attributes: ``J`` (b, K, p), ``Y = A⁻¹Jᵀ`` as (b, K, p), ``P`` (b, K, K),
    ``D`` (b, K, K), ``rho`` (b, K), ``Jc`` (b, K).
    """

    def __init__(self, objective, theta, solver, newton_constant, rows):
        S = objective.weight_sum
        self.J = J = _design_rows(objective, rows)
        b, K, p = J.shape
        self.Y = solver.solve(J.reshape(b * K, p).T).T.reshape(b, K, p) / S
        self.P = np.einsum("ikp,ilp->ikl", J, self.Y)
        self.D = _curvature_rows(objective, theta, rows)
        residuals = objective.residuals(theta, objective.X[rows], objective.Y[rows])
        self.rho = objective.sample_weight[rows, None] * residuals
        self.Jc = np.einsum("ikp,p->ik", J, newton_constant)

    def leverage(self):
        """Generalized hat values ``trace(D_i P_i)``."""
        return np.einsum("ikl,ilk->i", self.D, self.P)

    def removal_parts(self):
        """``Y_i (ρ_i − z_i)`` for each row removed on its own, shape (b, p)."""
        return np.einsum("ikp,ik->ip", self.Y, self.removal_weights())

    def removal_weights(self):
        """``u_i = ρ_i − z_i``, shape (b, K): row ``i``'s part is ``A⁺ J_iᵀ u_i``."""
        return _weights(self.P, self.D, self.rho, self.Jc)

    def quadratic(self, u):
        """``Δ_iᵀ A Δ_i`` of the parts ``Δ_i = A⁺ J_iᵀ u_i``: ``u_iᵀ P_i u_i``, since
        ``A⁺ A A⁺ = A⁺`` (no product with ``A`` needed)."""
        return np.einsum("ik,ikl,il->i", u, self.P, u)

    def as_group(self):
        """All rows of the batch stacked into one block (the group removed together)."""
        b, K, p = self.J.shape
        group = object.__new__(RowBlocks)
        group.J = self.J.reshape(1, b * K, p)
        group.Y = self.Y.reshape(1, b * K, p)
        group.P = np.einsum("qp,rp->qr", group.J[0], group.Y[0])[None]
        D = np.zeros((b * K, b * K))
        for i in range(b):
            D[i * K : (i + 1) * K, i * K : (i + 1) * K] = self.D[i]
        group.D = D[None]
        group.rho = self.rho.reshape(1, b * K)
        group.Jc = self.Jc.reshape(1, b * K)
        return group


def _weights(P, D, rho, Jc):
    q = P.shape[1]
    M = np.eye(q) - D @ P
    t = Jc - np.einsum("ikl,il->ik", P, rho)
    z = np.linalg.solve(M, np.einsum("ikl,il->ik", D, t)[..., None])[..., 0]
    return rho - z


def iter_row_blocks(objective, theta, solver, newton_constant):
    """``(batch, RowBlocks)`` over all training rows, in memory-bounded batches."""
    rows = np.arange(objective.n_samples)
    for batch in row_batches(objective):
        yield batch, RowBlocks(objective, theta, solver, newton_constant, rows[batch])


def row_batches(objective):
    """Batches of rows whose blocks fit in scikit-learn's ``working_memory``."""
    per_row = 3 * 8 * objective.n_outputs * objective.n_params
    budget = get_config()["working_memory"] * 2**20
    size = max(1, int(budget // max(per_row, 1)))
    return gen_batches(objective.n_samples, size)


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
              single-output model it is the first-order change divided by
              ``1 - h_ii`` (generalized leverage). It includes ``newton_step_``,
              so it also corrects a fit that stopped short of its minimum. When
              the penalty scales with the weights, the Hessian of the reduced
              objective is factored afresh.
            - ``"exact"``: an actual refit on the remaining rows, warm-started
              from ``θ̂`` where the solver allows, with ``tol`` at most 1e-10.

        Returns
        -------
        estimator : same class as self
            A new fitted estimator whose ``coef_`` and ``intercept_`` are the
            prediction; it keeps the remaining rows as its training data. The
            original estimator is not modified.

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
        core = self._core()
        objective, theta = core["objective"], core["theta"]
        idx = _check_indices(indices, objective.n_samples)
        keep = np.setdiff1d(np.arange(objective.n_samples), idx)
        if method == "exact":
            return self._exact_refit(keep)
        if method == "influence":
            G = objective.influence_gradients(theta, idx)
            summed = np.asarray(G.T @ objective.sample_weight[idx]).ravel()
            new_theta = theta + core["solver"].solve(summed) / objective.weight_sum
        elif method == "newton":
            new_theta = theta + self._newton_removal(idx)
        else:
            raise ValueError(
                f"method must be 'influence', 'newton' or 'exact', got {method!r}."
            )
        return self._with_parameters(new_theta, keep)

    def _newton_removal(self, idx):
        """``θ' - θ̂`` for one Newton step on the objective without rows ``idx``."""
        core = self._core()
        objective, theta = core["objective"], core["theta"]
        if objective.penalty_per_weight or not isinstance(objective, LinearObjective):
            if not hasattr(objective, "with_weights"):
                raise NotImplementedError(
                    f"{type(self).__name__}: method='newton' is not available for "
                    "this objective; use method='influence' or 'exact'."
                )
            weights = objective.sample_weight.copy()
            weights[idx] = 0.0
            reduced = objective.with_weights(weights)
            solver = DenseHessianSolver(
                reduced.hessian(theta), reduced.null_directions()
            )
            return -solver.solve(reduced.gradient(theta))
        blocks = RowBlocks(objective, theta, core["solver"], -core["newton_step"], idx)
        return core["newton_step"] + blocks.as_group().removal_parts()[0]

    def _with_parameters(self, theta, keep):
        """A copy of this estimator with parameters ``theta``, trained on rows ``keep``."""
        state = {k: v for k, v in vars(self).items() if not k.startswith("_influence")}
        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(state))
        self._core()["adapter"].set_theta(new, theta)
        sw = None if self._influence_sw is None else self._influence_sw[keep]
        new._keep_training_data(
            _safe_indexing(self._influence_X, keep),
            _safe_indexing(self._influence_y, keep),
            sw,
        )
        if self._influence_index is not None:
            new._influence_index = self._influence_index[keep]
        return new

    def _exact_refit(self, keep):
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
        sw = None if self._influence_sw is None else self._influence_sw[keep]
        kw = {} if sw is None else {"sample_weight": sw}
        new.fit(
            _safe_indexing(self._influence_X, keep),
            _safe_indexing(self._influence_y, keep),
            **kw,
        )
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
        core = self._core()
        keep = np.arange(core["objective"].n_samples)
        return self._with_parameters(core["theta"] + core["newton_step"], keep)

    def loo_params_change(self, method="newton"):
        """Change of the parameters when each training row is left out, all at once.

        Parameters
        ----------
        method : {"newton", "influence"}, default="newton"
            ``"influence"``: ``-(s_i/S) influence_params_[i]``, the first-order
            change from ``θ̂``. ``"newton"``: the row-dependent part of one exact
            Newton step on the objective without row ``i`` (see
            :meth:`remove_effect`), i.e. the change from the converged full fit
            ``θ̂ + newton_step_``; exact for squared error. Computed in batches
            from one factorization (cost comparable to ``influence_params_``
            times the number of outputs).

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
        core = self._core()
        objective = core["objective"]
        if method == "influence":
            w = objective.sample_weight / objective.weight_sum
            return -w[:, None] * self.influence_params_
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        if objective.penalty_per_weight or not isinstance(objective, LinearObjective):
            raise NotImplementedError(
                f"{type(self).__name__}: the vectorized Newton leave-one-out needs a "
                "linear model whose penalty does not scale with the total weight "
                "(removing a row here changes the whole Hessian); use "
                "remove_effect(i, method='newton') per row or method='influence'."
            )
        out = np.empty((objective.n_samples, objective.n_params))
        for batch in row_batches(objective):
            rows = np.arange(objective.n_samples)[batch]
            blocks = RowBlocks(
                objective, core["theta"], core["solver"], -core["newton_step"], rows
            )
            out[batch] = blocks.removal_parts()
        return out

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
        if method == "influence":
            w = self._core()["objective"].sample_weight
            return -self.influence_loss(X_test, y_test) * (w / w.sum())
        core = self._core()
        objective = core["objective"]
        X_test, Y_test = self._test_data(X_test, y_test)
        changes = self.loo_params_change(method).T  # (n_params, n_train)
        center = core["theta"] + core["newton_step"]
        base_raw = objective.raw_prediction(center, X_test)  # (m, K)
        base = objective.loss.loss(Y_test, base_raw)
        m, K = base_raw.shape
        W, b = objective.unpack(changes)  # (K, d, n), (K, n)
        d, n = objective.n_features, changes.shape[1]
        delta = np.asarray(X_test @ W.transpose(1, 0, 2).reshape(d, K * n))
        raw = base_raw[:, :, None] + delta.reshape(m, K, n) + b[None]
        raw = raw.transpose(0, 2, 1).reshape(m * n, K)
        values = objective.loss.loss(np.repeat(Y_test, n, axis=0), raw)
        return values.reshape(m, n) - base[:, None]

    # -- influence on outputs (logic in _outputs.py) ----------------------------------


def _check_indices(indices, n):
    idx = np.atleast_1d(np.asarray(indices))
    if idx.size == 0:
        raise ValueError("indices is empty.")
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {idx.dtype}.")
    idx = idx.ravel()
    if idx.min() < 0 or idx.max() >= n:
        raise IndexError(f"indices must be in [0, {n}), got {idx.min()}..{idx.max()}.")
    if np.unique(idx).size != idx.size:
        raise ValueError("indices contain duplicates.")
    return idx
