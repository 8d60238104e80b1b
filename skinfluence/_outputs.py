"""Influence on model outputs, on scalar functions of the parameters, and of
moving a training row's features.

Every quantity here is a directional derivative of the fitted parameters
``θ̂``: with ``influence_params_[i] = -H⁻¹ g_i = S ∂θ̂/∂s_i``, the influence of
up-weighting row ``i`` on any differentiable ``f(θ)`` is
``∇f(θ̂)ᵀ influence_params_[i] = -g_iᵀ (H⁻¹ ∇f(θ̂))``. The solve is done for the
few test-side gradients, never for every training row.
"""

import numbers
import warnings

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import is_classifier
from sklearn.utils.validation import validate_data

from ._losses import BinaryLogLoss, MultinomialLogLoss, SquaredError
from ._objective import LinearObjective, as_dense

RESPONSE_METHODS = ("auto", "predict", "predict_proba", "decision_function")

#: default memory limit of :func:`influence_perturbation`'s result, in bytes
MAX_BYTES = 1e9


def _validate_X(estimator, X):
    return validate_data(
        estimator, X, reset=False, accept_sparse="csr", dtype=np.float64
    )


def _encode_test_targets(adapter, X, y):
    if y is None:
        y = adapter.default_targets(X)
    elif len(y) != X.shape[0]:
        raise ValueError(f"y_test has {len(y)} rows but X_test has {X.shape[0]}.")
    return adapter.encode_targets(y)


# -- outputs as functions of the raw prediction ----------------------------------
def _resolve_response_method(estimator, response_method):
    name = type(estimator).__name__
    if response_method not in RESPONSE_METHODS:
        raise ValueError(
            f"response_method must be one of {RESPONSE_METHODS}, "
            f"got {response_method!r}."
        )
    classifier = is_classifier(estimator)
    if response_method == "auto":
        if not classifier:
            return "predict"
        if hasattr(estimator, "predict_proba"):
            return "predict_proba"
        return "decision_function"
    if response_method == "predict" and classifier:
        raise ValueError(
            f"{name}.predict returns class labels, which do not change smoothly "
            "with the parameters; use response_method='predict_proba' or "
            "'decision_function'."
        )
    if not hasattr(estimator, response_method):
        raise ValueError(f"{name} has no {response_method} method.")
    return response_method


def output_derivatives(loss, raw, method):
    """Outputs of a response method and their derivatives on the raw prediction.

    Parameters
    ----------
    loss : loss object of the fitted model (decides the link)
    raw : ndarray of shape (n, K)
        Raw prediction ``W x + b``.
    method : {"predict", "predict_proba", "decision_function"}

    Returns
    -------
    values : ndarray of shape (n, m)
        The outputs, columns as scikit-learn returns them.
    D : ndarray of shape (n, m, K)
        ``D[j, k, c] = ∂ values[j, k] / ∂ raw[j, c]``.
    """
    n, K = raw.shape
    identity = np.broadcast_to(np.eye(K), (n, K, K))
    if method == "decision_function":
        return raw, identity
    if method == "predict":
        if not isinstance(loss, SquaredError):
            raise NotImplementedError(
                f"influence on predict is implemented for squared-error models, "
                f"not for {type(loss).__name__}."
            )
        return raw, identity
    if isinstance(loss, BinaryLogLoss):
        p = expit(raw[:, 0])
        dp = p * (1.0 - p)
        return np.column_stack([1.0 - p, p]), np.stack([-dp, dp], axis=1)[:, :, None]
    if isinstance(loss, MultinomialLogLoss):
        P = softmax(raw, axis=1)
        # ∂P_k/∂raw_c = P_k (δ_kc − P_c)
        return P, P[:, :, None] * (np.eye(K)[None] - P[:, None, :])
    raise NotImplementedError(
        f"predict_proba is not implemented for {type(loss).__name__}."
    )


def output_jacobian(objective, X, D):
    """Gradients in ``θ`` of every output, shape (n, m, n_params).

    An output with ``∂/∂raw = D[j, k]`` has gradient ``D[j, k] ⊗ [x_j, 1]``.
    """
    return np.stack(
        [as_dense(objective._expand(X, D[:, k, :])) for k in range(D.shape[1])],
        axis=1,
    )


# -- 1. influence on predictions -------------------------------------------------
def _linear_core(estimator, what):
    """The core of a model whose objective has the ``raw = W x + b`` structure."""
    core = estimator._core()
    if not isinstance(core["objective"], LinearObjective):
        raise NotImplementedError(
            f"{type(estimator).__name__}: {what} is implemented for linear models "
            "with θ = [coef_, intercept_] on all features (not for the Huber scale "
            "or an L1 active set)."
        )
    return core


