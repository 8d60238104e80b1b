"""Labelled results: the ``influence_output="pandas"`` setting of :func:`set_config`.

Every per-row and per-test result names its axes (:data:`AXES`); with pandas
output its rows and columns carry the user's labels: the index of the training
``X`` and of ``X_test`` when they are DataFrames, and positions ``0..n-1``
only when the data had no labels. An :class:`InfluencePipeline` labels with the
raw data it was given, not with what its transformers returned.
"""

import functools
import inspect

import numpy as np

from ._config import config_context, get_config

#: axis names of each labelled result (a trailing "output" axis is dropped
#: when the result has a single output)
AXES = {
    "influence_params_": ("train_row", "param"),
    "influence_loss": ("test_row", "train_row"),
    "loo_loss_change": ("test_row", "train_row"),
    "influence_prediction": ("test_row", "output", "train_row"),
    "influence_perturbation": ("test_row", "train_row", "feature"),
    "influence_statistic": ("train_row",),
    "loo_params_change": ("train_row", "param"),
    "dfbeta": ("train_row", "param"),
    "dfbetas": ("train_row", "param"),
    "leverage": ("train_row", "output"),
    "cooks_distance": ("train_row", "output"),
    "self_influence": ("train_row",),
    "loo_residuals": ("train_row", "output"),
    "studentized_residuals": ("train_row", "output"),
    "sigma_loo": ("train_row", "output"),
    "dffits": ("train_row", "output"),
    "covratio": ("train_row", "output"),
    "press_residuals": ("train_row", "output"),
}


def require_pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is a test dependency
        raise ImportError(
            'Labelled results need pandas: pip install "skinfluence[pandas]"'
        ) from error
    return pandas


def pandas_output():
    """Whether results are to be labelled (``set_config(influence_output="pandas")``)."""
    return get_config()["influence_output"] == "pandas"


def row_labels(X):
    """The row labels of ``X`` (a pandas DataFrame's or Series' index), else
    ``None`` (arrays, sparse matrices and polars frames have none)."""
    return X.index if hasattr(X, "iloc") and hasattr(X, "index") else None


def test_index(X_test, n):
    """:func:`row_labels` of ``X_test``, else positions ``0..n-1``."""
    labels = row_labels(X_test)
    return np.arange(n) if labels is None else labels


def param_names(estimator, n_params):
    """Names of ``θ = [coef_.ravel(), intercept_]``: feature names (or ``x0``...),
    prefixed with the output for several outputs, then the intercepts; positions
    when the layout is another (e.g. Huber's scale)."""
    features = getattr(estimator, "feature_names_in_", None)
    d = getattr(estimator, "n_features_in_", 0)
    features = [f"x{j}" for j in range(d)] if features is None else list(features)
    coef = np.asarray(getattr(estimator, "coef_", np.empty(0)))
    intercept = np.atleast_1d(getattr(estimator, "intercept_", 0.0))
    outputs = 1 if coef.ndim == 1 else coef.shape[0]
    names = (
        features
        if outputs == 1
        else [f"{k}:{f}" for k in range(outputs) for f in features]
    )
    if getattr(estimator, "fit_intercept", False):
        names += (
            ["intercept"]
            if intercept.size == 1
            else [f"{k}:intercept" for k in range(intercept.size)]
        )
    return names if len(names) == n_params else list(range(n_params))


def label(estimator, values, name, X_test=None, groups=None):
    """``values`` of result ``name`` as a pandas Series or DataFrame; with
    ``groups``, one row per group (``numpy.unique(groups)``) instead of per
    training row."""
    pd = require_pandas()
    values = np.asarray(values)
    axes = AXES[name]
    if values.ndim < len(axes):  # a single output
        axes = tuple(a for a in axes if a != "output")
    fitted = estimator.influence_state()
    last = fitted.adapter.estimator
    labels = {
        "train_row": lambda n: fitted.data.labels(),
        "test_row": lambda n: test_index(X_test, n),
        "param": lambda n: param_names(last, n),
        "feature": lambda n: getattr(last, "feature_names_in_", np.arange(n)),
        "output": lambda n: _output_labels(last, n),
    }
    if groups is not None:
        labels["group"] = lambda n: np.unique(np.asarray(groups))
        axes = tuple("group" if a == "train_row" else a for a in axes)
    index = [
        pd.Index(labels[a](s), name=a) for a, s in zip(axes, values.shape, strict=True)
    ]
    if values.ndim == 1:
        return pd.Series(values, index=index[0], name=name)
    if values.ndim == 2:
        return pd.DataFrame(values, index=index[0], columns=index[1])
    rows = pd.MultiIndex.from_product(index[:2])
    return pd.DataFrame(
        values.reshape(-1, values.shape[2]), index=rows, columns=index[2]
    )


def _output_labels(estimator, n):
    """``classes_`` when there is one output per class, else positions."""
    classes = getattr(estimator, "classes_", None)
    return classes if classes is not None and len(classes) == n else np.arange(n)


def labelled(name):
    """Decorator: the method's result labelled when pandas output is on. The
    method itself runs with array output (so nested calls stay arrays)."""

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if not pandas_output():
                return method(self, *args, **kwargs)
            given = signature.bind(self, *args, **kwargs).arguments
            with config_context(influence_output="default"):
                values = method(self, *args, **kwargs)
            return label(self, values, name, given.get("X_test"), given.get("groups"))

        return wrapper

    return decorate


def computed_with_arrays(method):
    """Decorator for a method returning its own frame: the methods it calls
    return arrays whatever the ``influence_output`` setting."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with config_context(influence_output="default"):
            return method(self, *args, **kwargs)

    return wrapper


def top_influences_frame(estimator, X_test, top):
    """Tidy frame of a ``top_influences`` result: one row per (test row, kind,
    rank), with the user's labels of the test and training rows."""
    pd = require_pandas()
    fitted = estimator.influence_state()
    share = fitted.removal_shares()
    train_index = np.asarray(fitted.data.labels())
    labels = np.asarray(fitted.data.y)
    m, k = top.helpful_indices.shape
    tests = np.asarray(test_index(X_test, m))
    parts = []
    for kind, idx, val in [
        ("helpful", top.helpful_indices, top.helpful_values),
        ("harmful", top.harmful_indices, top.harmful_values),
    ]:
        parts.append(
            pd.DataFrame(
                {
                    "test_row": np.repeat(tests, k),
                    "kind": kind,
                    "rank": np.tile(np.arange(1, k + 1), m),
                    "train_row": train_index[idx.ravel()],
                    "influence": val.ravel(),
                    "loss_change_if_removed": -share[idx.ravel()] * val.ravel(),
                    "label": list(labels[idx.ravel()]),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
