"""InfluenceMixin: influence functions on a fitted linear estimator."""

import copy
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _outputs
from ._adapters import adapter_for
from ._solvers import DenseHessianSolver


class NonStationaryWarning(UserWarning):
    """The fitted parameters are measurably short of the objective's minimum."""


#: warn when the Newton step to the minimum exceeds this fraction of the
#: root-mean-square effect of removing one training row
STATIONARITY_THRESHOLD = 0.1


class InfluenceMixin:
    """Influence functions (Koh & Liang, 2017) for a scikit-learn linear model.

    Put it first in the bases of a supported estimator (``LogisticRegression``,
    ``LinearRegression``, ``Ridge``). ``fit`` keeps a private float64 copy of the
    training data; influence quantities are computed on first use and cached.

    With ``F(θ) = Σ_i s_i L(z_i, θ) + Ω(θ)`` the estimator's exact training
    objective (``s_i`` = sample weight × class weight), ``S = Σ_i s_i`` and
    ``H = ∇²(F/S)`` at the fitted ``θ̂ = [coef_.ravel(), intercept_]``:

    - ``influence_params_[i] = -H⁻¹ ∇L(z_i, θ̂) = S ∂θ̂/∂s_i``;
    - removing row ``i`` moves ``θ̂`` by about ``-(s_i/S) influence_params_[i]``;
    - ``influence_loss(X_test, y_test)[j, i] = ∇L(z_test_j, θ̂)ᵀ influence_params_[i]``:
      positive means up-weighting row ``i`` raises test loss ``j``.
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the estimator and keep what influence computations need.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        super().fit(X, y, sample_weight=sample_weight)
        self._keep_training_data(X, y, sample_weight)
        return self

    def _keep_training_data(self, X, y, sample_weight):
        self._influence_X = check_array(
            X, accept_sparse="csr", dtype=np.float64, copy=True, ensure_2d=True
        )
        self._influence_y = np.array(y, copy=True)
        n = self._influence_X.shape[0]
        self._influence_sw = (
            None
            if sample_weight is None
            else np.broadcast_to(
                np.asarray(sample_weight, dtype=np.float64), (n,)
            ).copy()
        )
        self._influence_cache = {}

    # -- the factored objective, built once ----------------------------------------
    def _core(self):
        check_is_fitted(self)
        if not hasattr(self, "_influence_X"):
            raise AttributeError(
                f"{type(self).__name__} has no training data: fit it first."
            )
        cache = self._influence_cache
        if "solver" not in cache:
            adapter = adapter_for(self)
            adapter.check_supported()
            objective = adapter.objective(
                self._influence_X, self._influence_y, self._influence_sw
            )
            theta = adapter.theta()
            hessian = objective.hessian(theta)
            cache.update(
                adapter=adapter,
                objective=objective,
                theta=theta,
                solver=DenseHessianSolver(hessian, objective.null_directions()),
                train_gradients=objective.influence_gradients(theta),
            )
            self._check_stationarity(cache)
        return cache

    def _check_stationarity(self, cache):
        objective, theta, solver = cache["objective"], cache["theta"], cache["solver"]
        grad = objective.gradient(theta)
        step = -solver.solve(grad)
        G = cache["train_gradients"]
        w = objective.sample_weight / objective.weight_sum
        # mean_i ‖(s_i/S) H⁻¹ g_i‖² = trace(H⁻¹ (Gᵀ diag(w²) G) H⁻¹) / n
        M = G.T @ (
            G.multiply(w[:, None] ** 2) if sp.issparse(G) else G * w[:, None] ** 2
        )
        M = M.toarray() if sp.issparse(M) else M
        typical = np.sqrt(max(np.trace(solver.solve(solver.solve(M).T)), 0.0) / len(w))
        cache.update(gradient_norm=float(np.linalg.norm(grad)), newton_step=step)
        ratio = np.linalg.norm(step) / typical if typical > 0 else np.inf
        cache["stationarity_ratio"] = float(ratio)
        if ratio > STATIONARITY_THRESHOLD:
            warnings.warn(
                f"{type(self).__name__} is not at the minimum of its objective: "
                f"‖∇R(θ̂)‖ = {np.linalg.norm(grad):.3g}, and the Newton step to the "
                f"minimum is {ratio:.3g} times the typical effect of removing one "
                "training row, so influences describe that row's effect less well "
                "than they could. Refit with a smaller tol (e.g. tol=1e-8) and a "
                "larger max_iter.",
                NonStationaryWarning,
                stacklevel=3,
            )

    # -- public API ----------------------------------------------------------------
    @property
    def gradient_norm_(self):
        """Euclidean norm of the full gradient of the risk ``∇R(θ̂)`` at the fit.

        Zero at an exact minimum. A :class:`NonStationaryWarning` is issued when
        the Newton step ``-H⁻¹∇R(θ̂)`` is larger than ``STATIONARITY_THRESHOLD``
        (0.1) times the root-mean-square effect of removing one training row.
        """
        return self._core()["gradient_norm"]

    @property
    def newton_step_(self):
        """``-H⁻¹ ∇R(θ̂)``: how far the fit is from the minimum, in parameter space.

        This is the part of a Newton step that does not depend on any training
        row (Koh & Liang 2017, appendix B).
        """
        return self._core()["newton_step"]

    @property
    def influence_params_(self):
        """Influence of up-weighting each training row on the parameters.

        Array of shape (n_train, n_params): row ``i`` is
        ``I_up,params(z_i) = -H⁻¹ ∇_θ L(z_i, θ̂)``, equal to ``S ∂θ̂/∂s_i`` where
        ``s_i`` is row ``i``'s effective weight and ``S = Σ s_i``. Columns follow
        ``θ = [coef_.ravel(), intercept_]`` (C order; class-major for
        multinomial models; intercept entries only with ``fit_intercept=True``).
        Removing row ``i`` changes ``θ̂`` by about ``-(s_i/S) influence_params_[i]``.

        Singular Hessians: along the exact flat directions of the multinomial
        model (a common shift of all classes' intercepts and, with ``C=np.inf``,
        of each feature's coefficients) and along directions left undetermined
        by collinear columns, the minimum-norm solution is returned; per-sample
        gradients have no component there, so predictions are unaffected.
        """
        core = self._core()
        if "influence_params" not in core:
            G = core["train_gradients"]
            G = G.toarray() if sp.issparse(G) else G
            core["influence_params"] = -core["solver"].solve(G.T).T
        return core["influence_params"]

    def influence_loss(self, X_test, y_test=None):
        """Influence of up-weighting each training row on each test loss.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets), default=None
            True targets. For classifiers ``None`` uses the predicted labels;
            regressors require it.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train)
            ``I_up,loss(z_i, z_test_j) = -∇L(z_test_j)ᵀ H⁻¹ ∇L(z_i)``. Positive
            means up-weighting training row ``i`` raises test loss ``j`` (a harmful
            row). Removing row ``i`` changes test loss ``j`` by about
            ``-(s_i/S) influence[j, i]``. The test loss is the per-sample data
            term of training, unweighted (log-loss, squared error).
        """
        core = self._core()
        X_test = validate_data(
            self, X_test, reset=False, accept_sparse="csr", dtype=np.float64
        )
        adapter, objective = core["adapter"], core["objective"]
        if y_test is None:
            y_test = adapter.default_targets(X_test)
        elif len(y_test) != X_test.shape[0]:
            raise ValueError(
                f"y_test has {len(y_test)} rows but X_test has {X_test.shape[0]}."
            )
        Y_test = adapter.encode_targets(y_test)
        G_test = objective.sample_gradients(core["theta"], X_test, Y_test)
        G_test = G_test.toarray() if sp.issparse(G_test) else G_test
        A = core["solver"].solve(G_test.T)  # H⁻¹ ∇L(z_test), (n_params, n_test)
        return -np.asarray(core["train_gradients"] @ A).T

    def remove_effect(self, indices):
        """First-order prediction of the model refit without some training rows.

        Parameters
        ----------
        indices : int or array-like of int
            Rows of the training data to remove. Effects of several rows add:
            ``θ̂ - Σ_i (s_i/S) influence_params_[i]``, computed with one solve.

        Returns
        -------
        estimator : same class as self
            A new fitted estimator whose ``coef_`` and ``intercept_`` are the
            prediction; it keeps the remaining rows as its training data. The
            original estimator is not modified.
        """
        core = self._core()
        objective = core["objective"]
        idx = _check_indices(indices, objective.n_samples)
        G = core["train_gradients"][idx]
        s = objective.sample_weight[idx]
        summed = np.asarray(G.T @ s).ravel()
        theta = core["theta"] + core["solver"].solve(summed) / objective.weight_sum
        state = {k: v for k, v in vars(self).items() if not k.startswith("_influence")}
        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(state))
        core["adapter"].set_theta(new, theta)
        keep = np.setdiff1d(np.arange(objective.n_samples), idx)
        sw = None if self._influence_sw is None else self._influence_sw[keep]
        new._keep_training_data(self._influence_X[keep], self._influence_y[keep], sw)
        return new

    # -- influence on outputs (logic in _outputs.py) ----------------------------------
    def influence_prediction(self, X_test, response_method="auto"):
        """Influence of up-weighting each training row on each model output.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        response_method : {"auto", "predict_proba", "decision_function", "predict"}
            ``"auto"``: ``predict_proba`` for classifiers, ``predict`` for regressors.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train) or (n_test, n_outputs, n_train)
            ``∇f(x_test)ᵀ influence_params_[i]`` for each output ``f`` (columns of
            the response in scikit-learn's order, e.g. ``classes_``; a binary
            ``predict_proba`` has two). Removing row ``i`` changes an output by
            about ``-(s_i/S) influence[..., i]``. One output: 2-D. A multinomial
            ``decision_function`` is taken with intercepts summing to zero, as
            scikit-learn fits them (a common shift changes no probability).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = InfluenceLogisticRegression(solver="newton-cholesky").fit(X, y)
        >>> model.influence_prediction(X[:2]).shape
        (2, 3, 150)
        """
        return _outputs.influence_prediction(self, X_test, response_method)

    def influence_statistic(self, func, grad=None):
        """Influence of up-weighting each training row on a function of ``θ``.

        Parameters
        ----------
        func : callable
            ``func(theta) -> float`` with ``theta = [coef_.ravel(), intercept_]``;
            :func:`mean_loss` and :func:`prediction_gap` build common ones.
        grad : callable, default=None
            ``grad(theta) -> ndarray (n_params,)``. If None, ``func.gradient`` is
            used when it exists, else central finite differences (with a
            ``UserWarning``).

        Returns
        -------
        influence : ndarray of shape (n_train,)
            ``∇f(θ̂)ᵀ influence_params_[i]``; removing row ``i`` changes ``f`` by
            about ``-(s_i/S) influence[i]``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> bmi = model.influence_statistic(lambda t: t[2], grad=lambda t: np.eye(11)[2])
        >>> np.allclose(bmi, model.influence_params_[:, 2])  # coef_[2] is θ[2]
        True
        """
        return _outputs.influence_statistic(self, func, grad)

    def influence_perturbation(self, X_test, y_test=None, max_bytes=_outputs.MAX_BYTES):
        """Influence of moving each training row's features on each test loss.

        Koh & Liang's ``I_pert,loss(z_i, z_test_j) = -∇L(z_test_j)ᵀ H⁻¹ ∇_x∇_θ L(z_i, θ̂)``.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets), default=None
            As in :meth:`influence_loss`.
        max_bytes : float, default=1e9
            Refuse (``ValueError``) when the result, ``8 · n_test · n_train ·
            n_features`` bytes, would be larger.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train, n_features)
            Moving training row ``i``'s features by a small ``δ`` changes test loss
            ``j`` by about ``(s_i/S) influence[j, i] @ δ``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.influence_perturbation(X[:3], y[:3]).shape
        (3, 442, 10)
        """
        return _outputs.influence_perturbation(self, X_test, y_test, max_bytes)


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
