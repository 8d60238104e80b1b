"""InfluenceMixin: influence functions on a fitted linear estimator."""

import warnings

import numpy as np
from sklearn import get_config as sklearn_get_config
from sklearn.utils import Bunch, gen_batches
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _frames, _outputs
from ._adapters import adapter_for
from ._config import get_config
from ._diagnostics import DiagnosticsMixin
from ._objective import as_dense
from ._removal import RemovalMixin
from ._solvers import ConjugateGradientSolver, DenseHessianSolver


class NonStationaryWarning(UserWarning):
    """The fitted parameters are measurably short of the objective's minimum."""


class InfluenceMixin(RemovalMixin, DiagnosticsMixin):
    """Influence functions (Koh & Liang, 2017) for a scikit-learn linear model.

    Put it first in the bases of a supported estimator (every class with an
    adapter in :mod:`skinfluence._adapters`: the ready ``Influence*`` classes).
    ``fit`` keeps a private float64 copy of the training data; influence
    quantities are computed on first use and cached with the settings of
    :func:`set_config` they used.

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
        index = getattr(X, "index", None)
        self._influence_index = index if hasattr(X, "columns") else None
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
        settings = get_config()
        if cache.get("settings") != settings:
            cache.clear()
            adapter = adapter_for(self)
            adapter.check_supported()
            objective = adapter.objective(
                self._influence_X, self._influence_y, self._influence_sw
            )
            theta = adapter.theta()
            solver = _hessian_solver(objective, theta, settings)
            adapter.check_solution(objective, solver)
            cache.update(
                adapter=adapter, objective=objective, theta=theta, solver=solver
            )
            self._check_stationarity(cache, settings)
            cache["settings"] = settings  # the core is complete and valid
        return cache

    def _train_gradient_product(self, A):
        """``G A`` with ``G`` the training rows' influence gradients, shape (n, m)."""
        core = self._core()
        objective, theta = core["objective"], core["theta"]
        A = np.asarray(A, dtype=np.float64).reshape(objective.n_params, -1)
        batches = list(_batches(objective.n_samples, A.shape[1] * objective.n_outputs))
        if len(batches) == 1:  # no copy into a preallocated result
            return objective.influence_gradient_product(theta, A)
        out = np.empty((A.shape[1], objective.n_samples))  # returned transposed
        for batch in batches:
            out[:, batch] = objective.influence_gradient_product(theta, A, batch).T
        return out.T

    def _check_stationarity(self, cache, settings):
        objective, theta, solver = cache["objective"], cache["theta"], cache["solver"]
        grad = objective.gradient(theta)
        # typical effect of removing one row, sqrt(mean_i ‖(s_i/S) H⁻¹ g_i‖²),
        # estimated on evenly spaced rows (256 with Cholesky, 16 with CG)
        n_probe = 16 if solver.method == "cg" else 256
        rows = np.unique(np.linspace(0, objective.n_samples - 1, n_probe).astype(int))
        G = objective.influence_gradients(theta, rows)
        G = as_dense(G)
        w = objective.sample_weight[rows] / objective.weight_sum
        solved = solver.solve(np.column_stack([G.T * w, grad]))
        step = -solved[:, -1]
        typical = np.sqrt(np.mean(np.sum(solved[:, :-1] ** 2, axis=0)))
        ratio = np.linalg.norm(step) / typical if typical > 0 else np.inf
        cache.update(
            gradient_norm=float(np.linalg.norm(grad)),
            newton_step=step,
            stationarity_ratio=float(ratio),
        )
        if ratio > settings["stationarity_threshold"]:
            warnings.warn(
                f"{type(self).__name__} is not at the minimum of its objective: "
                f"‖∇R(θ̂)‖ = {np.linalg.norm(grad):.3g}, and the Newton step to the "
                f"minimum is {ratio:.3g} times the typical effect of removing one "
                "training row, so influences describe that row's effect less well "
                "than they could. Refit with a smaller tol (e.g. tol=1e-8) and a "
                "larger max_iter, or use newton_update().",
                NonStationaryWarning,
                stacklevel=3,
            )

    # -- public API ----------------------------------------------------------------
    @property
    def gradient_norm_(self):
        """Euclidean norm of the full gradient of the risk ``∇R(θ̂)`` at the fit.

        Zero at an exact minimum. A :class:`NonStationaryWarning` is issued when
        the Newton step ``-H⁻¹∇R(θ̂)`` is larger than ``stationarity_threshold``
        (0.1, see :func:`set_config`) times the root-mean-square effect of
        removing one training row (estimated on up to 256 evenly spaced rows).

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import scale
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = scale(X)
        >>> tight = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y)
        >>> tight.gradient_norm_ < 1e-10
        True
        """
        return self._core()["gradient_norm"]

    @property
    def newton_step_(self):
        """``-H⁻¹ ∇R(θ̂)``: how far the fit is from the minimum, in parameter space.

        This is the part of a Newton step that does not depend on any training
        row (Koh & Liang 2017, appendix B).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> float(abs(model.newton_step_).max()) < 1e-8  # a direct solver: at the minimum
        True
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

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.influence_params_.shape  # 442 rows, 10 coefficients + intercept
        (442, 11)
        """
        core = self._core()
        if "influence_params" not in core:
            objective = core["objective"]
            G = objective.influence_gradients(core["theta"])
            G = as_dense(G)
            solved = core["solver"].solve(G.T)
            core["influence_params"] = np.negative(solved, out=solved).T
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

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> influence = model.influence_loss(X[:2], y[:2])
        >>> influence.shape
        (2, 442)
        """
        core = self._core()
        X_test, Y_test = self._test_data(X_test, y_test)
        G_test = core["objective"].sample_gradients(core["theta"], X_test, Y_test)
        G_test = as_dense(G_test)
        A = core["solver"].solve(G_test.T)  # H⁻¹ ∇L(z_test), (n_params, n_test)
        return self._train_gradient_product(-A).T

    def top_influences(self, X_test, y_test=None, k=5, as_frame=False):
        """Most helpful and most harmful training rows for each test point.

        Streams over blocks of test points and training rows sized by
        scikit-learn's ``working_memory``, keeping only the running top ``k``:
        the full ``(n_test, n_train)`` matrix is never held.

        Parameters
        ----------
        X_test, y_test : as in :meth:`influence_loss`
        k : int, default=5
        as_frame : bool, default=False
            Return a tidy :class:`pandas.DataFrame` instead: one row per test
            row, kind (``"helpful"``/``"harmful"``) and rank, with the training
            row's label in the training index, its influence, the predicted
            change of the test loss if it is removed (``-(s_i/S)·influence``)
            and its training label.

        Returns
        -------
        result : :class:`~sklearn.utils.Bunch`
            ``helpful_indices``, ``helpful_values``: the ``k`` most negative
            influences per test point (rows whose up-weighting lowers its loss),
            most helpful first; ``harmful_indices``, ``harmful_values``: the ``k``
            most positive, most harmful first. Arrays of shape (n_test, k),
            holding positions in the training data.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = InfluenceLogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
        >>> top = model.top_influences(X[:2], y[:2], k=3)
        >>> top.harmful_indices.shape
        (2, 3)
        """
        core = self._core()
        objective = core["objective"]
        X_raw = X_test
        X_test, Y_test = self._test_data(X_test, y_test)
        n, m = objective.n_samples, X_test.shape[0]
        k = int(min(k, n))
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        low_i, low_v = np.empty((m, k), dtype=np.intp), np.empty((m, k))
        high_i, high_v = np.empty((m, k), dtype=np.intp), np.empty((m, k))
        width = max(1, int(np.sqrt(n)))  # test points per block
        for tests in gen_batches(m, width):
            G_test = objective.sample_gradients(
                core["theta"], X_test[tests], Y_test[tests]
            )
            G_test = as_dense(G_test)
            A = -core["solver"].solve(G_test.T)
            best = None
            # half of working_memory per block: its comparisons need some more
            for rows in _batches(n, 2 * A.shape[1] * objective.n_outputs):
                block = objective.influence_gradient_product(core["theta"], A, rows)
                index = np.arange(n)[rows]
                best = _merge_top(best, np.ascontiguousarray(block.T), index, k)
                del block  # not alive while the next one is computed
            low_i[tests], low_v[tests], high_i[tests], high_v[tests] = best
        top = Bunch(
            helpful_indices=low_i,
            helpful_values=low_v,
            harmful_indices=high_i,
            harmful_values=high_v,
        )
        return (
            _frames.top_influences_frame(self, X_raw, y_test, top) if as_frame else top
        )

    def influence_frame(self, X_test, y_test=None):
        """:meth:`influence_loss` as a :class:`pandas.DataFrame`.

        Rows are labelled with ``X_test``'s index (when it is a DataFrame) and
        columns with the training data's index (when it was a DataFrame).

        Returns
        -------
        frame : pandas.DataFrame of shape (n_test, n_train)

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
        >>> model = InfluenceRidge().fit(X.iloc[10:], y.iloc[10:])
        >>> frame = model.influence_frame(X.iloc[:3], y.iloc[:3])
        >>> frame.shape, frame.columns[0]
        ((3, 432), 10)
        """
        return _frames.influence_frame(self, X_test, y_test)

    def _training_index(self):
        index = getattr(self, "_influence_index", None)
        return np.arange(self._influence_X.shape[0]) if index is None else index

    def _test_data(self, X_test, y_test):
        """Validated test features and targets encoded for the loss."""
        adapter = self._core()["adapter"]
        X_test = validate_data(
            self, X_test, reset=False, accept_sparse="csr", dtype=np.float64
        )
        if y_test is None:
            y_test = adapter.default_targets(X_test)
        elif len(y_test) != X_test.shape[0]:
            raise ValueError(
                f"y_test has {len(y_test)} rows but X_test has {X_test.shape[0]}."
            )
        return X_test, adapter.encode_targets(y_test)

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


def _hessian_solver(objective, theta, settings):
    """Cholesky of the dense Hessian, or matrix-free CG for many parameters."""
    kind = settings["hessian_solver"]
    if kind == "auto":
        kind = (
            "cholesky" if objective.n_params <= settings["max_dense_params"] else "cg"
        )
    if kind == "cholesky":
        return DenseHessianSolver(objective.hessian(theta), objective.null_directions())
    return ConjugateGradientSolver(
        lambda V: objective.hessian_dot(theta, V),
        objective.hessian_diagonal(theta),
        objective.null_directions(),
        tol=settings["cg_tol"],
        maxiter=settings["cg_maxiter"],
    )


def _batches(n_rows, row_width):
    """Slices of rows such that ``row_width`` float64 per row fit in scikit-learn's
    ``working_memory``."""
    budget = sklearn_get_config()["working_memory"] * 2**20
    return gen_batches(n_rows, max(1, int(budget // (8 * max(row_width, 1)))))


def _merge_top(best, block, index, k):
    """Running ``k`` smallest and largest of each row of ``block`` (m, b), sorted."""
    if best is None:  # a first block of columns, fully sorted, gives thresholds
        head = max(4096, 2 * k)
        labels = np.broadcast_to(index[:head], block[:, :head].shape)
        low_v, low_i = _select(block[:, :head], labels, k)
        high_v, high_i = _select(-block[:, :head], labels, k)
        best = low_i, low_v, high_i, -high_v
        block, index = block[:, head:], index[head:]
        if block.shape[1] == 0:
            return best
    low_i, low_v, high_i, high_v = best
    if low_v.shape[1] < k:  # fewer than k so far: everything is a candidate
        low_c = high_c = block, np.broadcast_to(index, block.shape)
    else:
        # only values beating the row's current k-th enter (a comparison per value)
        low_c = _compact(block, block < low_v[:, -1:], index, np.inf)
        high_c = _compact(block, block > high_v[:, -1:], index, -np.inf)
    low_v, low_i = _select(
        np.hstack([low_v, low_c[0]]), np.hstack([low_i, low_c[1]]), k
    )
    high_v, high_i = _select(
        -np.hstack([high_v, high_c[0]]), np.hstack([high_i, high_c[1]]), k
    )
    return low_i, low_v, high_i, -high_v


def _compact(block, mask, index, fill):
    """The masked entries of each row of ``block`` packed to the left, padded with
    ``fill``; and their labels."""
    counts = mask.sum(axis=1)
    rows, cols = np.nonzero(mask)
    pos = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((block.shape[0], int(counts.max(initial=0))), fill)
    labels = np.full(values.shape, -1, dtype=np.intp)
    values[rows, pos] = block[rows, cols]
    labels[rows, pos] = index[cols]
    return values, labels


def _select(values, labels, k):
    """The ``k`` smallest of each row, in increasing order, with their labels."""
    if values.shape[1] > k:
        part = np.argpartition(values, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(values, part, axis=1)
        labels = np.take_along_axis(labels, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1), np.take_along_axis(
        labels, order, axis=1
    )
