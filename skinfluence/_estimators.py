"""Ready-made influence estimators: a scikit-learn linear model plus the mixin."""

from numbers import Real

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
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.utils._param_validation import Interval

from ._kernel_ridge import InfluenceKernelRidge  # noqa: F401  (REGISTRY's ready class)
from ._mixin import InfluenceMixin


class InfluenceLogisticRegression(InfluenceMixin, LogisticRegression):
    """:class:`~sklearn.linear_model.LogisticRegression` with influence functions.

    Same parameters and fit as ``LogisticRegression``; adds ``influence_params_``,
    ``influence_loss`` and ``remove_effect`` (see :class:`InfluenceMixin`).
    Supported: binary and multinomial, the L2 penalty with every solver
    (liblinear's penalized intercept included), no penalty (``C=np.inf``),
    ``class_weight`` with ``sample_weight``. L1 and elastic-net penalties
    (``l1_ratio > 0``, binary or multinomial, not liblinear) get influences on
    the active set (nonzero coefficients, per class), assuming the support does
    not change; zero coefficients get zero influence. Multinomial intercepts
    are unpenalized, so a common shift of all of them changes nothing: their
    influences are the minimum-norm (zero-sum) representative, with or without
    a penalty.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> model = InfluenceLogisticRegression(tol=1e-10).fit(X[:400], y[:400])
    >>> model.influence_params_.shape
    (400, 31)
    >>> model.influence_loss(X[400:403], y[400:403]).shape
    (3, 400)
    >>> smaller = model.remove_effect([0, 1])
    >>> smaller.coef_.shape
    (1, 30)
    """


class InfluenceLinearRegression(InfluenceMixin, LinearRegression):
    """:class:`~sklearn.linear_model.LinearRegression` with influence functions.

    The objective is ``Σ s_i (y_i - x_iᵀw - b)²``; with collinear columns the
    Hessian is singular and influences are minimum-norm (a warning says so).
    ``positive=True`` is refused.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceLinearRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceLinearRegression().fit(X, y)
    >>> model.influence_loss(X[:2], y[:2]).shape
    (2, 442)
    """


class InfluenceRidge(InfluenceMixin, Ridge):
    """:class:`~sklearn.linear_model.Ridge` with influence functions.

    The objective is ``Σ s_i ‖y_i - W x_i - b‖² + α‖W‖²`` (no factor ½, no
    ``1/n``; ``alpha`` may hold one value per target). Several targets are
    supported: ``θ = [coef_.ravel(), intercept_]`` is target-major.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceRidge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceRidgeCV(InfluenceMixin, RidgeCV):
    """:class:`~sklearn.linear_model.RidgeCV` with influence functions.

    Influences are those of ``Ridge(alpha=alpha_)``: the selected ``alpha_`` (one
    per target with ``alpha_per_target=True``) is held fixed, so the effect of a
    row on the choice of ``alpha`` is not included.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceRidgeCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceRidgeCV(alphas=[0.01, 0.1, 1.0]).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceRidgeClassifier(InfluenceMixin, RidgeClassifier):
    """:class:`~sklearn.linear_model.RidgeClassifier` with influence functions.

    The objective is Ridge's on targets in ``{-1, +1}`` (one column per class, a
    single column for two classes): ``Σ s_i ‖t_i - W x_i - b‖² + α‖W‖²``. The test
    loss is the squared error on those targets. ``class_weight="balanced"`` is
    computed from unweighted class counts (as scikit-learn does) and held fixed.
    Multilabel targets are refused.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skinfluence import InfluenceRidgeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = InfluenceRidgeClassifier(alpha=1.0).fit(X, y)
    >>> model.influence_loss(X[:2], y[:2]).shape
    (2, 150)
    """


