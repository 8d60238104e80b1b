"""Training data in dask arrays: every result equals the in-memory one.

Ground truth is the in-memory path on the same rows (itself proven against
refits elsewhere); the chunked path must agree to 1e-10 relative, with top-k
identical. Small problems run on dask's threaded scheduler; one test runs on a
``LocalCluster`` of processes whose memory limit is below the data size.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import (
    ElasticNet,
    HuberRegressor,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    RidgeClassifier,
    SGDRegressor,
)

from skinfluence import InfluenceLogisticRegression, attach, config_context

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

METHODS = {
    "influence_loss": lambda m, X, y: m.influence_loss(X, y),
    "influence_params_": lambda m, X, y: m.influence_params_,
    "self_influence": lambda m, X, y: m.self_influence(),
    "leverage": lambda m, X, y: m.leverage(),
    "cooks_distance": lambda m, X, y: m.cooks_distance(),
    "dfbeta": lambda m, X, y: m.dfbeta(),
    "loo_params_change_newton": lambda m, X, y: m.loo_params_change("newton"),
    "loo_params_change_influence": lambda m, X, y: m.loo_params_change("influence"),
    "influence_prediction": lambda m, X, y: m.influence_prediction(X),
}


def _problem(kind, seed=0, n=900, d=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    sw = rng.uniform(0.2, 3.0, n)
    sw[::17] = 0.0  # zero weights keep their rows but no say
    if kind == "binary":
        y = (X @ w + rng.logistic(size=n) > 0).astype(int)
    elif kind == "multiclass":
        y = np.argmax(X @ rng.normal(size=(d, 3)) + rng.gumbel(size=(n, 3)), axis=1)
    elif kind == "counts":
        y = rng.poisson(np.exp(0.3 * X @ w))
    else:
        y = X @ w + rng.normal(size=n)
    return X, y, sw


ESTIMATORS = {
    "logistic": (LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000), "binary"),
    "multinomial": (
        LogisticRegression(C=2.0, solver="newton-cg", tol=1e-12, max_iter=10_000),
        "multiclass",
    ),
    "ridge": (Ridge(alpha=2.0), "continuous"),
    "linear": (LinearRegression(), "continuous"),
    "poisson": (PoissonRegressor(alpha=0.1, tol=1e-12, max_iter=10_000), "counts"),
    "elasticnet": (
        ElasticNet(alpha=0.02, l1_ratio=0.5, tol=1e-14, max_iter=100_000),
        "continuous",
    ),
    "ridge_classifier": (RidgeClassifier(alpha=1.0), "multiclass"),
}


def _chunked(X, y, sw, rows=250):
    return (
        da.from_array(X, chunks=(rows, X.shape[1])),
        da.from_array(y, chunks=rows),
        da.from_array(sw, chunks=rows),
    )


def _close(expected, got, rtol=1e-10):
    got = got.compute() if hasattr(got, "compute") else got
    expected = np.asarray(expected)
    assert got.shape == expected.shape
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.nanmax(np.abs(got - expected)) <= rtol * scale


@pytest.fixture(scope="module")
def pairs():
    """(in-memory, dask) attached pairs per estimator, on dask's threads."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (est, kind) in ESTIMATORS.items():
            X, y, sw = _problem(kind)
            est = est.fit(X, y, sample_weight=sw)
            out[name] = (attach(est, X, y, sw), attach(est, *_chunked(X, y, sw)), X, y)
    return out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_chunked_equals_memory(pairs, name, method):
    memory, chunked, X, y = pairs[name]
    call = METHODS[method]
    try:
        expected = call(memory, X[:6], y[:6])
    except (NotImplementedError, ValueError) as exc:  # refused alike
        with pytest.raises(type(exc)):
            call(chunked, X[:6], y[:6])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # dask on np.* dispatch
        got = call(chunked, X[:6], y[:6])
    assert isinstance(got, da.Array)  # lazy, chunked like the training rows
    assert chunked.influence_state().data.X.chunks[0] in got.chunks
    _close(expected, got)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_top_influences_identical(pairs, name):
    memory, chunked, X, y = pairs[name]
    expected = memory.top_influences(X[:9], y[:9], k=5)
    got = chunked.top_influences(X[:9], y[:9], k=5)
    for key in ("helpful_indices", "harmful_indices"):
        np.testing.assert_array_equal(got[key], expected[key])
    for key in ("helpful_values", "harmful_values"):
        _close(expected[key], got[key])


