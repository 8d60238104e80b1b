"""Influence on training data held in a dask array: sums and maps over row chunks.

Everything influence needs from the training rows is a sum over them (the
Hessian ``Σ_i J_iᵀ D_i J_i``, the gradient, the dispersion) or a map over them
(``G A`` row by row, each row's leave-one-out step). So each chunk of rows
becomes the objective of those rows *as a part of the whole*
(:meth:`Adapter.objective` with the whole set's totals ``(S, n)``: penalty and
``S`` are the whole set's). The client computes the totals (one pass over the
weights and labels), then the summed Hessian, gradient and dispersion (one pass
over the rows, summed in a tree), factors once and holds only ``p × p`` pieces;
results over the training rows are lazy dask arrays chunked like the rows,
computed on the workers from the factor. dask is imported only here.
"""

import copy
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from ._adapters import adapter_for
from ._objective import as_dense
from ._removal import LeaveOneOut, leave_one_out
from ._state import FittedInfluence, hessian_solver, probe_rows, stationarity

#: chunks summed per node of the reduction tree
TREE_WIDTH = 8


def _dask():
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - dask is there when data are
        raise ImportError(
            'Training data in dask arrays need dask: pip install "skinfluence[dask]".'
        ) from exc
    return dask


def _as_dask_array(a, row_chunks=None):
    """A dask array of ``a`` (a dask DataFrame/Series, dask or in-memory array),
    with the row chunks ``row_chunks`` when given."""
    dask = _dask()
    da = dask.array
    if a is None:
        return None
    if hasattr(a, "to_dask_array"):  # dask DataFrame or Series
        a = a.to_dask_array(lengths=True)
    elif not dask.is_dask_collection(a):
        a = np.asarray(a)
        chunks = (row_chunks,) + a.shape[1:] if row_chunks else "auto"
        return da.from_array(a, chunks=chunks)
    if row_chunks is not None and a.chunks[0] != row_chunks:
        a = a.rechunk({0: row_chunks})
    return a


def dask_arrays(X, y, sample_weight=None):
    """Dask arrays with known chunk sizes for training rows given as dask
    DataFrames, Series or arrays; ``y`` and ``sample_weight`` take ``X``'s row
    chunks (in-memory ones are wrapped)."""
    X = _as_dask_array(X)
    if np.isnan(X.shape[0]):
        raise ValueError(
            "X_train is a dask array of unknown chunk sizes: call "
            "X.compute_chunk_sizes() first."
        )
    y = _as_dask_array(y, X.chunks[0])
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y_train has {y.shape[0]} rows but X_train has {X.shape[0]}.")
    if sample_weight is not None:
        if np.ndim(sample_weight) == 0:
            sample_weight = np.full(X.shape[0], float(sample_weight))
        sample_weight = _as_dask_array(sample_weight, X.chunks[0])
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight has shape {sample_weight.shape}; expected "
                f"({X.shape[0]},)."
            )
    return X, y, sample_weight


