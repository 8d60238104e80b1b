"""KernelRidge in dual form: influence through the kernel matrix, no features.

scikit-learn's KernelRidge (``sklearn.linear_model._ridge._solve_cholesky_kernel``)
minimizes, for each target with penalty ``a`` (``alpha``, one per target or shared),

    F(c) = Σ_i s_i (y_i − K_i c)² + a cᵀ K c        (no intercept, no ½)

and returns ``c = S^½ M⁻¹ S^½ y`` with ``M = S^½ K S^½ + a I``, ``S = diag(s)``.
Write ``z = M⁻¹ S^½ y`` (so ``c = S^½ z``) and ``r = y − K c``. The stationarity
condition ``(S K + a I) c = S y`` gives ``S^½ r = a z``. Everything below comes
from one factorization of ``M`` per distinct ``alpha`` (Cholesky; LU when the
kernel is indefinite, e.g. sigmoid, where the fit is a stationary point):

- weight derivative ``∂c/∂s_i = (S K + a I)⁻¹ e_i r_i``: ``S^½ M⁻¹ e_i r_i / √s_i``
  for ``s_i > 0``, ``(e_i − S^½ M⁻¹ S^½ K e_i) r_i / a`` for ``s_i = 0``
  (Woodbury); at a test point with kernel row ``k``,
  ``∂f/∂s_i = (M⁻¹ S^½ k)_i r_i / √s_i``;
- removing rows ``I`` is exactly setting their weights to zero: their
  coefficients become 0 and the others those of a refit without them,
  ``z' = z − M⁻¹_{:,I} (M⁻¹_{II})⁻¹ z_I`` (Schur complement: a rank-``|I|``
  downdate of the same factorization);
- the hat matrix ``H = K S^½ M⁻¹ S^½`` has ``1 − h_ii = a (M⁻¹)_ii``: every
  leave-one-out residual is ``r_i / (1 − h_ii)``, and leaving row ``i`` out
  changes a test prediction by ``−(M⁻¹ S^½ k)_i z_i / (M⁻¹)_ii``, the
  first-order change divided by ``1 − h_ii``.

So ``θ = dual_coef_.ravel()`` (C order over (n_train, n_targets)) lives in a
fixed space: a removed row keeps its coordinate, at zero. With ``alpha > 0``
every ``h_ii < 1``; ``alpha = 0`` (interpolation, leverage 1) is refused.
"""

import warnings

import numpy as np
from scipy import linalg
from scipy.linalg import lapack
from scipy.sparse import issparse

from ._state import (
    NonStationaryWarning,
    Stationarity,
    as_targets,
    check_finite_targets,
    validate_test_X,
)


class _Factor:
    """One factorization of ``M = S^½ K S^½ + a I``."""

    def __init__(self, M, a, name):
        self.a = a
        n = M.shape[0]
        norm = np.abs(M).sum(axis=0).max()
        try:
            self._cho = linalg.cho_factor(M, lower=True, check_finite=False)
            self._lu = None
            rcond = lapack.dpocon(self._cho[0], norm, uplo="L")[0]
        except linalg.LinAlgError:  # indefinite kernel: a stationary point
            self._cho = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", linalg.LinAlgWarning)
                self._lu = linalg.lu_factor(M, check_finite=False)
            rcond = lapack.dgecon(self._lu[0], norm)[0]
        if not rcond > n * np.finfo(np.float64).eps:
            raise ValueError(
                f"{name}(alpha={a:g}): the dual system S^½KS^½ + alpha·I is "
                f"numerically singular (reciprocal condition {rcond:.2g}), so "
                "influences and removals are not determined. Use a larger alpha."
            )

    def solve(self, B):
        if self._cho is not None:
            return linalg.cho_solve(self._cho, B, check_finite=False)
        return linalg.lu_solve(self._lu, B, check_finite=False)

    def inverse_diagonal(self):
        """``diag(M⁻¹)``: column norms of ``L⁻¹`` (n triangular solves)."""
        n = self._cho[0].shape[0] if self._cho is not None else self._lu[0].shape[0]
        if self._cho is None:
            return np.diag(self.solve(np.eye(n))).copy()
        W = linalg.solve_triangular(
            self._cho[0], np.eye(n), lower=True, check_finite=False
        )
        return np.einsum("ij,ij->j", W, W)