def test_remove_effect_on_chunks(pairs):
    memory, chunked, X, y = pairs["logistic"]
    for method in ("influence", "newton"):
        a = memory.remove_effect([3, 250, 251, 899], method=method)
        b = chunked.remove_effect([3, 250, 251, 899], method=method)
        _close(a.coef_, b.coef_)
        assert b.influence_state().data.n_samples == X.shape[0] - 4


def test_sparse_chunks():
    """CSR inside the dask chunks (the linear-loss path)."""
    X, y, sw = _problem("binary", n=600, d=30)
    X[np.abs(X) < 1.2] = 0.0
    est = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=sw)
    Xd = da.from_array(X, chunks=(200, 30)).map_blocks(sp.csr_matrix)
    chunked = attach(
        est, Xd, da.from_array(y, chunks=200), da.from_array(sw, chunks=200)
    )
    memory = attach(est, sp.csr_matrix(X), y, sw)
    _close(memory.influence_loss(X[:5], y[:5]), chunked.influence_loss(X[:5], y[:5]))
    _close(memory.leverage(), chunked.leverage())
    top = chunked.top_influences(X[:5], y[:5], k=3)
    np.testing.assert_array_equal(
        top.harmful_indices, memory.top_influences(X[:5], y[:5], k=3).harmful_indices
    )


def test_dask_dataframe_and_fit():
    """dask DataFrames for the training data; a ready class fitted on dask
    arrays keeps them lazy."""
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y, sw = _problem("binary", n=400)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    est = LogisticRegression(tol=1e-12).fit(frame, y)
    chunked = attach(
        est,
        dd.from_pandas(frame, npartitions=3),
        dd.from_pandas(pd.Series(y), npartitions=3),
    )
    memory = attach(est, frame, y)
    _close(
        memory.influence_loss(frame[:4], y[:4]),
        chunked.influence_loss(frame[:4], y[:4]),
    )

    Xd, yd, swd = _chunked(X, y, sw, rows=150)
    with warnings.catch_warnings():  # scikit-learn's fit reads the arrays
        warnings.simplefilter("ignore", FutureWarning)
        fitted = InfluenceLogisticRegression(tol=1e-12).fit(Xd, yd, sample_weight=swd)
    reference = InfluenceLogisticRegression(tol=1e-12).fit(X, y, sample_weight=sw)
    _close(reference.self_influence(), fitted.self_influence())
    restored = pickle.loads(pickle.dumps(fitted))
    _close(reference.self_influence(), restored.self_influence())


def test_cg_on_chunks():
    """Above max_dense_params the client solves by CG with distributed Hessian
    products; per-row solves are refused with the reason."""
    X, y, sw = _problem("binary", n=500, d=12)
    est = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=sw)
    memory = attach(est, X, y, sw)
    with config_context(hessian_solver="cg", cg_tol=1e-13):
        chunked = attach(est, *_chunked(X, y, sw, rows=120))
        _close(
            memory.influence_loss(X[:4], y[:4]),
            chunked.influence_loss(X[:4], y[:4]),
            1e-8,
        )
        groups = np.arange(X.shape[0]) % 6  # group removal: CG solves too
        _close(memory.dfbeta(groups=groups), chunked.dfbeta(groups=groups), 1e-8)
        with pytest.raises(NotImplementedError, match="max_dense_params"):
            chunked.influence_params_


