"""``influence_params_`` on the class contrasts against ``-pinv(H) (G + share)ᵀ``.

The objective is a multinomial one at an arbitrary ``θ`` (the identity
``Σ_k r_ik = 0`` holds everywhere, not only at the fit); the reference is one dense
pseudo-inverse of the full Hessian, independent of the factorizations.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from skinfluence import _blas as blas
from skinfluence import _contrasts as contrasts_module
from skinfluence import _threads as threads_module
from skinfluence._losses import BinaryLogLoss, MultinomialLogLoss
from skinfluence._objective import LinearObjective
from skinfluence._penalties import Penalty
from skinfluence._solvers import DenseHessianSolver


def _objective(K, d, fit_intercept, scaling, penalized_intercept, rng, n=37):
    X = rng.normal(size=(n, d))
    Y = np.eye(K)[rng.integers(0, K, n)]
    per_feature = rng.uniform(0.2, 2.0, d)  # the same for every class
    l2 = np.tile(per_feature, K)
    if fit_intercept:
        l2 = np.r_[l2, np.full(K, 0.7 if penalized_intercept else 0.0)]
    obj = LinearObjective(
        MultinomialLogLoss(K),
        X,
        Y,
        rng.uniform(0.2, 3.0, n),
        Penalty(l2, scaling=scaling),
        fit_intercept,
    )
    return obj, rng.normal(scale=0.5, size=obj.n_params)


@pytest.mark.parametrize("workers", [1, 3], ids=["one-thread", "three-threads"])
@pytest.mark.parametrize("in_place", [True, False], ids=["cython-blas", "fallback"])
@pytest.mark.parametrize(
    "scaling", ["fixed", "weight_sum"], ids=["fixed-penalty", "penalty-share"]
)
@pytest.mark.parametrize(
    "fit_intercept, penalized_intercept",
    [(True, False), (True, True), (False, False)],
    ids=["free-intercept-gauge", "penalized-intercept", "no-intercept"],
)
@pytest.mark.parametrize("K", [3, 4])
def test_contrast_influence_params_equal_the_pseudo_inverse_solution(
    K, fit_intercept, penalized_intercept, scaling, in_place, workers, monkeypatch
):
    rng = np.random.default_rng(K)
    obj, theta = _objective(K, 5, fit_intercept, scaling, penalized_intercept, rng)
    H = obj.hessian(theta)
    G = np.asarray(obj.influence_gradients(theta))  # with the penalty's share
    reference = -(np.linalg.pinv(H, rcond=1e-12, hermitian=True) @ G.T).T
    # blocks of 4 rows (the last one partial), diagonal blocks of 3 unknowns
    monkeypatch.setattr(contrasts_module, "BLOCK_ELEMENTS", 4 * obj.n_params)
    monkeypatch.setattr(threads_module, "blas_threads", lambda: workers)
    monkeypatch.setattr(blas, "DIAGONAL_BLOCK", 3)
    if not in_place:
        monkeypatch.setattr(blas, "AVAILABLE", False)
    elif not blas.AVAILABLE:
        pytest.skip("SciPy's Cython BLAS not found")
    solver = DenseHessianSolver(H, obj.null_directions())
    contrasts = obj.class_contrasts(theta)
    reduced = solver.on_subspace(contrasts.reduce)
    share = obj.penalty.weight_derivative(theta, obj.weight_sum)
    assert share.any() == (scaling == "weight_sum")
    shift = solver.solve(share, scale=-1.0) if share.any() else None
    params = contrasts.influence_params(reduced, shift)
    assert params.flags.c_contiguous and params.shape == reference.shape
    scale = np.abs(reference).max()
    np.testing.assert_allclose(params, reference, rtol=0, atol=1e-11 * scale)


def test_the_reduced_hessian_is_the_hessian_on_the_contrasts():
    """``Eᵀ H E`` from the gathers against ``E`` built column by column from its
    definition (each eliminated entry minus the sum of its feature's kept ones)."""
    rng = np.random.default_rng(0)
    obj, theta = _objective(4, 3, True, "fixed", False, rng)
    contrasts = obj.class_contrasts(theta)
    p = obj.n_params
    kept = np.arange(p)[contrasts.kept]
    E = np.zeros((p, kept.size))
    for c, i in enumerate(kept):
        E[i, c] = 1.0
        E[contrasts.paired[c], c] = -1.0
    H = obj.hessian(theta)
    np.testing.assert_allclose(contrasts.reduce(H), E.T @ H @ E, rtol=1e-14)
    # E spans the vectors whose classes' entries sum to zero, feature by feature
    W = E[: 4 * 3].reshape(4, 3, -1)
    np.testing.assert_allclose(W.sum(axis=0), 0.0, atol=0)
    np.testing.assert_allclose(E[4 * 3 :].sum(axis=0), 0.0, atol=0)


@pytest.mark.parametrize(
    "change", ["per-class-coefficient", "per-class-intercept", "l1"]
)
def test_no_contrasts_when_the_penalty_differs_by_class_or_is_not_smooth(change):
    rng = np.random.default_rng(1)
    K, d = 3, 4
    obj, theta = _objective(K, d, True, "fixed", False, rng)
    l2, l1 = obj.penalty.l2.copy(), np.zeros(obj.n_params)
    if change == "per-class-coefficient":
        l2[0] = 5.0  # class 0, feature 0 only
    elif change == "per-class-intercept":
        l2[K * d] = 1.0  # class 0's intercept only
    else:
        l1[1] = 0.1
    obj.penalty = Penalty(l2, l1)
    assert obj.class_contrasts(theta) is None


def test_no_contrasts_for_sparse_X_or_one_output():
    rng = np.random.default_rng(2)
    obj, theta = _objective(3, 4, True, "fixed", False, rng)
    obj.X = sp.csr_matrix(obj.X)
    assert obj.class_contrasts(theta) is None
    X = rng.normal(size=(20, 3))
    binary = LinearObjective(
        BinaryLogLoss(),
        X,
        rng.integers(0, 2, 20).astype(float),
        np.ones(20),
        Penalty(np.r_[np.ones(3), 0.0]),
        True,
    )
    assert binary.class_contrasts(np.zeros(4)) is None


def test_no_reduced_solver_for_a_singular_hessian():
    """A Hessian singular beyond the gauge (a duplicated feature, no penalty):
    the full solver falls back to eigendecomposition and no reduced solver is made,
    so the contrast path is not taken (the minimum-norm path answers)."""
    rng = np.random.default_rng(3)
    K, n = 3, 37
    X = rng.normal(size=(n, 3))
    X = np.column_stack([X, X[:, 0]])
    obj = LinearObjective(
        MultinomialLogLoss(K),
        X,
        np.eye(K)[rng.integers(0, K, n)],
        np.ones(n),
        Penalty(np.zeros(K * 5)),
        True,
    )
    theta = rng.normal(scale=0.5, size=obj.n_params)
    H = obj.hessian(theta)
    with pytest.warns(UserWarning, match="singular"):
        solver = DenseHessianSolver(H, obj.null_directions())
    assert solver.method == "eigh"
    assert solver.on_subspace(obj.class_contrasts(theta).reduce) is None
