"""loo_refit: exact leave-one-out refits, serial and parallel."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from skinfluence import InfluenceRidge, loo_refit


def test_loo_refit_matches_manual_refits_and_is_parallel_safe():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:60], y[:60]
    sw = np.linspace(0.5, 2.0, 60)
    model = InfluenceRidge(alpha=0.3)
    rows = [0, 7, 59]
    serial = loo_refit(model, X, y, sample_weight=sw, indices=rows)
    for k, i in enumerate(rows):
        keep = np.arange(60) != i
        ref = Ridge(alpha=0.3).fit(X[keep], y[keep], sample_weight=sw[keep])
        np.testing.assert_allclose(
            serial[k], np.r_[ref.coef_, ref.intercept_], rtol=1e-12
        )
    with parallel_config(backend="threading", n_jobs=2):
        threaded = loo_refit(model, X, y, sample_weight=sw, indices=rows)
    np.testing.assert_allclose(threaded, serial, rtol=1e-12)
    assert loo_refit(model, X, y).shape == (60, 11)


def test_loo_refit_rejects_out_of_range_rows():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="indices"):
        loo_refit(Ridge(), X[:10], y[:10], indices=[10])


def test_demo_runs_and_influence_tracks_refits(capsys):
    from skinfluence._demo import main

    pearson, spearman = main()
    out = capsys.readouterr().out
    assert "most harmful training rows" in out and "Spearman" in out
    # measured 0.966 / 0.999 (400 exact refits)
    assert pearson > 0.9 and spearman > 0.98


class _RecordsBlasThreads(InfluenceRidge):
    """Ridge writing the BLAS threads its fit ran with (threadpoolctl) to a file."""

    def __init__(self, alpha=1.0, record_to=None):
        super().__init__(alpha=alpha)
        self.record_to = record_to

    def fit(self, X, y, sample_weight=None):
        from threadpoolctl import threadpool_info

        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        with open(self.record_to, "a") as f:
            f.write(f"{max(blas)}\n")
        return super().fit(X, y, sample_weight=sample_weight)


def test_parallel_refits_use_one_blas_thread_each(tmp_path):
    """No nested parallelism: in joblib's worker processes each refit runs with
    one BLAS thread (the multiprocessing backend, unlike loky, sets no limit of
    its own); a serial loop leaves the BLAS threads as they are."""
    from threadpoolctl import threadpool_info

    X, y = load_diabetes(return_X_y=True)
    outer = max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    loo_refit(_RecordsBlasThreads(record_to=str(serial)), X[:30], y[:30], indices=[0])
    assert serial.read_text().split() == [str(outer)]
    model = _RecordsBlasThreads(record_to=str(parallel))
    with parallel_config(backend="multiprocessing"):
        loo_refit(model, X[:30], y[:30], indices=[0, 1, 2], n_jobs=2)
    assert parallel.read_text().split() == ["1", "1", "1"]
