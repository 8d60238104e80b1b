"""In-place BLAS on strided views against SciPy's solves and products.

The right-hand sides are blocks of rows of a C-ordered array (columns contiguous,
leading dimension wider than the block), the layout ``influence_params_`` solves in;
everything outside the block must be left alone.
"""

import threading

import numpy as np
import pytest
from scipy.linalg import cho_solve, solve_triangular

from skinfluence import _blas as blas

pytestmark = pytest.mark.skipif(
    not blas.AVAILABLE, reason="SciPy's Cython BLAS not found"
)


def _factor(p, rng):
    M = rng.normal(size=(p, p))
    H = M @ M.T / p + np.eye(p)
    return H, np.asfortranarray(np.linalg.cholesky(H))


def _strided(rng, n, p, start, stop):
    """A C-ordered (n, p) array and the view of its columns ``start:stop`` as a
    (stop − start, n) right-hand side."""
    C = rng.normal(size=(n, p))
    return C, C[:, start:stop].T


@pytest.mark.parametrize("transpose", [False, True], ids=["L", "L-transposed"])
@pytest.mark.parametrize("alpha", [1.0, -2.5])
def test_triangular_solve_in_place_on_a_strided_block(transpose, alpha):
    rng = np.random.default_rng(0)
    _, L = _factor(7, rng)
    C, B = _strided(rng, 11, 10, 2, 9)
    before = C.copy()
    expected = alpha * solve_triangular(L, B, lower=True, trans=int(transpose))
    blas.triangular_solve_in_place(L, B, transpose=transpose, alpha=alpha)
    np.testing.assert_allclose(B, expected, rtol=1e-13, atol=1e-13)
    outside = np.ones(C.shape, bool)
    outside[:, 2:9] = False
    np.testing.assert_array_equal(C[outside], before[outside])


@pytest.mark.parametrize("transpose_a", [False, True], ids=["A", "A-transposed"])
@pytest.mark.parametrize("beta", [1.0, -3.0])
def test_subtract_product_on_strided_views(transpose_a, beta):
    rng = np.random.default_rng(1)
    F = np.asfortranarray(rng.normal(size=(9, 9)))
    A = F[1:6, 2:5] if not transpose_a else F[2:5, 1:6]  # op(A) is (5, 3)
    _, B = _strided(rng, 8, 12, 4, 7)  # (3, 8)
    Cfull, C = _strided(rng, 8, 12, 0, 5)  # (5, 8)
    opA = A.T if transpose_a else A
    expected = beta * C - opA @ B
    blas.subtract_product(A, B, C, transpose_a=transpose_a, beta=beta)
    np.testing.assert_allclose(C, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("block", [1, 3, 64, 1000], ids=lambda b: f"block-{b}")
@pytest.mark.parametrize("scale", [1.0, -1.0, 0.25])
def test_cholesky_solve_in_place_equals_a_dense_solve(block, scale):
    """Blocked forward and back substitution (diagonal solves plus products)
    against LAPACK's ``cho_solve`` of the same factor, on a strided block of
    rows with a partial last diagonal block (p = 10)."""
    rng = np.random.default_rng(2)
    H, L = _factor(10, rng)
    C, B = _strided(rng, 23, 13, 1, 11)
    before = C.copy()
    expected = scale * cho_solve((L, True), B)
    blas.cholesky_solve_in_place(L, B, scale, block=block)
    np.testing.assert_allclose(H @ B, scale * before[:, 1:11].T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(B, expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(C[:, :1], before[:, :1])
    np.testing.assert_array_equal(C[:, 11:], before[:, 11:])


def test_solves_from_python_threads_at_once():
    """The calls release the GIL: two threads solving disjoint blocks of one
    array at the same time get the sequential answer."""
    rng = np.random.default_rng(3)
    _, L = _factor(40, rng)
    C = rng.normal(size=(4000, 45))
    expected = cho_solve((L, True), C[:, 2:42].T).T
    halves = [C[:2000, 2:42].T, C[2000:, 2:42].T]
    threads = [
        threading.Thread(target=blas.cholesky_solve_in_place, args=(L, h))
        for h in halves
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(C[:, 2:42], expected, rtol=1e-12, atol=1e-13)


def test_empty_right_hand_sides_are_left_alone():
    rng = np.random.default_rng(4)
    _, L = _factor(5, rng)
    B = np.empty((5, 0), order="F")
    assert blas.cholesky_solve_in_place(L, B).shape == (5, 0)


@pytest.mark.parametrize(
    "bad, error",
    [
        pytest.param(lambda C: C.T[:, :3].astype(np.float32), TypeError, id="float32"),
        pytest.param(lambda C: C[:5, :3], ValueError, id="rows-not-contiguous"),
        pytest.param(lambda C: C.T[:, ::-1][:, :3], ValueError, id="reversed-columns"),
    ],
)
def test_layouts_it_cannot_take_are_refused(bad, error):
    rng = np.random.default_rng(5)
    _, L = _factor(5, rng)
    C = rng.normal(size=(6, 5))
    with pytest.raises(error):
        blas.triangular_solve_in_place(L, bad(C))


def test_a_read_only_right_hand_side_is_refused():
    rng = np.random.default_rng(6)
    _, L = _factor(5, rng)
    B = rng.normal(size=(5, 3), scale=1.0).T.copy().T
    B.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        blas.triangular_solve_in_place(L, B)
