"""Conjugate gradients against the dense solve, on the Hessians of fitted models
with sparse data: every preconditioner, flat directions (the multinomial gauge),
intercepts, sample weights, shifted solves; the reported residual is the true one;
the threaded sparse products equal SciPy's."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skinfluence import InfluenceLogisticRegression, config_context
from skinfluence import _sparse_products as sparse_products
from skinfluence._solvers import ConjugateGradientSolver, DenseHessianSolver
from skinfluence._sparse_products import SparseDesign

PRECONDITIONERS = ["jacobi", "nystrom"]


def _sparse_data(n, d, n_classes, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr") * 3
    X = X.tolil()
    X[3] = 0  # an empty row
    X = X.tocsr()
    w = rng.normal(size=(d, n_classes))
    y = np.asarray(X @ w + rng.gumbel(size=(n, n_classes))).argmax(axis=1)
    return X, y


PROBLEMS = {
    # name: (n, d, classes, estimator parameters, with sample weights)
    "binary": (120, 200, 2, dict(C=2.0), False),
    "binary-no-intercept": (120, 200, 2, dict(C=0.5, fit_intercept=False), True),
    "multinomial-gauge": (150, 60, 3, dict(C=1.0), True),
    # unpenalized: a flat direction per feature and one for the intercepts
    "multinomial-unpenalized": (400, 20, 3, dict(C=np.inf), False),
}


def _fitted(name):
    n, d, classes, params, weighted = PROBLEMS[name]
    X, y = _sparse_data(n, d, classes, density=0.3 if d < 50 else 0.05)
    weights = np.random.default_rng(1).uniform(0.2, 3.0, n) if weighted else None
    model = InfluenceLogisticRegression(solver="lbfgs", tol=1e-8, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is not the point here
        model.set_params(**params).fit(X, y, sample_weight=weights)
        with config_context(hessian_solver="cg", stationarity_threshold=np.inf):
            state = model.influence_state()
    return state.objective, state.theta, X


def _dense(objective, theta):
    H = objective.hessian(theta)
    return H, DenseHessianSolver(H, objective.null_directions())


def _cg(objective, theta, preconditioner, tol, rank=10):
    return ConjugateGradientSolver(
        lambda V: objective.hessian_dot(theta, V),
        objective.hessian_diagonal(theta),
        objective.null_directions(),
        tol=tol,
        preconditioner=preconditioner,
        nystrom_rank=rank,
    )


def _condition(H, V):
    """Condition number of ``H`` on the complement of its flat directions ``V``."""
    w = np.linalg.eigvalsh(H)
    w = w[V.shape[1] :]  # the flat directions are the smallest (exact zeros)
    return w[-1] / w[0]


@pytest.mark.parametrize("preconditioner", PRECONDITIONERS)
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_cg_matches_the_dense_solve(name, preconditioner):
    """Test gradients and arbitrary right-hand sides (with parts along the flat
    directions): the true residual is at most cg_tol, the error at most
    cond(H) · cg_tol, against the Cholesky solve of the assembled Hessian."""
    objective, theta, X = _fitted(name)
    H, dense = _dense(objective, theta)
    V = objective.null_directions()
    rng = np.random.default_rng(2)
    G = np.asarray(objective.sample_gradients(theta).todense())[:5].T
    B = np.column_stack([G, rng.normal(size=(objective.n_params, 3))])
    tol = 1e-10
    cg = _cg(objective, theta, preconditioner, tol)
    X_cg = cg.solve(B)
    exact = dense.solve(B)
    Bp = B - V @ (V.T @ B)  # what H x can reach
    # row 3 is empty: without an intercept its gradient is 0, and so its solution
    zero = np.linalg.norm(Bp, axis=0) == 0
    assert zero[3] == (not objective.fit_intercept)
    assert np.all(X_cg[:, zero] == 0)
    B, Bp, X_cg, exact = B[:, ~zero], Bp[:, ~zero], X_cg[:, ~zero], exact[:, ~zero]
    true = np.linalg.norm(H @ X_cg - Bp, axis=0) / np.linalg.norm(Bp, axis=0)
    assert np.all(true <= tol)
    assert cg.residual_ == pytest.approx(true.max(), rel=1e-3, abs=1e-14)
    np.testing.assert_allclose(V.T @ X_cg, 0.0, atol=1e-12)  # pseudo-inverse
    error = np.linalg.norm(X_cg - exact, axis=0) / np.linalg.norm(exact, axis=0)
    bound = _condition(H, V) * tol
    assert np.all(error <= bound)
    one = cg.solve(B[:, 0])  # a single right-hand side, shape (n_params,)
    assert one.shape == (objective.n_params,)
    assert np.linalg.norm(one - exact[:, 0]) <= bound * np.linalg.norm(exact[:, 0])


@pytest.mark.parametrize("preconditioner", PRECONDITIONERS)
@pytest.mark.parametrize("name", ["binary", "multinomial-gauge"])
def test_cg_shifted_solves_match_pseudo_inverses(name, preconditioner):
    """``(H − δ_j diag(λ))⁺ b_j`` with ``λ`` the penalty's diagonal, per column."""
    objective, theta, _ = _fitted(name)
    H, _ = _dense(objective, theta)
    V = objective.null_directions()
    lam = objective.penalty.l2 / objective.weight_sum
    rng = np.random.default_rng(3)
    B = rng.normal(size=(objective.n_params, 3))
    B -= V @ (V.T @ B)
    shifts = np.array([0.0, 0.5, 0.9])
    cg = _cg(objective, theta, preconditioner, 1e-12)
    expected = np.column_stack(
        [
            np.linalg.pinv(H - s * np.diag(lam), hermitian=True) @ b
            for s, b in zip(shifts, B.T, strict=True)
        ]
    )
    np.testing.assert_allclose(
        cg.solve_shifted(B, shifts, lam), expected, rtol=1e-8, atol=1e-10
    )