class InfluenceRidgeClassifierCV(InfluenceMixin, RidgeClassifierCV):
    """:class:`~sklearn.linear_model.RidgeClassifierCV` with influence functions.

    As :class:`InfluenceRidgeClassifier` at the selected ``alpha_``, held fixed.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skinfluence import InfluenceRidgeClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = InfluenceRidgeClassifierCV(alphas=[0.1, 1.0]).fit(X, y)
    >>> model.influence_params_.shape
    (569, 31)
    """


class InfluenceLogisticRegressionCV(InfluenceMixin, LogisticRegressionCV):
    """:class:`~sklearn.linear_model.LogisticRegressionCV` with influence functions.

    Influences are those of the final refit at the selected ``C_`` and
    ``l1_ratio_``, held fixed (a row's effect on the choice is not included):
    with ``l1_ratio_ > 0`` on the active set, as for
    :class:`InfluenceLogisticRegression`. Requires ``refit=True``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceLogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = InfluenceLogisticRegressionCV(
    ...     Cs=3, l1_ratios=(0,), solver="newton-cholesky", tol=1e-10,
    ...     use_legacy_attributes=False, scoring="neg_log_loss",
    ... ).fit(scale(X), y)
    >>> model.influence_params_.shape
    (569, 31)
    """


class InfluencePoissonRegressor(InfluenceMixin, PoissonRegressor):
    """:class:`~sklearn.linear_model.PoissonRegressor` with influence functions.

    scikit-learn minimizes ``(1/S) Σ s_i h_i + (α/2)‖w‖²`` with ``h`` the half
    Poisson deviance: the penalty is fixed while the data term is a weighted
    *mean*, so ``influence_params_ = S ∂θ̂/∂s_i = -H⁻¹(∇h_i + α [w, 0])``,
    including the share of the penalty that the paper's formula
    ``-H⁻¹∇h_i`` leaves out. The test loss is the unweighted half deviance.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluencePoissonRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluencePoissonRegressor(
    ...     alpha=0.1, solver="newton-cholesky", tol=1e-10
    ... ).fit(X, y)
    >>> model.influence_loss(X[:2], y[:2]).shape
    (2, 442)
    """


class InfluenceGammaRegressor(InfluenceMixin, GammaRegressor):
    """:class:`~sklearn.linear_model.GammaRegressor` with influence functions.

    As :class:`InfluencePoissonRegressor`, with the half Gamma deviance
    ``log(μ/y) + y/μ - 1`` (log link).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceGammaRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceGammaRegressor(
    ...     alpha=0.1, solver="newton-cholesky", tol=1e-10
    ... ).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceTweedieRegressor(InfluenceMixin, TweedieRegressor):
    """:class:`~sklearn.linear_model.TweedieRegressor` with influence functions.

    As :class:`InfluencePoissonRegressor`, with the half Tweedie deviance of
    ``power`` and the estimator's link (``"auto"``: identity for
    ``power <= 0``, log otherwise). Where the per-sample second derivative can
    be negative (log link with ``power`` outside ``[1, 2]``; identity link with
    ``power`` other than 0 and 1) the total Hessian is checked at the fit and a
    ``ValueError`` raised unless it is positive definite.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceTweedieRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceTweedieRegressor(
    ...     power=1.5, alpha=0.1, solver="newton-cholesky", tol=1e-10
    ... ).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceLinearSVC(InfluenceMixin, LinearSVC):
    """:class:`~sklearn.svm.LinearSVC` with influence functions.

    The objective is liblinear's, ``½‖[w, b_raw]‖² + C Σ s_i max(0, 1 - y_i f_i)²``
    (squared hinge, ``y_i = ±1``, ``b_raw = intercept_ / intercept_scaling``:
    the intercept is penalized), one independent problem per class for more
    than two classes (one-vs-rest). The squared hinge has no second derivative
    at margin exactly 1; the one-sided value is used (2 for violated margins,
    0 otherwise). ``penalty="l1"``, ``multi_class="crammer_singer"`` and
    ``class_weight`` with more than two classes are refused.

    Parameters
    ----------
    All of :class:`~sklearn.svm.LinearSVC`'s, plus

    smooth_hinge_temperature : float > 0, default=None
        Only for ``loss="hinge"``: influences use Koh & Liang's smooth hinge
        ``t log(1 + exp((1 - m)/t))`` with this ``t``, evaluated at the weights
        fitted with the plain hinge (paper section 4.3). ``None`` refuses the
        plain hinge, which has no second derivative.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceLinearSVC
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = InfluenceLinearSVC(C=0.1, tol=1e-10, max_iter=10_000).fit(scale(X), y)
    >>> model.influence_params_.shape
    (569, 31)
    """

    _parameter_constraints = {
        **LinearSVC._parameter_constraints,
        "smooth_hinge_temperature": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        penalty="l2",
        loss="squared_hinge",
        *,
        dual="auto",
        tol=1e-4,
        C=1.0,
        multi_class="ovr",
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        verbose=0,
        random_state=None,
        max_iter=1000,
        smooth_hinge_temperature=None,
    ):
        super().__init__(
            penalty=penalty,
            loss=loss,
            dual=dual,
            tol=tol,
            C=C,
            multi_class=multi_class,
            fit_intercept=fit_intercept,
            intercept_scaling=intercept_scaling,
            class_weight=class_weight,
            verbose=verbose,
            random_state=random_state,
            max_iter=max_iter,
        )
        self.smooth_hinge_temperature = smooth_hinge_temperature


