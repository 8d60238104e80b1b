"""Fitted scikit-learn estimator → exact training objective.

Each adapter is the only place where one estimator family's details live: how
its parameters map to ``θ = [coef_.ravel(), intercept_]``, which per-sample loss
and effective weights it trains with, and which quadratic penalty, all scaled so
that the data term carries weight ``s_i`` (design notes, section 2).
"""

import numpy as np
from sklearn.linear_model import (
    ElasticNet,
    GammaRegressor,
    HuberRegressor,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    PoissonRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TweedieRegressor,
)
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from ._huber import HuberObjective
from ._losses import (
    BinaryLogLoss,
    HalfSquaredError,
    Huber,
    MarginLogLoss,
    ModifiedHuber,
    MultinomialLogLoss,
    SmoothHinge,
    SquaredError,
    SquaredHinge,
    TweedieHalfDeviance,
)
from ._objective import ActiveSetObjective, LinearObjective, as_dense


class _Adapter:
    """Common parameter plumbing; subclasses define the objective."""

    penalty_per_weight = False

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
            penalty_per_weight=self.penalty_per_weight,
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
        if penalty not in ("l1", "elasticnet"):
            return
        if len(est.classes_) > 2:
            raise NotImplementedError(
                f"{self.name} with an L1 or elastic-net penalty "
                f"(penalty={est.penalty!r}, l1_ratio={est.l1_ratio!r}) is supported "
                "for binary problems only (influence on the active set); the "
                "multinomial active set is not implemented."
            )
        if est.solver == "liblinear":
            raise NotImplementedError(
                f"{self.name}(solver='liblinear') with an L1 penalty also puts an "
                "L1 penalty on the intercept; use solver='saga'."
            )

    def _C(self):
        return np.inf if _logistic_penalty(self.estimator) is None else self.estimator.C

    def _has_l1(self):
        return _logistic_penalty(self.estimator) in ("l1", "elasticnet")

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
        return _class_weighted(self.estimator, y, self._weights(y, sample_weight))

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
        if self._has_l1():
            return _active_set_logistic(self, X, y, sample_weight)
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
        X = as_dense(X)
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


def _active_set_logistic(adapter, X, y, sample_weight):
    """Binary L1 / elastic-net: ``Σ s_i ℓ_i + (1/C)(ρ‖w‖₁ + (1-ρ)/2 ‖w‖²)`` on the
    nonzero coefficients, where ``‖w‖₁ = sign(ŵ)ᵀw``; the support is assumed not
    to change. The penalty does not depend on the weights."""
    est = adapter.estimator
    rho = 1.0 if _logistic_penalty(est) == "l1" else float(est.l1_ratio)
    coef = np.asarray(est.coef_, dtype=np.float64).ravel()
    active = np.flatnonzero(coef)
    lam = [np.full(active.size, (1.0 - rho) / est.C)]
    lin = [rho / est.C * np.sign(coef[active])]
    keep = [active]
    if est.fit_intercept:
        lam.append([0.0])
        lin.append([0.0])
        keep.append([coef.size])
    inner = LinearObjective(
        adapter.loss(),
        X[:, active],
        adapter.encode_targets(y),
        adapter.effective_weights(y, sample_weight),
        np.concatenate(lam),
        est.fit_intercept,
        linear_penalty=np.concatenate(lin),
    )
    n_params = coef.size + est.fit_intercept
    return ActiveSetObjective(inner, np.concatenate(keep), n_params, active)


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

    def default_targets(self, X):
        raise ValueError(
            f"{self.name} is a regressor: influence on the test loss needs y_test."
        )

    def effective_weights(self, y, sample_weight):
        return self._weights(y, sample_weight)

    def penalty(self):
        est = self.estimator
        K, d = self._n_targets(), est.n_features_in_
        alpha = np.broadcast_to(np.asarray(self._alpha(), float), (K,))
        lam = [np.repeat(2.0 * alpha, d)]
        if est.fit_intercept:
            lam.append(np.zeros(K))
        return np.concatenate(lam)


