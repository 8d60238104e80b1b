"""The typed influence state of one fitted model.

:class:`InfluenceState` is the only influence-related attribute an estimator
carries (``_influence_state``): the training data as fitted, and the
:class:`FittedInfluence` built from it for the current parameters and
settings. Every public method, display, frame, pipeline and ``attach`` works
through ``estimator.influence_state()`` and the public methods of
:class:`FittedInfluence`; nothing reads another module's private attributes.

Data flows one way: estimator → adapter (:mod:`._adapters`) → objective
(:mod:`._objective`) → solver (:mod:`._solvers`) → this state → public methods.
"""

import sys
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing, gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils.validation import check_array, validate_data

from ._adapters import adapter_for
from ._config import numeric_settings
from ._objective import as_dense
from ._solvers import ConjugateGradientSolver, DenseHessianSolver

#: relative residual to which CG solves the stationarity check's probe rows
STATIONARITY_PROBE_TOL = 1e-4


class NonStationaryWarning(ConvergenceWarning):
    """The fitted parameters are measurably short of the objective's minimum.

    A :class:`~sklearn.exceptions.ConvergenceWarning`: filters on scikit-learn's
    convergence warnings apply to it.
    """


@dataclass
class TrainingData:
    """The rows a model was fitted on, as the influence computations need them.

    ``X`` is a float64 copy (CSR when sparse), ``y`` the targets as given,
    ``sample_weight`` the user's weights (``None``: all one) and ``index`` the
    row labels of a pandas ``X`` (``None`` otherwise).
    """

    X: object
    y: np.ndarray
    sample_weight: np.ndarray | None
    index: object = None

    #: rows in memory (:class:`skinfluence._dask.DaskTrainingData`: in chunks)
    chunked = False

    @classmethod
    def from_fit(cls, X, y, sample_weight=None):
        """The training data as fitted; dask collections stay lazy
        (:class:`skinfluence._dask.DaskTrainingData`)."""
        if is_dask_collection(X):
            from ._dask import DaskTrainingData

            return DaskTrainingData.from_fit(X, y, sample_weight)
        X_copy = check_array(
            X, accept_sparse="csr", dtype=np.float64, copy=True, ensure_2d=True
        )
        n = X_copy.shape[0]
        if sample_weight is not None:
            sample_weight = np.broadcast_to(
                np.asarray(sample_weight, dtype=np.float64), (n,)
            ).copy()
        index = getattr(X, "index", None) if hasattr(X, "columns") else None
        return cls(X_copy, np.array(y, copy=True), sample_weight, index)

    @property
    def n_samples(self):
        return self.X.shape[0]

    def labels(self):
        """Row labels: the training DataFrame's index, else positions."""
        return np.arange(self.n_samples) if self.index is None else self.index

    def fitted_influence(self, estimator, settings):
        """The :class:`FittedInfluence` of ``estimator`` on these rows."""
        return FittedInfluence(estimator, self, settings)

    def subset(self, keep):
        """The rows ``keep`` (positions), labels kept."""
        sw = None if self.sample_weight is None else self.sample_weight[keep]
        index = None if self.index is None else self.index[keep]
        return TrainingData(
            _safe_indexing(self.X, keep), _safe_indexing(self.y, keep), sw, index
        )


