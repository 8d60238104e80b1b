"""Exact leave-one-out refits: the ground truth influence functions approximate."""

from __future__ import annotations

from contextlib import nullcontext
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ._adapters import adapter_for
from ._constraints import MatrixLike, validated
from ._progress import progress


def _refit_without(estimator, X, y, sample_weight, i, blas_threads=None):
    keep = np.arange(X.shape[0]) != i
    model = clone(estimator)
    kw = {} if sample_weight is None else {"sample_weight": sample_weight[keep]}
    limit = (
        nullcontext()
        if blas_threads is None
        else threadpool_limits(limits=blas_threads, user_api="blas")
    )
    with limit:
        model.fit(_safe_indexing(X, keep), _safe_indexing(y, keep), **kw)
    return adapter_for(model).theta()


@validated(
    {
        "estimator": [HasMethods(["fit", "get_params"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "sample_weight": ["array-like", None],
        "indices": ["array-like", None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose", None],
    },
    nested=True,
)
def loo_refit(
    estimator: BaseEstimator,
    X: MatrixLike,
    y: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    indices: ArrayLike | None = None,
    n_jobs: int | None = None,
    verbose: int | None = 0,
) -> np.ndarray:
    """Refit ``estimator`` once without each training row: exact leave-one-out.

    Each refit is ``clone(estimator).fit`` on the remaining rows, so the result
    is only as exact as the estimator's own convergence: for ground truth, pass
    an estimator with a tight tolerance (e.g. ``tol=1e-10``, ``solver="newton-cholesky"``).
    Refits run in parallel with :class:`sklearn.utils.parallel.Parallel`: they
    follow :func:`joblib.parallel_config` (a dask or ray backend spreads them
    over a cluster) and see the caller's scikit-learn configuration; with more
    than one worker, each refit uses one BLAS thread (no nested parallelism).

    Parameters
    ----------
    estimator : estimator
        A supported linear model (fitted or not; only its parameters are used).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    sample_weight : array-like of shape (n_samples,), default=None
    indices : array-like of int, default=None
        Rows to leave out one at a time; all rows by default.
    n_jobs : int, default=None
        Number of parallel jobs (``None`` means 1 unless in a joblib context).
    verbose : int, default=0
        joblib's text messages (10: a line every few refits). A progress bar
        counts the refits as they finish according to
        ``set_config(progress_bar=...)`` (in notebooks and terminals by default,
        with tqdm installed).

    Returns
    -------
    params : ndarray of shape (n_indices, n_params)
        ``θ = [coef_.ravel(), intercept_]`` of each refit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skinfluence import loo_refit
    >>> X = np.arange(10.0).reshape(5, 2); y = np.array([0.0, 1.0, 1.5, 3.0, 4.2])
    >>> loo_refit(LinearRegression(), X, y, indices=[0, 4]).shape
    (2, 3)
    """
    n = X.shape[0]
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    indices = np.arange(n) if indices is None else np.asarray(indices).ravel()
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"indices must be in [0, {n}).")
    blas_threads = 1 if effective_n_jobs(n_jobs) > 1 else None
    tasks = [
        delayed(_refit_without)(estimator, X, y, sw, int(i), blas_threads)
        for i in indices
    ]
    try:  # results as they finish, for the progress bar
        refits = Parallel(n_jobs=n_jobs, verbose=verbose or 0, return_as="generator")(
            tasks
        )
    except ValueError:  # a backend without generators (multiprocessing)
        refits = Parallel(n_jobs=n_jobs, verbose=verbose or 0)(tasks)
    rows = []
    with progress(len(indices), "leave-one-out refits", unit="refit") as bar:
        for row in refits:
            rows.append(row)
            bar.update()
    return np.array(rows).reshape(len(indices), -1)