@pytest.mark.parametrize("preconditioner", PRECONDITIONERS)
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_cg_tol_is_met_by_the_true_residual(tol, preconditioner):
    """The solve stops at ``cg_tol`` (not much below: it did stop), and
    ``residual_`` is ``max ‖H x − b‖ / ‖b‖`` recomputed with the dense Hessian."""
    objective, theta, _ = _fitted("binary")
    H, _ = _dense(objective, theta)
    B = np.random.default_rng(4).normal(size=(objective.n_params, 4))
    cg = _cg(objective, theta, preconditioner, tol)
    X = cg.solve(B)
    true = np.linalg.norm(H @ X - B, axis=0) / np.linalg.norm(B, axis=0)
    assert np.all(true <= tol)
    assert cg.residual_ == pytest.approx(true.max(), rel=1e-6)
    assert true.max() > tol * 1e-3  # stopped at the tolerance, not far past it


def test_nystrom_approximation_of_the_hessian():
    """``Â = U diag(λ) Uᵀ``: a Nyström approximation is below ``H`` (``H − Â``
    PSD), so are its eigenvalues; with subspace iterations its largest is
    ``H``'s; at full rank it is ``H``."""
    objective, theta, _ = _fitted("binary")
    H, _ = _dense(objective, theta)
    top = np.linalg.eigvalsh(H)[::-1][:3]
    scale = np.abs(H).max()
    for rank in (30, objective.n_params):
        pre = _cg(objective, theta, "nystrom", 1e-10, rank=rank).preconditioner
        A_hat = (pre.U * pre.lam) @ pre.U.T
        assert np.linalg.eigvalsh(H - A_hat).min() >= -1e-8 * scale
        assert np.all(pre.lam[:3] <= top * (1 + 1e-10))  # interlacing: Â ≼ H
        np.testing.assert_allclose(pre.lam[0], top[0], rtol=1e-3)
    np.testing.assert_allclose(A_hat, H, atol=1e-8 * scale)