class Stationarity:
    """How far ``θ̂`` is from the minimum of its objective.

    ``gradient`` is ``∇R(θ̂)``, ``newton_step`` is ``-H⁻¹∇R(θ̂)``, ``ratio`` is the
    step's norm over the root-mean-square effect of removing one row.

    Given as values (direct solvers), or computed on first use (conjugate
    gradients, see :func:`stationarity`): ``ratio`` from solves to a relative
    residual of ``STATIONARITY_PROBE_TOL`` (it only sets a warning's scale),
    ``newton_step`` to the solver's full tolerance (warm-started from the
    former's step when that exists). ``ratio_bound`` is an upper bound on the
    exact ratio known without any solve (``inf``: none), enough to decide
    that there is nothing to warn about (:meth:`exceeds`). Nothing is computed
    by ``repr``.

    Parameters
    ----------
    gradient : ndarray of shape (n_params,)
    newton_step : ndarray of shape (n_params,), default=None
        ``None``: computed by ``solve_step`` on first use.
    ratio : float, default=None
        ``None``: computed by ``estimate`` on first use.
    ratio_bound : float, default=None
        Upper bound on the exact ratio; ``None``: ``ratio`` when given, else ``inf``.
    estimate : callable, default=None
        ``() -> (ratio, approximate step)``.
    solve_step : callable, default=None
        ``(approximate step or None) -> newton_step``.
    """

    def __init__(
        self,
        gradient,
        newton_step=None,
        ratio=None,
        *,
        ratio_bound=None,
        estimate=None,
        solve_step=None,
    ):
        if (newton_step is None and solve_step is None) or (
            ratio is None and estimate is None
        ):
            raise ValueError("Stationarity needs a value or a way to compute it.")
        self.gradient = gradient
        self._newton_step, self._ratio = newton_step, ratio
        if ratio_bound is None:
            ratio_bound = np.inf if ratio is None else float(ratio)
        self.ratio_bound = float(ratio_bound)
        self._estimate, self._solve_step = estimate, solve_step
        self._approximate_step = None

    @property
    def gradient_norm(self):
        return float(np.linalg.norm(self.gradient))

    @property
    def ratio(self):
        """The step's norm over the typical effect of removing one row."""
        if self._ratio is None:
            ratio, self._approximate_step = self._estimate()
            self._ratio = float(ratio)
        return self._ratio

    @property
    def newton_step(self):
        """``-H⁻¹∇R(θ̂)`` to the solver's tolerance."""
        if self._newton_step is None:
            self._newton_step = self._solve_step(self._approximate_step)
            self._approximate_step = None
        return self._newton_step

    def has_newton_step(self):
        """Whether :attr:`newton_step` is known (reading it computes nothing)."""
        return self._newton_step is not None

    def exceeds(self, threshold):
        """Whether ``ratio > threshold``; no solve when ``ratio_bound`` decides."""
        return self.ratio_bound > threshold and self.ratio > threshold

    def resolved(self):
        """This stationarity with every value computed (picklable, no solver)."""
        return Stationarity(self.gradient, self.newton_step, self.ratio)

    def __getstate__(self):
        resolved = self.resolved()
        return {**vars(resolved), "ratio_bound": self.ratio_bound}

    def __repr__(self):
        known = f"gradient_norm={self.gradient_norm:.3g}"
        if self._ratio is not None:
            known += f", ratio={self._ratio:.3g}"
        if np.isfinite(self.ratio_bound):
            known += f", ratio_bound={self.ratio_bound:.3g}"
        return f"Stationarity({known})"


