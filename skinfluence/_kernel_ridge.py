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

import copy
import warnings
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg
from scipy.linalg import lapack
from scipy.sparse import issparse
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions

from . import _frames
from ._constraints import RESPONSE_METHOD, TEST_DATA, validated
from ._frames import labelled
from ._mixin import InfluenceMixin
from ._removal import check_indices
from ._state import (
    InfluenceState,
    NonStationaryWarning,
    Stationarity,
    as_targets,
    check_finite_targets,
    row_batches,
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
        if not np.all(np.isfinite(sw)) or np.any(sw < 0):
            raise ValueError(
                f"{self.name}: sample_weight must be finite and non-negative "
                "(scikit-learn takes their square roots)."
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
            "matrix: it has no linear objective in θ = [coef_, intercept_], so "
            "functions built on one (mean_loss, prediction_gap) do not apply. Use "
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


_NO_PERTURBATION = (
    "{name}: influence_perturbation needs the derivative of the kernel in its "
    "inputs, which a precomputed or callable kernel does not provide; it is not "
    "implemented for KernelRidge. Use influence_loss or influence_prediction."
)
_NO_DISPERSION = (
    "{name}: Cook's distance and DFBETAS divide by standard errors of a fixed "
    "parameter vector; kernel ridge's dual coefficients are one per training row "
    "(removing a row removes one) and have no such covariance. Use dfbeta(), "
    "loo_params_change() or loo_loss_change()."
)


class InfluenceKernelRidge(InfluenceMixin, KernelRidge):
    """:class:`~sklearn.kernel_ridge.KernelRidge` with influence functions, in dual form.

    Same parameters and fit as ``KernelRidge`` (every kernel, ``"precomputed"``
    and callables too; ``sample_weight``; several targets with one ``alpha``
    or one per target). The objective is, per target,
    ``Σ s_i (y_i − K_i c)² + alpha cᵀKc`` (no intercept). Influences are taken
    through the kernel matrix (no explicit features) from one factorization of
    ``S^½ K S^½ + alpha I``; removals and leave-one-out are exact (squared loss).

    The parameters are ``θ = dual_coef_.ravel()``: one coefficient per
    training row (and target). Removing a row is exactly setting its weight to
    zero, which sets its coefficient to zero and leaves the others those of a
    refit without it, so ``influence_params_`` and ``loo_params_change`` are
    defined on the fixed coordinates of the full training set.
    :meth:`remove_effect` returns a ``KernelRidge`` on the remaining rows
    only. ``alpha=0`` (interpolation: every leverage is 1) is refused;
    ``influence_perturbation``, ``cooks_distance`` and ``dfbetas`` raise
    ``NotImplementedError``. See the user guide page *Kernel ridge*.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceKernelRidge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf", gamma=0.1).fit(X[:300], y[:300])
    >>> model.influence_loss(X[300:302], y[300:302]).shape
    (2, 300)
    >>> smaller = model.remove_effect([0, 1])  # exact: predicts like a refit
    >>> smaller.dual_coef_.shape
    (298,)
    """

    @property
    def influence_params_(self) -> np.ndarray:
        """``S ∂θ/∂s_i`` with ``θ = dual_coef_.ravel()``, shape (n_train, n_train · n_targets).

        Row ``i`` is the derivative of every dual coefficient with respect to
        row ``i``'s weight, times ``S = Σ s_j``. The coordinates are those of
        the full training set: removing row ``j`` sets its coefficient to zero
        (exactly, at weight zero) and ``θ`` changes by about
        ``-(s_j/S) influence_params_[j]`` (exactly: :meth:`loo_params_change`).
        For outputs use :meth:`influence_prediction` and :meth:`influence_loss`,
        which never form this ``n × n`` matrix.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y).influence_params_.shape
        (20, 20)
        """
        values = self.influence_state().influence_params()
        if _frames.pandas_output():
            return _frames.label(self, values, "influence_params_")
        return values

    @validated({"X_test": TEST_DATA["X_test"], "response_method": RESPONSE_METHOD})
    @labelled("influence_prediction")
    def influence_prediction(
        self, X_test: ArrayLike, response_method: str = "auto"
    ) -> np.ndarray:
        """Influence of up-weighting each training row on each prediction.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
            With ``kernel="precomputed"``, the kernel between test and
            training rows, (n_test, n_train).
        response_method : {"auto", "predict"}, default="auto"

        Returns
        -------
        influence : ndarray of shape (n_test, n_train) or (n_test, n_targets, n_train)
            ``S ∂f(x_test)/∂s_i``; removing row ``i`` changes a prediction by
            about ``-(s_i/S) influence[..., i]``. One target: 2-D.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.influence_prediction(X[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        fitted.response(response_method)
        out = fitted.prediction_influence(fitted.test_kernel(X_test))
        return out[:, 0, :] if out.shape[1] == 1 else out

    @validated(TEST_DATA)
    @labelled("influence_loss")
    def influence_loss(
        self, X_test: ArrayLike, y_test: ArrayLike | None = None
    ) -> np.ndarray:
        """Influence of up-weighting each training row on each test loss.

        The test loss is the squared error summed over targets,
        ``Σ_t (y_t − f_t(x))²`` (the training data term, unweighted).

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets)

        Returns
        -------
        influence : ndarray of shape (n_test, n_train)
            ``S ∂L(z_test_j)/∂s_i``: positive means up-weighting row ``i``
            raises test loss ``j``; removing it changes the loss by about
            ``-(s_i/S) influence[j, i]``.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.influence_loss(X[:3], y[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        Kx, residual = fitted.test_residuals(X_test, y_test)
        dP = fitted.prediction_influence(Kx)
        return -2.0 * np.einsum("mt,mtn->mn", residual, dP)

    @validated(
        {
            **TEST_DATA,
            "k": [Interval(Integral, 1, None, closed="left")],
            "as_frame": ["boolean", None],
        }
    )
    def top_influences(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        k: int = 5,
        as_frame: bool | None = None,
    ):
        """Most helpful and most harmful training rows for each test point.

        As :meth:`InfluenceMixin.top_influences`, from :meth:`influence_loss`
        computed in blocks of test rows sized by scikit-learn's
        ``working_memory``.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.top_influences(X[:2], y[:2], k=3).harmful_indices.shape
        (2, 3)
        """
        fitted = self.influence_state()
        n = fitted.n_samples
        m = _num_rows(X_test)
        k = int(min(k, n))
        y_arr = None if y_test is None else np.asarray(y_test)
        parts = {name: [] for name in ("li", "lv", "hi", "hv")}
        for rows in row_batches(m, 4 * n * fitted.n_targets):
            X_block = _rows(X_test, rows)
            y_block = None if y_arr is None else y_arr[rows]
            values = self.influence_loss(X_block, y_block)
            for sign, (idx_key, val_key) in ((1, ("li", "lv")), (-1, ("hi", "hv"))):
                part = np.argpartition(sign * values, k - 1, axis=1)[:, :k]
                chosen = np.take_along_axis(sign * values, part, axis=1)
                order = np.argsort(chosen, axis=1, kind="stable")
                parts[idx_key].append(np.take_along_axis(part, order, axis=1))
                parts[val_key].append(sign * np.take_along_axis(chosen, order, axis=1))
        top = Bunch(
            helpful_indices=np.vstack(parts["li"]),
            helpful_values=np.vstack(parts["lv"]),
            harmful_indices=np.vstack(parts["hi"]),
            harmful_values=np.vstack(parts["hv"]),
        )
        if as_frame is None:
            as_frame = _frames.pandas_output()
        return _frames.top_influences_frame(self, X_test, top) if as_frame else top

    @labelled("self_influence")
    def self_influence(self) -> np.ndarray:
        """``S ∂L(z_i)/∂s_i`` of each training row's own loss.

        For a row with positive weight it is ``−2 S Σ_t r_it² h_ii / s_i``
        (``h_ii`` the hat value): never positive.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> bool((model.self_influence() <= 0).all())
        True
        """
        return self.influence_state().self_influence()

    @labelled("loo_residuals")
    def loo_residuals(self) -> np.ndarray:
        """Leave-one-out residuals ``y_i − f₍ᵢ₎(x_i) = r_i / (1 − h_ii)`` of every row.

        Exact, from the diagonal of the dual hat matrix (no refit); their mean
        square is the PRESS / leave-one-out error.

        Returns
        -------
        residuals : ndarray of shape (n_train,) or (n_train, n_targets)

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.kernel_ridge import KernelRidge
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> refit = KernelRidge(alpha=0.1, kernel="rbf").fit(X[1:], y[1:])
        >>> bool(np.isclose(model.loo_residuals()[0], y[0] - refit.predict(X[:1])[0]))
        True
        """
        residuals = self.influence_state().loo().residuals
        return residuals[:, 0].copy() if residuals.shape[1] == 1 else residuals.copy()

    @validated({**TEST_DATA, "method": [StrOptions({"newton", "influence"})]})
    @labelled("loo_loss_change")
    def loo_loss_change(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        method: str = "newton",
    ) -> np.ndarray:
        """Change of each test loss when each training row is left out.

        Parameters
        ----------
        X_test, y_test : as in :meth:`influence_loss`
        method : {"newton", "influence"}, default="newton"
            ``"newton"``: exact (the squared loss makes one Newton step the
            refit), from the diagonal of the dual hat matrix.
            ``"influence"``: first order, ``-(s_i/S) influence_loss[j, i]``.

        Returns
        -------
        change : ndarray of shape (n_test, n_train)

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.loo_loss_change(X[:3], y[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        if method == "influence":
            return -self.influence_loss(X_test, y_test) * fitted.removal_shares()
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        Kx, residual = fitted.test_residuals(X_test, y_test)
        residual = residual[:, :, None]
        new = residual - fitted.loo_prediction_change(Kx)
        return np.sum(new**2 - residual**2, axis=1)

    @validated(
        {
            "indices": "no_validation",  # positions, mask or labels: check_indices
            "method": [StrOptions({"influence", "newton", "exact"})],
        }
    )
    def remove_effect(
        self, indices: ArrayLike, method: str = "newton"
    ) -> "InfluenceKernelRidge":
        """The model refit without some training rows: a fitted KernelRidge.

        Parameters
        ----------
        indices : int or array-like of int
            Rows to remove, all together.
        method : {"newton", "exact"}, default="newton"
            ``"newton"``: exact, a rank-``|indices|`` downdate of the factored
            dual system (no refit); for the squared loss one Newton step is
            the refit. ``"exact"``: an actual ``KernelRidge`` refit.
            ``"influence"`` is refused: to first order the removed rows'
            coefficients do not vanish, so it is no model on the remaining rows
            (use :meth:`influence_prediction` for first-order changes).

        Returns
        -------
        estimator : InfluenceKernelRidge
            ``dual_coef_`` and ``X_fit_`` of the remaining rows (with
            ``kernel="precomputed"``, ``X_fit_`` and the test kernels it takes
            have the remaining columns only); it keeps those rows as training
            data. The original is not modified.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.kernel_ridge import KernelRidge
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> smaller = model.remove_effect([0, 5])
        >>> refit = KernelRidge(alpha=0.1, kernel="rbf").fit(np.delete(X, [0, 5], 0), np.delete(y, [0, 5]))
        >>> bool(np.allclose(smaller.predict(X), refit.predict(X)))
        True
        """
        fitted = self.influence_state()
        idx = check_indices(indices, fitted.data)
        if method == "influence":
            raise NotImplementedError(
                f"{type(self).__name__}.remove_effect(method='influence'): to first "
                "order the removed rows' dual coefficients do not vanish, so the "
                "result is no KernelRidge on the remaining rows. Use "
                "method='newton' (exact, same cost) or influence_prediction()."
            )
        if method == "exact":
            keep = np.setdiff1d(np.arange(fitted.n_samples), idx)
            data = self._subset(fitted.data, keep)
            kw = (
                {}
                if data.sample_weight is None
                else {"sample_weight": data.sample_weight}
            )
            new = clone(self).fit(data.X, data.y, **kw)
            new.influence_state().data.index = data.index
            return new
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'exact', got {method!r}.")
        dual, keep = fitted.removal(idx)
        return self._with_dual(fitted, dual, keep)

    def newton_update(self) -> "InfluenceKernelRidge":
        """A copy whose ``dual_coef_`` is the exact float64 solution on the
        training data (a fit in float32, or attached, may differ).

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> bool(np.allclose(model.newton_update().dual_coef_, model.dual_coef_))
        True
        """
        fitted = self.influence_state()
        return self._with_dual(fitted, fitted.dual_coef, np.arange(fitted.n_samples))

    def influence_perturbation(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        max_bytes: float = 1e9,
    ) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): it needs
        the kernel's derivative in its inputs."""
        raise NotImplementedError(_NO_PERTURBATION.format(name=type(self).__name__))

    @labelled("cooks_distance")
    def cooks_distance(self, groups=None) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): no fixed
        parameter vector with a covariance."""
        raise NotImplementedError(_NO_DISPERSION.format(name=type(self).__name__))

    @labelled("dfbetas")
    def dfbetas(self) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): no fixed
        parameter vector with a covariance."""
        raise NotImplementedError(_NO_DISPERSION.format(name=type(self).__name__))

    # -- helpers -----------------------------------------------------------------------
    def _subset(self, data, keep):
        """Training rows ``keep``; a precomputed kernel keeps those columns too."""
        sub = data.subset(keep)
        if self.kernel == "precomputed":
            sub.X = sub.X[:, keep]
        return sub

    def _with_dual(self, fitted, dual, keep):
        state = {k: v for k, v in vars(self).items() if not k.startswith("_influence")}
        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(state))
        dtype = np.asarray(self.dual_coef_).dtype
        new.dual_coef_ = (dual[:, 0] if np.ndim(self.dual_coef_) == 1 else dual).astype(
            dtype
        )
        X_fit = self.X_fit_[keep]
        if self.kernel == "precomputed":
            X_fit = X_fit[:, keep]
            new.n_features_in_ = len(keep)
        new.X_fit_ = X_fit
        new._influence_state = InfluenceState(self._subset(fitted.data, keep))
        return new


def _num_rows(a):
    return a.shape[0] if hasattr(a, "shape") else len(a)


def _rows(X, rows):
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    return X[rows] if hasattr(X, "shape") else np.asarray(X)[rows]
