"""Dense paths against one unblocked dense reference.

``influence_params_`` (factored Hessian, in-place solves; the multinomial's on
its class contrasts) and ``influence_loss`` (``G`` built by blocks of rows, each
product written into the result) against ``pinv(H) Gᵀ`` formed in one piece from the per-sample gradients, with blocks
forced small so that every edge (partial last block, the gauge of the
multinomial model, the penalty share, float32 results) is hit.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from skinfluence import (
    InfluenceLogisticRegression,
    InfluencePoissonRegressor,
    config_context,
)
from skinfluence import _blas as blas
from skinfluence import _contrasts as contrasts_module
from skinfluence import _objective as objective_module
from skinfluence._contrasts import ClassContrasts
from skinfluence._losses import MultinomialLogLoss
from skinfluence._objective import LinearObjective
from skinfluence._penalties import Penalty


def _models():
    X, y = make_classification(
        n_samples=157, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    multinomial = InfluenceLogisticRegression(C=0.5, tol=1e-12, max_iter=2000)
    yield "multinomial", multinomial.fit(X, y), X[:13], y[:13]
    X4, y4 = make_classification(
        n_samples=157,
        n_features=6,
        n_informative=4,
        n_classes=4,
        weights=[0.5, 0.3, 0.15, 0.05],
        random_state=1,
    )
    balanced = InfluenceLogisticRegression(
        C=0.5, class_weight="balanced", tol=1e-12, max_iter=2000
    )
    yield "multinomial-class-weight", balanced.fit(X4, y4), X4[:13], y4[:13]
    weights = np.random.default_rng(2).uniform(0.1, 3.0, y4.size)
    weighted = InfluenceLogisticRegression(C=0.5, tol=1e-12, max_iter=2000)
    weighted.fit(X4, y4, sample_weight=weights)
    yield "multinomial-sample-weight", weighted, X4[:13], y4[:13]
    no_intercept = InfluenceLogisticRegression(
        C=0.5, fit_intercept=False, tol=1e-12, max_iter=2000
    )
    yield "multinomial-no-intercept", no_intercept.fit(X4, y4), X4[:13], y4[:13]
    # no penalty: every feature's common shift over the classes is flat too
    # (overlapping classes, so that the minimum is finite)
    Xo, yo = make_classification(
        n_samples=157,
        n_features=6,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=0.5,
        flip_y=0.2,
        random_state=0,
    )
    unpenalized = InfluenceLogisticRegression(C=np.inf, tol=1e-12, max_iter=5000)
    yield "multinomial-unpenalized", unpenalized.fit(Xo, yo), Xo[:13], yo[:13]
    binary = InfluenceLogisticRegression(C=0.5, tol=1e-12, max_iter=2000)
    yb = (y > 0).astype(int)
    yield "binary", binary.fit(X, yb), X[:13], yb[:13]
    rng = np.random.default_rng(0)
    counts = rng.poisson(np.exp(0.2 * X[:, 0]))
    poisson = InfluencePoissonRegressor(alpha=0.3, tol=1e-12, max_iter=1000)
    yield "poisson", poisson.fit(X, counts), X[:13], counts[:13]


def _reference(model, X_test, y_test):
    """``-pinv(H) gᵢ`` and ``∇L(z_test)ᵀ`` of that, each in one dense piece."""
    fitted = model.influence_state()
    objective, theta = fitted.objective, fitted.theta
    H = objective.hessian(theta)
    G = np.asarray(objective.influence_gradients(theta))
    params = -(np.linalg.pinv(H, rcond=1e-12, hermitian=True) @ G.T).T
    X, Y = fitted.test_data(X_test, y_test)
    G_test = np.asarray(objective.sample_gradients(theta, X, Y))
    return params, G_test @ params.T


@pytest.mark.parametrize(
    "name, model, X_test, y_test", [pytest.param(*m, id=m[0]) for m in _models()]
)
def test_blocked_dense_paths_match_one_dense_solve(
    name, model, X_test, y_test, monkeypatch
):
    params_ref, loss_ref = _reference(model, X_test, y_test)
    scale_p, scale_l = np.abs(params_ref).max(), np.abs(loss_ref).max()
    # blocks of 5 rows (the last one partial: 157 = 31 * 5 + 2)
    p = model.influence_state().n_params
    monkeypatch.setattr(objective_module, "PRODUCT_BLOCK_ELEMENTS", 5 * p)
    monkeypatch.setattr(contrasts_module, "BLOCK_ELEMENTS", 5 * p)
    monkeypatch.setattr(blas, "DIAGONAL_BLOCK", 4)
    on_contrasts = []
    solve_on_contrasts = ClassContrasts.influence_params
    monkeypatch.setattr(
        ClassContrasts,
        "influence_params",
        lambda self, *a: on_contrasts.append(1) or solve_on_contrasts(self, *a),
    )
    model._influence_state.clear()
    params = model.influence_params_
    # the multinomial models (class-uniform penalties) solve on the contrasts
    assert bool(on_contrasts) == name.startswith("multinomial")
    assert params.flags.c_contiguous and params.shape == params_ref.shape
    np.testing.assert_allclose(params, params_ref, rtol=0, atol=1e-9 * scale_p)
    loss = model.influence_loss(X_test, y_test)
    assert loss.flags.c_contiguous and loss.dtype == np.float64
    np.testing.assert_allclose(loss, loss_ref, rtol=0, atol=1e-9 * scale_l)
    with config_context(output_dtype="float32"):
        single = model.influence_loss(X_test, y_test)
    assert single.dtype == np.float32 and single.flags.c_contiguous
    np.testing.assert_allclose(single, loss_ref, rtol=2.0**-23, atol=1e-9 * scale_l)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense-X", "sparse-X"])
@pytest.mark.parametrize(
    "fit_intercept", [True, False], ids=["intercept", "no-intercept"]
)
@pytest.mark.parametrize(
    "scaling", ["fixed", "weight_sum"], ids=["fixed-penalty", "penalty-share"]
)
def test_multinomial_product_on_k_minus_1_classes_equals_the_full_product(
    scaling, fit_intercept, sparse, monkeypatch
):
    """``G A`` through ``Σ_k r_ik = 0`` (``K − 1`` classes, ``a_k − a_K``) equals
    the full-dimension ``G A`` (gradients expanded over all ``K`` classes, with
    the penalty's weight derivative), at any ``θ``, in blocks of 4 rows."""
    import scipy.sparse as sp

    rng = np.random.default_rng(7)
    n, d, K, m = 29, 5, 4, 3
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.4] = 0.0
    Y = np.eye(K)[rng.integers(0, K, n)]
    p = K * (d + fit_intercept)
    obj = LinearObjective(
        MultinomialLogLoss(K),
        sp.csr_matrix(X) if sparse else X,
        Y,
        rng.uniform(0.2, 3, n),
        Penalty(rng.uniform(0.1, 1.0, p), scaling=scaling),
        fit_intercept,
    )
    theta, A = rng.normal(size=p), rng.normal(size=(p, m))
    full = obj.sample_gradients(theta)
    full = full.toarray() if sparse else full
    share = obj.penalty.weight_derivative(theta, obj.weight_sum)
    assert share.any() == (scaling == "weight_sum")
    reference = (full + share) @ A
    monkeypatch.setattr(objective_module, "PRODUCT_BLOCK_ELEMENTS", 4 * p)
    # each block's rows expanded on the loop's one pool of 3 threads
    monkeypatch.setattr(objective_module, "EXPAND_THREAD_ELEMENTS", p)
    monkeypatch.setattr(objective_module, "blas_threads", lambda: 3)
    product = obj.influence_gradient_product(theta, A)
    np.testing.assert_allclose(
        product, reference, rtol=0, atol=1e-13 * np.abs(reference).max()
    )