@dataclass
class DaskTrainingData:
    """Training rows in dask arrays with the same row chunks; labels are
    positions (``index`` is ``None``)."""

    X: object
    y: object
    sample_weight: object = None
    index: object = None

    chunked = True

    @classmethod
    def from_fit(cls, X, y, sample_weight=None):
        X, y, sample_weight = dask_arrays(X, y, sample_weight)
        if X.ndim != 2:
            raise ValueError(f"X_train must be 2-D, got shape {X.shape}.")
        if X.numblocks[1] != 1:  # a chunk holds whole rows
            X = X.rechunk({1: -1})
        if X.dtype != np.float64:
            X = X.astype(np.float64)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(np.float64)
        return cls(X, y, sample_weight)

    @property
    def n_samples(self):
        return self.X.shape[0]

    def labels(self):
        """Row positions (a lazy range chunked like the rows)."""
        return _dask().array.arange(self.n_samples, chunks=self.X.chunks[0])

    def subset(self, keep):
        sw = None if self.sample_weight is None else self.sample_weight[keep]
        return DaskTrainingData(self.X[keep], self.y[keep], sw)

    def rows(self, positions):
        """The rows at ``positions`` in memory: ``(X, y, sample_weight)``."""
        dask = _dask()
        parts = (self.X[positions], self.y[positions])
        if self.sample_weight is not None:
            parts += (self.sample_weight[positions],)
        X, y, *sw = dask.compute(*parts)
        return X, y, (sw[0] if sw else None)

    def blocks(self):
        """``(X, y, sample_weight)`` delayed per row chunk, and the chunk sizes."""
        Xs = self.X.to_delayed().ravel()
        ys = self.y.to_delayed().ravel()
        if self.sample_weight is None:
            sws = [None] * len(Xs)
        else:
            sws = self.sample_weight.to_delayed().ravel()
        return list(zip(Xs, ys, sws, strict=True)), self.X.chunks[0]

    def fitted_influence(self, estimator, settings):
        return DaskFittedInfluence(estimator, self, settings)


@dataclass
class ChunkContext:
    """What a worker needs to build and use a chunk's objective (pickled once)."""

    adapter: object
    totals: tuple
    theta: np.ndarray
    solver: object = None
    stationarity: object = None

    def objective(self, X, y, sample_weight):
        return self.adapter.objective(X, y, sample_weight, self.totals)


class _ChunkView:
    """The pieces :func:`leave_one_out` reads, for one chunk."""

    def __init__(self, context, objective):
        self.objective = objective
        self.theta = context.theta
        self.solver = context.solver
        self.stationarity = context.stationarity


# -- tasks run on the workers ---------------------------------------------------------
def _chunk_totals(adapter, y, sample_weight):
    s = adapter.effective_weights(y, sample_weight)
    return np.array([s.sum(), s.size])


def _chunk_weights(context, X, y, sample_weight):
    return context.adapter.effective_weights(y, sample_weight)


def _chunk_sums(context, dense, X, y, sample_weight):
    """Hessian (or its diagonal), gradient and dispersion numerator of the chunk's
    rows, each with the penalty's part, which is removed once on the client."""
    objective = context.objective(X, y, sample_weight)
    context.adapter.check_objective(objective)
    theta = context.theta
    H = objective.hessian(theta) if dense else objective.hessian_diagonal(theta)
    phi = objective.dispersion(theta, 1.0)
    return [H, objective.gradient(theta), 0.0 if phi is None else phi]


def _chunk_hessian_dot(context, V, X, y, sample_weight):
    return context.objective(X, y, sample_weight).hessian_dot(context.theta, V)


def _add(*parts):
    if isinstance(parts[0], list):
        return [_add(*items) for items in zip(*parts, strict=True)]
    return sum(parts[1:], parts[0])


def _chunk_product(context, A, X, y, sample_weight):
    objective = context.objective(X, y, sample_weight)
    return objective.influence_gradient_product(context.theta, A)


def _chunk_influence_params(context, X, y, sample_weight):
    objective = context.objective(X, y, sample_weight)
    G = as_dense(objective.influence_gradients(context.theta))
    return -context.solver.solve(G.T).T


def _chunk_self_influence(context, X, y, sample_weight):
    objective = context.objective(X, y, sample_weight)
    G = as_dense(objective.influence_gradients(context.theta))
    g = as_dense(objective.sample_gradients(context.theta))
    return -np.einsum("ip,pi->i", g, context.solver.solve(G.T))


def _chunk_loo(context, X, y, sample_weight):
    loo = leave_one_out(_ChunkView(context, context.objective(X, y, sample_weight)))
    return loo.output_leverage, loo.changes, loo.quadratic


def _chunk_top(context, A, k, offset, X, y, sample_weight):
    """The chunk's ``k`` lowest and highest influences per test point."""
    block = _chunk_product(context, A, X, y, sample_weight).T  # (m, rows)
    return _merge_top(k, _top(block, np.arange(offset, offset + block.shape[1]), k))


