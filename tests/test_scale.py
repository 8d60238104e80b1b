"""Fast paths agree with the straightforward dense computation: CG vs Cholesky,
chunked vs whole, sparse vs dense, streamed top-k vs a full sort; joblib backends."""

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_config
from sklearn import config_context as sklearn_config_context
from sklearn.datasets import load_iris

from skinfluence import (
    CGWarning,
    InfluenceLogisticRegression,
    InfluenceRidge,
    config_context,
    loo_refit,
    set_config,
)


def _text_like(n=300, d=400, density=0.02, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format="csr") * 3
    w = rng.normal(size=(d, n_classes))
    y = np.asarray(X @ w + rng.gumbel(size=(n, n_classes))).argmax(axis=1)
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_cg_matches_cholesky(n_classes):
    X, y = _text_like(n_classes=n_classes)
    model = InfluenceLogisticRegression(C=2.0, solver="newton-cg", tol=1e-12).fit(X, y)
    X_test, y_test = X[:7], y[:7]
    with config_context(hessian_solver="cholesky"):
        dense = model.influence_loss(X_test, y_test)
        dense_params = model.influence_params_[:20]
    with config_context(hessian_solver="cg", cg_tol=1e-12):
        iterative = model.influence_loss(X_test, y_test)
        assert model.influence_state().solver.method == "cg"
        assert model.influence_state().solver.residual_ <= 1e-12
        np.testing.assert_allclose(
            model.influence_params_[:20], dense_params, rtol=1e-6, atol=1e-9
        )
    scale = np.abs(dense).max()
    np.testing.assert_allclose(iterative, dense, rtol=1e-6, atol=1e-9 * scale)


def test_auto_switches_to_cg_above_the_dense_limit():
    X, y = _text_like()
    model = InfluenceLogisticRegression(solver="newton-cg", tol=1e-12).fit(X, y)
    with config_context(max_dense_params=100):
        model.influence_loss(X[:2], y[:2])
        assert model.influence_state().solver.method == "cg"
    model.influence_loss(X[:2], y[:2])
    assert model.influence_state().solver.method == "cholesky"


def test_cg_warns_when_it_runs_out_of_iterations():
    X, y = _text_like()
    model = InfluenceLogisticRegression(C=100.0, solver="newton-cg", tol=1e-12).fit(
        X, y
    )
    with (
        config_context(hessian_solver="cg", cg_maxiter=2),
        pytest.warns(CGWarning, match="2 iterations"),
    ):
        model.influence_loss(X[:2], y[:2])


def test_chunked_influence_loss_equals_one_block():
    X, y = load_iris(return_X_y=True)
    model = InfluenceLogisticRegression(tol=1e-12, max_iter=1000).fit(X, y)
    whole = model.influence_loss(X[:40], y[:40])
    with sklearn_config_context(working_memory=0.0001):  # ~100 bytes: one row per batch
        chunked = model.influence_loss(X[:40], y[:40])
        loo_chunked = model.loo_params_change()
    np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        loo_chunked, model.loo_params_change(), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(
    "working_memory", [1024, 0.001], ids=["one-block", "many-blocks"]
)
def test_top_influences_equal_a_full_sort(working_memory):
    X, y = load_iris(return_X_y=True)
    model = InfluenceLogisticRegression(tol=1e-12, max_iter=1000).fit(X, y)
    full = model.influence_loss(X[::7], y[::7])
    with sklearn_config_context(working_memory=working_memory):
        top = model.top_influences(X[::7], y[::7], k=4)
    order = np.argsort(full, axis=1)
    np.testing.assert_array_equal(top.helpful_indices, order[:, :4])
    np.testing.assert_array_equal(top.harmful_indices, order[:, ::-1][:, :4])
    np.testing.assert_allclose(
        top.helpful_values, np.take_along_axis(full, order[:, :4], 1)
    )
    np.testing.assert_allclose(
        top.harmful_values, np.take_along_axis(full, order[:, ::-1][:, :4], 1)
    )


def test_set_config_rejects_unknown_solver():
    with pytest.raises(ValueError, match="hessian_solver"):
        set_config(hessian_solver="lu")


def test_loo_refit_runs_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=30)
    model = InfluenceRidge(alpha=0.5)
    serial = loo_refit(model, X, y, indices=range(6))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster), parallel_config(backend="dask"):
            on_dask = loo_refit(model, X, y, indices=range(6))
    np.testing.assert_allclose(on_dask, serial, rtol=1e-12)


def test_cg_stationarity_check_matches_full_accuracy(monkeypatch):
    """With CG the stationarity probes are solved loosely (1e-4), the Newton step
    to full cg_tol: the step agrees with Cholesky's, the ratio with probes
    solved to full accuracy."""
    from skinfluence import _state

    X, y = _text_like()
    model = InfluenceLogisticRegression(C=2.0, solver="lbfgs", tol=1e-3).fit(X, y)
    with config_context(hessian_solver="cholesky", stationarity_threshold=np.inf):
        dense = model.influence_state().stationarity
    with config_context(hessian_solver="cg", stationarity_threshold=np.inf):
        loose = model.influence_state().stationarity
        monkeypatch.setattr(_state, "STATIONARITY_PROBE_TOL", 0.0)
        model._influence_state.clear()
        full = model.influence_state().stationarity
    np.testing.assert_allclose(loose.newton_step, dense.newton_step, rtol=1e-7)
    np.testing.assert_allclose(loose.ratio, full.ratio, rtol=1e-3)
    assert loose.ratio > 0.1  # an unconverged fit: the check has something to see


@pytest.mark.parametrize("working_memory", [1024, 0.01], ids=["one-block", "blocks"])
def test_float32_output_is_the_float64_result_rounded(working_memory):
    """output_dtype="float32": every value within float32 rounding (2⁻²⁴
    relative, one more rounding for the blocked float64 product) of the float64
    result, in half the memory."""
    X, y = load_iris(return_X_y=True)
    model = InfluenceLogisticRegression(tol=1e-12, max_iter=1000).fit(X, y)
    exact = model.influence_loss(X[:30], y[:30])
    prediction = model.influence_prediction(X[:5])
    with (
        sklearn_config_context(working_memory=working_memory),
        config_context(output_dtype="float32"),
    ):
        single = model.influence_loss(X[:30], y[:30])
        single_prediction = model.influence_prediction(X[:5])
    assert single.dtype == single_prediction.dtype == np.float32
    assert single.nbytes == exact.nbytes // 2
    tiny = 1e-14 * np.abs(exact).max()
    np.testing.assert_allclose(single, exact, rtol=2.0**-23, atol=tiny)
    np.testing.assert_allclose(single_prediction, prediction, rtol=2.0**-23, atol=tiny)
    assert not np.array_equal(single.astype(np.float64), exact)  # really rounded


def test_output_dtype_is_validated():
    with pytest.raises(ValueError, match="output_dtype"):
        set_config(output_dtype="float16")
