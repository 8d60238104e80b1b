"""Fitted scikit-learn estimator → exact training objective.

Each adapter is the only place where one estimator family's details live: how
its parameters map to ``θ = [coef_.ravel(), intercept_]``, which per-sample loss
and effective weights it trains with, and which quadratic penalty, all scaled so
that the data term carries weight ``s_i`` (design notes, section 2).
"""

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.utils.class_weight import compute_class_weight

from ._losses import BinaryLogLoss, MultinomialLogLoss, SquaredError
from ._objective import LinearObjective


class _Adapter:
    """Common parameter plumbing; subclasses define the objective."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.name = type(estimator).__name__

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

    def _weights(self, y, sample_weight):
        n = len(y)
        if sample_weight is None:
            return np.ones(n)
        return np.asarray(sample_weight, dtype=np.float64).reshape(n)

    def check_solution(self, objective, solver):
        """Refuse fits whose Hessian shows they are not a finite minimum."""

    def objective(self, X, y, sample_weight):
        return LinearObjective(
            self.loss(),
            X,
            self.encode_targets(y),
            self.effective_weights(y, sample_weight),
            self.penalty(),
            self.estimator.fit_intercept,
        )


class LogisticRegressionAdapter(_Adapter):
    """``C Σ s_i ℓ_i + ½‖W‖²``, divided by ``C``: ``L = ℓ``, ``λ = 1/C`` on ``W``.

    liblinear also penalizes its raw intercept ``b = intercept_ / intercept_scaling``
    with ``½ b²``, i.e. ``λ = 1 / (C · intercept_scaling²)`` on ``intercept_``.
    """

    estimator_type = LogisticRegression

    def check_supported(self):
        est = self.estimator
        penalty = _logistic_penalty(est)
        if penalty in ("l1", "elasticnet"):
            raise NotImplementedError(
                f"{self.name} with an L1 or elastic-net penalty "
                f"(penalty={est.penalty!r}, l1_ratio={est.l1_ratio!r}) has no "
                "second derivative at zero coefficients; influence functions are "
                "only supported for the L2 penalty (l1_ratio=0) or no penalty "
                "(C=np.inf)."
            )

    def _C(self):
        return np.inf if _logistic_penalty(self.estimator) is None else self.estimator.C

    def loss(self):
        K = len(self.estimator.classes_)
        return BinaryLogLoss() if K == 2 else MultinomialLogLoss(K)

    def encode_targets(self, y):
        classes = self.estimator.classes_
        y = np.asarray(y).ravel()
        unseen = ~np.isin(y, classes)
        if unseen.any():
            raise ValueError(
                f"y contains labels not seen in training: {np.unique(y[unseen])!r}; "
                f"{self.name} knows {classes!r}."
            )
        if len(classes) == 2:
            return (y == classes[1]).astype(np.float64)[:, None]
        return (y[:, None] == classes[None, :]).astype(np.float64)

    def default_targets(self, X):
        return self.estimator.predict(X)

    def effective_weights(self, y, sample_weight):
        est = self.estimator
        sw = self._weights(y, sample_weight)
        if est.class_weight is None:
            return sw
        # scikit-learn computes "balanced" from sample-weighted class counts
        cw = compute_class_weight(
            est.class_weight, classes=est.classes_, y=np.asarray(y), sample_weight=sw
        )
        return sw * cw[np.searchsorted(est.classes_, np.asarray(y))]

    def penalty(self):
        est = self.estimator
        C = self._C()
        K = est.coef_.shape[0]
        lam_coef = 0.0 if np.isinf(C) else 1.0 / C
        lam = [np.full(est.coef_.size, lam_coef)]
        if est.fit_intercept:
            lam_b = 0.0
            if est.solver == "liblinear":
                lam_b = 1.0 / (C * est.intercept_scaling**2)
            lam.append(np.full(K, lam_b))
        return np.concatenate(lam)

    def objective(self, X, y, sample_weight):
        obj = super().objective(X, y, sample_weight)
        if np.isinf(self._C()):
            _refuse_separable(self.name, obj, self.theta())
        return obj


    def check_solution(self, objective, solver):
        if not np.isinf(self._C()) or solver.method != "eigh":
            return
        # without a penalty the log-loss Hessian has rank (K - 1) · rank([X, 1])
        # (K - 1 = 1 for binary) at any finite minimizer; less means some
        # probabilities have saturated along a direction: quasi-separation
        rows = objective.sample_weight > 0
        X = objective.X[rows]
        X = X.toarray() if hasattr(X, "toarray") else X
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


def _logistic_penalty(est):
    """The penalty scikit-learn >= 1.8 derives from ``l1_ratio`` and ``C``."""
    penalty = getattr(est, "penalty", "deprecated")
    if penalty != "deprecated":
        return penalty
    l1_ratio = est.l1_ratio
    if est.C == np.inf:
        return None
    if l1_ratio is None or l1_ratio == 0:
        return "l2"
    return "l1" if l1_ratio == 1 else "elasticnet"


def _refuse_separable(name, objective, theta):
    """Unpenalized log-loss has no finite minimizer when the fit separates the data."""
    raw = objective.raw_prediction(theta)
    Y = objective.Y
    if Y.shape[1] == 1:
        margin = np.where(Y[:, 0] == 1, raw[:, 0], -raw[:, 0])
    else:
        true = (raw * Y).sum(axis=1)
        other = np.where(Y == 1, -np.inf, raw).max(axis=1)
        margin = true - other
    active = objective.sample_weight > 0
    if np.all(margin[active] > 0):
        raise ValueError(
            f"{name} without penalty (C=np.inf) separates the training data "
            "perfectly: the objective has no finite minimizer, so influence "
            "functions are undefined. Use a finite C."
        )


class SquaredErrorAdapter(_Adapter):
    """``Σ s_i ‖y_i − W x_i − b‖² + α ‖W‖²``: ``λ = 2α`` (per target) on ``W``.

    :class:`~sklearn.linear_model.LinearRegression` is the case ``α = 0``.
    """

    estimator_type = (Ridge, LinearRegression)

    def check_supported(self):
        if getattr(self.estimator, "positive", False):
            raise NotImplementedError(
                f"{self.name}(positive=True) is a constrained fit: coefficients at "
                "the bound have no smooth influence. Use positive=False."
            )

    def _n_targets(self):
        coef = np.asarray(self.estimator.coef_)
        return 1 if coef.ndim == 1 else coef.shape[0]

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

    def default_targets(self, X):
        raise ValueError(
            f"{self.name} is a regressor: influence on the test loss needs y_test."
        )

    def effective_weights(self, y, sample_weight):
        return self._weights(y, sample_weight)

    def penalty(self):
        est = self.estimator
        K, d = self._n_targets(), est.n_features_in_
        alpha = np.broadcast_to(np.asarray(getattr(est, "alpha", 0.0), float), (K,))
        lam = [np.repeat(2.0 * alpha, d)]
        if est.fit_intercept:
            lam.append(np.zeros(K))
        return np.concatenate(lam)


ADAPTERS = (LogisticRegressionAdapter, SquaredErrorAdapter)


def adapter_for(estimator):
    """The adapter of ``estimator``'s family; ``TypeError`` if there is none."""
    for adapter in ADAPTERS:
        if isinstance(estimator, adapter.estimator_type):
            return adapter(estimator)
    raise TypeError(
        f"skinfluence has no adapter for {type(estimator).__name__}; supported: "
        "LogisticRegression, LinearRegression, Ridge."
    )