class RidgeClassifierAdapter(SquaredErrorAdapter):
    """Ridge on targets in ``{-1, +1}``, one column per class (one for binary).

    Class weights multiply the sample weights and, with ``"balanced"``, come from
    *unweighted* class counts, as in scikit-learn. The test loss is the squared
    error on the ±1 targets.
    """

    estimator_type = (RidgeClassifier, RidgeClassifierCV)

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

    def default_targets(self, X):
        return self.estimator.predict(X)

    def effective_weights(self, y, sample_weight):
        sw = self._weights(y, sample_weight)
        if not self.estimator.class_weight:
            return sw
        return sw * compute_sample_weight(self.estimator.class_weight, np.asarray(y))


class RidgeCVAdapter(SquaredErrorAdapter):
    """Ridge at the selected ``alpha_`` (one per target with ``alpha_per_target``).

    The selection is held fixed: influences are those of ``Ridge(alpha=alpha_)``.
    """

    estimator_type = RidgeCV

    def _alpha(self):
        return self.estimator.alpha_


class LogisticRegressionCVAdapter(LogisticRegressionAdapter):
    """LogisticRegression at the selected ``C_`` (and ``l1_ratio_``), held fixed."""

    estimator_type = LogisticRegressionCV

    def check_supported(self):
        est = self.estimator
        if not est.refit:
            raise NotImplementedError(
                f"{self.name}(refit=False) averages the coefficients of the folds' "
                "fits, which minimize no single objective; use refit=True."
            )
        if np.unique(np.ravel(est.C_)).size > 1:
            raise NotImplementedError(f"{self.name} selected several values of C_.")
        l1 = _first(getattr(est, "l1_ratio_", None))
        if l1 is not None and l1 > 0:
            raise NotImplementedError(
                f"{self.name} selected l1_ratio_={l1!r}: an L1 or elastic-net "
                "penalty has no second derivative at zero coefficients; use "
                "l1_ratios=(0,)."
            )

    def _C(self):
        return float(_first(self.estimator.C_))

    def _has_l1(self):
        return False  # refused in check_supported


def _first(a):
    return None if a is None else np.ravel(np.asarray(a, dtype=object))[0]


def _plus_minus_one(name, classes, y):
    """Targets in ``{-1, +1}``: one column for binary (``+1`` = ``classes[1]``)."""
    y = np.asarray(y).ravel()
    unseen = ~np.isin(y, classes)
    if unseen.any():
        raise ValueError(
            f"y contains labels not seen in training: {np.unique(y[unseen])!r}; "
            f"{name} knows {classes!r}."
        )
    if len(classes) == 2:
        return np.where(y == classes[1], 1.0, -1.0)[:, None]
    return np.where(y[:, None] == classes[None, :], 1.0, -1.0)


class GLMAdapter(_Adapter):
    """Poisson, Gamma and Tweedie regression: ``Σ s_i h_i + (S α / 2)‖w‖²``.

    scikit-learn minimizes the weighted *mean* half deviance plus ``α/2 ‖w‖²``;
    times ``S = Σ s_i`` this is the sum form with ``λ = S α`` on the coefficients,
    a penalty proportional to ``S`` (``penalty_per_weight``). The test loss is the
    unweighted half deviance.
    """

    estimator_type = (PoissonRegressor, GammaRegressor, TweedieRegressor)
    penalty_per_weight = True

    def check_supported(self):
        pass

    def _power_link(self):
        est = self.estimator
        if isinstance(est, PoissonRegressor):
            return 1.0, "log"
        if isinstance(est, GammaRegressor):
            return 2.0, "log"
        link = est.link
        if link == "auto":
            link = "identity" if est.power <= 0 else "log"
        return float(est.power), link

    def loss(self):
        return TweedieHalfDeviance(*self._power_link())

    def encode_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"y has shape {y.shape}; {self.name} has one target.")
        return y.reshape(-1, 1)

    def default_targets(self, X):
        raise ValueError(
            f"{self.name} is a regressor: influence on the test loss needs y_test."
        )

    def effective_weights(self, y, sample_weight):
        return self._weights(y, sample_weight)

    def objective(self, X, y, sample_weight):
        est = self.estimator
        s = self.effective_weights(y, sample_weight)
        lam = [np.full(est.n_features_in_, s.sum() * est.alpha)]
        if est.fit_intercept:
            lam.append([0.0])
        loss = self.loss()
        obj = LinearObjective(
            loss,
            X,
            self.encode_targets(y),
            s,
            np.concatenate(lam),
            est.fit_intercept,
            penalty_per_weight=True,
        )
        theta = self.theta()
        if loss.link == "identity" and loss.power != 0:
            if np.any(obj.raw_prediction(theta) <= 0):
                raise ValueError(
                    f"{self.name} with the identity link predicts a mean <= 0 on "
                    "some training rows, where the deviance is undefined."
                )
        if not loss.convex:
            _require_positive_definite(
                obj,
                theta,
                f"{self.name} with power={loss.power:g} and link={loss.link!r}",
            )
        return obj