class InfluenceLinearSVR(InfluenceMixin, LinearSVR):
    """:class:`~sklearn.svm.LinearSVR` with influence functions.

    The objective is liblinear's, ``½‖[w, b_raw]‖² + C Σ s_i φ(y_i − f_i)``
    (``b_raw = intercept_ / intercept_scaling``: the intercept is penalized).
    With ``loss="squared_epsilon_insensitive"``, ``φ(r) = max(0, |r| − ε)²``;
    its second derivative jumps at ``|r| = ε`` and the one-sided value is used
    (2 outside the tube, 0 inside). The default ``loss="epsilon_insensitive"``,
    ``φ(r) = max(0, |r| − ε)``, is piecewise linear: influences need
    ``smooth_epsilon_temperature``. The test loss is the training ``φ`` (its
    smooth surrogate for ``epsilon_insensitive``).

    Parameters
    ----------
    All of :class:`~sklearn.svm.LinearSVR`'s, plus

    smooth_epsilon_temperature : float > 0, default=None
        Only for ``loss="epsilon_insensitive"``: influences use the smooth
        surrogate ``t log(1 + e^((r − ε)/t)) + t log(1 + e^((−r − ε)/t))`` (Koh
        & Liang's smooth hinge on each side of the tube) with this ``t``,
        evaluated at the weights fitted with the exact loss, as
        ``smooth_hinge_temperature`` does for :class:`InfluenceLinearSVC`. The
        fit is then not a minimum of the smoothed objective (expect a
        :class:`NonStationaryWarning`): influences are the sample-dependent part
        of one Newton step on it. At the smoothed objective's own minimizer they
        are the weight derivative of its refits; as ``t → 0`` at the exact
        solution, that of the exact (piecewise linear) solution. ``None``
        refuses ``epsilon_insensitive``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceLinearSVR
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceLinearSVR(
    ...     loss="squared_epsilon_insensitive", epsilon=5.0, tol=1e-10, max_iter=100_000
    ... ).fit(scale(X), y)
    >>> model.influence_params_.shape
    (442, 11)
    """

    _parameter_constraints = {
        **LinearSVR._parameter_constraints,
        "smooth_epsilon_temperature": [
            Interval(Real, 0, None, closed="neither"),
            None,
        ],
    }

    def __init__(
        self,
        *,
        epsilon=0.0,
        tol=1e-4,
        C=1.0,
        loss="epsilon_insensitive",
        fit_intercept=True,
        intercept_scaling=1.0,
        dual="auto",
        verbose=0,
        random_state=None,
        max_iter=1000,
        smooth_epsilon_temperature=None,
    ):
        super().__init__(
            epsilon=epsilon,
            tol=tol,
            C=C,
            loss=loss,
            fit_intercept=fit_intercept,
            intercept_scaling=intercept_scaling,
            dual=dual,
            verbose=verbose,
            random_state=random_state,
            max_iter=max_iter,
        )
        self.smooth_epsilon_temperature = smooth_epsilon_temperature