@pytest.mark.parametrize("cache_block", [2**20, 70], ids=["one-slice", "slices"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_sparse_design_products_equal_scipy(n_threads, cache_block, monkeypatch):
    """Row blocks on threads and column slices (70 entries: 1 or 2 columns of
    ``V``, 2 or 3 of ``R``) give SciPy's products."""
    monkeypatch.setattr(sparse_products, "CACHE_BLOCK_ELEMENTS", cache_block)
    monkeypatch.setattr(sparse_products, "effective_n_threads", lambda: n_threads)
    monkeypatch.setattr(sparse_products, "THREADED_MIN_WORK", 0)
    X, _ = _sparse_data(50, 30, 2)
    rng = np.random.default_rng(5)
    V, R = rng.normal(size=(30, 4)), rng.normal(size=(50, 4))
    design = SparseDesign(X)
    np.testing.assert_allclose(design.dot(V), X @ V, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(design.tdot(R), X.T @ R, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(design.dot(V[:, :1]), X @ V[:, :1], rtol=1e-14)
    # the fused Hessian product of one output, against the dense formula
    c, lam = rng.uniform(0, 2, 50), rng.uniform(0, 1, 31)
    A = np.column_stack([X.toarray(), np.ones(50)])
    for intercept in (True, False):
        Vi = rng.normal(size=(30 + intercept, 5))
        Ai = A if intercept else A[:, :30]
        expected = Ai.T @ (c[:, None] * (Ai @ Vi)) + lam[: 30 + intercept, None] * Vi
        kept = Vi.copy()
        got = design.weighted_gram_dot(Vi, c, lam[: 30 + intercept], intercept)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(Vi, kept)  # the input is left alone
    empty = SparseDesign(sp.csr_array((0, 30)))
    assert not empty.weighted_gram_dot(V, np.zeros(0), np.zeros(30), False).any()
    assert empty.dot(V).shape == (0, 4) and not empty.tdot(R[:0]).any()


def test_auto_preconditioner_builds_nystrom_for_wide_solves():
    """``"auto"``: Jacobi below ``nystrom_rank`` right-hand sides, Nyström from the
    first solve that wide on (kept for narrower ones); every answer equal to the
    dense solve within cond(H) · cg_tol."""
    objective, theta, _ = _fitted("multinomial-gauge")
    H, dense = _dense(objective, theta)
    bound = _condition(H, objective.null_directions()) * 1e-10
    cg = _cg(objective, theta, "auto", 1e-10, rank=10)
    B = np.random.default_rng(5).normal(size=(objective.n_params, 12))
    for width, name in ((9, "jacobi"), (12, "nystrom"), (1, "nystrom")):
        got = cg.solve(B[:, :width])
        assert cg.preconditioner.name == name
        exact = dense.solve(B[:, :width])
        error = np.linalg.norm(got - exact, axis=0) / np.linalg.norm(exact, axis=0)
        assert np.all(error <= bound)


def test_cg_preconditioner_setting_reaches_the_solver():
    """``set_config(cg_preconditioner=...)``: the influences are the same to
    cg_tol (both against Cholesky)."""
    X, y = _sparse_data(120, 200, 2)
    model = InfluenceLogisticRegression(C=2.0, tol=1e-10, max_iter=5000).fit(X, y)
    settings = dict(stationarity_threshold=np.inf)
    with config_context(hessian_solver="cholesky", **settings):
        dense = model.influence_loss(X[:5], y[:5])
    for name in PRECONDITIONERS:
        with config_context(hessian_solver="cg", cg_preconditioner=name, **settings):
            iterative = model.influence_loss(X[:5], y[:5])
            assert model.influence_state().solver.preconditioner.name == name
        np.testing.assert_allclose(
            iterative, dense, rtol=1e-6, atol=1e-9 * np.abs(dense).max()
        )
    # the default, "auto": Nyström (rank 50) for 60 test rows at once
    with config_context(hessian_solver="cholesky", **settings):
        dense = model.influence_loss(X[:60], y[:60])
    with config_context(hessian_solver="cg", **settings):
        iterative = model.influence_loss(X[:60], y[:60])
        state = model.influence_state()
        assert state.settings["cg_preconditioner"] == "auto"
        assert state.solver.preconditioner.name == "nystrom"
    np.testing.assert_allclose(
        iterative, dense, rtol=1e-6, atol=1e-9 * np.abs(dense).max()
    )


def test_a_threadpoolctl_limit_of_one_thread_is_honoured(monkeypatch):
    """Under ``threadpool_limits(1)`` the products run on the calling thread
    (no pool is made), and still equal SciPy's, sliced or not."""
    from threadpoolctl import threadpool_limits

    def no_pool(*args, **kwargs):
        raise AssertionError("a thread pool was made under a limit of one thread")

    monkeypatch.setattr(sparse_products, "THREADED_MIN_WORK", 0)
    X, _ = _sparse_data(50, 30, 2)
    rng = np.random.default_rng(5)
    V, R = rng.normal(size=(30, 4)), rng.normal(size=(50, 4))
    design = SparseDesign(X)
    assert sparse_products.effective_n_threads() >= 1
    with threadpool_limits(limits=1):
        assert sparse_products.effective_n_threads() == 1
        monkeypatch.setattr(sparse_products, "ThreadPoolExecutor", no_pool)
        for cache_block in (2**20, 70):
            monkeypatch.setattr(sparse_products, "CACHE_BLOCK_ELEMENTS", cache_block)
            np.testing.assert_allclose(design.dot(V), X @ V, rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(design.tdot(R), X.T @ R, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("preconditioner", PRECONDITIONERS)
def test_cg_warm_start_reaches_the_dense_solution(preconditioner):
    """``x0``: from a loose solution the solve reaches the same tolerance as a
    cold one (true residual), in fewer iterations."""
    objective, theta, _ = _fitted("binary-no-intercept")
    H, dense = _dense(objective, theta)
    B = np.random.default_rng(6).normal(size=(objective.n_params, 3))
    B[:, 2] = 0.0  # a zero right-hand side stays exactly zero
    cg = _cg(objective, theta, preconditioner, 1e-10)
    cold = cg.solve(B)
    cold_iterations = cg.n_iter_
    loose = cg.solve(B, tol=1e-4)
    warm = cg.solve(B, x0=loose + 1.0)  # anything at all in the zero column
    assert cg.n_iter_ < cold_iterations
    true = np.linalg.norm(H @ warm[:, :2] - B[:, :2], axis=0)
    assert np.all(true <= 1e-10 * np.linalg.norm(B[:, :2], axis=0))
    assert not warm[:, 2].any()
    scale = np.abs(dense.solve(B)).max()
    np.testing.assert_allclose(warm, dense.solve(B), atol=1e-6 * scale)
    np.testing.assert_allclose(warm, cold, atol=1e-6 * scale)


def _loose_binary(intercept, max_iter, C=1.0, weighted=False, seed=0):
    X, y = _sparse_data(300, 150, 2, density=0.1, seed=seed)
    weights = np.random.default_rng(2).uniform(0.2, 3.0, 300) if weighted else None
    model = InfluenceLogisticRegression(
        C=C, fit_intercept=intercept, tol=1e-12, max_iter=max_iter
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y, sample_weight=weights), X, y


@pytest.mark.parametrize(
    "intercept, weighted, C",
    [(True, False, 1.0), (False, True, 10.0), (True, True, 0.1)],
)
def test_hessian_lower_bound_is_a_lower_bound(intercept, weighted, C):
    """``hessian_lower_bound`` ≤ the smallest eigenvalue of the dense Hessian,
    and within a factor 100 of it on these problems; 0 where none is known
    (multinomial, unpenalized)."""
    model, _, _ = _loose_binary(intercept, 5000, C=C, weighted=weighted)
    with config_context(hessian_solver="cg"):
        state = model.influence_state()
    bound = state.objective.hessian_lower_bound(state.theta)
    smallest = np.linalg.eigvalsh(state.objective.hessian(state.theta))[0]
    assert 0 < bound <= smallest * (1 + 1e-12)
    assert bound > smallest / 100
    for name in ("multinomial-gauge", "multinomial-unpenalized"):
        objective, theta, _ = _fitted(name)
        assert objective.hessian_lower_bound(theta) == 0.0


def _dense_stationarity(state):
    """``-H⁻¹∇R`` and the ratio with Cholesky-accurate solves (ground truth)."""
    from skinfluence._state import probe_rows

    objective, theta = state.objective, state.theta
    dense = DenseHessianSolver(objective.hessian(theta))
    step = -dense.solve(objective.gradient(theta))
    rows = probe_rows(objective.n_samples, state.solver)
    G = objective.influence_gradients(theta, rows)
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    w = objective.sample_weight[rows] / objective.weight_sum
    typical = np.sqrt(np.mean(np.sum(dense.solve(G.T * w) ** 2, axis=0)))
    return step, np.linalg.norm(step) / typical


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("max_iter", [3, 20, 5000])
def test_cg_stationarity_is_lazy_and_matches_the_dense_solve(
    intercept, max_iter, monkeypatch
):
    """With CG, building the state solves nothing when ``ratio_bound`` (no
    solve) is below the threshold, else the ratio only (to 1e-4); ``ratio``
    agrees with the dense one to 1e-3 and is below the bound; the lazy
    full-tolerance ``newton_step`` (warm-started) equals the dense ``-H⁻¹∇R``
    and an eager full solve; repr and ``dir`` compute nothing."""
    from skinfluence._state import NonStationaryWarning

    model, _, _ = _loose_binary(intercept, max_iter)
    calls = []
    solve = ConjugateGradientSolver.solve

    def counted(self, *args, **kwargs):
        calls.append(kwargs)
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(ConjugateGradientSolver, "solve", counted)
    with config_context(hessian_solver="cg"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            state = model.influence_state()
        s = state.stationarity
        decided = s.ratio_bound <= 0.1
        assert len(calls) == (0 if decided else 1)  # the ratio, to 1e-4
        repr(s), dir(model)
        assert len(calls) == (0 if decided else 1) and not s.has_newton_step()
        step, ratio = _dense_stationarity(state)
        warned = any(issubclass(w.category, NonStationaryWarning) for w in caught)
        assert warned == (ratio > 0.1)
        assert s.ratio_bound >= ratio * (1 - 1e-9)
        if max_iter == 5000:
            assert decided
        np.testing.assert_allclose(s.ratio, ratio, rtol=1e-3)
        lazy = model.newton_step_
        assert s.has_newton_step() and "newton_step_" in dir(model)
        # the ratio's solves at 1e-4, then the step from there at cg_tol
        assert [k.get("tol") for k in calls] == [1e-4, None]
        assert calls[1]["x0"] is not None
        atol = 1e-7 * np.abs(step).max()
        np.testing.assert_allclose(lazy, step, rtol=0, atol=atol)
        eager = -solve(state.solver, state.objective.gradient(state.theta))
        np.testing.assert_allclose(lazy, eager, rtol=0, atol=atol)


@pytest.mark.parametrize("name", ["binary", "multinomial-gauge"])
def test_sparse_gradient_product_on_row_ranges(name, monkeypatch):
    """``G A`` of sparse training rows through the threaded, sliced products (a
    range of rows) and SciPy's (any rows) equals the dense ``G[rows] @ A``."""
    monkeypatch.setattr(sparse_products, "THREADED_MIN_WORK", 0)
    monkeypatch.setattr(sparse_products, "CACHE_BLOCK_ELEMENTS", 500)
    monkeypatch.setattr(sparse_products, "effective_n_threads", lambda: 2)
    objective, theta, _ = _fitted(name)
    G = objective.influence_gradients(theta)
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    A = np.random.default_rng(7).normal(size=(objective.n_params, 6))
    n = objective.n_samples
    for rows in (
        slice(None),
        slice(0, n),
        slice(10, 50),
        slice(3, 4),
        np.arange(5, 40, 3),
    ):
        expected = G[rows] @ A
        got = objective.influence_gradient_product(theta, A, rows)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
        out = np.empty((6, expected.shape[0]))
        objective.influence_gradient_product(theta, A, rows, out=out)
        np.testing.assert_allclose(out.T, expected, rtol=1e-12, atol=1e-14)


def test_a_lazy_stationarity_pickles_resolved():
    """Pickling a CG stationarity (dask ships it to workers) solves what is not
    known yet and carries no solver."""
    model, _, _ = _loose_binary(True, 20)
    with config_context(hessian_solver="cg"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = model.influence_state()
        s = state.stationarity
        assert not s.has_newton_step()
        copy = pickle.loads(pickle.dumps(s))
        assert copy.has_newton_step() and copy.ratio == s.ratio
        assert copy.ratio_bound == s.ratio_bound
        step, ratio = _dense_stationarity(state)
    np.testing.assert_allclose(copy.newton_step, step, atol=1e-7 * np.abs(step).max())
    np.testing.assert_allclose(copy.ratio, ratio, rtol=1e-3)


def test_row_blocks_share_the_data_of_the_design():
    """``SparseDesign._rows``: rows of ``X`` without a copy (SciPy's constructor
    copies views of less than half their base), equal to SciPy's slice, also
    with unsorted indices."""
    X = sp.random(60, 40, density=0.2, format="csr", random_state=0)
    X.indices[X.indptr[5] : X.indptr[6]] = X.indices[X.indptr[5] : X.indptr[6]][::-1]
    X.has_sorted_indices = False
    design = SparseDesign(X)
    V = np.random.default_rng(0).normal(size=(40, 3))
    for start, stop in [(0, 10), (3, 9), (10, 60), (7, 7)]:
        rows = design._rows(design.X, start, stop)
        assert rows.shape == (stop - start, 40)
        assert np.shares_memory(rows.data, design.X.data) or rows.nnz == 0
        np.testing.assert_array_equal(rows.toarray(), X[start:stop].toarray())
        np.testing.assert_allclose(rows @ V, X[start:stop] @ V, rtol=1e-15)