def _require_positive_definite(objective, theta, what):
    """Refuse when the total Hessian is not positive definite at ``θ̂``.

    For losses whose per-sample second derivative can be negative, a fit that
    is not at a strict local minimum has no influence function.
    """
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


def _smooth_hinge_temperature(adapter):
    t = getattr(adapter.estimator, "smooth_hinge_temperature", None)
    if t is None:
        raise ValueError(
            f"{adapter.name}(loss='hinge') is not differentiable at the margin: set "
            "smooth_hinge_temperature (e.g. 0.001) to compute influences with Koh & "
            "Liang's smooth hinge t·log(1 + exp((1 - m)/t)) at the fitted weights."
        )
    if not t > 0:
        raise ValueError(f"smooth_hinge_temperature must be > 0, got {t!r}.")
    return t


class _OneVsRestAdapter(_Adapter):
    """Binary or one-vs-rest linear classifiers on ±1 targets, one output per class."""

    def _n_outputs(self):
        return np.asarray(self.estimator.coef_).shape[0]

    def encode_targets(self, y):
        return _plus_minus_one(self.name, self.estimator.classes_, y)

    def default_targets(self, X):
        return self.estimator.predict(X)

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

    estimator_type = LinearSVC

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

    def effective_weights(self, y, sample_weight):
        return _class_weighted(self.estimator, y, self._weights(y, sample_weight))

    def penalty(self):
        est = self.estimator
        K = self._n_outputs()
        lam = [np.full(est.coef_.size, 1.0 / est.C)]
        if est.fit_intercept:
            lam.append(np.full(K, 1.0 / (est.C * est.intercept_scaling**2)))
        return np.concatenate(lam)


class _SGDAdapter(_Adapter):
    """SGD: ``Σ s_i L(y_i, f_i) + (n α / 2)‖w‖²``, ``n`` the number of rows.

    SGD minimizes the *count*-normalized mean ``(1/n) Σ s_i L_i + α/2 ‖w‖²`` with an
    unpenalized intercept. ``influence_params_`` is the weight derivative at fixed
    ``n``; removing a row also lowers ``n`` by one, which it does not include.
    """

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

    def objective(self, X, y, sample_weight):
        est = self.estimator
        alpha = 0.0 if est.penalty is None else est.alpha
        lam = [np.full(np.asarray(est.coef_).size, X.shape[0] * alpha)]
        if est.fit_intercept:
            lam.append(np.zeros(np.size(est.intercept_)))
        return LinearObjective(
            self.loss(),
            X,
            self.encode_targets(y),
            self.effective_weights(y, sample_weight),
            np.concatenate(lam),
            est.fit_intercept,
        )


class SGDClassifierAdapter(_SGDAdapter, _OneVsRestAdapter):
    """SGDClassifier, binary or one-vs-rest, on ±1 targets."""

    estimator_type = SGDClassifier
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

    def effective_weights(self, y, sample_weight):
        est = self.estimator
        sw = self._weights(y, sample_weight)
        if est.class_weight is None:
            return sw
        # SGD computes "balanced" from unweighted class counts
        cw = compute_class_weight(est.class_weight, classes=est.classes_, y=y)
        return sw * cw[np.searchsorted(est.classes_, np.asarray(y))]


