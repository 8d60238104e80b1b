"""The Hessian solver: Cholesky, known flat directions, and the singular fallback."""

import numpy as np
import pytest

from skinfluence._solvers import DenseHessianSolver, SingularHessianWarning


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
