"""Fitted scikit-learn estimator → exact training objective, declaratively.

An adapter states one estimator family's facts (the user guide's table gives
the objectives, :doc:`/developers` the architecture): its per-sample loss, how targets are
encoded, its effective weights, its penalty (a declared
:class:`~skinfluence._penalties.Penalty`: L2 per parameter, L1 strengths, and
how it scales with the rows), the responses its outputs apply to the raw
prediction, and what it refuses. Generic code (:meth:`Adapter.objective`)
builds the objective from these. One table, :data:`REGISTRY`, maps each
scikit-learn class to its adapter and ready ``Influence*`` class; the most
specific class of an estimator's MRO wins.
"""

import importlib
from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import is_classifier
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lasso,
    LassoCV,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TweedieRegressor,
)
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from ._huber import HuberObjective
from ._losses import (
    BinaryLogLoss,
    HalfSquaredError,
    Huber,
    Identity,
    MarginLogLoss,
    ModifiedHuber,
    ModifiedHuberProbability,
    MultinomialLogLoss,
    OneVsRestLogisticProbability,
    SmoothEpsilonInsensitive,
    SmoothHinge,
    SmoothPinball,
    SquaredEpsilonInsensitive,
    SquaredError,
    SquaredHinge,
    TweedieHalfDeviance,
)
from ._objective import ActiveSetObjective, LinearObjective, as_dense
from ._penalties import Penalty

RESPONSE_METHODS = ("auto", "predict", "predict_proba", "decision_function")