class FittedInfluence:
    """Objective, factored Hessian and memoized results of one fitted model.

    Built by :meth:`InfluenceState.resolve` for one value of the parameters and
    the settings of :func:`~skinfluence.set_config`.

    Attributes
    ----------
    data : TrainingData
    adapter : the estimator's adapter (:mod:`skinfluence._adapters`)
    objective : the training objective (:class:`~skinfluence._objective.Objective`)
    theta : ndarray of shape (n_params,)
    solver : DenseHessianSolver or ConjugateGradientSolver
    stationarity : Stationarity
    """

    #: results over the training rows are lazy dask arrays (:mod:`._dask`)
    distributed = False

    def __init__(self, estimator, data, settings):
        self.data = data
        self.settings = settings
        self.adapter = adapter = adapter_for(estimator)
        adapter.check_supported()
        self.objective = adapter.objective(data.X, data.y, data.sample_weight)
        self.theta = adapter.theta()
        if not np.all(np.isfinite(self.theta)):
            raise ValueError(
                f"{adapter.name} has non-finite fitted parameters (coef_/intercept_ "
                "hold inf or NaN, e.g. PoissonRegressor on all-zero targets, whose "
                "intercept_ is -inf): the fit is not a finite minimum, so influence "
                "functions are undefined. Check the targets, or add a penalty."
            )
        adapter.check_objective(self.objective)
        self.solver = hessian_solver(self.objective, self.theta, settings)
        adapter.check_solution(self.objective, self.solver)
        self.stationarity = self._stationarity()
        self._influence_params = None
        self._loo = self._leverage = None

    # -- validation of user inputs ------------------------------------------------
    def validate_X(self, X):
        """``X`` checked against the fit (features, names), float64, CSR or dense."""
        return validate_test_X(self.adapter.estimator, X)

    def test_data(self, X_test, y_test=None):
        """Validated test features and targets encoded for the loss.

        ``y_test`` must be finite and in the loss's domain (labels seen in
        training, counts ``≥ 0`` for Poisson, ``> 0`` for Gamma): a
        ``ValueError`` names the offending rows otherwise.
        """
        X = self.validate_X(X_test)
        if y_test is None:
            return X, self.adapter.encode_targets(self.adapter.default_targets(X))
        y_test = as_targets(y_test)
        if y_test.ndim == 0:
            raise ValueError(
                f"y_test must be array-like with one target per row of X_test, got "
                f"the scalar {y_test.item()!r}; pass e.g. [y] for one test row."
            )
        if len(y_test) != X.shape[0]:
            raise ValueError(
                f"y_test has {np.size(y_test)} value(s) but X_test has "
                f"{X.shape[0]} rows: pass one target per test row."
            )
        try:
            Y = self.adapter.encode_targets(y_test)
        except (TypeError, ValueError) as error:
            raise ValueError(f"y_test: {error}") from None
        _check_test_targets(Y, self.objective.loss, self.adapter.name)
        return X, Y

    # -- the quantities every public method is built from ---------------------------
    @property
    def n_samples(self):
        return self.objective.n_samples

    @property
    def n_params(self):
        return self.objective.n_params

    def removal_shares(self):
        """``s_i / S``: removing row ``i`` is up-weighting it by ``ε = -s_i/S``."""
        return self.objective.sample_weight / self.objective.weight_sum

    def solve(self, B):
        """``H⁺ B`` with the factored (or CG) Hessian."""
        return self.solver.solve(B)

    def test_gradients(self, X, Y):
        """Dense ``∇_θ L(z_j, θ̂)`` of validated, encoded test rows, (m, n_params)."""
        return as_dense(self.objective.sample_gradients(self.theta, X, Y))

    def influence_params(self):
        """``-H⁻¹ g_i`` for every training row, (n_train, n_params), memoized."""
        if self._influence_params is None:
            self._influence_params = self._influence_params_on_contrasts()
        if self._influence_params is None:
            G = as_dense(self.objective.influence_gradients(self.theta))
            if self.solver.method == "cg":
                solved = self.solver.solve(G.T)
                solved = np.negative(solved, out=solved)
            else:  # in place in G's memory: written once, in its final layout
                solved = self.solver.solve(G.T, scale=-1.0, overwrite=True)
            self._influence_params = solved.T
        return self._influence_params

    def _influence_params_on_contrasts(self):
        """:meth:`influence_params` solved on the class contrasts of a
        shift-invariant loss (:mod:`._contrasts`), or ``None`` when they do not
        apply (another loss, sparse ``X``, CG, a singular Hessian)."""
        if self.solver.method != "cholesky":
            return None
        objective = self.objective
        contrasts = objective.class_contrasts(self.theta)
        reduced = (
            None if contrasts is None else self.solver.on_subspace(contrasts.reduce)
        )
        if reduced is None:
            return None
        share = objective.penalty.weight_derivative(self.theta, objective.weight_sum)
        shift = self.solver.solve(share, scale=-1.0) if share.any() else None
        return contrasts.influence_params(reduced, shift)

    def train_gradient_product(self, A):
        """``G A`` with ``G`` the training rows' influence gradients, (n, m)."""
        objective = self.objective
        A = np.asarray(A, dtype=np.float64).reshape(objective.n_params, -1)
        dtype = np.dtype(self.settings["output_dtype"])
        out = np.empty((A.shape[1], objective.n_samples), dtype)  # returned transposed
        # temporaries of each batch bounded by working_memory (float32 results:
        # float64 blocks of 1/8 of it, rounded into the result), unless the
        # objective bounds them itself
        width = A.shape[1] * objective.n_outputs * (1 if dtype == np.float64 else 8)
        batches = row_batches(objective.n_samples, width)
        if getattr(objective, "blocked_product", False):  # one call, one buffer
            batches = [slice(None)]
        for batch in batches:
            objective.influence_gradient_product(self.theta, A, batch, out[:, batch])
        return out.T

    def influence_on(self, gradients):
        """``-g_iᵀ H⁻¹ f`` for columns ``f`` of ``gradients`` (n_params, m): (m, n)."""
        return self.train_gradient_product(-self.solver.solve(gradients)).T

    def self_influence(self):
        """``∇L(z_i)ᵀ influence_params[i]`` of every training row, (n,)."""
        G = as_dense(self.objective.sample_gradients(self.theta))
        return np.einsum("ip,ip->i", G, self.influence_params())

    def response(self, response_method):
        """The declared map from raw prediction to an output, and its name."""
        return self.adapter.response(response_method)

    def loo(self):
        """Leave-one-out pieces of every row (memoized): see :mod:`._removal`."""
        if self._loo is None:
            from ._removal import leave_one_out

            self._loo = leave_one_out(self)
        for note in self._loo.notes:  # on every use: the results hold NaN rows
            warnings.warn(note, UserWarning, stacklevel=4)
        return self._loo

    def leverage(self):
        """Generalized hat values ``h_ii`` of every row (memoized); from the
        leave-one-out pieces when those exist, else without their (n, p) array."""
        if self._loo is not None:
            return self._loo.leverage
        if self._leverage is None:
            from ._removal import output_leverages

            self._leverage = output_leverages(self).sum(axis=1)
        return self._leverage

    def has_influence_params(self):
        """Whether :meth:`influence_params` is already computed."""
        return self._influence_params is not None

    def clear_results(self):
        """Forget memoized results, keep the factored Hessian (for benchmarks)."""
        self._influence_params = self._loo = self._leverage = None

    # -- stationarity -----------------------------------------------------------------
    def _stationarity(self):
        objective, theta = self.objective, self.theta
        rows = probe_rows(objective.n_samples, self.solver)
        G = as_dense(objective.influence_gradients(theta, rows))
        w = objective.sample_weight[rows] / objective.weight_sum
        lower = (
            objective.hessian_lower_bound(theta) if self.solver.method == "cg" else 0.0
        )
        return stationarity(
            objective.gradient(theta), G, w, self.solver, theta, hessian_lower=lower
        )

    def warn_if_separated(self, name, threshold=0.5):
        """Warn when the fit separates the training data and some row's leverage
        is at least ``threshold``: its first-order influence is then off by the
        factor ``1/(1 − h_ii)`` ≥ 2, and a refit can move much further."""
        # every leverage costs one solve per row: with conjugate gradients (models
        # too large to factor) that is one CG solve per training row, so the
        # check is skipped there (doc/guide/refusals.rst)
        if self.solver.method == "cg" or not self.adapter.separates(self.objective):
            return
        leverage = self.leverage()
        top = int(np.nanargmax(leverage))
        if not leverage[top] >= threshold:
            return
        warnings.warn(
            f"{name} separates its training data: its minimizer is finite only "
            "because of the penalty (C=np.inf would have none), and it moves far "
            f"when a row near the boundary is removed. Largest leverage "
            f"h = {leverage[top]:.4g} (row {top}): first-order influence of such "
            f"rows is off by a factor 1/(1 − h) = {1 / max(1 - leverage[top], 1e-300):.3g}, "
            "and one Newton step can be far off too. Trust influence only for rows "
            "with small leverage (see leverage()); use remove_effect(..., "
            "method='exact') for the others, or a smaller C.",
            SeparationWarning,
            stacklevel=5,
        )

    def warn_if_not_stationary(self, name):
        s = self.stationarity
        if s.exceeds(self.settings["stationarity_threshold"]):
            warnings.warn(
                f"{name} is not at the minimum of its objective: "
                f"‖∇R(θ̂)‖ = {s.gradient_norm:.3g}, and the Newton step to the "
                f"minimum is {s.ratio:.3g} times the typical effect of removing one "
                "training row, so influences describe that row's effect less well "
                f"than they could. {self.adapter.convergence_advice(self.objective)}",
                NonStationaryWarning,
                stacklevel=5,
            )


