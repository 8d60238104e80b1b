"""LinearObjective: gradient, Hessian and Hessian-vector product against finite
differences of the risk, dense and sparse inputs alike, and its flat directions."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

from skinfluence import _objective as objective_module
from skinfluence._losses import (
    BinaryLogLoss,
    MultinomialLogLoss,
    SquaredError,
    TweedieHalfDeviance,
)
from skinfluence._objective import LinearObjective
from skinfluence._penalties import Penalty


def _objective(kind, fit_intercept, sparse, penalized=True, seed=0):
    rng = np.random.default_rng(seed)
    n, d = 25, 4
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.6)
    if kind == "binary":
        loss, Y = BinaryLogLoss(), rng.integers(0, 2, (n, 1))
    elif kind == "multinomial":
        loss, Y = MultinomialLogLoss(3), np.eye(3)[rng.integers(0, 3, n)]
    else:
        loss, Y = SquaredError(2), rng.normal(size=(n, 2))
    K = loss.n_outputs
    p = K * (d + fit_intercept)
    penalty = np.zeros(p)
    if penalized:
        penalty[: K * d] = rng.uniform(0.5, 2.0)
    sw = rng.uniform(0.2, 3.0, n)
    X = sp.csr_matrix(X) if sparse else X
    objective = LinearObjective(loss, X, Y, sw, Penalty(penalty), fit_intercept)
    return objective, rng.normal(size=p)


def _risk(obj, theta):
    F = obj.sample_weight @ obj.loss_values(theta) + 0.5 * theta @ (
        obj.penalty.l2 * theta
    )
    return F / obj.weight_sum


CASES = [
    pytest.param(
        kind,
        fi,
        sparse,
        id=f"{kind}-{'intercept' if fi else 'nointercept'}-{'csr' if sparse else 'dense'}",
    )
    for kind in ["binary", "multinomial", "squared"]
    for fi in [True, False]
    for sparse in [False, True]
]


@pytest.mark.parametrize("kind, fit_intercept, sparse", CASES)
def test_gradient_and_hessian_match_finite_differences(kind, fit_intercept, sparse):
    obj, theta = _objective(kind, fit_intercept, sparse)
    h = 1e-6
    eye = np.eye(obj.n_params)
    fd_grad = [
        (_risk(obj, theta + h * e) - _risk(obj, theta - h * e)) / (2 * h) for e in eye
    ]
    np.testing.assert_allclose(obj.gradient(theta), fd_grad, rtol=1e-6, atol=1e-8)
    fd_hess = np.column_stack(
        [
            (obj.gradient(theta + h * e) - obj.gradient(theta - h * e)) / (2 * h)
            for e in eye
        ]
    )
    H = obj.hessian(theta)
    np.testing.assert_allclose(H, fd_hess, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T)
    V = np.random.default_rng(3).normal(size=(obj.n_params, 3))
    np.testing.assert_allclose(obj.hessian_dot(theta, V), H @ V, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind, fit_intercept, sparse", CASES)
def test_sample_gradients_sum_to_the_data_gradient(kind, fit_intercept, sparse):
    obj, theta = _objective(kind, fit_intercept, sparse)
    G = obj.sample_gradients(theta)
    assert G.shape == (obj.n_samples, obj.n_params)
    assert sp.issparse(G) == sparse
    G = G.toarray() if sparse else G
    expected = obj.gradient(theta) * obj.weight_sum - obj.penalty.l2 * theta
    np.testing.assert_allclose(
        G.T @ obj.sample_weight, expected, rtol=1e-10, atol=1e-12
    )
    # each row is the finite-difference gradient of that sample's loss
    h = 1e-6
    for j, e in enumerate(np.eye(obj.n_params)):
        fd = (obj.loss_values(theta + h * e) - obj.loss_values(theta - h * e)) / (2 * h)
        np.testing.assert_allclose(G[:, j], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("penalized", [True, False], ids=["l2", "unpenalized"])
@pytest.mark.parametrize(
    "fit_intercept", [True, False], ids=["intercept", "nointercept"]
)
def test_multinomial_flat_directions_are_the_hessian_null_space(
    penalized, fit_intercept
):
    obj, theta = _objective("multinomial", fit_intercept, False, penalized=penalized)
    V = obj.null_directions()
    expected_rank = int(fit_intercept) + (0 if penalized else obj.n_features)
    assert V.shape == (obj.n_params, expected_rank)
    np.testing.assert_allclose(V.T @ V, np.eye(expected_rank), atol=1e-12)
    H = obj.hessian(theta)
    np.testing.assert_allclose(H @ V, 0, atol=1e-12)
    eigenvalues = np.linalg.eigvalsh(H)
    assert np.sum(eigenvalues < 1e-10 * eigenvalues.max()) == expected_rank
    G = obj.sample_gradients(theta)
    np.testing.assert_allclose(G @ V, 0, atol=1e-12)


def test_binary_and_squared_losses_have_no_flat_directions():
    for kind in ["binary", "squared"]:
        obj, _ = _objective(kind, True, False, penalized=False)
        assert obj.null_directions().shape == (obj.n_params, 0)


def test_influence_gradients_add_the_penalty_share_when_it_scales_with_weights():
    obj, theta = _objective("squared", True, False)
    np.testing.assert_array_equal(
        obj.influence_gradients(theta), obj.sample_gradients(theta)
    )
    scaled = LinearObjective(
        obj.loss,
        obj.X,
        obj.Y,
        obj.sample_weight,
        Penalty(obj.penalty.l2, scaling="weight_sum"),
        True,
    )
    # F = Σ s_i L_i + (S/2) θᵀ diag(μ) θ: ∂/∂s_i of ∇F is ∇L_i + diag(μ) θ, μ = λ/S
    expected = obj.sample_gradients(theta) + obj.penalty.l2 * theta / obj.weight_sum
    np.testing.assert_allclose(scaled.influence_gradients(theta), expected)


@pytest.mark.parametrize("kind, fit_intercept, sparse", CASES)
def test_matrix_free_products_match_the_explicit_matrices(kind, fit_intercept, sparse):
    obj, theta = _objective(kind, fit_intercept, sparse)
    A = np.random.default_rng(4).normal(size=(obj.n_params, 5))
    G = obj.influence_gradients(theta)
    G = G.toarray() if sparse else G
    np.testing.assert_allclose(
        obj.influence_gradient_product(theta, A), G @ A, rtol=1e-10, atol=1e-12
    )
    rows = np.array([3, 0, 7])
    np.testing.assert_allclose(
        obj.influence_gradient_product(theta, A, rows),
        (G @ A)[rows],
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        obj.hessian_diagonal(theta), np.diag(obj.hessian(theta)), rtol=1e-12
    )


def test_l1_penalty_enters_gradient_and_influence_but_not_hessian():
    obj, theta = _objective("squared", True, False)
    strength = np.random.default_rng(7).uniform(0.1, 2.0, size=obj.n_params)
    lin = LinearObjective(
        obj.loss,
        obj.X,
        obj.Y,
        obj.sample_weight,
        Penalty(obj.penalty.l2, strength, scaling="weight_sum"),
        True,
    )
    h = 1e-6
    c = strength * np.sign(theta)  # |θ| is linear away from zero

    def risk(t):
        return _risk(obj, t) + strength @ np.abs(t) / obj.weight_sum

    fd = [
        (risk(theta + h * e) - risk(theta - h * e)) / (2 * h)
        for e in np.eye(obj.n_params)
    ]
    np.testing.assert_allclose(lin.gradient(theta), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(lin.hessian(theta), obj.hessian(theta))
    # F = Σ s_i L_i + S (½ θᵀ diag(μ) θ + νᵀθ): ∂/∂s_i of ∇F is ∇L_i + diag(μ) θ + ν
    expected = (
        obj.sample_gradients(theta) + (obj.penalty.l2 * theta + c) / obj.weight_sum
    )
    np.testing.assert_allclose(lin.influence_gradients(theta), expected)


def _hessian_by_definition(obj, theta):
    """``(Σ_i s_i Λ_i ⊗ x̃_i x̃_iᵀ + diag(λ)) / S`` row by row (the textbook sum)."""
    X = np.asarray(obj.X.todense()) if sp.issparse(obj.X) else obj.X
    Xa = np.column_stack([X, np.ones(len(X))]) if obj.fit_intercept else X
    blocks = obj.loss.hessian_blocks(obj.Y, obj.raw_prediction(theta))
    K, d = obj.n_outputs, obj.n_features
    H = np.zeros((obj.n_params, obj.n_params))
    for s, Lam, x in zip(obj.sample_weight, blocks, Xa, strict=True):
        full = np.kron(Lam, np.outer(x, x))  # (K q, K q), class-major [x_i, 1]
        q = Xa.shape[1]
        # parameter order: the K coefficient blocks of d, then the K intercepts
        idx = [k * q + j for k in range(K) for j in range(d)]
        if obj.fit_intercept:
            idx += [k * q + d for k in range(K)]
        H += s * full[np.ix_(idx, idx)]
    return (H + np.diag(obj.penalty.l2)) / obj.weight_sum


@pytest.mark.parametrize("workers", [1, 3], ids=["one-thread", "three-threads"])
@pytest.mark.parametrize("block_elements", [10**6, 7], ids=["one-block", "row-blocks"])
@pytest.mark.parametrize(
    "loss",
    [
        pytest.param(MultinomialLogLoss(4), id="multinomial"),
        pytest.param(TweedieHalfDeviance(3, "log"), id="tweedie3-mixed-sign"),
        pytest.param(SquaredError(3), id="squared-3-outputs"),
    ],
)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dense_hessian_assembly_equals_the_sum_over_rows(
    loss, fit_intercept, block_elements, workers, monkeypatch
):
    """The blocked symmetric rank-k assembly (mixed-sign curvature split in two,
    a shift-invariant loss's diagonal blocks derived from the others, the
    multinomial's off-diagonal blocks accumulated over row blocks shared among
    threads) against the per-row sum of Kronecker products."""
    monkeypatch.setattr(objective_module, "blas_threads", lambda: workers)
    monkeypatch.setattr(objective_module, "GRAM_BLOCK_ELEMENTS", block_elements)
    monkeypatch.setattr(objective_module, "HESSIAN_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(4)
    n, d, K = 23, 3, loss.n_outputs
    X = rng.normal(size=(n, d))
    if K > 1 and isinstance(loss, MultinomialLogLoss):
        Y = np.eye(K)[rng.integers(0, K, n)]
    else:
        Y = rng.gamma(2.0, 1.0, size=(n, K))
    p = K * (d + fit_intercept)
    obj = LinearObjective(
        loss, X, Y, rng.uniform(0.2, 3, n), Penalty(rng.uniform(0, 1, p)), fit_intercept
    )
    theta = rng.normal(size=p)
    curvature = loss.hessian_blocks(obj.Y, obj.raw_prediction(theta))
    if isinstance(loss, TweedieHalfDeviance):  # both signs occur
        assert (curvature < 0).any() and (curvature > 0).any()
    np.testing.assert_allclose(
        obj.hessian(theta), _hessian_by_definition(obj, theta), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("workers", [1, 3], ids=["one-thread", "three-threads"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_dense_gradient_rows_equal_the_kronecker_products(
    fit_intercept, workers, monkeypatch
):
    """``expand`` (rows split among threads when large) against ``r_i ⊗ [x_i, 1]``
    row by row, in parameter order."""
    monkeypatch.setattr(objective_module, "blas_threads", lambda: workers)
    monkeypatch.setattr(objective_module, "EXPAND_THREAD_ELEMENTS", 8)
    rng = np.random.default_rng(8)
    n, d, K = 17, 3, 4
    obj = LinearObjective(
        MultinomialLogLoss(K),
        rng.normal(size=(n, d)),
        np.eye(K)[rng.integers(0, K, n)],
        np.ones(n),
        Penalty(np.ones(K * (d + fit_intercept))),
        fit_intercept,
    )
    R = rng.normal(size=(n, K))
    Xa = np.column_stack([obj.X, np.ones(n)]) if fit_intercept else obj.X
    q = Xa.shape[1]
    order = [k * q + j for k in range(K) for j in range(d)]
    order += [k * q + d for k in range(K)] if fit_intercept else []
    expected = np.stack([np.kron(r, x)[order] for r, x in zip(R, Xa, strict=True)])
    np.testing.assert_array_equal(obj.expand(obj.X, R), expected)
    with ThreadPoolExecutor(workers) as pool:  # a pool given by the caller
        given = obj.expand(obj.X, R, pool=pool, n_workers=workers)
    np.testing.assert_array_equal(given, expected)
