"""Give an already fitted scikit-learn model influence functions, without refitting."""

import copy
import inspect
import warnings

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from ._adapters import adapter_for, entry_for
from ._mixin import InfluenceMixin
from ._pipeline import InfluencePipeline
from ._state import (
    InfluenceState,
    NonStationaryWarning,
    TrainingData,
    is_dask_collection,
)

#: above this ratio (Newton step to the minimum / typical effect of removing one
#: row) the parameters are so far from the minimum on the given data that the
#: data are probably not what the model was fitted on. Measured: default-tol
#: lbfgs on scaled breast cancer 0.47; the right data minus a quarter of its
#: rows 6.7; a shifted window of the data 15-19.
WRONG_DATA_THRESHOLD = 2.0


def _influence_class(estimator):
    """The ready class of ``estimator``'s exact registered type (the mixin
    classes map to themselves)."""
    if isinstance(estimator, InfluenceMixin):
        return type(estimator)
    return entry_for(estimator, exact=True).ready_class()


def attach(estimator, X_train, y_train, sample_weight=None, **influence_params):
    """Influence-capable copy of an already fitted estimator, without refitting.

    The fitted attributes of ``estimator`` are copied into the matching
    ``Influence*`` class (same parameters), which keeps ``X_train``, ``y_train``
    and ``sample_weight`` as its training data. The original is not modified.

    Influence functions assume that the fitted parameters minimize the
    estimator's objective *on the data given here*. ``attach`` checks the
    number (and names) of features and the labels, and warns when the
    parameters are far from that minimum:

    - a :class:`NonStationaryWarning` when the fit stopped short (refit with a
      smaller ``tol`` for better influences);
    - a ``UserWarning`` when the Newton step to the minimum is more than
      ``WRONG_DATA_THRESHOLD`` (2) times the typical effect of removing one
      training row: the data (or weights) are then probably not the ones the
      model was fitted on, or its solver stopped very far from the minimum.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A fitted estimator of any class with an ``Influence*`` counterpart
        (the classes of :data:`skinfluence._adapters.REGISTRY`, e.g.
        ``LogisticRegression``, ``Ridge``, ``PoissonRegressor``, ``LinearSVC``,
        ``Lasso``), or a fitted :class:`~sklearn.pipeline.Pipeline` whose last
        step is one.
    X_train : {array-like, sparse matrix} of shape (n_samples, n_features)
        The training data the estimator was fitted on (raw data for a Pipeline).
    y_train : array-like of shape (n_samples,) or (n_samples, n_targets)
    sample_weight : array-like of shape (n_samples,), default=None
        The weights the estimator was fitted with.
    **influence_params
        Parameters the ``Influence*`` class has and the scikit-learn class has
        not, e.g. ``smooth_hinge_temperature=1e-3`` for a ``LinearSVC`` fitted
        with ``loss="hinge"``; the others keep their defaults.

    Returns
    -------
    attached : estimator or Pipeline
        For an estimator, an instance of the ``Influence*`` class. For a
        Pipeline, an :class:`InfluencePipeline` with deep copies of the fitted
        transformers, whose last step is attached to
        ``pipeline[:-1].transform(X_train)``; its influence methods take raw
        test data, e.g. ``pipe.influence_loss(X_test, y_test)``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from skinfluence import attach
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = attach(Ridge(alpha=0.1).fit(X, y), X, y)
    >>> type(model).__name__
    'InfluenceRidge'
    >>> model.influence_loss(X[:2], y[:2]).shape
    (2, 442)
    """
    if isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        head = copy.deepcopy(estimator[:-1])
        name, last = estimator.steps[-1]
        attached = attach(
            last, head.transform(X_train), y_train, sample_weight, **influence_params
        )
        return InfluencePipeline(
            head.steps + [(name, attached)],
            memory=estimator.memory,
            verbose=estimator.verbose,
        )
    cls = _influence_class(estimator)
    check_is_fitted(estimator)
    new = cls.__new__(cls)
    state = {k: v for k, v in vars(estimator).items() if not k.startswith("_influence")}
    new.__dict__.update(copy.deepcopy(state))
    _set_influence_params(new, estimator, influence_params)
    # checks feature count and names against the fit (reset=False); a dask
    # DataFrame's names are those of its empty pandas meta
    lazy = is_dask_collection(X_train)
    shown = X_train._meta if lazy and hasattr(X_train, "columns") else X_train
    validate_data(new, shown, reset=False, skip_check_array=True)
    if lazy:  # training rows on a cluster: stay lazy
        from ._dask import dask_arrays

        X_train, y_train, sample_weight = dask_arrays(X_train, y_train, sample_weight)
    n = _num_rows(X_train)
    if _num_rows(y_train) != n:
        raise ValueError(f"y_train has {_num_rows(y_train)} rows but X_train has {n}.")
    if sample_weight is not None and np.ndim(sample_weight) and len(sample_weight) != n:
        raise ValueError(
            f"sample_weight has {len(sample_weight)} entries but X_train has {n} rows."
        )
    adapter_for(new).check_supported()
    classes = getattr(new, "classes_", None)
    labels = np.unique(y_train)
    if is_dask_collection(labels):
        labels = labels.compute()
    if classes is not None and not np.array_equal(labels, classes):
        warnings.warn(
            f"y_train has labels {labels!r} but {cls.__name__} was fitted "
            f"on {classes!r}: this is probably not its training data.",
            UserWarning,
            stacklevel=2,
        )
    new._influence_state = InfluenceState(
        TrainingData.from_fit(X_train, y_train, sample_weight)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NonStationaryWarning)
        ratio = new.influence_state().stationarity.ratio
    if ratio > WRONG_DATA_THRESHOLD:
        warnings.warn(
            f"attach: the fitted parameters of {type(estimator).__name__} are far "
            f"from the minimum of its objective on the given data (the Newton step "
            f"to it is {ratio:.3g} times the typical effect of removing one row, "
            f"‖∇R(θ̂)‖ = {new.gradient_norm_:.3g}). X_train, y_train and "
            "sample_weight are probably not the data it was fitted on (or its "
            "solver stopped far short: then refit with a smaller tol and a larger "
            "max_iter); influences would describe a different model.",
            UserWarning,
            stacklevel=2,
        )
    else:
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
    return new


def _set_influence_params(new, estimator, given):
    """The ready class's own parameters: defaults, or the values given."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(type(new).__init__).parameters.items()
        if name not in vars(estimator) and p.default is not inspect.Parameter.empty
    }
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(
            f"attach: {type(new).__name__} has no parameters {unknown} beyond "
            f"those of {type(estimator).__name__}; it accepts {sorted(defaults)}."
        )
    for name, default in defaults.items():
        setattr(new, name, given.get(name, default))


def _num_rows(a):
    return a.shape[0] if hasattr(a, "shape") else len(a)