class SeparationWarning(UserWarning):
    """The fit separates the training data: only the penalty keeps it finite,
    and removing a row can move it far beyond what influence predicts."""


class InfluenceState:
    """Training data of a fitted model and its :class:`FittedInfluence`, rebuilt
    when the parameters or the settings change. Pickles without the latter."""

    def __init__(self, data):
        self.data = data
        self._fitted = None
        self._key = None

    def resolve(self, estimator):
        key = self._key_of(estimator)
        if self._key != key:
            self._fitted = None
            fitted = adapter_for(estimator).fitted_influence(
                self.data, numeric_settings()
            )
            fitted.warn_if_not_stationary(type(estimator).__name__)
            fitted.warn_if_separated(type(estimator).__name__)
            self._fitted, self._key = fitted, key  # complete and valid
        return self._fitted

    def current(self, estimator):
        """The :class:`FittedInfluence` if already built for the estimator's
        current parameters and settings, else ``None``: computes nothing, warns
        nothing, never raises (what displays may ask)."""
        if self._fitted is None:
            return None
        try:
            key = self._key_of(estimator)
        except Exception:  # a display must never fail; nothing current then
            return None
        return self._fitted if key == self._key else None

    @staticmethod
    def _key_of(estimator):
        settings = numeric_settings()
        theta = adapter_for(estimator).theta()
        params = repr(sorted(estimator.get_params(deep=False).items()))
        return (tuple(sorted(settings.items())), params, theta.tobytes())

    def clear(self):
        """Forget the built state (it is rebuilt on next use)."""
        self._fitted = self._key = None

    def __getstate__(self):
        return {"data": self.data, "_fitted": None, "_key": None}


