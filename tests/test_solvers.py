"""The Hessian solver: Cholesky, known flat directions, and the singular fallback."""

import warnings

import numpy as np
import pytest

from skinfluence import _solvers as solvers
from skinfluence import _threads as threads_module
from skinfluence._solvers import (
    ConjugateGradientSolver,
    DenseHessianSolver,
    SingularHessianWarning,
)
from skinfluence._threads import RowBlocks


def test_cholesky_matches_dense_solve():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(8, 8))
    H = A @ A.T + 0.1 * np.eye(8)
    B = rng.normal(size=(8, 3))
    solver = DenseHessianSolver(H)
    assert solver.method == "cholesky" and solver.rank == 8
    np.testing.assert_allclose(H @ solver.solve(B), B, atol=1e-10)
    np.testing.assert_allclose(solver.solve(B[:, 0]), solver.solve(B)[:, 0])


def test_known_flat_direction_gives_pseudo_inverse_solution():
    rng = np.random.default_rng(1)
    v = np.ones(5) / np.sqrt(5)
    P = np.eye(5) - np.outer(v, v)
    A = rng.normal(size=(5, 5))
    H = P @ (A @ A.T + np.eye(5)) @ P  # PSD, null space exactly span(v)
    b = P @ rng.normal(size=5)
    solver = DenseHessianSolver(H, v[:, None])
    assert solver.method == "cholesky" and solver.rank == 4
    np.testing.assert_allclose(solver.solve(b), np.linalg.pinv(H) @ b, atol=1e-10)


def test_unexpected_singularity_warns_and_returns_minimum_norm():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # collinear column
    H = X.T @ X
    b = X.T @ rng.normal(size=20)
    with pytest.warns(SingularHessianWarning, match="rank 3 of 4"):
        solver = DenseHessianSolver(H)
    assert solver.method == "eigh" and solver.rank == 3
    expected = np.linalg.lstsq(H, b, rcond=None)[0]
    np.testing.assert_allclose(solver.solve(b), expected, atol=1e-8)


def _shifted_problem(singular):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 6))
    lam = np.r_[np.full(4, 0.5), 0.0, 0.0]  # a penalty on some coordinates only
    if singular:
        X[:, 1] = X[:, 0]
        lam[:2] = 0.0  # the collinear pair is unpenalized: H is singular there
    H = X.T @ X / 20 + np.diag(lam)
    return H, lam, rng.normal(size=(6, 3)), np.array([0.1, 0.5, 0.0])


@pytest.mark.parametrize("method", ["cholesky", "eigh", "cg"])
def test_shifted_solves_equal_direct_solves_of_the_shifted_matrices(method):
    """(H − δ_j diag(λ))⁺ b_j per column, against numpy on each shifted matrix."""
    H, lam, B, shifts = _shifted_problem(singular=method == "eigh")
    if method == "cg":
        solver = ConjugateGradientSolver(lambda V: H @ V, np.diag(H).copy(), tol=1e-13)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularHessianWarning)
            solver = DenseHessianSolver(H)
    assert solver.method == method
    expected = np.column_stack(
        [
            np.linalg.pinv(H - d * np.diag(lam)) @ b
            for d, b in zip(shifts, B.T, strict=True)
        ]
    )
    np.testing.assert_allclose(
        solver.solve_shifted(B, shifts, lam), expected, rtol=1e-9, atol=1e-11
    )