def influence_prediction(estimator, X_test, response_method="auto"):
    """``∇f(x_test)ᵀ influence_params_[i]`` for every test output; see the mixin."""
    core = _linear_core(estimator, "influence on predictions")
    X = _validate_X(estimator, X_test)
    method = _resolve_response_method(estimator, response_method)
    objective, theta = core["objective"], core["theta"]
    _, D = output_derivatives(
        objective.loss, objective.raw_prediction(theta, X), method
    )
    J = output_jacobian(objective, X, D)
    n_test, m, p = J.shape
    A = core["solver"].solve(J.reshape(n_test * m, p).T)  # H⁻¹ ∇f, (p, n_test·m)
    out = -estimator._train_gradient_product(A).T.reshape(n_test, m, -1)
    return out[:, 0, :] if m == 1 else out


# -- 2. influence on a scalar function of the parameters ---------------------------
def central_difference_gradient(func, theta):
    """Central finite-difference gradient of ``func`` at ``theta``.

    Steps are ``ε^(1/3) max(1, |θ_k|)`` with ``ε`` the float64 epsilon, which
    balances truncation (``O(h²)``) and rounding (``O(ε/h)``) errors.
    """
    theta = np.asarray(theta, dtype=np.float64)
    steps = np.finfo(np.float64).eps ** (1 / 3) * np.maximum(1.0, np.abs(theta))
    grad = np.empty_like(theta)
    for k, h in enumerate(steps):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (float(func(up)) - float(func(down))) / (up[k] - down[k])
    return grad


def influence_statistic(estimator, func, grad=None):
    """``∇f(θ̂)ᵀ influence_params_[i]`` for a scalar ``f``; see the mixin."""
    core = estimator._core()
    theta = core["theta"]
    if grad is None:
        grad = getattr(func, "gradient", None)
    if grad is None:
        warnings.warn(
            "No gradient given: using central finite differences of func "
            f"({2 * theta.size} evaluations), accurate to about 1e-10 relative "
            "for smooth functions. Pass grad= for exact and faster results.",
            UserWarning,
            stacklevel=3,
        )
        g = central_difference_gradient(func, theta.copy())
    else:
        g = np.asarray(grad(theta.copy()), dtype=np.float64)
        if g.shape != theta.shape:
            raise ValueError(
                f"grad returned shape {g.shape}; the parameters have shape "
                f"{theta.shape} (θ = [coef_.ravel(), intercept_])."
            )
    return -estimator._train_gradient_product(core["solver"].solve(g)).ravel()


class ParameterFunction:
    """A scalar function of the parameters ``θ = [coef_.ravel(), intercept_]``
    with its exact gradient, for :meth:`InfluenceMixin.influence_statistic`.

    Call it as ``f(theta)``; ``f.gradient(theta)`` is ``∇f``; ``f.value_`` is
    ``f`` at the fitted parameters. Built by :func:`mean_loss` and
    :func:`prediction_gap`.
    """

    def __call__(self, theta):
        return float(self._value_and_gradient(theta)[0])

    def gradient(self, theta):
        """``∇f(θ)``, shape (n_params,)."""
        return self._value_and_gradient(theta)[1]

    def __repr__(self):
        return f"<{type(self).__name__}: {self.description}>"