class SGDRegressorAdapter(_SGDAdapter):
    """SGDRegressor with ``½ (y - f)²`` or Huber's loss."""

    estimator_type = SGDRegressor
    hinge = False
    smooth_losses = ("squared_error", "huber")

    def loss(self):
        est = self.estimator
        return HalfSquaredError() if est.loss == "squared_error" else Huber(est.epsilon)

    encode_targets = GLMAdapter.encode_targets
    default_targets = GLMAdapter.default_targets

    def effective_weights(self, y, sample_weight):
        return self._weights(y, sample_weight)


class HuberAdapter(_Adapter):
    """HuberRegressor: ``θ = [coef_, intercept_, scale_]``, see :mod:`._huber`."""

    estimator_type = HuberRegressor

    def check_supported(self):
        pass

    def theta(self):
        return np.append(super().theta(), float(self.estimator.scale_))

    def set_theta(self, estimator, theta):
        super().set_theta(estimator, theta[:-1])
        estimator.scale_ = float(theta[-1])

    encode_targets = GLMAdapter.encode_targets
    default_targets = GLMAdapter.default_targets

    def objective(self, X, y, sample_weight):
        est = self.estimator
        return HuberObjective(
            X,
            self.encode_targets(y),
            self._weights(y, sample_weight),
            est.alpha,
            est.epsilon,
            est.fit_intercept,
        )


class ElasticNetAdapter(_Adapter):
    """Lasso and ElasticNet on the active set (nonzero coefficients at the fit).

    scikit-learn normalizes the weights to sum to ``n`` and minimizes
    ``(1/(2n)) Σ s_i r_i² + αρ‖w‖₁ + α(1-ρ)/2 ‖w‖²``; in sum form
    ``Σ s_i ½ r_i² + S [αρ‖w‖₁ + α(1-ρ)/2 ‖w‖²]`` (penalty proportional to
    ``S``). On the active set ``‖w‖₁ = sign(ŵ)ᵀw`` is linear. Assumes the support
    does not change under small weight changes: inactive coefficients get zero
    influence.
    """

    estimator_type = ElasticNet
    penalty_per_weight = True

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

    encode_targets = GLMAdapter.encode_targets
    default_targets = GLMAdapter.default_targets

    def objective(self, X, y, sample_weight):
        est = self.estimator
        s = self._weights(y, sample_weight)
        S = s.sum()
        coef = np.asarray(est.coef_, dtype=np.float64)
        active = np.flatnonzero(coef)
        rho = est.l1_ratio  # 1.0 for Lasso
        lam = [np.full(active.size, S * est.alpha * (1.0 - rho))]
        lin = [S * est.alpha * rho * np.sign(coef[active])]
        keep = [active]
        if est.fit_intercept:
            lam.append([0.0])
            lin.append([0.0])
            keep.append([coef.size])
        inner = LinearObjective(
            HalfSquaredError(),
            X[:, active],
            self.encode_targets(y),
            s,
            np.concatenate(lam),
            est.fit_intercept,
            penalty_per_weight=True,
            linear_penalty=np.concatenate(lin),
        )
        n_params = coef.size + est.fit_intercept
        return ActiveSetObjective(inner, np.concatenate(keep), n_params, active)


ADAPTERS = (
    LogisticRegressionCVAdapter,
    LogisticRegressionAdapter,
    RidgeClassifierAdapter,
    RidgeCVAdapter,
    SquaredErrorAdapter,
    GLMAdapter,
    LinearSVCAdapter,
    SGDClassifierAdapter,
    SGDRegressorAdapter,
    HuberAdapter,
    ElasticNetAdapter,
)


def adapter_for(estimator):
    """The adapter of ``estimator``'s family; ``TypeError`` if there is none."""
    for adapter in ADAPTERS:
        if isinstance(estimator, adapter.estimator_type):
            return adapter(estimator)
    raise TypeError(
        f"skinfluence has no adapter for {type(estimator).__name__}; supported: "
        "LogisticRegression(CV), LinearRegression, Ridge(CV), RidgeClassifier(CV), "
        "PoissonRegressor, GammaRegressor, TweedieRegressor, LinearSVC, "
        "SGDClassifier, SGDRegressor, HuberRegressor, Lasso, ElasticNet."
    )