class _PartialFitForgets:
    """``partial_fit`` moves the coefficients away from the kept data: forget it."""

    def partial_fit(self, X, y, *args, **kwargs):
        super().partial_fit(X, y, *args, **kwargs)
        self.__dict__.pop("_influence_state", None)
        return self


class InfluenceSGDClassifier(_PartialFitForgets, InfluenceMixin, SGDClassifier):
    """:class:`~sklearn.linear_model.SGDClassifier` with influence functions.

    The objective is ``Σ s_i L(y_i, f_i) + (n α/2)‖w‖²`` (``n`` the number of
    rows, intercept unpenalized), per class one-vs-rest, with ``loss`` one of
    ``log_loss``, ``modified_huber``, ``squared_hinge``, ``squared_error``,
    ``huber`` (or ``hinge`` with ``smooth_hinge_temperature``) and
    ``penalty="l2"`` or ``None``. SGD's iterates are never exactly at the
    minimum: expect a :class:`NonStationaryWarning` unless it is run very long.
    ``influence_params_`` is ``S ∂θ̂/∂s_i`` at fixed ``n``. After
    ``partial_fit`` the training data is forgotten: call ``fit``.

    Parameters
    ----------
    All of :class:`~sklearn.linear_model.SGDClassifier`'s, plus

    smooth_hinge_temperature : float > 0, default=None
        Only for ``loss="hinge"``: influences use Koh & Liang's smooth hinge
        ``t log(1 + exp((1 - m)/t))`` with this ``t``, evaluated at the weights
        fitted with the plain hinge (paper section 4.3). ``None`` refuses the
        plain hinge, which has no second derivative.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceSGDClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = InfluenceSGDClassifier(loss="log_loss", alpha=0.01, random_state=0)
    >>> model = model.fit(scale(X), y)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # NonStationaryWarning
    ...     model.influence_params_.shape
    (569, 31)
    """

    _parameter_constraints = {
        **SGDClassifier._parameter_constraints,
        "smooth_hinge_temperature": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        smooth_hinge_temperature=None,
    ):
        super().__init__(
            loss=loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            shuffle=shuffle,
            verbose=verbose,
            epsilon=epsilon,
            n_jobs=n_jobs,
            random_state=random_state,
            learning_rate=learning_rate,
            eta0=eta0,
            power_t=power_t,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            class_weight=class_weight,
            warm_start=warm_start,
            average=average,
        )
        self.smooth_hinge_temperature = smooth_hinge_temperature


class InfluenceSGDRegressor(_PartialFitForgets, InfluenceMixin, SGDRegressor):
    """:class:`~sklearn.linear_model.SGDRegressor` with influence functions.

    The objective is ``Σ s_i L(y_i, f_i) + (n α/2)‖w‖²`` (``n`` the number of rows,
    intercept unpenalized) with ``L`` = ``½(y - f)²`` (``squared_error``) or
    Huber's loss (``huber``; its second derivative jumps at ``|r| = epsilon``,
    the value 1 inside and 0 outside is used); ``penalty="l2"`` or ``None``.
    Expect a :class:`NonStationaryWarning`: SGD iterates are not at the minimum.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceSGDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceSGDRegressor(alpha=0.01, random_state=0).fit(scale(X), y)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # NonStationaryWarning
    ...     model.influence_params_.shape
    (442, 11)
    """