class _MeanLoss(ParameterFunction):
    def __init__(self, estimator, X_test, y_test):
        core = estimator._core()
        self._objective = core["objective"]
        self._X = _validate_X(estimator, X_test)
        self._Y = _encode_test_targets(core["adapter"], self._X, y_test)
        self.description = f"mean loss of {self._X.shape[0]} test rows"
        self.value_ = self(core["theta"])

    def _value_and_gradient(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        value = self._objective.loss_values(theta, self._X, self._Y).mean()
        G = self._objective.sample_gradients(theta, self._X, self._Y)
        return value, np.asarray(G.mean(axis=0)).ravel()


class _PredictionGap(ParameterFunction):
    def __init__(self, estimator, X_a, X_b, response_method, output):
        core = estimator._core()
        self._objective = core["objective"]
        self._method = _resolve_response_method(estimator, response_method)
        self._X_a = _validate_X(estimator, X_a)
        self._X_b = _validate_X(estimator, X_b)
        values, _ = self._mean_output(core["theta"], self._X_a)
        m = values.size
        if output is None:
            if m == 1:
                output = 0
            elif self._method == "predict_proba" and m == 2:
                output = 1  # the positive class, classes_[1]
            else:
                raise ValueError(
                    f"{self._method} has {m} outputs: pass output= (a column "
                    "index, in classes_ order for classifiers)."
                )
        if not isinstance(output, numbers.Integral) or not 0 <= output < m:
            raise ValueError(
                f"output must be an integer column index in [0, {m}), got {output!r}."
            )
        self.output = int(output)
        self.description = (
            f"mean {self._method}[:, {self.output}] of {self._X_a.shape[0]} rows "
            f"minus that of {self._X_b.shape[0]} rows"
        )
        self.value_ = self(core["theta"])

    def _mean_output(self, theta, X):
        obj = self._objective
        values, D = output_derivatives(
            obj.loss, obj.raw_prediction(theta, X), self._method
        )
        J = output_jacobian(obj, X, D)
        return values.mean(axis=0), J.mean(axis=0)

    def _value_and_gradient(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        va, Ja = self._mean_output(theta, self._X_a)
        vb, Jb = self._mean_output(theta, self._X_b)
        k = self.output
        return va[k] - vb[k], Ja[k] - Jb[k]


def mean_loss(estimator, X_test, y_test=None):
    """Mean test loss as a function of the parameters.

    ``f(θ) = (1/n_test) Σ_j L(z_test_j, θ)`` with ``L`` the per-sample data term of
    training (log-loss, squared error). Its influence is the mean over test rows
    of :meth:`InfluenceMixin.influence_loss`.

    Parameters
    ----------
    estimator : fitted estimator with :class:`InfluenceMixin`
    X_test : {array-like, sparse matrix} of shape (n_test, n_features)
    y_test : array-like of shape (n_test,) or (n_test, n_targets), default=None
        True targets; classifiers default to their predicted labels.

    Returns
    -------
    func : ParameterFunction
        Callable on ``θ``, with a ``gradient`` method and ``value_`` at the fit.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceRidge, mean_loss
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceRidge(alpha=0.1).fit(X[:300], y[:300])
    >>> f = mean_loss(model, X[300:], y[300:])
    >>> round(f.value_, 1)
    2783.9
    >>> model.influence_statistic(f).shape
    (300,)
    """
    return _MeanLoss(estimator, X_test, y_test)


def prediction_gap(estimator, X_a, X_b, response_method="auto", output=None):
    """Difference of mean predicted output between two groups of rows.

    ``f(θ) = mean_{x ∈ X_a} out_k(x; θ) − mean_{x ∈ X_b} out_k(x; θ)``, e.g. the
    gap in predicted probability of a class between two groups (a demographic
    parity gap) or in mean regression prediction.

    Parameters
    ----------
    estimator : fitted estimator with :class:`InfluenceMixin`
    X_a, X_b : {array-like, sparse matrix} of shape (n_a, n_features), (n_b, n_features)
    response_method : {"auto", "predict_proba", "decision_function", "predict"}
        As in :meth:`InfluenceMixin.influence_prediction`.
    output : int, default=None
        Column of the response: a class index in ``classes_`` order, or a target
        index. Defaults to the only column, or the positive class ``classes_[1]``
        of a binary ``predict_proba``.

    Returns
    -------
    func : ParameterFunction
        Callable on ``θ``, with a ``gradient`` method and ``value_`` at the fit.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from skinfluence import InfluenceLogisticRegression, prediction_gap
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = scale(X)
    >>> model = InfluenceLogisticRegression(solver="newton-cholesky").fit(X, y)
    >>> large = X[:, 0] > 0  # mean radius above average
    >>> gap = prediction_gap(model, X[large], X[~large])
    >>> round(gap.value_, 3)  # P(benign) is lower for large tumours
    -0.709
    >>> model.influence_statistic(gap).shape
    (569,)
    """
    return _PredictionGap(estimator, X_a, X_b, response_method, output)


# -- 3. influence of moving a training row's features -----------------------------
def influence_perturbation(estimator, X_test, y_test=None, max_bytes=MAX_BYTES):
    """``-∇L(z_test_j)ᵀ H⁻¹ ∇_x∇_θ L(z_i, θ̂)``, shape (n_test, n_train, d); see the mixin.

    With ``η = W x + b``, ``r = ∂L/∂η`` and ``Λ = ∂²L/∂η²``, the per-sample gradient
    is ``r ⊗ [x, 1]``; its derivative in ``x`` sends a vector ``a = (A, c)`` in
    parameter space to ``aᵀ ∇_x∇_θ L = (Λ (A x + c))ᵀ W + rᵀ A``: the first term
    is the change of ``r`` through ``η``, the second the ``x`` inside ``r ⊗ x``.
    """
    core = _linear_core(estimator, "influence of feature perturbations")
    objective, theta = core["objective"], core["theta"]
    X = _validate_X(estimator, X_test)
    n_test, n_train, d = X.shape[0], objective.n_samples, objective.n_features
    size = 8.0 * n_test * n_train * d
    if size > max_bytes:
        raise ValueError(
            f"influence_perturbation would return n_test × n_train × n_features = "
            f"{n_test} × {n_train} × {d} float64 values ({size / 1e9:.3g} GB), "
            f"more than max_bytes={max_bytes:.3g}. Pass fewer test rows, or raise "
            "max_bytes if the memory is there."
        )
    Y = _encode_test_targets(core["adapter"], X, y_test)
    G_test = as_dense(objective.sample_gradients(theta, X, Y))
    A = core["solver"].solve(G_test.T)  # H⁻¹ ∇L(z_test_j), (p, n_test)
    W, _ = objective.unpack(theta)
    X_train = objective.X
    raw = objective.raw_prediction(theta)
    R = objective.residuals(theta)
    out = np.empty((n_test, n_train, d))
    for j in range(n_test):
        A_coef, c = objective.unpack(A[:, j])
        U = np.asarray(X_train @ A_coef.T) + c  # (A x_i + c), (n_train, K)
        out[j] = -(objective.loss.hessian_apply(objective.Y, raw, U) @ W + R @ A_coef)
    return out
