"""Dense paths against one unblocked dense reference.

``influence_params_`` (factored Hessian, in-place solves) and ``influence_loss``
(``G`` built by blocks of rows, each product written into the result) against
``pinv(H) Gᵀ`` formed in one piece from the per-sample gradients, with blocks
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
from skinfluence import _objective as objective_module


def _models():
    X, y = make_classification(
        n_samples=157, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    multinomial = InfluenceLogisticRegression(C=0.5, tol=1e-12, max_iter=2000)
    yield "multinomial", multinomial.fit(X, y), X[:13], y[:13]
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


@pytest.mark.parametrize("name, model, X_test, y_test", list(_models()))
def test_blocked_dense_paths_match_one_dense_solve(
    name, model, X_test, y_test, monkeypatch
):
    params_ref, loss_ref = _reference(model, X_test, y_test)
    scale_p, scale_l = np.abs(params_ref).max(), np.abs(loss_ref).max()
    # blocks of 5 rows (the last one partial: 157 = 31 * 5 + 2)
    p = model.influence_state().n_params
    monkeypatch.setattr(objective_module, "PRODUCT_BLOCK_ELEMENTS", 5 * p)
    model._influence_state.clear()
    params = model.influence_params_
    assert params.flags.c_contiguous and params.shape == params_ref.shape
    np.testing.assert_allclose(params, params_ref, rtol=0, atol=1e-9 * scale_p)
    loss = model.influence_loss(X_test, y_test)
    assert loss.flags.c_contiguous and loss.dtype == np.float64
    np.testing.assert_allclose(loss, loss_ref, rtol=0, atol=1e-9 * scale_l)
    with config_context(output_dtype="float32"):
        single = model.influence_loss(X_test, y_test)
    assert single.dtype == np.float32 and single.flags.c_contiguous
    np.testing.assert_allclose(single, loss_ref, rtol=2.0**-23, atol=1e-9 * scale_l)