def as_targets(y):
    """``y`` as an array; pandas' missing values (``pd.NA``) become NaN."""
    if hasattr(y, "to_numpy"):  # pandas: nullable dtypes hold pd.NA
        try:
            return y.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return y.to_numpy()
    y = np.asarray(y)
    if y.dtype == object:
        try:
            return np.array(
                [np.nan if v is None or v is _pandas_na() else v for v in y.ravel()],
            ).reshape(y.shape)
        except (TypeError, ValueError):
            return y
    return y


def _pandas_na():
    pandas = __import__("sys").modules.get("pandas")
    return getattr(pandas, "NA", None) if pandas is not None else None


def check_finite_targets(Y):
    """Refuse encoded test targets with NaN, inf or missing values."""
    bad = ~np.isfinite(Y).all(axis=1)
    if bad.any():
        raise ValueError(
            f"y_test has NaN, inf or missing values in rows "
            f"{np.flatnonzero(bad).tolist()[:10]}: the test loss is undefined "
            "there. Drop those rows (or impute them) first."
        )


def _check_test_targets(Y, loss, name):
    """Encoded test targets: finite, and inside the loss's domain."""
    check_finite_targets(Y)
    bad = loss.invalid_targets(Y)
    if bad.any():
        raise ValueError(
            f"y_test is outside the domain of {name}'s loss in rows "
            f"{np.flatnonzero(bad).tolist()[:10]} (values "
            f"{np.unique(Y[bad]).tolist()[:5]}): its deviance needs "
            f"{loss.target_domain} targets."
        )