@pytest.mark.parametrize(
    "est, kind, match",
    [
        (LogisticRegression(class_weight="balanced"), "binary", "balanced"),
        (HuberRegressor(), "continuous", "HuberRegressor"),
        (LogisticRegression(C=np.inf), "binary", "C=np.inf"),
    ],
    ids=["balanced", "huber", "unpenalized-logistic"],
)
def test_refusals(est, kind, match):
    X, y, sw = _problem(kind, n=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    with pytest.raises(NotImplementedError, match=match):
        attach(est, *_chunked(X, y, sw)[:2])


def test_sgd_row_count_penalty():
    """A penalty that scales with the row count uses the whole set's count."""
    X, y, sw = _problem("continuous", n=400)
    est = SGDRegressor(alpha=0.01, max_iter=5000, tol=None, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = attach(est, X, y)
        chunked = attach(est, *_chunked(X, y, sw, rows=90)[:2])
    _close(memory.loo_params_change("newton"), chunked.loo_params_change("newton"))


def _cluster_data(n, d, chunk):
    rng = da.random.default_rng(7)
    X = rng.normal(size=(n, d), chunks=(chunk, d))
    w = np.linspace(-1, 1, d)
    y = (X @ w + rng.logistic(size=n, chunks=chunk) > 0).astype(np.int64)
    return X, y


def test_local_cluster_memory_below_data():
    """Processes with a memory limit below the data size: the rows are generated
    and reduced on the workers, and results equal the in-memory path."""
    distributed = pytest.importorskip("distributed")
    # an idle worker holds ~210 MB; 20,000-row chunks peak below 290 MB
    n, d, limit = 1_300_000, 39, 400e6
    X, y = _cluster_data(n, d, chunk=20_000)
    assert X.nbytes > limit
    X_mem, y_mem = dask.compute(X, y, scheduler="threads")
    est = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(
        X_mem, y_mem
    )
    memory = attach(est, X_mem, y_mem)
    X_test, y_test = X_mem[:20], y_mem[:20]
    # a result of n_test × n_rows lives on the workers until gathered: few tests
    expected_loss = memory.influence_loss(X_test[:3], y_test[:3])
    expected_lev = memory.leverage()
    expected_top = memory.top_influences(X_test, y_test, k=10)
    del memory, X_mem
    settings = {
        "distributed.worker.memory.target": False,
        "distributed.worker.memory.spill": False,
        "distributed.worker.memory.pause": False,
    }
    with (
        dask.config.set(settings),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster),
    ):
        chunked = attach(est, X, y)
        _close(expected_loss, chunked.influence_loss(X_test[:3], y_test[:3]))
        _close(expected_lev, chunked.leverage())
        top = chunked.top_influences(X_test, y_test, k=10)
    np.testing.assert_array_equal(top.harmful_indices, expected_top.harmful_indices)
    np.testing.assert_array_equal(top.helpful_indices, expected_top.helpful_indices)


@pytest.mark.parametrize(
    "method",
    [
        "studentized_residuals",
        "dffits",
        "covratio",
        "sigma_loo",
        "press_residuals",
        "press_statistic",
        "outlier_test",
        "summary_frame",
    ],
)
def test_residual_diagnostics_refuse_chunks(pairs, method):
    """They need every row's residual in memory: a clear refusal, not an
    internal TypeError/AttributeError."""
    _, chunked, _, _ = pairs["linear"]
    with pytest.raises(NotImplementedError, match="dask training data"):
        getattr(chunked, method)()


@pytest.mark.parametrize("method", ["cooks_distance", "dfbeta"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_group_diagnostics_on_chunks(pairs, name, method):
    """Removing whole groups works on the chunks and equals the in-memory
    result (contiguous groups, and groups spread over every chunk)."""
    memory, chunked, X, _ = pairs[name]
    n = X.shape[0]
    for groups in (np.arange(n) // 30, np.arange(n) % 7):
        expected = getattr(memory, method)(groups=groups)
        got = getattr(chunked, method)(groups=groups)
        _close(expected, got)
