"""Ready-made influence estimators: a scikit-learn linear model plus the mixin."""

from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from ._mixin import InfluenceMixin


class InfluenceLogisticRegression(InfluenceMixin, LogisticRegression):
    """:class:`~sklearn.linear_model.LogisticRegression` with influence functions.

    Same parameters and fit as ``LogisticRegression``; adds ``influence_params_``,
    ``influence_loss`` and ``remove_effect`` (see :class:`InfluenceMixin`).
    Supported: binary and multinomial, the L2 penalty with every solver
    (liblinear's penalized intercept included), no penalty (``C=np.inf``),
    ``class_weight`` with ``sample_weight``. L1 and elastic-net penalties raise
    ``NotImplementedError`` when an influence is asked for.

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