def _top(values, index, k):
    k = min(k, values.shape[1])
    low = np.argpartition(values, k - 1, axis=1)[:, :k]
    high = np.argpartition(-values, k - 1, axis=1)[:, :k]
    low_v, high_v = (
        np.take_along_axis(values, low, 1),
        np.take_along_axis(values, high, 1),
    )
    return index[low], low_v, index[high], high_v


def _merge_top(k, *parts):
    """Candidates of several chunks → the best ``k`` per test point, ordered
    (ties: the earlier candidate first)."""
    low_i, low_v, high_i, high_v = (np.hstack(a) for a in zip(*parts, strict=True))
    order_low = np.argsort(low_v, axis=1, kind="stable")[:, :k]
    order_high = np.argsort(-high_v, axis=1, kind="stable")[:, :k]
    take = np.take_along_axis
    return (
        take(low_i, order_low, 1),
        take(low_v, order_low, 1),
        take(high_i, order_high, 1),
        take(high_v, order_high, 1),
    )


# -- the client side ----------------------------------------------------------------------
def _tree(dask, func, parts, *args):
    """``func(*args, a, b, ...)`` applied in a tree until one delayed value is left."""
    delayed = dask.delayed
    while len(parts) > 1:
        parts = [
            delayed(func)(*args, *parts[i : i + TREE_WIDTH])
            for i in range(0, len(parts), TREE_WIDTH)
        ]
    return parts[0]


class ChunkedObjective:
    """The objective of the whole training set, from its chunks' sums.

    Test-side methods (``X`` given) use the objective of no rows; sums over the
    training rows were computed once; maps over them are lazy.
    """

    feature_perturbation = False

    def __init__(self, fitted, empty, H, diagonal, grad, phi_sum):
        self._fitted, self._empty = fitted, empty
        self._H, self._diagonal, self._grad = H, diagonal, grad
        self._phi_sum = phi_sum
        self.loss, self.penalty = empty.loss, empty.penalty
        self.n_params, self.n_outputs = empty.n_params, empty.n_outputs
        self.n_features = empty.n_features
        self.n_frozen, self.frozen = empty.n_frozen, empty.frozen
        self.n_samples = fitted.data.n_samples
        self.weight_sum = empty.weight_sum

    @property
    def sample_weight(self):
        """Effective weights ``s_i`` (lazy)."""
        return self._fitted.map_rows(_chunk_weights, (), ())

    def _check_theta(self, theta):
        if not np.array_equal(theta, self._fitted.theta):
            raise NotImplementedError(
                "On dask training data the objective's sums are known at the "
                "fitted parameters only."
            )

    # -- test side: rows given ---------------------------------------------------------
    def raw_prediction(self, theta, X):
        return self._empty.raw_prediction(theta, X)

    def loss_values(self, theta, X, Y):
        return self._empty.loss_values(theta, X, Y)

    def loss_values_at(self, thetas, X, Y):
        return self._empty.loss_values_at(thetas, X, Y)

    def output_jacobian(self, X, D):
        return self._empty.output_jacobian(X, D)

    def sample_gradients(self, theta, X=None, Y=None):
        if X is None:
            raise NotImplementedError(
                "Per-row gradients of dask training data are computed chunk by "
                "chunk inside each method."
            )
        return self._empty.sample_gradients(theta, X, Y)

    # -- training rows: a few fetched, or sums computed once -------------------------------
    def _rows_objective(self, rows):
        fitted = self._fitted
        X, y, sw = fitted.data.rows(np.atleast_1d(np.arange(self.n_samples)[rows]))
        return fitted.context.objective(X, y, sw)

    def influence_gradients(self, theta, rows):
        return self._rows_objective(rows).influence_gradients(theta)

    def row_jacobian(self, rows):
        return self._rows_objective(rows).row_jacobian(slice(None))

    def row_curvature(self, theta, rows):
        return self._rows_objective(rows).row_curvature(theta, slice(None))

    def row_residuals(self, theta, rows):
        return self._rows_objective(rows).row_residuals(theta, slice(None))

    def gradient(self, theta):
        self._check_theta(theta)
        return self._grad

    def hessian(self, theta):
        self._check_theta(theta)
        return self._H

    def hessian_diagonal(self, theta):
        self._check_theta(theta)
        return self._diagonal

    def hessian_dot(self, theta, V):
        self._check_theta(theta)
        return self._fitted.hessian_dot(V)

    def null_directions(self):
        return self._empty.null_directions()

    def dispersion(self, theta, dof):
        self._check_theta(theta)
        kind = self.loss.dispersion_kind
        if kind is None:
            return None
        return 1.0 if kind == "fixed" else self._phi_sum / dof

    def deleted_dispersion(self, theta, dof, leverage):
        raise NotImplementedError(
            "DFBETAS (the deleted dispersion) is not available on dask training "
            "data; use dfbeta() or cooks_distance()."
        )


