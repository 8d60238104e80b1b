"""Global settings, in the style of :func:`sklearn.config_context`."""

import threading
from contextlib import contextmanager
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions, validate_params

_DEFAULTS = {
    "hessian_solver": "auto",
    "max_dense_params": 4000,
    "cg_tol": 1e-10,
    "cg_maxiter": 1000,
    "cg_preconditioner": "auto",
    "stationarity_threshold": 0.1,
    "influence_output": "default",
    "progress_bar": "auto",
    "output_dtype": "float64",
}
_local = threading.local()


def _settings():
    if not hasattr(_local, "settings"):
        _local.settings = dict(_DEFAULTS)
    return _local.settings


def get_config() -> dict:
    """Current skinfluence settings (a copy); see :func:`set_config`.

    Examples
    --------
    >>> from skinfluence import get_config
    >>> get_config()["hessian_solver"]
    'auto'
    """
    return dict(_settings())


@validate_params(
    {
        "hessian_solver": [StrOptions({"auto", "cholesky", "cg"}), None],
        "max_dense_params": [Interval(Integral, 1, None, closed="left"), None],
        "cg_tol": [Interval(Real, 0, 1, closed="neither"), None],
        "cg_maxiter": [Interval(Integral, 1, None, closed="left"), None],
        "cg_preconditioner": [StrOptions({"auto", "jacobi", "nystrom"}), None],
        "stationarity_threshold": [Interval(Real, 0, None, closed="both"), None],
        "influence_output": [StrOptions({"default", "pandas", "polars"}), None],
        "progress_bar": [StrOptions({"auto"}), "boolean", None],
        "output_dtype": [StrOptions({"float64", "float32"}), None],
    },
    prefer_skip_nested_validation=True,
)
def set_config(
    hessian_solver: str | None = None,
    max_dense_params: int | None = None,
    cg_tol: float | None = None,
    cg_maxiter: int | None = None,
    cg_preconditioner: str | None = None,
    stationarity_threshold: float | None = None,
    influence_output: str | None = None,
    progress_bar: str | bool | None = None,
    output_dtype: str | None = None,
) -> None:
    """Set skinfluence settings for this thread.

    Parameters
    ----------
    hessian_solver : {"auto", "cholesky", "cg"}, default=None
        How linear systems with the Hessian are solved. ``"cholesky"`` forms the
        dense Hessian once and factors it; ``"cg"`` never forms it and runs
        preconditioned conjugate gradients on Hessian-vector products (for
        models with many parameters, e.g. sparse text features); ``"auto"``
        (the default) uses Cholesky up to ``max_dense_params`` parameters.
    max_dense_params : int, default=None
        Largest number of parameters for which ``"auto"`` picks Cholesky (4000).
    cg_tol : float in (0, 1), default=None
        Relative residual ``‖H x − b‖ / ‖b‖`` at which CG stops (1e-10).
    cg_maxiter : int, default=None
        Iteration limit of CG (1000); a warning reports an unmet tolerance.
    cg_preconditioner : {"auto", "jacobi", "nystrom"}, default=None
        Preconditioner of CG. ``"jacobi"``: the Hessian's diagonal.
        ``"nystrom"``: a randomized Nyström approximation of the Hessian of
        rank 50 (three blocks of 50 Hessian products to build), which takes its
        largest eigenvalues out of the way: on text-like data (tf-idf of real
        text, frequent words) it cut the iterations 2.5-4.5x in our
        measurements; on designs without a few dominant directions (uniform
        random sparse) it cuts them about 1.5x, and its build and its cost per
        iteration eat most of that. ``"auto"`` (the default): Jacobi until the
        first solve of at least 50 right-hand sides at once (e.g.
        ``influence_loss`` of 50 test rows), where its build (three products
        of 50 columns) costs a few of the block's iterations; Nyström from then
        on. Results are the same to ``cg_tol`` either way.
    stationarity_threshold : float, default=None
        A ``NonStationaryWarning`` is issued when the Newton step to the minimum
        exceeds this multiple of the typical effect of removing one row (0.1).
    influence_output : {"default", "pandas", "polars"}, default=None
        The type of per-row and per-test results, like scikit-learn's
        ``transform_output``. ``"default"`` (the default): NumPy arrays, rows
        in training-data order. ``"pandas"``: DataFrames and Series labelled
        with the user's row labels (the index of the training ``X`` and of
        ``X_test`` when they are DataFrames, else positions ``0..n-1``), through
        :class:`InfluencePipeline` and :func:`attach` too. ``"polars"``: polars
        DataFrames with the labels in a column. See :doc:`/guide/notebooks`.
    progress_bar : {"auto", True, False}, default=None
        Progress bars (``tqdm.auto``: a widget in notebooks, text in terminals)
        on operations that can take more than a few seconds: refits,
        exact removal, conjugate-gradient solves, streamed ``top_influences``
        and leave-one-out batches. ``"auto"`` (the default) shows them in
        interactive output only (a notebook or a terminal, not a log file or
        a test run), after the operation has run for 2 seconds; ``True``
        always; ``False`` never. Silent when tqdm is not installed
        (``pip install "skinfluence[progress]"``).
    output_dtype : {"float64", "float32"}, default=None
        Type of the ``(n_test, n_train)`` results (:meth:`influence_loss`,
        :meth:`influence_prediction`, :meth:`influence_statistic`).
        ``"float32"`` halves their memory: every value is the float64 result
        rounded to float32 (relative error at most 2⁻²⁴ ≈ 6e-8), computed in
        row blocks of an eighth of scikit-learn's ``working_memory``; the
        solves stay in float64 ("float64"). In-memory linear models only:
        KernelRidge's dual form and dask training data return float64.

    Examples
    --------
    >>> from skinfluence import config_context, get_config
    >>> with config_context(hessian_solver="cg", cg_tol=1e-8):
    ...     get_config()["cg_tol"]
    1e-08
    """
    given = {
        "hessian_solver": hessian_solver,
        "max_dense_params": max_dense_params,
        "cg_tol": cg_tol,
        "cg_maxiter": cg_maxiter,
        "cg_preconditioner": cg_preconditioner,
        "stationarity_threshold": stationarity_threshold,
        "influence_output": influence_output,
        "progress_bar": progress_bar,
        "output_dtype": output_dtype,
    }
    _settings().update({k: v for k, v in given.items() if v is not None})


@contextmanager
def config_context(**settings):
    """Temporarily change skinfluence settings (see :func:`set_config`).

    Influence quantities are cached per fitted model together with the
    settings they were computed with; a change of settings recomputes them
    (except for ``influence_output`` and ``progress_bar``, which change only
    how results are returned and shown).

    Examples
    --------
    >>> from skinfluence import config_context, get_config
    >>> with config_context(influence_output="pandas"):
    ...     get_config()["influence_output"]
    'pandas'
    """
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _settings().clear()
        _settings().update(old)


def numeric_settings() -> dict:
    """The settings influence values depend on (the cache key of a fit)."""
    settings = get_config()
    del settings["influence_output"], settings["progress_bar"]
    return settings