class KernelLeaveOneOut:
    """Leave-one-out of every row from ``diag(M⁻¹)``.

    ``output_leverage`` (n, T): ``h_ii`` per target; ``leverage`` (n,) their
    sum; ``residuals`` (n, T): ``y_i − f₍ᵢ₎(x_i) = r_i / (1 − h_ii)``;
    ``changes`` (n, n·T): the exact change of ``θ = dual_coef_.ravel()``
    (computed on first access: it needs all of ``M⁻¹``).
    """

    def __init__(self, state):
        self._state = state
        one_minus_h = state.alpha * state.inverse_diagonal()
        self.output_leverage = 1.0 - one_minus_h
        self.leverage = self.output_leverage.sum(axis=1)
        self.residuals = state.residuals / one_minus_h
        self._changes = None

    @property
    def changes(self):
        if self._changes is None:
            self._changes = self._state.loo_dual_changes()
        return self._changes


class KernelRidgeInfluence:
    """The influence state of a fitted KernelRidge, in dual form.

    Same public surface as :class:`~skinfluence._state.FittedInfluence` where
    it applies (``data``, ``theta``, ``stationarity``, ``removal_shares``,
    ``influence_params``, ``influence_on``, ``loo``, ``validate_X``,
    ``response``); no linear ``objective`` or Hessian ``solver``.

    Attributes
    ----------
    data : TrainingData
    adapter : KernelRidgeAdapter
    theta : ndarray of shape (n_train * n_targets,)
        ``dual_coef_.ravel()`` as fitted.
    dual_coef : ndarray of shape (n_train, n_targets)
        The exact solution on ``data`` (float64), at which influences are taken.
    residuals : ndarray of shape (n_train, n_targets)
    stationarity : Stationarity
    """

    #: rows in memory (results are arrays, not lazy dask arrays)
    distributed = False

    def __init__(self, adapter, data, settings):
        self.adapter, self.data, self.settings = adapter, data, settings
        self.name = type(adapter.estimator).__name__
        adapter.check_supported()
        K = adapter.kernel(data.X)
        self.K = K.toarray() if issparse(K) else np.asarray(K, dtype=np.float64)
        self.Y = Y = adapter.encode_targets(data.y)
        n, T = Y.shape
        self.weights = s = self._weights(n)
        self.alpha = self._alphas(T)
        self.sqrt_s = sq = np.sqrt(s)
        M0 = sq[:, None] * self.K * sq[None, :]
        self._groups = []  # (factor, target columns) per distinct alpha
        for a in np.unique(self.alpha):
            M = M0.copy()
            M.flat[:: n + 1] += a
            targets = np.flatnonzero(self.alpha == a)
            self._groups.append((_Factor(M, a, self.name), targets))
        del M0
        self.z = np.empty((n, T))
        for factor, ts in self._groups:
            self.z[:, ts] = factor.solve(sq[:, None] * Y[:, ts])
        self.dual_coef = sq[:, None] * self.z
        self.zero = np.flatnonzero(s == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            R = self.alpha * self.z / sq[:, None]  # S^½ r = a z
        R[self.zero] = Y[self.zero] - self.K[self.zero] @ self.dual_coef
        self.residuals = R
        self.theta = adapter.theta()
        self.stationarity = self._stationarity()
        self._influence_params = self._loo = self._inverse_diagonal = None

    # -- inputs ------------------------------------------------------------------------
    def _weights(self, n):
        sw = self.data.sample_weight
        if sw is None:
            return np.ones(n)
        sw = np.asarray(sw, dtype=np.float64).reshape(n)
        if not np.all(np.isfinite(sw)) or np.any(sw < 0) or not sw.sum() > 0:
            raise ValueError(
                f"{self.name}: sample_weight must be finite and non-negative, "
                "not all zero (scikit-learn takes their square roots)."
            )
        return sw

    def _alphas(self, T):
        alpha = np.atleast_1d(np.asarray(self.adapter.estimator.alpha, dtype=float))
        if alpha.size == 1:
            return np.full(T, alpha[0])
        if alpha.size != T:
            raise ValueError(
                f"{self.name}: alpha has {alpha.size} values for {T} targets."
            )
        return alpha

    @property
    def n_samples(self):
        return self.Y.shape[0]

    @property
    def n_targets(self):
        return self.Y.shape[1]

    @property
    def n_params(self):
        return self.Y.size

    @property
    def weight_sum(self):
        return float(self.weights.sum())

    def removal_shares(self):
        """``s_i / S``: removing row ``i`` is up-weighting it by ``ε = -s_i/S``."""
        return self.weights / self.weight_sum

    def validate_X(self, X):
        """``X`` checked against the fit (features or, precomputed, columns)."""
        return validate_test_X(self.adapter.estimator, X)

    def test_kernel(self, X_test):
        """``k(X_test, X_fit)``, dense (n_test, n_train)."""
        Kx = self.adapter.kernel(self.validate_X(X_test), self.data.X)
        return Kx.toarray() if issparse(Kx) else np.asarray(Kx, dtype=np.float64)

    def test_residuals(self, X_test, y_test):
        """Test kernel rows and residuals ``y − f`` at the exact solution."""
        Kx = self.test_kernel(X_test)
        Y = self.test_targets(y_test, Kx.shape[0])
        return Kx, Y - Kx @ self.dual_coef

    def test_targets(self, y_test, m):
        if y_test is None:
            raise ValueError(f"{self.name} is a regressor: the test loss needs y_test.")
        y_test = as_targets(y_test)
        try:
            Y = self.adapter.encode_targets(y_test)
        except (TypeError, ValueError) as error:
            raise ValueError(f"y_test: {error}") from None
        if Y.shape != (m, self.n_targets):
            raise ValueError(
                f"y_test has shape {np.shape(y_test)}; expected {m} rows and "
                f"{self.n_targets} target(s)."
            )
        check_finite_targets(Y)
        return Y

    def response(self, response_method):
        return self.adapter.response(response_method)

    # -- not a linear objective ------------------------------------------------------
    @property
    def objective(self):
        raise NotImplementedError(
            f"{self.name}'s influence is computed in dual form through the kernel "
            "matrix: it has no objective in coefficients and an intercept, so "
            "what is built on one (mean_loss, prediction_gap) does not apply. Use "
            "influence_loss(X_test, y_test) or influence_prediction(X_test)."
        )

    solver = objective

    # -- the quantities ----------------------------------------------------------------
    def _solved_test(self, factor, Kx):
        """``M⁻¹ S^½ k`` for each test row (n, m)."""
        return factor.solve(self.sqrt_s[:, None] * Kx.T)

    def _derivative_operator(self, factor, B, Kx_t):
        """``V`` with ``∂f/∂s_i = V[i] r_i`` from ``B = M⁻¹ S^½ Kxᵀ`` (n, m)."""
        sq = self.sqrt_s
        with np.errstate(divide="ignore", invalid="ignore"):
            V = B / sq[:, None]
        if self.zero.size:  # Woodbury: (k_i − (K S^½ M⁻¹ S^½ k)_i) / a
            V[self.zero] = (
                Kx_t[self.zero] - self.K[self.zero] @ (sq[:, None] * B)
            ) / factor.a
        return V

    def prediction_influence(self, Kx):
        """``S ∂f_t(x_j)/∂s_i`` for test kernel rows ``Kx``: (m, T, n)."""
        m = Kx.shape[0]
        out = np.empty((m, self.n_targets, self.n_samples))
        for factor, ts in self._groups:
            V = self._derivative_operator(factor, self._solved_test(factor, Kx), Kx.T)
            for t in ts:
                out[:, t, :] = (V * (self.weight_sum * self.residuals[:, t])[:, None]).T
        return out

    def loo_prediction_change(self, Kx):
        """Exact change of each test prediction when row ``i`` is left out:
        ``−(M⁻¹ S^½ k)_i z_i / (M⁻¹)_ii``, (m, T, n)."""
        d = self.inverse_diagonal()
        out = np.empty((Kx.shape[0], self.n_targets, self.n_samples))
        for factor, ts in self._groups:
            B = self._solved_test(factor, Kx)
            for t in ts:
                out[:, t, :] = -(B * (self.z[:, t] / d[:, t])[:, None]).T
        return out

    def inverse_diagonal(self):
        """``diag(M⁻¹)`` per target, (n, T), memoized."""
        if self._inverse_diagonal is None:
            d = np.empty((self.n_samples, self.n_targets))
            for factor, ts in self._groups:
                d[:, ts] = factor.inverse_diagonal()[:, None]
            self._inverse_diagonal = d
        return self._inverse_diagonal

    def influence_params(self):
        """``S ∂θ/∂s_i`` for every row, (n, n·T), memoized."""
        if self._influence_params is None:
            n, T, sq = self.n_samples, self.n_targets, self.sqrt_s
            out = np.empty((n, n, T))
            for factor, ts in self._groups:
                M_inv = factor.solve(np.eye(n))  # every column is needed
                with np.errstate(divide="ignore", invalid="ignore"):
                    G = sq[:, None] * M_inv / sq[None, :]  # (S K + a I)⁻¹
                if self.zero.size:
                    E = np.eye(n)[:, self.zero]
                    KZ = sq[:, None] * self.K[:, self.zero]
                    G[:, self.zero] = (E - sq[:, None] * (M_inv @ KZ)) / factor.a
                for t in ts:
                    out[:, :, t] = (G * (self.weight_sum * self.residuals[:, t])).T
            self._influence_params = out.reshape(n, n * T)
        return self._influence_params

    def has_influence_params(self):
        """Whether :meth:`influence_params` is already computed."""
        return self._influence_params is not None

    def influence_on(self, gradients):
        """``f_mᵀ influence_params_[i]`` for columns ``f_m`` of ``gradients``
        (n·T, m): (m, n)."""
        return (self.influence_params() @ np.asarray(gradients)).T

    def self_influence(self) -> np.ndarray:
        """``S ∂L_i/∂s_i`` of each row's own training loss, (n,)."""
        h = self.loo().output_leverage
        R, s = self.residuals, self.weights
        with np.errstate(divide="ignore", invalid="ignore"):
            df = R * h / s[:, None]  # ∂f_i/∂s_i = r_i h_ii / s_i
        for factor, ts in self._groups:
            if self.zero.size:
                Kz = self.K[:, self.zero]
                B = factor.solve(self.sqrt_s[:, None] * Kz)
                variance = (
                    np.diag(Kz[self.zero])
                    - np.einsum("ij,ij->j", Kz, self.sqrt_s[:, None] * B)
                ) / factor.a
                df[np.ix_(self.zero, ts)] = R[np.ix_(self.zero, ts)] * variance[:, None]
        return -2.0 * self.weight_sum * np.sum(R * df, axis=1)

    def leverage(self):
        """Hat values ``h_ii`` of every row."""
        return self.loo().leverage

    def loo(self):
        if self._loo is None:
            self._loo = KernelLeaveOneOut(self)
        return self._loo

    def loo_dual_changes(self):
        """Exact ``θ₍ᵢ₎ − θ`` for every row (the removed coefficient goes to 0)."""
        n, T, sq = self.n_samples, self.n_targets, self.sqrt_s
        d = self.inverse_diagonal()
        out = np.empty((n, n, T))
        for factor, ts in self._groups:
            SM = sq[:, None] * factor.solve(np.eye(n))
            for t in ts:
                out[:, :, t] = -(SM * (self.z[:, t] / d[:, t])[None, :]).T
        return out.reshape(n, n * T)

    def removal(self, idx):
        """Dual coefficients of the remaining rows after removing ``idx``
        together (exact), (n − |idx|, T)."""
        n = self.n_samples
        z = self.z.copy()
        for factor, ts in self._groups:
            columns = factor.solve(np.eye(n)[:, idx])
            block = columns[idx]
            try:
                w = np.linalg.solve(block, self.z[np.ix_(idx, ts)])
            except np.linalg.LinAlgError:
                raise ValueError(
                    f"{self.name}: without rows {list(idx)[:10]} the dual system is "
                    "singular (an indefinite kernel): the refit has no unique solution."
                ) from None
            z[:, ts] -= columns @ w
        keep = np.setdiff1d(np.arange(n), idx)
        return (self.sqrt_s[:, None] * z)[keep], keep

    def clear_results(self):
        self._influence_params = self._loo = self._inverse_diagonal = None

    # -- stationarity ------------------------------------------------------------------
    def _stationarity(self):
        """Gradient of ``F/S`` at the fitted ``dual_coef_`` and the step to the
        exact solution, against the typical exact effect of removing one row."""
        n = self.n_samples
        fitted = self.theta
        if fitted.size != self.n_params:
            raise ValueError(
                f"{self.name} has {fitted.size} dual coefficients but the training "
                f"data have {n} rows and {self.n_targets} target(s): these are not "
                "the data it was fitted on."
            )
        C = fitted.reshape(n, self.n_targets)
        U = self.weights[:, None] * (self.K @ C - self.Y) + self.alpha * C
        grad = (2.0 / self.weight_sum) * (self.K @ U)
        step = (self.dual_coef - C).ravel()
        rows = np.unique(np.linspace(0, n - 1, min(n, 256)).astype(int))
        sizes = np.zeros(rows.size)
        for factor, ts in self._groups:
            M_inv = factor.solve(np.eye(n)[:, rows])
            scale = self.z[rows][:, ts] / M_inv[rows, np.arange(rows.size)][:, None]
            norms = np.sum((self.sqrt_s[:, None] * M_inv) ** 2, axis=0)
            sizes += np.sum(scale**2, axis=1) * norms
        typical = np.sqrt(sizes.mean())
        norm = np.linalg.norm(step)
        ratio = norm / typical if typical > 0 else (0.0 if norm == 0 else np.inf)
        return Stationarity(grad.ravel(), step, float(ratio))

    def warn_if_separated(self, name):
        """Squared error: no separation (see :class:`FittedInfluence`)."""

    def warn_if_not_stationary(self, name):
        s = self.stationarity
        if s.ratio > self.settings["stationarity_threshold"]:
            warnings.warn(
                f"{name}'s dual_coef_ differs from the exact solution on its "
                f"training data by {s.ratio:.3g} times the typical effect of "
                "removing one row (a float32 fit, or other data). Influences are "
                "those of the exact float64 solution; newton_update() returns it.",
                NonStationaryWarning,
                stacklevel=5,
            )