class DaskFittedInfluence(FittedInfluence):
    """:class:`FittedInfluence` of training rows in dask arrays (see the module
    docstring); results over the training rows are lazy dask arrays."""

    distributed = True

    def __init__(self, estimator, data, settings):
        dask = _dask()
        self.data, self.settings = data, settings
        self.adapter = adapter = adapter_for(estimator)
        adapter.check_supported()
        adapter.check_chunkable()
        self.theta = theta = adapter.theta()
        # the workers get the estimator without its training data
        shipped = copy.copy(estimator)
        vars(shipped).pop("_influence_state", None)
        self._blocks, self._sizes = data.blocks()
        context = ChunkContext(adapter_for(shipped), None, theta)
        totals = [
            dask.delayed(_chunk_totals)(context.adapter, y, sw)
            for _, y, sw in self._blocks
        ]
        S, n = dask.compute(_tree(dask, _add, totals))[0]
        context.totals = (float(S), int(n))
        self.context = context
        X0 = np.zeros((0, data.X.shape[1]))
        y0 = np.zeros((0,) + data.y.shape[1:], dtype=data.y.dtype)
        empty = context.objective(X0, y0, np.zeros(0))
        kind = settings["hessian_solver"]
        if kind == "auto":
            dense = empty.n_params <= settings["max_dense_params"]
        else:
            dense = kind == "cholesky"
        sums = self._sum(_chunk_sums, dense)
        H, grad, phi = dask.compute(sums)[0]
        n_chunks = len(self._blocks)
        pen_H = empty.hessian(theta) if dense else empty.hessian_diagonal(theta)
        H = H - (n_chunks - 1) * pen_H  # every chunk added the penalty's part
        grad = grad - (n_chunks - 1) * empty.gradient(theta)
        self.objective = ChunkedObjective(
            self, empty, H if dense else None, np.diag(H) if dense else H, grad, phi
        )
        solver_kind = "cholesky" if dense else "cg"
        self.solver = hessian_solver(
            self.objective, theta, dict(settings, hessian_solver=solver_kind)
        )
        adapter.check_solution(self.objective, self.solver)
        # resolved: the workers read the Newton step, they never solve
        self.stationarity = self._stationarity().resolved()
        # workers solve with the factor; with CG only the client solves
        context.solver = self.solver if dense else None
        context.stationarity = self.stationarity
        self._context = dask.delayed(context, pure=True)
        self._influence_params = None
        self._loo = self._leverage = None

    # -- plumbing ------------------------------------------------------------------------
    def _sum(self, task, *args):
        dask = _dask()
        parts = [
            dask.delayed(task)(self.context, *args, X, y, sw)
            for X, y, sw in self._blocks
        ]
        return _tree(dask, _add, parts)

    def map_rows(self, task, args, trailing=(), dtype=np.float64):
        """Lazy array of ``task(context, *args, X, y, sw)`` per chunk, stacked;
        each result has shape ``(rows,) + trailing``."""
        dask = _dask()
        da = dask.array
        context = self._context
        args = tuple(dask.delayed(a) if isinstance(a, np.ndarray) else a for a in args)
        parts = [
            da.from_delayed(
                dask.delayed(task)(context, *args, X, y, sw), (size,) + trailing, dtype
            )
            for (X, y, sw), size in zip(self._blocks, self._sizes, strict=True)
        ]
        return da.concatenate(parts)

    def hessian_dot(self, V):
        """``H V`` summed over the chunks (one pass over the rows)."""
        dask = _dask()
        V = np.asarray(V, dtype=np.float64)
        HV = dask.compute(self._sum(_chunk_hessian_dot, V))[0]
        empty = self.objective._empty
        return HV - (len(self._blocks) - 1) * empty.hessian_dot(self.theta, V)

    def _stationarity(self):
        rows = probe_rows(self.n_samples, self.solver)
        X, y, sw = self.data.rows(rows)
        probe = self.context.objective(X, y, sw)
        G = as_dense(probe.influence_gradients(self.theta))
        w = probe.sample_weight / self.objective.weight_sum
        return stationarity(self.objective.gradient(self.theta), G, w, self.solver)

    # -- results over the training rows, lazy --------------------------------------------
    def removal_shares(self):
        return self.objective.sample_weight / self.objective.weight_sum

    def train_gradient_product(self, A):
        A = np.asarray(A, dtype=np.float64).reshape(self.n_params, -1)
        return self.map_rows(_chunk_product, (A,), (A.shape[1],))

    def _require_factor(self, what):
        if self.context.solver is None:
            raise NotImplementedError(
                f"{what} on dask training data solves with the factored Hessian on "
                f"the workers; this model has {self.n_params} parameters, above "
                "max_dense_params, so it uses conjugate gradients on the client. "
                "Use influence_loss or top_influences, or raise max_dense_params "
                "(skinfluence.set_config)."
            )

    def influence_params(self):
        self._require_factor("influence_params_")
        if self._influence_params is None:
            self._influence_params = self.map_rows(
                _chunk_influence_params, (), (self.n_params,)
            )
        return self._influence_params

    def self_influence(self):
        self._require_factor("self_influence")
        return self.map_rows(_chunk_self_influence, (), ())

    def leverage(self):
        """Lazy hat values, from the chunks' leave-one-out pieces."""
        return self.loo().leverage

    def loo(self):
        self._require_factor("Leave-one-out (leverage, Cook's distance, DFBETA)")
        if self._loo is None:
            dask = _dask()
            da = dask.array
            k = self.objective.n_outputs
            parts = [
                dask.delayed(_chunk_loo, nout=3)(self._context, X, y, sw)
                for X, y, sw in self._blocks
            ]
            lev, changes, quad = (
                da.concatenate(
                    [
                        da.from_delayed(part[j], (size,) + tail, np.float64)
                        for part, size in zip(parts, self._sizes, strict=True)
                    ]
                )
                for j, tail in enumerate([(k,), (self.n_params,), ()])
            )
            self._loo = LeaveOneOut(lev, changes, quad)
        return self._loo

    def top_influences(self, X_test, Y_test, k):
        """Lowest and highest influences per test point: each chunk's ``k``
        candidates, merged in a tree; only these reach the client."""
        dask = _dask()
        A = -self.solve(self.test_gradients(X_test, Y_test).T)
        A_d = dask.delayed(A)
        offsets = np.concatenate([[0], np.cumsum(self._sizes)[:-1]])
        parts = [
            dask.delayed(_chunk_top)(self._context, A_d, k, int(offset), X, y, sw)
            for (X, y, sw), offset in zip(self._blocks, offsets, strict=True)
        ]
        low_i, low_v, high_i, high_v = dask.compute(_tree(dask, _merge_top, parts, k))[
            0
        ]
        return Bunch(
            helpful_indices=low_i,
            helpful_values=low_v,
            harmful_indices=high_i,
            harmful_values=high_v,
        )