class Adapter:
    """Common plumbing. A family overrides what differs:

    ``loss()``, ``encode_targets(y)``, ``effective_weights(y, sw)``,
    ``penalty(s, n_rows)`` (sum form at the fitted weights), ``responses()``,
    ``check_supported()``; rarely ``theta``/``set_theta`` (extra parameters) or
    ``objective`` (an objective of another kind, e.g. Huber's scale).
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.name = type(estimator).__name__

    # -- parameters ------------------------------------------------------------
    def theta(self):
        est = self.estimator
        parts = [np.asarray(est.coef_, dtype=np.float64).ravel()]
        if est.fit_intercept:
            parts.append(np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64)))
        return np.concatenate(parts)

    def set_theta(self, estimator, theta):
        """Write ``θ`` into ``estimator.coef_``/``intercept_``, keeping their shapes."""
        coef = np.asarray(estimator.coef_)
        n_coef = coef.size
        estimator.coef_ = theta[:n_coef].reshape(coef.shape).astype(coef.dtype)
        if estimator.fit_intercept:
            intercept = estimator.intercept_
            new = theta[n_coef:]
            if np.ndim(intercept) == 0:
                estimator.intercept_ = type(intercept)(new[0])
            else:
                estimator.intercept_ = new.reshape(np.shape(intercept)).astype(
                    np.asarray(intercept).dtype
                )

    # -- declared defaults ----------------------------------------------------------
    def check_supported(self):
        """Raise ``NotImplementedError`` naming the estimator and option."""

    def check_chunkable(self):
        """Refuse training data held in chunks (a dask array) where the objective
        of a chunk is not its share of the whole: weights computed from all
        labels at once."""
        if getattr(self.estimator, "class_weight", None) == "balanced":
            raise NotImplementedError(
                f"{self.name} with class_weight='balanced' on dask training data: "
                "the class weights come from all labels at once. Pass them as "
                "sample_weight (sklearn.utils.class_weight.compute_sample_weight) "
                "and fit with class_weight=None."
            )

    def fitted_influence(self, data, settings):
        """The influence state of the fitted estimator on ``data``: a
        :class:`~skinfluence._state.FittedInfluence` on its objective (a
        ``DaskFittedInfluence`` for rows in dask arrays)."""
        return data.fitted_influence(self.estimator, settings)

    def check_objective(self, objective):
        """Refuse data on which the objective has no finite minimizer (before
        the Hessian is factored)."""

    def check_solution(self, objective, solver):
        """Refuse fits whose Hessian shows they are not a finite minimum: a loss
        that is not declared convex needs a positive definite total Hessian."""
        if not objective.loss.convex:
            _require_positive_definite(objective, self.theta(), self._describe())

    def _describe(self):
        return self.name

    def iterative(self, objective):
        """Whether the fit stops at a tolerance (else it is a direct solve)."""
        return self.estimator.get_params(deep=False).get("tol") is not None

    def smoothing(self):
        """The estimator parameter holding the temperature of the smooth
        surrogate that replaces a kinked loss the estimator minimizes exactly
        (``None``: influences use the estimator's own loss)."""
        return None

    def convergence_advice(self, objective):
        """What brings this estimator closer to its minimum, for warnings."""
        smoothing = self.smoothing()
        if smoothing is not None:
            t = getattr(self.estimator, smoothing)
            return (
                f"This gap is expected: {self.name} minimizes its exact, "
                "non-smooth loss, and influences use its smooth surrogate "
                f"({smoothing}={t:g}), whose gradient at the fitted weights is not "
                "zero however tightly the estimator is fitted. Influences are the "
                "sample-dependent part of one Newton step on the surrogate (user "
                "guide: smoothing); newton_update() takes that step, and "
                "set_config(stationarity_threshold=np.inf) silences this warning."
            )
        params = self.estimator.get_params(deep=False)
        if self.iterative(objective):
            knobs = ["a smaller tol (e.g. tol=1e-8)"]
            if params.get("max_iter") is not None:
                knobs.append("a larger max_iter")
            return f"Refit with {' and '.join(knobs)}, or use newton_update()."
        return (
            f"{self.name} solves directly, with no tolerance to tighten: the gap "
            "is rounding in an ill-conditioned problem (scale the features, drop "
            "collinear ones), or use newton_update()."
        )

    def separates(self, objective):
        """Whether only the penalty keeps the minimizer finite (log-losses on
        separated data); ``False`` for losses where separation is harmless."""
        return False

    def effective_weights(self, y, sample_weight):
        return _weights(y, sample_weight)

    def default_targets(self, X):
        if is_classifier(self.estimator):
            return self.estimator.predict(X)
        raise ValueError(
            f"{self.name} is a regressor: influence on the test loss needs y_test."
        )

    def encode_targets(self, y):
        """One target column (regressors)."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"y has shape {y.shape}; {self.name} has one target.")
        return y.reshape(-1, 1)

    def responses(self):
        """``{response method: map from raw prediction to that output}``."""
        return {"predict": self.loss().inverse_link}

    def response(self, response_method):
        """The declared response for ``response_method`` (``"auto"`` resolved)."""
        if response_method not in RESPONSE_METHODS:
            raise ValueError(
                f"response_method must be one of {RESPONSE_METHODS}, "
                f"got {response_method!r}."
            )
        available = self.responses()
        if response_method == "auto":
            for method in ("predict", "predict_proba", "decision_function"):
                if method in available:
                    return method, available[method]
        if response_method == "predict" and is_classifier(self.estimator):
            raise ValueError(
                f"{self.name}.predict returns class labels, which do not change "
                "smoothly with the parameters; use response_method='predict_proba' "
                "or 'decision_function'."
            )
        if response_method not in available:
            raise ValueError(
                f"{self.name} has no {response_method} for this configuration; it "
                f"has {sorted(available)}."
            )
        return response_method, available[response_method]

    # -- the objective, built generically -----------------------------------------
    def frozen(self, theta, penalty):
        """Coordinates held at zero: L1-penalized coefficients that are zero."""
        return (theta == 0) & (penalty.l1 != 0)

    def objective(self, X, y, sample_weight, totals=None):
        """``Σ s_i L(y_i, raw_i) + Ω(θ)``; with L1 strengths or frozen
        coordinates, on the active set.

        ``totals = (S, n)`` of the whole training set makes the objective of a
        chunk of its rows: the penalty and ``S`` are the whole set's, so chunk
        Hessians and gradients add up (``penalty`` may use only ``s.sum()``).
        """
        loss = self.loss()
        Y = self.encode_targets(y)
        s = self.effective_weights(y, sample_weight)
        weight_sum = None
        if totals is None:
            penalty = self.penalty(s, X.shape[0])
        else:
            weight_sum, n_rows = totals
            penalty = replace(
                self.penalty(np.array([weight_sum]), n_rows), totals=totals
            )
        fit_intercept = self.estimator.fit_intercept
        frozen = self.frozen(self.theta(), penalty)
        if not (penalty.l1.any() or frozen.any()):
            return LinearObjective(loss, X, Y, s, penalty, fit_intercept, weight_sum)
        # |θ_j| = sign(θ̂_j) θ_j on the nonzero coordinates; zeros stay frozen
        return ActiveSetObjective.from_frozen(
            loss, X, Y, s, penalty, fit_intercept, frozen, weight_sum
        )


def _weights(y, sample_weight):
    n = len(y)
    if sample_weight is None:
        return np.ones(n)
    return np.asarray(sample_weight, dtype=np.float64).reshape(n)


def _class_weighted(est, y, sw):
    """``sample_weight × class weight``, with "balanced" computed from
    sample-weighted class counts as liblinear and LogisticRegression do."""
    if est.class_weight is None:
        return sw
    y = np.asarray(y)
    cw = compute_class_weight(
        est.class_weight, classes=est.classes_, y=y, sample_weight=sw
    )
    return sw * cw[np.searchsorted(est.classes_, y)]


def _check_labels(name, classes, y):
    y = np.asarray(y).ravel()
    unseen = ~np.isin(y, classes)
    if unseen.any():
        raise ValueError(
            f"y contains labels not seen in training: {np.unique(y[unseen])!r}; "
            f"{name} knows {classes!r}."
        )
    return y


def _plus_minus_one(name, classes, y):
    """Targets in ``{-1, +1}``: one column for binary (``+1`` = ``classes[1]``)."""
    y = _check_labels(name, classes, y)
    if len(classes) == 2:
        return np.where(y == classes[1], 1.0, -1.0)[:, None]
    return np.where(y[:, None] == classes[None, :], 1.0, -1.0)


def _l2_on_coef(coef_size, per_coef, n_intercepts, per_intercept=0.0):
    """An L2 diagonal: ``per_coef`` on the coefficients, ``per_intercept`` after."""
    lam = [np.broadcast_to(np.asarray(per_coef, float), (coef_size,))]
    if n_intercepts:
        lam.append(np.broadcast_to(np.asarray(per_intercept, float), (n_intercepts,)))
    return np.concatenate(lam)


def _n_intercepts(est):
    return np.size(est.intercept_) if est.fit_intercept else 0


def _require_positive_definite(objective, theta, what):
    """A fit that is not at a strict local minimum has no influence function."""
    H = objective.hessian(theta)
    d = np.sqrt(np.abs(np.diag(H)))
    d[d == 0] = 1.0
    smallest = np.linalg.eigvalsh(H / d[:, None] / d[None, :])[0]
    if not smallest > 1e-10:
        raise ValueError(
            f"{what} has per-sample Hessians that can be negative, and at the "
            "fitted parameters the total Hessian is not positive definite "
            f"(smallest equilibrated eigenvalue {smallest:.3g}): the fit is not "
            "at a strict local minimum, so influence functions are undefined."
        )


# -- logistic regression ----------------------------------------------------------
class LogisticRegressionAdapter(Adapter):
    """``C Σ s_i ℓ_i + ½‖W‖²``, divided by ``C``: ``L = ℓ``, ``λ = 1/C`` on ``W``.

    liblinear also penalizes its raw intercept ``b = intercept_ / intercept_scaling``
    with ``½ b²``, i.e. ``λ = 1 / (C · intercept_scaling²)`` on ``intercept_``.
    L1 / elastic-net (``l1_ratio = ρ > 0``): ``(1/C)(ρ‖w‖₁ + (1-ρ)/2 ‖w‖²)``, on the
    active set.
    """

    def check_supported(self):
        est = self.estimator
        if self._l1_ratio() == 0:
            return
        if est.solver == "liblinear":
            raise NotImplementedError(
                f"{self.name}(solver='liblinear') with an L1 penalty also puts an "
                "L1 penalty on the intercept; use solver='saga'."
            )

    def _C(self):
        return self.estimator.C

    def _l1_ratio(self):
        """``ρ`` of the penalty scikit-learn >= 1.8 derives from ``l1_ratio``/``C``."""
        est = self.estimator
        penalty = getattr(est, "penalty", "deprecated")
        if penalty not in ("deprecated", None):
            return {"l2": 0.0, "l1": 1.0, "elasticnet": float(est.l1_ratio)}[penalty]
        if np.isinf(self._C()) or penalty is None:
            return 0.0
        return float(est.l1_ratio or 0.0)

    def _unpenalized(self):
        return np.isinf(self._C()) or getattr(self.estimator, "penalty", "") is None

    def loss(self):
        K = len(self.estimator.classes_)
        return BinaryLogLoss() if K == 2 else MultinomialLogLoss(K)

    def encode_targets(self, y):
        classes = self.estimator.classes_
        y = _check_labels(self.name, classes, y)
        if len(classes) == 2:
            return (y == classes[1]).astype(np.float64)[:, None]
        return (y[:, None] == classes[None, :]).astype(np.float64)

    def effective_weights(self, y, sample_weight):
        return _class_weighted(self.estimator, y, _weights(y, sample_weight))

    def responses(self):
        return {
            "predict_proba": self.loss().inverse_link,
            "decision_function": Identity(),
        }

    def penalty(self, s, n_rows):
        est = self.estimator
        if self._unpenalized():
            return Penalty(np.zeros(self.theta().size))
        C, rho = self._C(), self._l1_ratio()
        b = 1.0 / (C * est.intercept_scaling**2) if est.solver == "liblinear" else 0.0
        n_b = _n_intercepts(est)
        return Penalty(
            _l2_on_coef(est.coef_.size, (1.0 - rho) / C, n_b, b),
            _l2_on_coef(est.coef_.size, rho / C, n_b, 0.0),
        )

    def check_chunkable(self):
        super().check_chunkable()
        if self._unpenalized():
            raise NotImplementedError(
                f"{self.name} without penalty (C=np.inf) on dask training data: "
                "checking that the data are not separable needs all rows at once."
            )

    def check_objective(self, objective):
        theta = self.theta()
        if self._unpenalized():
            _refuse_separable(self.name, objective, theta)
        elif separated(objective, theta) and self._negligible_penalty(objective, theta):
            note = f", or C={self._C():g}, a penalty below rounding"
            _refuse_separable(self.name, objective, theta, note)

    def separates(self, objective):
        """The penalized fit separates the training data: its minimizer is held
        finite by the penalty alone (see :meth:`FittedInfluence.warn_if_separated`)."""
        return not self._unpenalized() and separated(objective, self.theta())

    def _negligible_penalty(self, objective, theta):
        """``1/C`` below rounding of the Hessian's diagonal: numerically C=inf."""
        lam = self.penalty(objective.sample_weight, objective.n_samples).l2
        data = np.abs(objective.hessian_diagonal(theta)) - lam
        return bool(lam.max() <= 1e-12 * max(data.max(), np.finfo(float).tiny))

    def check_solution(self, objective, solver):
        if not self._unpenalized() or solver.method != "eigh":
            return
        # without a penalty the log-loss Hessian has rank (K - 1) · rank([X, 1])
        # (K - 1 = 1 for binary) at any finite minimizer; less means some
        # probabilities have saturated along a direction: quasi-separation
        X = as_dense(objective.X[objective.sample_weight > 0])
        if objective.fit_intercept:
            X = np.column_stack([X, np.ones(X.shape[0])])
        outputs = 1 if objective.n_outputs == 1 else objective.n_outputs - 1
        if solver.rank < outputs * np.linalg.matrix_rank(X):
            raise ValueError(
                f"{self.name} without penalty (C=np.inf) quasi-separates the "
                "training data (some classes are split off by a hyperplane, and "
                "their probabilities have saturated): the objective has no finite "
                "minimizer, so influence functions are undefined. Use a finite C."
            )


class LogisticRegressionCVAdapter(LogisticRegressionAdapter):
    """LogisticRegression at the selected ``C_`` and ``l1_ratio_``, held fixed
    (the final refit minimizes that objective; with ``l1_ratio_ > 0``, on the
    active set)."""

    def check_supported(self):
        est = self.estimator
        if not est.refit:
            raise NotImplementedError(
                f"{self.name}(refit=False) averages the coefficients of the folds' "
                "fits, which minimize no single objective; use refit=True."
            )
        if np.unique(np.ravel(est.C_)).size > 1:
            raise NotImplementedError(f"{self.name} selected several values of C_.")
        l1 = np.ravel(np.asarray(getattr(est, "l1_ratio_", None), dtype=object))
        if np.unique(l1.astype(str)).size > 1:
            raise NotImplementedError(
                f"{self.name} selected several values of l1_ratio_."
            )
        super().check_supported()

    def _C(self):
        return float(_first(self.estimator.C_))

    def _l1_ratio(self):
        """The selected ``l1_ratio_`` (``None``: the L2 path), or the deprecated
        ``penalty``'s."""
        est = self.estimator
        penalty = getattr(est, "penalty", "deprecated")
        if penalty == "l1":
            return 1.0
        if penalty in ("l2", None) or np.isinf(self._C()):
            return 0.0
        l1 = _first(getattr(est, "l1_ratio_", None))
        return 0.0 if l1 is None else float(l1)


def _first(a):
    return None if a is None else np.ravel(np.asarray(a, dtype=object))[0]


def separated(objective, theta):
    """Whether the fit classifies every positively weighted row correctly with a
    positive margin (a log-loss then has no finite unpenalized minimizer).
    An objective that keeps no rows in memory (dask chunks) is not checked."""
    if getattr(objective, "Y", None) is None:
        return False
    raw = objective.raw_prediction(theta)
    Y = objective.Y
    if Y.shape[1] == 1:
        margin = np.where(Y[:, 0] == 1, raw[:, 0], -raw[:, 0])
    else:
        true = (raw * Y).sum(axis=1)
        other = np.where(Y == 1, -np.inf, raw).max(axis=1)
        margin = true - other
    return bool(np.all(margin[objective.sample_weight > 0] > 0))


def _refuse_separable(name, objective, theta, penalty_note=""):
    """Unpenalized log-loss has no finite minimizer when the fit separates the data."""
    if separated(objective, theta):
        raise ValueError(
            f"{name} without penalty (C=np.inf{penalty_note}) separates the "
            "training data perfectly: the objective has no finite minimizer, so "
            "influence functions are undefined. Use a finite C."
        )


# -- least squares ------------------------------------------------------------------
class SquaredErrorAdapter(Adapter):
    """``Σ s_i ‖y_i − W x_i − b‖² + α ‖W‖²``: ``λ = 2α`` (per target) on ``W``.

    :class:`~sklearn.linear_model.LinearRegression` is the case ``α = 0``.
    """

    def check_supported(self):
        if getattr(self.estimator, "positive", False):
            raise NotImplementedError(
                f"{self.name}(positive=True) is a constrained fit: coefficients at "
                "the bound have no smooth influence. Use positive=False."
            )

    def iterative(self, objective):
        """LinearRegression iterates (lsqr) on sparse data only; Ridge with
        an iterative solver, or "auto" on sparse data."""
        sparse = not isinstance(objective.X, np.ndarray)
        solver = getattr(self.estimator, "solver", None)
        if solver is None or solver == "auto":
            return sparse
        return solver not in ("cholesky", "svd")

    def _n_targets(self):
        coef = np.asarray(self.estimator.coef_)
        return 1 if coef.ndim == 1 else coef.shape[0]

    def _alpha(self):
        return getattr(self.estimator, "alpha", 0.0)

    def loss(self):
        return SquaredError(self._n_targets())

    def encode_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        K = self._n_targets()
        if y.ndim == 1 and K == 1:
            return y[:, None]
        if y.ndim != 2 or y.shape[1] != K:
            raise ValueError(
                f"y has shape {y.shape}; {self.name} was fitted on {K} target(s)."
            )
        return y

    def penalty(self, s, n_rows):
        est = self.estimator
        K, d = self._n_targets(), est.n_features_in_
        alpha = np.broadcast_to(np.asarray(self._alpha(), float), (K,))
        return Penalty(
            np.concatenate([np.repeat(2.0 * alpha, d), np.zeros(_n_intercepts(est))])
        )


class RidgeCVAdapter(SquaredErrorAdapter):
    """Ridge at the selected ``alpha_`` (one per target with ``alpha_per_target``),
    held fixed."""

    def _alpha(self):
        return self.estimator.alpha_


class BayesianRidgeAdapter(SquaredErrorAdapter):
    """BayesianRidge: the posterior mean at the evidence-maximized precisions,
    held fixed. scikit-learn's last step computes ``coef_`` from the final
    ``alpha_`` (noise) and ``lambda_`` (weights): it minimizes
    ``alpha_ Σ s_i (y_i − x_iᵀw − b)² + lambda_ ‖w‖²`` (weights enter as a
    rescaling of the centered rows by ``√s_i``; the intercept is unpenalized),
    i.e. Ridge with ``α = lambda_ / alpha_``."""

    def _alpha(self):
        est = self.estimator
        return float(est.lambda_) / float(est.alpha_)


class ARDRegressionAdapter(SquaredErrorAdapter):
    """ARDRegression: ``Σ (y_i − x_iᵀw − b)² + Σ_j (lambda_j / alpha_) w_j²`` over
    the kept features (``lambda_ < threshold_lambda``), precisions held fixed.
    Pruned features have ``coef_ = 0`` exactly, not a stationary point of their
    quadratic penalty: they are frozen (zero influence), as the L1 zeros are."""

    def _kept(self):
        est = self.estimator
        return np.asarray(est.lambda_) < est.threshold_lambda

    def penalty(self, s, n_rows):
        est = self.estimator
        ratio = np.where(self._kept(), est.lambda_ / est.alpha_, 0.0)
        return Penalty(_l2_on_coef(est.coef_.size, 2.0 * ratio, _n_intercepts(est)))

    def frozen(self, theta, penalty):
        out = np.zeros(theta.size, dtype=bool)
        out[: self.estimator.coef_.size] = ~self._kept()
        return out


class RidgeClassifierAdapter(SquaredErrorAdapter):
    """Ridge on targets in ``{-1, +1}``, one column per class (one for binary).

    Class weights multiply the sample weights and, with ``"balanced"``, come from
    *unweighted* class counts, as in scikit-learn. The test loss is the squared
    error on the ±1 targets.
    """

    def check_supported(self):
        binarizer = getattr(self.estimator, "_label_binarizer", None)
        if binarizer is not None and binarizer.y_type_.startswith("multilabel"):
            raise NotImplementedError(
                f"{self.name} fitted on multilabel targets is not supported."
            )

    def _alpha(self):
        est = self.estimator
        return est.alpha_ if hasattr(est, "alpha_") else est.alpha

    def encode_targets(self, y):
        return _plus_minus_one(self.name, self.estimator.classes_, y)

    def responses(self):
        return {"decision_function": Identity()}

    def effective_weights(self, y, sample_weight):
        sw = _weights(y, sample_weight)
        if not self.estimator.class_weight:
            return sw
        return sw * compute_sample_weight(self.estimator.class_weight, np.asarray(y))


# -- generalized linear models ------------------------------------------------------
class GLMAdapter(Adapter):
    """Poisson, Gamma and Tweedie regression: ``Σ s_i h_i + (S α / 2)‖w‖²``.

    scikit-learn minimizes the weighted *mean* half deviance plus ``α/2 ‖w‖²``;
    times ``S = Σ s_i`` this is the sum form with ``λ = S α`` on the
    coefficients, a penalty proportional to ``S``. The test loss is the
    unweighted half deviance; ``predict`` is the inverse link.
    """

    power, link = 1.0, "log"

    def _power_link(self):
        return self.power, self.link

    def _describe(self):
        p, link = self._power_link()
        return f"{self.name} with power={p:g} and link={link!r}"

    def loss(self):
        return TweedieHalfDeviance(*self._power_link())

    def penalty(self, s, n_rows):
        est = self.estimator
        l2 = _l2_on_coef(est.coef_.size, s.sum() * est.alpha, _n_intercepts(est))
        return Penalty(l2, scaling="weight_sum")

    def check_objective(self, objective):
        loss = objective.loss
        if loss.link == "identity" and loss.power != 0:
            if np.any(objective.raw_prediction(self.theta()) <= 0):
                raise ValueError(
                    f"{self.name} with the identity link predicts a mean <= 0 on "
                    "some training rows, where the deviance is undefined."
                )


class PoissonAdapter(GLMAdapter):
    power, link = 1.0, "log"


class GammaAdapter(GLMAdapter):
    power, link = 2.0, "log"


class TweedieAdapter(GLMAdapter):
    def _power_link(self):
        est = self.estimator
        link = est.link
        if link == "auto":
            link = "identity" if est.power <= 0 else "log"
        return float(est.power), link


# -- margin classifiers and SGD ---------------------------------------------------------
def _temperature(adapter, parameter, what, surrogate):
    """The user's smoothing temperature ``parameter`` (> 0) for a kinked loss."""
    t = getattr(adapter.estimator, parameter, None)
    if t is None:
        raise ValueError(
            f"{adapter.name}({what}) is not differentiable at its kink: set "
            f"{parameter} (e.g. 0.001) to compute influences with {surrogate} at "
            "the fitted weights."
        )
    if not t > 0:
        raise ValueError(f"{parameter} must be > 0, got {t!r}.")
    return t


def _smooth_hinge_temperature(adapter):
    return _temperature(
        adapter,
        "smooth_hinge_temperature",
        "loss='hinge'",
        "Koh & Liang's smooth hinge t·log(1 + exp((1 - m)/t))",
    )


class _OneVsRestAdapter(Adapter):
    """Binary or one-vs-rest linear classifiers on ±1 targets, one output per class."""

    def _n_outputs(self):
        return np.asarray(self.estimator.coef_).shape[0]

    def encode_targets(self, y):
        return _plus_minus_one(self.name, self.estimator.classes_, y)

    def responses(self):
        return {"decision_function": Identity()}

    def _check_class_weight(self):
        if self.estimator.class_weight is not None and self._n_outputs() > 1:
            raise NotImplementedError(
                f"{self.name} with class_weight and more than two classes weights "
                "only the positive class of each one-vs-rest problem, which is not "
                "one weight per sample; use sample_weight instead."
            )


class LinearSVCAdapter(_OneVsRestAdapter):
    """``½‖[w, b_raw]‖² + C Σ s_i φ(y_i f_i)`` per class, divided by ``C``.

    ``φ`` is the squared hinge (default) or, for ``loss='hinge'``, the smooth hinge
    with the user's ``smooth_hinge_temperature``, evaluated at the fitted weights
    (Koh & Liang section 4.3). liblinear penalizes ``b_raw = intercept_ /
    intercept_scaling``: ``λ = 1/(C intercept_scaling²)`` on ``intercept_``.
    One-vs-rest classes are independent problems: the Hessian is block diagonal.
    """

    def check_supported(self):
        est = self.estimator
        if est.penalty != "l2":
            raise NotImplementedError(
                f"{self.name}(penalty={est.penalty!r}) has no second derivative at "
                "zero coefficients; only penalty='l2' is supported."
            )
        if est.multi_class != "ovr":
            raise NotImplementedError(
                f"{self.name}(multi_class={est.multi_class!r}) is not supported; "
                "use multi_class='ovr'."
            )
        if est.loss == "hinge":
            _smooth_hinge_temperature(self)
        self._check_class_weight()

    def loss(self):
        K = self._n_outputs()
        if self.estimator.loss == "hinge":
            return SmoothHinge(_smooth_hinge_temperature(self), K)
        return SquaredHinge(K)

    def smoothing(self):
        return "smooth_hinge_temperature" if self.estimator.loss == "hinge" else None

    def effective_weights(self, y, sample_weight):
        return _class_weighted(self.estimator, y, _weights(y, sample_weight))

    def penalty(self, s, n_rows):
        est = self.estimator
        b = 1.0 / (est.C * est.intercept_scaling**2)
        return Penalty(_l2_on_coef(est.coef_.size, 1.0 / est.C, _n_intercepts(est), b))


class LinearSVRAdapter(Adapter):
    """``½‖[w, b_raw]‖² + C Σ s_i φ(y_i − f_i)``, divided by ``C``.

    ``φ`` is ``max(0, |r| − ε)²`` (``squared_epsilon_insensitive``) or, for
    ``loss="epsilon_insensitive"`` (the default), its smooth surrogate with the
    user's ``smooth_epsilon_temperature`` evaluated at the fitted weights, as
    for LinearSVC's hinge. liblinear penalizes ``b_raw = intercept_ /
    intercept_scaling`` as for LinearSVC.
    """

    def check_supported(self):
        if self.estimator.loss == "epsilon_insensitive":
            _smooth_epsilon_temperature(self)

    def loss(self):
        est = self.estimator
        if est.loss == "epsilon_insensitive":
            return SmoothEpsilonInsensitive(
                est.epsilon, _smooth_epsilon_temperature(self)
            )
        return SquaredEpsilonInsensitive(est.epsilon)

    def smoothing(self):
        if self.estimator.loss == "epsilon_insensitive":
            return "smooth_epsilon_temperature"
        return None

    def responses(self):
        return {"predict": Identity()}

    def penalty(self, s, n_rows):
        est = self.estimator
        b = 1.0 / (est.C * est.intercept_scaling**2)
        return Penalty(_l2_on_coef(est.coef_.size, 1.0 / est.C, _n_intercepts(est), b))


def _smooth_epsilon_temperature(adapter):
    return _temperature(
        adapter,
        "smooth_epsilon_temperature",
        "loss='epsilon_insensitive'",
        "the smooth ε-insensitive loss t·log(1 + e^((r - ε)/t)) + "
        "t·log(1 + e^((-r - ε)/t))",
    )


class _SGDAdapter(Adapter):
    """SGD: ``Σ s_i L(y_i, f_i) + (n α / 2)‖w‖²``, ``n`` the number of rows.

    SGD minimizes the *count*-normalized mean ``(1/n) Σ s_i L_i + α/2 ‖w‖²`` with an
    unpenalized intercept: the penalty scales with the row count. The weight
    derivative is at fixed ``n``; Newton removal lowers ``n``.
    """

    hinge = False
    smooth_losses = ()

    def check_supported(self):
        est = self.estimator
        if est.penalty not in ("l2", None):
            raise NotImplementedError(
                f"{self.name}(penalty={est.penalty!r}) has no second derivative at "
                "zero coefficients; use penalty='l2' or None."
            )
        hinge = " (and 'hinge' with smooth_hinge_temperature)" if self.hinge else ""
        if est.loss not in self.smooth_losses + ("hinge",) * self.hinge:
            raise NotImplementedError(
                f"{self.name}(loss={est.loss!r}) is not twice differentiable; "
                f"supported losses: {', '.join(self.smooth_losses)}{hinge}."
            )
        if getattr(est, "early_stopping", False):
            raise NotImplementedError(
                f"{self.name}(early_stopping=True) trains on a random part of the "
                "rows only; use early_stopping=False."
            )
        if est.loss == "hinge":
            _smooth_hinge_temperature(self)

    def smoothing(self):
        return "smooth_hinge_temperature" if self.estimator.loss == "hinge" else None

    def penalty(self, s, n_rows):
        est = self.estimator
        alpha = 0.0 if est.penalty is None else est.alpha
        l2 = _l2_on_coef(np.size(est.coef_), n_rows * alpha, _n_intercepts(est))
        return Penalty(l2, scaling="row_count")


class SGDClassifierAdapter(_SGDAdapter, _OneVsRestAdapter):
    """SGDClassifier, binary or one-vs-rest, on ±1 targets."""

    hinge = True
    smooth_losses = (
        "log_loss",
        "modified_huber",
        "squared_hinge",
        "squared_error",
        "huber",
    )

    def check_supported(self):
        super().check_supported()
        self._check_class_weight()

    def loss(self):
        est, K = self.estimator, self._n_outputs()
        return {
            "log_loss": lambda: MarginLogLoss(K),
            "modified_huber": lambda: ModifiedHuber(K),
            "squared_hinge": lambda: SquaredHinge(K),
            "squared_error": lambda: HalfSquaredError(K),
            "huber": lambda: Huber(est.epsilon, K),
            "hinge": lambda: SmoothHinge(_smooth_hinge_temperature(self), K),
        }[est.loss]()

    def responses(self):
        proba = {
            "log_loss": OneVsRestLogisticProbability(),
            "modified_huber": ModifiedHuberProbability(),
        }.get(self.estimator.loss)
        out = {"decision_function": Identity()}
        return out if proba is None else {"predict_proba": proba, **out}

    def effective_weights(self, y, sample_weight):
        est = self.estimator
        sw = _weights(y, sample_weight)
        if est.class_weight is None:
            return sw
        # SGD computes "balanced" from unweighted class counts
        cw = compute_class_weight(est.class_weight, classes=est.classes_, y=y)
        return sw * cw[np.searchsorted(est.classes_, np.asarray(y))]


class SGDRegressorAdapter(_SGDAdapter):
    """SGDRegressor with ``½ (y - f)²`` or Huber's loss."""

    smooth_losses = ("squared_error", "huber")

    def loss(self):
        est = self.estimator
        return HalfSquaredError() if est.loss == "squared_error" else Huber(est.epsilon)


# -- Huber regression and the L1 family -------------------------------------------------
class HuberAdapter(Adapter):
    """HuberRegressor: ``θ = [coef_, intercept_, scale_]``, see :mod:`._huber`."""

    def theta(self):
        return np.append(super().theta(), float(self.estimator.scale_))

    def set_theta(self, estimator, theta):
        super().set_theta(estimator, theta[:-1])
        estimator.scale_ = float(theta[-1])

    def responses(self):
        return {"predict": Identity()}

    def check_chunkable(self):
        raise NotImplementedError(
            "HuberRegressor on dask training data: its objective (with the scale "
            "σ) is not supported in chunks; pass in-memory arrays."
        )

    def objective(self, X, y, sample_weight):
        est = self.estimator
        return HuberObjective(
            X,
            self.encode_targets(y),
            self.effective_weights(y, sample_weight),
            est.alpha,
            est.epsilon,
            est.fit_intercept,
        )


class ElasticNetAdapter(Adapter):
    """Lasso and ElasticNet: ``Σ s_i ½ r_i² + S [αρ‖w‖₁ + α(1-ρ)/2 ‖w‖²]``.

    scikit-learn rescales the weights to sum to ``n`` and minimizes
    ``(1/(2n)) Σ s_i r_i² + αρ‖w‖₁ + α(1-ρ)/2 ‖w‖²``: in sum form the penalty is
    proportional to ``S``. On the active set (nonzero coefficients) ``‖w‖₁`` is
    linear; the support is assumed not to change under small weight changes.
    """

    def check_supported(self):
        est = self.estimator
        if np.ndim(est.coef_) != 1:
            raise NotImplementedError(
                f"{self.name} with several targets (coef_ of shape "
                f"{np.shape(est.coef_)}) is not supported."
            )
        if est.positive:
            raise NotImplementedError(
                f"{self.name}(positive=True) is a constrained fit: coefficients at "
                "the bound have no smooth influence. Use positive=False."
            )

    def loss(self):
        return HalfSquaredError()

    def _alpha_l1_ratio(self):
        return self.estimator.alpha, self.estimator.l1_ratio

    def penalty(self, s, n_rows):
        est = self.estimator
        (alpha, rho), S, n_b = self._alpha_l1_ratio(), s.sum(), _n_intercepts(est)
        return Penalty(
            _l2_on_coef(est.coef_.size, S * alpha * (1.0 - rho), n_b),
            _l2_on_coef(est.coef_.size, S * alpha * rho, n_b),
            scaling="weight_sum",
        )


class QuantileRegressorAdapter(Adapter):
    """QuantileRegressor: ``Σ s_i ρ_q,t(y_i − f_i) + S α‖w‖₁``, on the active set.

    scikit-learn minimizes ``(1/S) Σ s_i ρ_q(r_i) + α‖w‖₁`` exactly (a linear
    program): in sum form the L1 penalty is ``S α`` (proportional to ``S``), the
    intercept unpenalized. The pinball loss ``ρ_q`` is replaced by its smooth
    surrogate with the user's ``smooth_pinball_temperature``, evaluated at the
    fitted weights; zero coefficients stay frozen (the active set).
    """

    def check_supported(self):
        _temperature(
            self,
            "smooth_pinball_temperature",
            "pinball loss",
            "the smooth pinball loss q·r + t·log(1 + exp(-r/t))",
        )

    def loss(self):
        est = self.estimator
        return SmoothPinball(est.quantile, est.smooth_pinball_temperature)

    def smoothing(self):
        return "smooth_pinball_temperature"

    def responses(self):
        return {"predict": Identity()}

    def penalty(self, s, n_rows):
        est = self.estimator
        n_b = _n_intercepts(est)
        l1 = _l2_on_coef(est.coef_.size, s.sum() * est.alpha, n_b)
        return Penalty(np.zeros_like(l1), l1, scaling="weight_sum")


class ElasticNetCVAdapter(ElasticNetAdapter):
    """LassoCV and ElasticNetCV: the final refit at the selected ``alpha_`` (and
    ``l1_ratio_``; LassoCV's is 1), held fixed."""

    def _alpha_l1_ratio(self):
        est = self.estimator
        return float(est.alpha_), float(getattr(est, "l1_ratio_", 1.0))


# -- kernel ridge: dual form, its own state ----------------------------------------------
class KernelRidgeAdapter(Adapter):
    """KernelRidge: ``Σ s_i ‖y_i − K_i c‖² + α cᵀKc`` in the dual coefficients ``c``.

    No linear objective: the state is built in dual form through the kernel
    matrix by :mod:`skinfluence._dual`. ``θ = dual_coef_.ravel()``.
    """

    def theta(self):
        return np.asarray(self.estimator.dual_coef_, dtype=np.float64).ravel()

    def check_supported(self):
        alpha = np.atleast_1d(np.asarray(self.estimator.alpha, dtype=np.float64))
        if np.any(alpha <= 0):
            raise NotImplementedError(
                f"{self.name}(alpha={self.estimator.alpha!r}): without a penalty "
                "kernel ridge interpolates its targets (every leverage is 1, so a "
                "removed row's effect is 0/0) or, with a singular kernel matrix, "
                "has no unique solution. Use alpha > 0."
            )

    def kernel(self, X, Y=None):
        """The kernel matrix ``k(X, Y)`` exactly as scikit-learn's KernelRidge
        computes it (``_get_kernel``: callables get ``kernel_params`` only)."""
        est = self.estimator
        if callable(est.kernel):
            params = est.kernel_params or {}
        else:
            params = {"gamma": est.gamma, "degree": est.degree, "coef0": est.coef0}
        return pairwise_kernels(X, Y, metric=est.kernel, filter_params=True, **params)

    def encode_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        return y.reshape(len(y), -1)

    def responses(self):
        return {"predict": Identity()}

    def fitted_influence(self, data, settings):
        from ._dual import KernelRidgeInfluence

        if data.chunked:
            raise NotImplementedError(
                "KernelRidge on dask training data: the dual form factors the "
                "n × n kernel matrix; pass in-memory arrays."
            )

        return KernelRidgeInfluence(self, data, settings)


# -- the one table ----------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One supported scikit-learn class: its adapter and its ready class."""

    estimator: type
    adapter: type
    ready: str  # name in skinfluence._estimators (imported lazily: no cycle)

    def ready_class(self):
        return getattr(importlib.import_module("skinfluence._estimators"), self.ready)


REGISTRY = (
    Entry(LogisticRegression, LogisticRegressionAdapter, "InfluenceLogisticRegression"),
    Entry(
        LogisticRegressionCV,
        LogisticRegressionCVAdapter,
        "InfluenceLogisticRegressionCV",
    ),
    Entry(LinearRegression, SquaredErrorAdapter, "InfluenceLinearRegression"),
    Entry(Ridge, SquaredErrorAdapter, "InfluenceRidge"),
    Entry(RidgeCV, RidgeCVAdapter, "InfluenceRidgeCV"),
    Entry(BayesianRidge, BayesianRidgeAdapter, "InfluenceBayesianRidge"),
    Entry(ARDRegression, ARDRegressionAdapter, "InfluenceARDRegression"),
    Entry(RidgeClassifier, RidgeClassifierAdapter, "InfluenceRidgeClassifier"),
    Entry(RidgeClassifierCV, RidgeClassifierAdapter, "InfluenceRidgeClassifierCV"),
    Entry(PoissonRegressor, PoissonAdapter, "InfluencePoissonRegressor"),
    Entry(GammaRegressor, GammaAdapter, "InfluenceGammaRegressor"),
    Entry(TweedieRegressor, TweedieAdapter, "InfluenceTweedieRegressor"),
    Entry(LinearSVC, LinearSVCAdapter, "InfluenceLinearSVC"),
    Entry(LinearSVR, LinearSVRAdapter, "InfluenceLinearSVR"),
    Entry(SGDClassifier, SGDClassifierAdapter, "InfluenceSGDClassifier"),
    Entry(SGDRegressor, SGDRegressorAdapter, "InfluenceSGDRegressor"),
    Entry(HuberRegressor, HuberAdapter, "InfluenceHuberRegressor"),
    Entry(Lasso, ElasticNetAdapter, "InfluenceLasso"),
    Entry(ElasticNet, ElasticNetAdapter, "InfluenceElasticNet"),
    Entry(QuantileRegressor, QuantileRegressorAdapter, "InfluenceQuantileRegressor"),
    Entry(LassoCV, ElasticNetCVAdapter, "InfluenceLassoCV"),
    Entry(ElasticNetCV, ElasticNetCVAdapter, "InfluenceElasticNetCV"),
    Entry(KernelRidge, KernelRidgeAdapter, "InfluenceKernelRidge"),
)
_BY_CLASS = {entry.estimator: entry for entry in REGISTRY}


def supported_names():
    """The scikit-learn class names :data:`REGISTRY` supports, for messages."""
    return ", ".join(entry.estimator.__name__ for entry in REGISTRY)


def is_search(estimator):
    """Whether ``estimator`` is a scikit-learn hyper-parameter search
    (:class:`~sklearn.model_selection.GridSearchCV`,
    :class:`~sklearn.model_selection.RandomizedSearchCV`,
    :class:`~sklearn.model_selection.HalvingGridSearchCV`,
    :class:`~sklearn.model_selection.HalvingRandomSearchCV`)."""
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def entry_for(estimator, exact=False):
    """The registry entry of ``estimator``'s most specific registered class.

    ``exact=True`` (``attach``) accepts the registered classes themselves only:
    a user subclass may fit differently.
    """
    cls = type(estimator)
    for base in (cls,) if exact else cls.__mro__:
        if base in _BY_CLASS:
            return _BY_CLASS[base]
    raise TypeError(
        f"skinfluence has no influence support for {cls.__name__}; supported: "
        f"{supported_names()}{' (exact types)' if exact else ''}, a Pipeline "
        "ending in one of them, or a fitted GridSearchCV, RandomizedSearchCV, "
        "HalvingGridSearchCV or HalvingRandomSearchCV (refit=True) of either."
    )


def adapter_for(estimator):
    """The adapter of ``estimator`` (``TypeError`` if its class is not supported)."""
    return entry_for(estimator).adapter(estimator)
