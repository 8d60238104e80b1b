"""Global settings, in the style of :func:`sklearn.config_context`."""

import threading
from contextlib import contextmanager

_DEFAULTS = {
    "hessian_solver": "auto",
    "max_dense_params": 4000,
    "cg_tol": 1e-10,
    "cg_maxiter": 1000,
    "stationarity_threshold": 0.1,
    "output_dtype": "float64",
}
_local = threading.local()


def _settings():
    if not hasattr(_local, "settings"):
        _local.settings = dict(_DEFAULTS)
    return _local.settings


def get_config():
    """Current skinfluence settings (a copy); see :func:`set_config`.

    Examples
    --------
    >>> from skinfluence import get_config
    >>> get_config()["hessian_solver"]
    'auto'
    """
    return dict(_settings())


def set_config(
    hessian_solver=None,
    max_dense_params=None,
    cg_tol=None,
    cg_maxiter=None,
    stationarity_threshold=None,
    output_dtype=None,
):
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
    cg_tol : float, default=None
        Relative residual ``‖H x − b‖ / ‖b‖`` at which CG stops (1e-10).
    cg_maxiter : int, default=None
        Iteration limit of CG (1000); a warning reports an unmet tolerance.
    stationarity_threshold : float, default=None
        A ``NonStationaryWarning`` is issued when the Newton step to the minimum
        exceeds this multiple of the typical effect of removing one row (0.1).
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
        "stationarity_threshold": stationarity_threshold,
        "output_dtype": output_dtype,
    }
    if hessian_solver is not None and hessian_solver not in ("auto", "cholesky", "cg"):
        raise ValueError(
            f"hessian_solver must be 'auto', 'cholesky' or 'cg', got {hessian_solver!r}."
        )
    if output_dtype is not None and output_dtype not in ("float64", "float32"):
        raise ValueError(
            f"output_dtype must be 'float64' or 'float32', got {output_dtype!r}."
        )
    _settings().update({k: v for k, v in given.items() if v is not None})


@contextmanager
def config_context(**settings):
    """Temporarily change skinfluence settings (see :func:`set_config`).

    Influence quantities are cached per fitted model together with the
    settings they were computed with; a change of settings recomputes them.
    """
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _settings().clear()
        _settings().update(old)