@pytest.mark.parametrize("chunk", [2**20, 3], ids=["one-chunk", "column-chunks"])
@pytest.mark.parametrize(
    "support",
    [[[0, 1, 2]], [[0, 3, 6], [2, 5, 8]], [[6, 7, 8]]],
    ids=["leading-rows", "two-strided-directions", "trailing-rows"],
)
def test_flat_directions_pseudo_inverse_without_projecting_the_right_hand_side(
    support, chunk, monkeypatch
):
    """``H⁺ B`` for B with components along the flat directions, several
    directions on strided rows, the projection done in column chunks, and the
    ``scale``/``overwrite`` options, against numpy's pseudo-inverse."""
    monkeypatch.setattr(solvers, "PROJECTION_CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(5)
    p = 9
    V = np.zeros((p, len(support)))
    for j, rows in enumerate(support):
        V[rows, j] = 1 / np.sqrt(len(rows))
    P = np.eye(p) - V @ V.T
    A = rng.normal(size=(p, p))
    H = P @ (A @ A.T + np.eye(p)) @ P
    B = rng.normal(size=(p, 7))  # not orthogonal to V
    solver = DenseHessianSolver(H, V)
    expected = np.linalg.pinv(H) @ B
    np.testing.assert_allclose(solver.solve(B), expected, atol=1e-10)
    np.testing.assert_allclose(solver.solve(B[:, 2]), expected[:, 2], atol=1e-10)
    Bf = np.asfortranarray(B)
    out = solver.solve(Bf, scale=-2.0, overwrite=True)
    np.testing.assert_allclose(out, -2.0 * expected, atol=1e-10)
    assert np.shares_memory(out, Bf)  # in place for a Fortran-ordered float64 B


def test_cg_columns_stop_at_their_own_tolerance_and_match_the_dense_solve():
    """Jacobi-preconditioned CG against Cholesky on one SPD matrix: each column's
    residual is below its own tolerance (never looser than the solver's), and the
    error is within cond(H) times it."""
    rng = np.random.default_rng(6)
    A = rng.normal(size=(60, 30)) * rng.uniform(0.1, 10, 30)  # badly scaled columns
    H = A.T @ A / 60 + 0.05 * np.eye(30)
    B = rng.normal(size=(30, 3))
    exact = DenseHessianSolver(H).solve(B)
    cg = ConjugateGradientSolver(lambda V: H @ V, np.diag(H).copy(), tol=1e-11)
    tol = np.array([1e-3, 1e-6, 0.0])  # 0: the solver's own 1e-11
    X = cg.solve(B, tol=tol)
    residual = np.linalg.norm(H @ X - B, axis=0) / np.linalg.norm(B, axis=0)
    assert np.all(residual <= np.maximum(tol, 1e-11))
    assert residual[0] > 1e-9  # the loose column did stop early
    cond = np.linalg.cond(H)
    error = np.linalg.norm(X - exact, axis=0) / np.linalg.norm(exact, axis=0)
    assert np.all(error <= cond * np.maximum(tol, 1e-11))


def _spd(p, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p // 2))
    # a few large directions over a bulk: what Nyström is for
    H = A @ A.T / p + np.diag(rng.uniform(0.5, 2.0, p))
    u = rng.normal(size=(p, 3))
    return H + u @ np.diag([50.0, 20.0, 10.0]) @ u.T / p


@pytest.mark.parametrize("n_threads", [1, 3])
def test_threaded_nystrom_apply_equals_the_plain_formula(n_threads, monkeypatch):
    """``M⁻¹ R = R + U diag(λ_r/λ − 1) Uᵀ R`` over row blocks on threads, the
    last block partial (101 rows in blocks of 10), C- and F-ordered ``R``."""
    monkeypatch.setattr(threads_module, "blas_threads", lambda: n_threads)
    monkeypatch.setattr(solvers, "CG_BLOCK_ELEMENTS", 40)  # 4 columns: 10 rows
    H = _spd(101)
    pre = solvers.NystromPreconditioner(lambda V: H @ V, 101, rank=8)
    assert len(RowBlocks(101, 4, solvers.CG_BLOCK_ELEMENTS)) == 11
    R = np.random.default_rng(4).normal(size=(101, 4))
    U, ratio = pre.U, pre.lam[-1] / pre.lam - 1.0
    expected = R + U @ np.diag(ratio) @ (U.T @ R)
    for order in "CF":
        R_in = np.array(R, order=order)
        out = pre.apply(R_in, np.empty_like(R_in))
        np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(R_in, R)  # the input is left alone


@pytest.mark.parametrize("preconditioner", ["jacobi", "nystrom"])
def test_fused_cg_updates_match_the_dense_solve(preconditioner, monkeypatch):
    """The fused, threaded CG updates (no flat directions): equal to
    ``np.linalg.solve`` within cond(H) · tol, columns leaving the block at
    different iterations (their own tolerances), bit for bit the same on 1 and
    3 threads (per-block partial sums summed in block order)."""
    p = 83
    H = _spd(p, seed=5)
    B = np.random.default_rng(6).normal(size=(p, 5))
    B[:, 2] = 0.0  # a zero right-hand side stays zero
    tol = np.array([1e-10, 1e-6, 1e-10, 1e-3, 1e-8])
    monkeypatch.setattr(solvers, "CG_BLOCK_ELEMENTS", 45)  # 9 rows, last of 2
    results = []
    for n_threads in (1, 3):
        monkeypatch.setattr(threads_module, "blas_threads", lambda n=n_threads: n)
        cg = ConjugateGradientSolver(
            lambda V: H @ V,
            np.diag(H).copy(),
            tol=1e-10,
            maxiter=500,
            preconditioner=preconditioner,
            nystrom_rank=4,
        )
        results.append((cg.solve(B, tol=tol), cg.n_iter_))
    (X1, it1), (X3, it3) = results
    np.testing.assert_array_equal(X1, X3)
    assert it1 == it3
    exact = np.linalg.solve(H, B)
    assert np.all(X1[:, 2] == 0)
    w = np.linalg.eigvalsh(H)
    keep = [0, 1, 3, 4]
    true = np.linalg.norm(H @ X1 - B, axis=0)[keep] / np.linalg.norm(B, axis=0)[keep]
    assert np.all(true <= tol[keep])
    error = np.linalg.norm(X1 - exact, axis=0)[keep]
    assert np.all(
        error <= w[-1] / w[0] * tol[keep] * np.linalg.norm(exact, axis=0)[keep]
    )


@pytest.mark.parametrize("condition", [1.0, 1e4, 1e12])
def test_orthonormal_basis_spans_its_input(condition, monkeypatch):
    """Cholesky QR2, and Householder when ``Y`` is too ill-conditioned for it
    (1e12): orthonormal columns spanning ``Y``'s range (known by construction)."""
    rng = np.random.default_rng(7)
    A = np.linalg.qr(rng.normal(size=(500, 12)))[0]
    B = np.linalg.qr(rng.normal(size=(12, 12)))[0]
    Y = A @ np.diag(np.logspace(0, -np.log10(condition), 12)) @ B
    householder = []
    qr = np.linalg.qr
    monkeypatch.setattr(np.linalg, "qr", lambda M: householder.append(1) or qr(M))
    Q = solvers.orthonormal_basis(Y)
    assert bool(householder) == (condition > 1e8)
    np.testing.assert_allclose(Q.T @ Q, np.eye(12), atol=1e-14)
    # the same subspace, to the accuracy Y determines it (eps times its condition)
    np.testing.assert_allclose(Q @ Q.T, A @ A.T, atol=1e-15 * condition + 1e-14)