class InfluenceHuberRegressor(InfluenceMixin, HuberRegressor):
    """:class:`~sklearn.linear_model.HuberRegressor` with influence functions.

    The parameters include the jointly fitted scale:
    ``θ = [coef_, intercept_, scale_]``, so ``influence_params_`` has one more
    column than for the other regressors, and the Hessian has ``w``–``σ`` cross
    terms. The objective is ``Σ s_i [σ + σ H_ε(r_i/σ)] + α‖w‖²`` with
    ``H_ε(z) = z²`` for ``|z| ≤ ε`` and ``2ε|z| - ε²`` beyond; its second
    derivative jumps at ``|r_i| = εσ`` and the inlier value is used there. The
    test loss is the same per-sample term ``σ + σ H_ε(r/σ)``. scikit-learn's
    L-BFGS-B fit stops on a relative decrease of the objective: use a small
    ``tol`` and a large ``max_iter``, and mind :class:`NonStationaryWarning`.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceHuberRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceHuberRegressor(tol=1e-10, max_iter=10_000).fit(scale(X), y)
    >>> model.influence_params_.shape
    (442, 12)
    """


class InfluenceLasso(InfluenceMixin, Lasso):
    """:class:`~sklearn.linear_model.Lasso` with influence functions on the active set.

    scikit-learn minimizes ``(1/(2S)) Σ s_i r_i² + α‖w‖₁`` (weights normalized,
    so the penalty is proportional to ``S = Σ s_i``). On the nonzero
    coefficients the objective is smooth; influences assume the support does
    not change under small weight changes: zero coefficients get zero
    influence, and a row whose removal would make a coefficient enter or leave
    the model is described only to first order on the current support. The
    test loss is ``½ (y - f)²``. ``positive=True`` is refused.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceLasso
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceLasso(alpha=0.5, tol=1e-12).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceElasticNet(InfluenceMixin, ElasticNet):
    """:class:`~sklearn.linear_model.ElasticNet` with influence functions on the active set.

    As :class:`InfluenceLasso`, with the penalty
    ``αρ‖w‖₁ + α(1 - ρ)/2 ‖w‖²`` (``ρ = l1_ratio``).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceElasticNet
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceElasticNet(alpha=0.01, l1_ratio=0.5, tol=1e-12).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceQuantileRegressor(InfluenceMixin, QuantileRegressor):
    """:class:`~sklearn.linear_model.QuantileRegressor` with influence functions.

    scikit-learn minimizes ``(1/S) Σ s_i ρ_q(y_i − x_iᵀw − b) + α‖w‖₁`` exactly
    (a linear program, HiGHS), ``ρ_q(r) = q r + max(0, −r)`` the pinball loss;
    in sum form the L1 penalty is ``S α‖w‖₁`` (proportional to ``S = Σ s_i``),
    the intercept unpenalized. The pinball loss is piecewise linear and the
    exact solution a vertex of the program: locally it does not move at all when
    a weight changes (its weight derivative is zero between breaks), and
    removing a row changes it by a jump or not at all. Influences therefore
    need ``smooth_pinball_temperature``. Zero coefficients stay frozen (the
    active set, as :class:`InfluenceLasso`). The test loss is the smooth
    pinball loss.

    Parameters
    ----------
    All of :class:`~sklearn.linear_model.QuantileRegressor`'s, plus

    smooth_pinball_temperature : float > 0, default=None
        Influences use the smooth pinball loss ``q r + t log(1 + e^(−r/t))``
        (Koh & Liang's smooth hinge for ``max(0, −r)``) with this ``t``, in the
        units of ``y``, evaluated at the exact fitted weights, as
        ``smooth_hinge_temperature`` does for :class:`InfluenceLinearSVC`. The
        fit is not a minimum of the smoothed objective (expect a
        :class:`NonStationaryWarning`): influences are the sample-dependent part
        of one Newton step on it from the fitted weights. At the smoothed
        objective's own minimizer they are the weight derivative of its refits;
        as ``t → 0`` at the exact solution they tend to the exact solution's
        weight derivative, zero. A ``t`` comparable to the spacing of the
        residuals near zero spreads each row's effect smoothly over the jumps
        of exact removals. ``None`` refuses.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceQuantileRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceQuantileRegressor(
    ...     quantile=0.5, alpha=0.01, smooth_pinball_temperature=5.0
    ... ).fit(scale(X), y)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # NonStationaryWarning
    ...     model.influence_params_.shape
    (442, 11)
    """

    _parameter_constraints = {
        **QuantileRegressor._parameter_constraints,
        "smooth_pinball_temperature": [
            Interval(Real, 0, None, closed="neither"),
            None,
        ],
    }

    def __init__(
        self,
        *,
        quantile=0.5,
        alpha=1.0,
        fit_intercept=True,
        solver="highs",
        solver_options=None,
        smooth_pinball_temperature=None,
    ):
        super().__init__(
            quantile=quantile,
            alpha=alpha,
            fit_intercept=fit_intercept,
            solver=solver,
            solver_options=solver_options,
        )
        self.smooth_pinball_temperature = smooth_pinball_temperature