def probe_rows(n_samples, solver):
    """Evenly spaced rows (256 with Cholesky, 16 with CG) on which the typical
    effect of removing one row is estimated."""
    n_probe = 16 if solver.method == "cg" else 256
    return np.unique(np.linspace(0, n_samples - 1, n_probe).astype(int))


def stationarity(grad, G, w, solver, theta=None, hessian_lower=0.0):
    """:class:`Stationarity` from ``∇R(θ̂)`` and the influence gradients ``G`` and
    removal shares ``w`` of the probe rows: the typical effect of removing one
    row is ``sqrt(mean_i ‖w_i H⁻¹ g_i‖²)``. A step below rounding of ``theta``
    counts as none (an interpolating fit, where every removal effect is 0 too).

    With a direct solver everything is solved at once. With conjugate gradients
    nothing is (see :class:`Stationarity`): the ratio is solved on first use
    with the probes and the step to a relative residual of
    ``STATIONARITY_PROBE_TOL``, the full-accuracy step when something needs it.
    ``hessian_lower > 0``, a lower bound on the smallest eigenvalue of ``H``
    (:meth:`~skinfluence._objective.LinearObjective.hessian_lower_bound`), gives
    ``ratio_bound`` from one Hessian product with the probe gradients:
    ``‖H⁻¹∇R‖ ≤ ‖∇R‖ / λ_min`` and, by Cauchy–Schwarz in the ``H`` and ``H⁻¹``
    inner products, ``‖H⁻¹ g‖ ≥ gᵀH⁻¹g / ‖g‖ ≥ ‖g‖³ / gᵀHg``.
    """
    rhs = np.column_stack([G.T * w, grad])
    theta_norm = 0.0 if theta is None else np.linalg.norm(theta)

    def ratio_of(step, solved_probes):
        typical = np.sqrt(np.mean(np.sum(solved_probes**2, axis=0)))
        size = np.linalg.norm(step)
        if size <= 1e-12 * theta_norm:
            return 0.0
        return size / typical if typical > 0 else np.inf

    if solver.method != "cg":
        solved = solver.solve(rhs)
        step = -solved[:, -1]
        return Stationarity(grad, step, float(ratio_of(step, solved[:, :-1])))

    def estimate():  # the probes only set a scale: 1e-4 is plenty for the step too
        solved = solver.solve(rhs, tol=STATIONARITY_PROBE_TOL)
        step = -solved[:, -1]
        return ratio_of(step, solved[:, :-1]), step

    def solve_step(start):
        return -solver.solve(grad, x0=None if start is None else -start)

    bound = np.inf
    if hessian_lower > 0:
        step_bound = np.linalg.norm(grad) / hessian_lower
        if step_bound <= 1e-12 * theta_norm:
            bound = 0.0
        else:
            probes = rhs[:, :-1]
            norms = np.linalg.norm(probes, axis=0)
            curvature = np.einsum("ij,ij->j", probes, solver.multiply(probes))
            lower = np.divide(
                norms**3, curvature, out=np.zeros_like(norms), where=curvature > 0
            )
            typical = np.sqrt(np.mean(lower**2))
            bound = step_bound / typical if typical > 0 else np.inf
    return Stationarity(
        grad, ratio_bound=bound, estimate=estimate, solve_step=solve_step
    )


def is_dask_collection(X):
    """True for a dask array or DataFrame (without importing dask)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def validate_test_X(estimator, X):
    """``X`` checked against ``estimator``'s fit (features, names), float64, CSR
    or dense."""
    return validate_data(
        estimator, X, reset=False, accept_sparse="csr", dtype=np.float64
    )


def hessian_solver(objective, theta, settings):
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
        preconditioner=settings["cg_preconditioner"],
    )


def row_batches(n_rows, row_width):
    """Slices of rows such that ``row_width`` float64 per row fit in scikit-learn's
    ``working_memory`` (:func:`sklearn.get_config`, :func:`sklearn.config_context`)."""
    rows = get_chunk_n_rows(8 * max(row_width, 1), max_n_rows=max(n_rows, 1))
    return gen_batches(n_rows, rows)
