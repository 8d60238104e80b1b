"""InfluenceMixin: influence functions on a fitted linear estimator."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import Bunch, gen_batches
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from . import _frames, _outputs
from ._config import config_context
from ._constraints import RESPONSE_METHOD, TEST_DATA, MatrixLike, Result, validated
from ._diagnostics import DiagnosticsMixin
from ._frames import labelled
from ._progress import progress
from ._removal import RemovalMixin
from ._state import (
    FittedInfluence,
    InfluenceState,
    NonStationaryWarning,
    TrainingData,
    row_batches,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["InfluenceMixin", "NonStationaryWarning"]

#: fitted attributes computed on first access (not at fit time)
COMPUTED_ATTRIBUTES = ("gradient_norm_", "newton_step_", "influence_params_")


class InfluenceMixin(RemovalMixin, DiagnosticsMixin):
    """Influence functions (Koh & Liang, 2017) for a scikit-learn linear model.

    Put it first in the bases of a supported estimator (every class in
    :data:`skinfluence._adapters.REGISTRY`: the ready ``Influence*`` classes).
    ``fit`` takes exactly the arguments of the estimator's own ``fit`` and
    keeps a private float64 copy of the training data; influence quantities
    are computed on first use and memoized for the current parameters and
    settings of :func:`set_config` (:class:`~skinfluence._state.InfluenceState`).

    With ``F(θ) = Σ_i s_i L(z_i, θ) + Ω(θ)`` the estimator's exact training
    objective (``s_i`` = sample weight × class weight), ``S = Σ_i s_i`` and
    ``H = ∇²(F/S)`` at the fitted ``θ̂ = [coef_.ravel(), intercept_]``:

    - ``influence_params_[i] = S ∂θ̂/∂s_i = -H⁻¹ g_i``, with ``g_i = ∇L(z_i, θ̂)``
      (Koh & Liang's formula) where the penalty does not depend on the weights and
      ``g_i = ∇L(z_i, θ̂) + ∇Ω_mean(θ̂)`` where it scales with ``S`` (Poisson,
      Gamma, Tweedie, Lasso, ElasticNet; ``Ω_mean`` the penalty of
      scikit-learn's mean-form objective);
    - removing row ``i`` moves ``θ̂`` by about ``-(s_i/S) influence_params_[i]``;
    - ``influence_loss(X_test, y_test)[j, i] = ∇L(z_test_j, θ̂)ᵀ influence_params_[i]``:
      positive means up-weighting row ``i`` raises test loss ``j``.

    Displaying or printing a fitted model computes nothing: scikit-learn's
    HTML representation (and any tool that enumerates attributes with
    :func:`dir`, such as notebook variable explorers) reads every attribute
    ending in ``_``, so ``dir()`` lists ``influence_params_``,
    ``gradient_norm_`` and ``newton_step_`` only once they have been computed
    for the current parameters and settings. Accessing them computes them.

    See :doc:`/developers` for the architecture.
    """

    def __init_subclass__(cls, **kwargs):
        # before scikit-learn's metadata requester reads fit's signature
        if "fit" not in vars(cls):
            cls.fit = _fit_with_signature_of(cls)
        super().__init_subclass__(**kwargs)

    def fit(self, X, y, *args, **kwargs):
        """Fit the estimator (every argument of its ``fit``) and keep the data."""
        return _fit_and_keep(self, InfluenceMixin, X, y, args, kwargs)

    def influence_state(self) -> FittedInfluence:
        """The :class:`~skinfluence._state.FittedInfluence` of this fitted model.

        Built on first use (objective, factored Hessian, stationarity check) and
        kept until the parameters or :func:`set_config` settings change. It is
        what every influence method uses; it is public for extensions (see
        :doc:`/developers`), not needed for everyday use.

        Returns
        -------
        fitted : FittedInfluence
        """
        check_is_fitted(self)
        state = getattr(self, "_influence_state", None)
        if state is None:
            raise AttributeError(
                f"{type(self).__name__} has no training data: fit it first (or "
                "use skinfluence.attach on a model fitted with scikit-learn)."
            )
        return state.resolve(self)

    def __dir__(self):
        return visible_attributes(self, uncomputed_attributes(self))

    # -- public API ----------------------------------------------------------------
    @property
    def gradient_norm_(self) -> float:
        """Euclidean norm of the full gradient of the risk ``∇R(θ̂)`` at the fit.

        Zero at an exact minimum. A :class:`NonStationaryWarning` is issued when
        the Newton step ``-H⁻¹∇R(θ̂)`` is larger than ``stationarity_threshold``
        (0.1, see :func:`set_config`) times the root-mean-square effect of
        removing one training row (estimated on up to 256 evenly spaced rows).

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sklearn.preprocessing import scale
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = scale(X)
        >>> tight = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-12).fit(X, y)
        >>> tight.gradient_norm_ < 1e-10
        True
        """
        return self.influence_state().stationarity.gradient_norm

    @property
    def newton_step_(self) -> np.ndarray:
        """``-H⁻¹ ∇R(θ̂)``: how far the fit is from the minimum, in parameter space.

        This is the part of a Newton step that does not depend on any training
        row (Koh & Liang 2017, appendix B).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> float(abs(model.newton_step_).max()) < 1e-8  # a direct solver: at the minimum
        True
        """
        return self.influence_state().stationarity.newton_step

    @property
    def influence_params_(self) -> Result:
        """Influence of up-weighting each training row on the parameters.

        Array of shape (n_train, n_params): row ``i`` is ``S ∂θ̂/∂s_i``, where
        ``s_i`` is row ``i``'s effective weight and ``S = Σ s_i``. That is
        Koh & Liang's ``I_up,params(z_i) = -H⁻¹ ∇_θ L(z_i, θ̂)`` when the penalty
        does not depend on the weights, and ``-H⁻¹(∇_θ L(z_i, θ̂) + ∇Ω_mean(θ̂))``
        when it scales with ``S`` (Poisson, Gamma, Tweedie, Lasso, ElasticNet).
        Columns follow
        ``θ = [coef_.ravel(), intercept_]`` (C order; class-major for
        multinomial models; intercept entries only with ``fit_intercept=True``).
        Removing row ``i`` changes ``θ̂`` by about ``-(s_i/S) influence_params_[i]``.

        Singular Hessians: along the exact flat directions of the multinomial
        model (a common shift of all classes' intercepts and, with ``C=np.inf``,
        of each feature's coefficients) and along directions left undetermined
        by collinear columns, the minimum-norm solution is returned; per-sample
        gradients have no component there, so predictions are unaffected.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.influence_params_.shape  # 442 rows, 10 coefficients + intercept
        (442, 11)
        """
        values = self.influence_state().influence_params()
        if _frames.pandas_output():
            return _frames.label(self, values, "influence_params_")
        return values

    @validated({"labels": ["array-like"]})
    def label_training_rows(self, labels: ArrayLike) -> InfluenceMixin:
        """Name the training rows with the user's labels, e.g. the index of the
        DataFrame a pipeline's transformers turned into an array.

        :class:`InfluencePipeline` and :func:`attach` call it; rows fitted from
        a DataFrame are labelled with its index already.

        Parameters
        ----------
        labels : array-like of shape (n_train,)

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        data = vars(self)["_influence_state"].data
        labels = _frames.require_pandas().Index(labels)
        if len(labels) != data.n_samples:
            raise ValueError(
                f"labels has {len(labels)} entries but {type(self).__name__} has "
                f"{data.n_samples} training rows."
            )
        data.index = labels
        return self

    @validated({**TEST_DATA, "max_bytes": [Interval(Real, 0, None, closed="left")]})
    @labelled("influence_loss")
    def influence_loss(
        self,
        X_test: MatrixLike,
        y_test: ArrayLike | None = None,
        max_bytes: float = _outputs.MAX_BYTES,
    ) -> Result:
        """Influence of up-weighting each training row on each test loss.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets), default=None
            True targets. For classifiers ``None`` uses the predicted labels;
            regressors require it. Must be finite and in the loss's domain
            (labels seen in training, counts ``≥ 0``, Gamma targets ``> 0``).
        max_bytes : float, default=1e9
            Refuse (``ValueError``) when the result, ``8 · n_test · n_train``
            bytes, would be larger; :meth:`top_influences` streams instead.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train)
            ``∇L(z_test_j)ᵀ influence_params_[i]`` (Koh & Liang's
            ``I_up,loss = -∇L(z_test_j)ᵀ H⁻¹ ∇L(z_i)`` where the penalty does not
            scale with the weights). Positive
            means up-weighting training row ``i`` raises test loss ``j`` (a harmful
            row). Removing row ``i`` changes test loss ``j`` by about
            ``-(s_i/S) influence[j, i]``. The test loss is the per-sample data
            term of training, unweighted (log-loss, squared error).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> influence = model.influence_loss(X[:2], y[:2])
        >>> influence.shape
        (2, 442)
        """
        fitted = self.influence_state()
        X_test, Y_test = fitted.test_data(X_test, y_test)
        _outputs.check_result_size(
            "influence_loss",
            (X_test.shape[0], fitted.n_samples),
            max_bytes,
            "top_influences() streams over the same matrix keeping the k largest "
            "per test row; or pass the test rows in batches.",
            lazy=fitted.distributed,
        )
        return fitted.influence_on(fitted.test_gradients(X_test, Y_test).T)

    @validated(
        {
            **TEST_DATA,
            "k": [Interval(Integral, 1, None, closed="left")],
            "as_frame": ["boolean", None],
        }
    )
    def top_influences(
        self,
        X_test: MatrixLike,
        y_test: ArrayLike | None = None,
        k: int = 5,
        as_frame: bool | None = None,
    ) -> Bunch | pandas.DataFrame:
        """Most helpful and most harmful training rows for each test point.

        Streams over blocks of test points and training rows sized by
        scikit-learn's ``working_memory``, keeping only the running top ``k``:
        the full ``(n_test, n_train)`` matrix is never held.

        Parameters
        ----------
        X_test, y_test : as in :meth:`influence_loss`
        k : int, default=5
        as_frame : bool, default=None
            ``None``: a frame with ``set_config(influence_output="pandas")``,
            else the arrays. ``True``: a tidy :class:`pandas.DataFrame`: one row per test
            row, kind (``"helpful"``/``"harmful"``) and rank, with the training
            row's label in the training index, its influence, the predicted
            change of the test loss if it is removed (``-(s_i/S)·influence``)
            and its training label.

        Returns
        -------
        result : :class:`~sklearn.utils.Bunch`
            ``helpful_indices``, ``helpful_values``: the ``k`` most negative
            influences per test point (rows whose up-weighting lowers its loss),
            most helpful first; ``harmful_indices``, ``harmful_values``: the ``k``
            most positive, most harmful first. Arrays of shape (n_test, k),
            holding positions in the training data.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = InfluenceLogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
        >>> top = model.top_influences(X[:2], y[:2], k=3)
        >>> top.harmful_indices.shape
        (2, 3)
        """
        fitted = self.influence_state()
        objective = fitted.objective
        X_raw = X_test
        if as_frame is None:
            as_frame = _frames.pandas_output()
        X_test, Y_test = fitted.test_data(X_test, y_test)
        n, m = objective.n_samples, X_test.shape[0]
        k = int(min(k, n))
        if fitted.distributed:  # per-chunk candidates merged in a tree
            top = fitted.top_influences(X_test, Y_test, k)
            return _frames.top_influences_frame(self, X_raw, top) if as_frame else top
        low_i, low_v = np.empty((m, k), dtype=np.intp), np.empty((m, k))
        high_i, high_v = np.empty((m, k), dtype=np.intp), np.empty((m, k))
        width = max(1, int(np.sqrt(n)))  # test points per block
        bar = progress(m, "top influences", unit="test row")
        for tests in gen_batches(m, width):
            G_test = fitted.test_gradients(X_test[tests], Y_test[tests])
            A = -fitted.solve(G_test.T)
            best = None
            # half of working_memory per block: its comparisons need some more
            for rows in row_batches(n, 2 * A.shape[1] * objective.n_outputs):
                block = objective.influence_gradient_product(fitted.theta, A, rows)
                index = np.arange(n)[rows]
                best = _merge_top(best, np.ascontiguousarray(block.T), index, k)
                del block  # not alive while the next one is computed
            low_i[tests], low_v[tests], high_i[tests], high_v[tests] = best
            bar.update(tests.stop - tests.start)
        bar.close()
        top = Bunch(
            helpful_indices=low_i,
            helpful_values=low_v,
            harmful_indices=high_i,
            harmful_values=high_v,
        )
        return _frames.top_influences_frame(self, X_raw, top) if as_frame else top

    @validated(TEST_DATA)
    def influence_frame(
        self, X_test: MatrixLike, y_test: ArrayLike | None = None
    ) -> pandas.DataFrame:
        """:meth:`influence_loss` as a :class:`pandas.DataFrame`.

        Rows are labelled with ``X_test``'s index (when it is a DataFrame) and
        columns with the training data's index (when it was a DataFrame).

        Returns
        -------
        frame : pandas.DataFrame of shape (n_test, n_train)

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
        >>> model = InfluenceRidge().fit(X.iloc[10:], y.iloc[10:])
        >>> frame = model.influence_frame(X.iloc[:3], y.iloc[:3])
        >>> frame.shape, frame.columns[0]
        ((3, 432), 10)
        """
        with config_context(influence_output="pandas"):
            return self.influence_loss(X_test, y_test)

    @validated(
        {
            "X_test": TEST_DATA["X_test"],
            "response_method": RESPONSE_METHOD,
            "max_bytes": [Interval(Real, 0, None, closed="left")],
        }
    )
    @labelled("influence_prediction")
    def influence_prediction(
        self,
        X_test: MatrixLike,
        response_method: str = "auto",
        max_bytes: float = _outputs.MAX_BYTES,
    ) -> Result:
        """Influence of up-weighting each training row on each model output.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        response_method : {"auto", "predict_proba", "decision_function", "predict"}
            ``"auto"``: ``predict_proba`` for classifiers, ``predict`` for regressors.
        max_bytes : float, default=1e9
            Refuse (``ValueError``) when the result, ``8 · n_test · n_outputs ·
            n_train`` bytes, would be larger.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train) or (n_test, n_outputs, n_train)
            ``∇f(x_test)ᵀ influence_params_[i]`` for each output ``f`` (columns of
            the response in scikit-learn's order, e.g. ``classes_``; a binary
            ``predict_proba`` has two). Removing row ``i`` changes an output by
            about ``-(s_i/S) influence[..., i]``. One output: 2-D. A multinomial
            ``decision_function`` is taken with intercepts summing to zero, as
            scikit-learn fits them (a common shift changes no probability).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skinfluence import InfluenceLogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> model = InfluenceLogisticRegression(solver="newton-cholesky").fit(X, y)
        >>> model.influence_prediction(X[:2]).shape
        (2, 3, 150)
        """
        return _outputs.influence_prediction(self, X_test, response_method, max_bytes)

    @validated({"func": [callable], "grad": [callable, None]})
    @labelled("influence_statistic")
    def influence_statistic(
        self,
        func: Callable[[np.ndarray], float],
        grad: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Result:
        """Influence of up-weighting each training row on a function of ``θ``.

        Parameters
        ----------
        func : callable
            ``func(theta) -> float`` with ``theta = [coef_.ravel(), intercept_]``;
            :func:`mean_loss` and :func:`prediction_gap` build common ones.
        grad : callable, default=None
            ``grad(theta) -> ndarray (n_params,)``. If None, ``func.gradient`` is
            used when it exists, else central finite differences (with a
            ``UserWarning``).

        Returns
        -------
        influence : ndarray of shape (n_train,)
            ``∇f(θ̂)ᵀ influence_params_[i]``; removing row ``i`` changes ``f`` by
            about ``-(s_i/S) influence[i]``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> bmi = model.influence_statistic(lambda t: t[2], grad=lambda t: np.eye(11)[2])
        >>> np.allclose(bmi, model.influence_params_[:, 2])  # coef_[2] is θ[2]
        True
        """
        return _outputs.influence_statistic(self, func, grad)

    @validated({**TEST_DATA, "max_bytes": [Interval(Real, 0, None, closed="neither")]})
    @labelled("influence_perturbation")
    def influence_perturbation(
        self,
        X_test: MatrixLike,
        y_test: ArrayLike | None = None,
        max_bytes: float = _outputs.MAX_BYTES,
    ) -> Result:
        """Influence of moving each training row's features on each test loss.

        Koh & Liang's ``I_pert,loss(z_i, z_test_j) = -∇L(z_test_j)ᵀ H⁻¹ ∇_x∇_θ L(z_i, θ̂)``.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets), default=None
            As in :meth:`influence_loss`.
        max_bytes : float, default=1e9
            Refuse (``ValueError``) when the result, ``8 · n_test · n_train ·
            n_features`` bytes, would be larger.

        Returns
        -------
        influence : ndarray of shape (n_test, n_train, n_features)
            Moving training row ``i``'s features by a small ``δ`` changes test loss
            ``j`` by about ``(s_i/S) influence[j, i] @ δ``.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.influence_perturbation(X[:3], y[:3]).shape
        (3, 442, 10)
        """
        return _outputs.influence_perturbation(self, X_test, y_test, max_bytes)


def uncomputed_attributes(estimator):
    """The names of :data:`COMPUTED_ATTRIBUTES` that accessing would compute now.

    Never computes, warns or raises: what scikit-learn's display (which calls
    :func:`inspect.getmembers`, hence ``dir``) may be shown.
    """
    state = vars(estimator).get("_influence_state")
    fitted = None if state is None else state.current(estimator)
    if fitted is None:
        return set(COMPUTED_ATTRIBUTES)
    hidden = set() if fitted.has_influence_params() else {"influence_params_"}
    if not fitted.stationarity.has_newton_step():  # conjugate gradients: on first use
        hidden.add("newton_step_")
    return hidden


def visible_attributes(obj, hidden):
    """``dir(obj)`` without ``hidden``, as scikit-learn's ``BaseEstimator.__dir__``
    filters it (names ``hasattr`` finds), without evaluating the hidden names."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        return sorted(
            name
            for name in object.__dir__(obj)
            if name not in hidden and hasattr(obj, name)
        )


def _fit_and_keep(estimator, owner, X, y, args, kwargs):
    """``fit`` of the estimator class after ``owner`` in the MRO, with every
    argument passed through; then keep the training data and its weights."""
    base_fit = super(owner, estimator).fit
    bound = inspect.signature(base_fit).bind(X, y, *args, **kwargs)
    sample_weight = bound.arguments.get("sample_weight")
    try:
        base_fit(X, y, *args, **kwargs)
    except ZeroDivisionError as error:
        cv = estimator.get_params().get("cv", "absent")
        if sample_weight is None or cv == "absent":
            raise
        base = base_fit.__qualname__.split(".")[0]
        raise ValueError(
            f"{type(estimator).__name__}: a fold of its cross-validation (cv={cv!r}) "
            f"holds only rows of zero sample weight, and scikit-learn's {base} "
            f"cannot weigh that fold ({error}; a plain {base} refuses the same "
            "data). Drop the rows of zero weight before fitting, or pass a cv "
            "splitter whose every fold holds a row of positive weight (e.g. "
            "KFold(shuffle=True, random_state=0))."
        ) from error
    estimator._influence_state = InfluenceState(
        TrainingData.from_fit(X, y, sample_weight)
    )
    return estimator


def _fit_with_signature_of(cls):
    """A ``fit`` for ``cls`` with the exact signature of its estimator's ``fit``
    (so metadata routing sees ``sample_weight`` and every other argument)."""
    base = next(
        c for c in cls.__mro__[1:] if "fit" in vars(c) and c is not InfluenceMixin
    )
    signature = inspect.signature(base.fit)

    def fit(self, X, y, *args, **kwargs):
        return _fit_and_keep(self, InfluenceMixin, X, y, args, kwargs)

    fit.__signature__ = signature
    fit.__doc__ = (
        f"Fit as :meth:`{base.__module__}.{base.__qualname__}.fit` (same "
        "arguments) and keep the training data for influence computations.\n\n"
        "Returns\n-------\nself : object\n"
    )
    fit.__qualname__ = f"{cls.__qualname__}.fit"
    return fit


def _merge_top(best, block, index, k):
    """Running ``k`` smallest and largest of each row of ``block`` (m, b), sorted."""
    if best is None:  # a first block of columns, fully sorted, gives thresholds
        head = max(4096, 2 * k)
        labels = np.broadcast_to(index[:head], block[:, :head].shape)
        low_v, low_i = _select(block[:, :head], labels, k)
        high_v, high_i = _select(-block[:, :head], labels, k)
        best = low_i, low_v, high_i, -high_v
        block, index = block[:, head:], index[head:]
        if block.shape[1] == 0:
            return best
    low_i, low_v, high_i, high_v = best
    if low_v.shape[1] < k:  # fewer than k so far: everything is a candidate
        low_c = high_c = block, np.broadcast_to(index, block.shape)
    else:
        # only values beating the row's current k-th enter (a comparison per value)
        low_c = _compact(block, block < low_v[:, -1:], index, np.inf)
        high_c = _compact(block, block > high_v[:, -1:], index, -np.inf)
    low_v, low_i = _select(
        np.hstack([low_v, low_c[0]]), np.hstack([low_i, low_c[1]]), k
    )
    high_v, high_i = _select(
        -np.hstack([high_v, high_c[0]]), np.hstack([high_i, high_c[1]]), k
    )
    return low_i, low_v, high_i, -high_v


def _compact(block, mask, index, fill):
    """The masked entries of each row of ``block`` packed to the left, padded with
    ``fill``; and their labels."""
    counts = mask.sum(axis=1)
    rows, cols = np.nonzero(mask)
    pos = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.full((block.shape[0], int(counts.max(initial=0))), fill)
    labels = np.full(values.shape, -1, dtype=np.intp)
    values[rows, pos] = block[rows, cols]
    labels[rows, pos] = index[cols]
    return values, labels


def _select(values, labels, k):
    """The ``k`` smallest of each row, in increasing order, with their labels."""
    if values.shape[1] > k:
        part = np.argpartition(values, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(values, part, axis=1)
        labels = np.take_along_axis(labels, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1), np.take_along_axis(
        labels, order, axis=1
    )