class InfluenceLassoCV(InfluenceMixin, LassoCV):
    """:class:`~sklearn.linear_model.LassoCV` with influence functions on the active set.

    Influences are those of the final refit, ``Lasso(alpha=alpha_)``, as for
    :class:`InfluenceLasso`; the selected ``alpha_`` is held fixed (a row's
    effect on the cross-validated choice is not included).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceLassoCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceLassoCV(alphas=[0.1, 0.5, 1.0], tol=1e-12).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceElasticNetCV(InfluenceMixin, ElasticNetCV):
    """:class:`~sklearn.linear_model.ElasticNetCV` with influence functions on the active set.

    Influences are those of the final refit,
    ``ElasticNet(alpha=alpha_, l1_ratio=l1_ratio_)``, as for
    :class:`InfluenceElasticNet`; the selected ``alpha_`` and ``l1_ratio_`` are
    held fixed.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceElasticNetCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceElasticNetCV(
    ...     l1_ratio=[0.5, 0.9], alphas=[0.01, 0.1], tol=1e-12
    ... ).fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceBayesianRidge(InfluenceMixin, BayesianRidge):
    """:class:`~sklearn.linear_model.BayesianRidge` with influence functions.

    The evidence-maximized precisions ``alpha_`` (noise) and ``lambda_``
    (weights) are held fixed: ``coef_`` is the minimizer of
    ``Σ s_i (y_i - x_iᵀw - b)² + (lambda_/alpha_) ‖w‖²`` (scikit-learn computes
    it from the final precisions; the intercept is unpenalized), so influences
    are those of ``Ridge(alpha=lambda_/alpha_)``; a row's effect on the
    precisions themselves is not included. The test loss is ``(y - f)²``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceBayesianRidge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceBayesianRidge().fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """


class InfluenceARDRegression(InfluenceMixin, ARDRegression):
    """:class:`~sklearn.linear_model.ARDRegression` with influence functions.

    The precisions ``alpha_`` and ``lambda_`` (one per feature) are held fixed:
    ``coef_`` minimizes ``Σ (y_i - x_iᵀw - b)² + Σ_j (lambda_j/alpha_) w_j²`` over
    the kept features (``lambda_ < threshold_lambda``). Pruned features have
    ``coef_ = 0`` exactly and are frozen: zero influence, as zero Lasso
    coefficients. ``fit`` takes no ``sample_weight``. The test loss is
    ``(y - f)²``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceARDRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceARDRegression().fit(X, y)
    >>> model.influence_params_.shape
    (442, 11)
    """
