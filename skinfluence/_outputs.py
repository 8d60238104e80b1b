"""Influence on model outputs, on scalar functions of the parameters, and of
moving a training row's features.

Every quantity here is a directional derivative of the fitted parameters
``θ̂``: with ``influence_params_[i] = -H⁻¹ g_i = S ∂θ̂/∂s_i``, the influence of
up-weighting row ``i`` on any differentiable ``f(θ)`` is
``∇f(θ̂)ᵀ influence_params_[i] = -g_iᵀ (H⁻¹ ∇f(θ̂))``. The solve is done for the
few test-side gradients, never for every training row.
"""

from __future__ import annotations

import numbers
import warnings
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval

from ._constraints import (
    INFLUENCE_ESTIMATOR,
    RESPONSE_METHOD,
    TEST_DATA,
    MatrixLike,
    validated,
)

if TYPE_CHECKING:  # pragma: no cover
    from ._mixin import InfluenceMixin

#: default memory limit of a method's result, in bytes (``max_bytes``)
MAX_BYTES = 1e9


def check_result_size(method, shape, max_bytes, alternative, lazy=False):
    """Refuse (``ValueError``) a float64 result of ``shape`` above ``max_bytes``,
    naming the dimensions and a way to get the answer in pieces. A ``lazy``
    result (a dask array over training rows on a cluster) is not refused."""
    if lazy:
        return
    size = 8.0 * float(np.prod(shape, dtype=np.float64))
    if not size <= max_bytes:
        dims = " × ".join(str(int(n)) for n in shape)
        raise ValueError(
            f"{method} would return {dims} float64 values ({size / 1e9:.3g} GB), "
            f"more than max_bytes={max_bytes:.3g}. {alternative} Or raise max_bytes "
            "if the memory is there."
        )


def output_jacobian(fitted, X, response_method):
    """Outputs of a response method at ``X`` and their gradients in ``θ``.

    Returns ``(name, values (n, m), J (n, m, n_params))``: the response declared
    by the estimator's adapter maps the raw prediction to the outputs, and the
    objective composes its Jacobian ``∂out/∂raw`` with the model (``⊗ [x, 1]``).
    """
    name, response = fitted.response(response_method)
    values, D = response(fitted.objective.raw_prediction(fitted.theta, X))
    return name, values, fitted.objective.output_jacobian(X, D)


# -- 1. influence on predictions -------------------------------------------------
def influence_prediction(
    estimator, X_test, response_method="auto", max_bytes=MAX_BYTES
):
    """``∇f(x_test)ᵀ influence_params_[i]`` for every test output; see the mixin."""
    fitted = estimator.influence_state()
    X = fitted.validate_X(X_test)
    _, _, J = output_jacobian(fitted, X, response_method)
    n_test, m, p = J.shape
    check_result_size(
        "influence_prediction",
        (n_test, m, fitted.n_samples),
        max_bytes,
        "Pass the test rows in batches (e.g. sklearn.utils.gen_batches).",
        lazy=fitted.distributed,
    )
    out = fitted.influence_on(J.reshape(n_test * m, p).T).reshape(n_test, m, -1)
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
    fitted = estimator.influence_state()
    theta = fitted.theta
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
    return fitted.influence_on(g[:, None]).ravel()


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
        fitted = estimator.influence_state()
        self._objective = fitted.objective
        self._X, self._Y = fitted.test_data(X_test, y_test)
        self.description = f"mean loss of {self._X.shape[0]} test rows"
        self.value_ = self(fitted.theta)

    def _value_and_gradient(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        value = self._objective.loss_values(theta, self._X, self._Y).mean()
        G = self._objective.sample_gradients(theta, self._X, self._Y)
        return value, np.asarray(G.mean(axis=0)).ravel()


class _PredictionGap(ParameterFunction):
    def __init__(self, estimator, X_a, X_b, response_method, output):
        fitted = estimator.influence_state()
        self._objective = fitted.objective
        self._method, self._response = fitted.response(response_method)
        self._X_a = fitted.validate_X(X_a)
        self._X_b = fitted.validate_X(X_b)
        values, _ = self._mean_output(fitted.theta, self._X_a)
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
        self.value_ = self(fitted.theta)

    def _mean_output(self, theta, X):
        obj = self._objective
        values, D = self._response(obj.raw_prediction(theta, X))
        return values.mean(axis=0), obj.output_jacobian(X, D).mean(axis=0)

    def _value_and_gradient(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        va, Ja = self._mean_output(theta, self._X_a)
        vb, Jb = self._mean_output(theta, self._X_b)
        k = self.output
        return va[k] - vb[k], Ja[k] - Jb[k]


@validated({"estimator": INFLUENCE_ESTIMATOR, **TEST_DATA})
def mean_loss(
    estimator: InfluenceMixin, X_test: MatrixLike, y_test: ArrayLike | None = None
) -> ParameterFunction:
    """Mean test loss as a function of the parameters.

    ``f(θ) = (1/n_test) Σ_j L(z_test_j, θ)`` with ``L`` the per-sample data term of
    training (log-loss, squared error). Its influence is the mean over test rows
    of :meth:`InfluenceMixin.influence_loss`.

    This is the fast path when only an aggregate over many test rows is needed:
    ``influence_statistic(mean_loss(...))`` solves with the Hessian once, where
    :meth:`InfluenceMixin.influence_loss` solves once per test row. With the
    matrix-free solver (``hessian_solver="cg"``, large sparse models) that is
    one conjugate-gradient run instead of one per test row.

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


@validated(
    {
        "estimator": INFLUENCE_ESTIMATOR,
        "X_a": ["array-like", "sparse matrix"],
        "X_b": ["array-like", "sparse matrix"],
        "response_method": RESPONSE_METHOD,
        "output": [Interval(Integral, 0, None, closed="left"), None],
    }
)
def prediction_gap(
    estimator: InfluenceMixin,
    X_a: MatrixLike,
    X_b: MatrixLike,
    response_method: str = "auto",
    output: int | None = None,
) -> ParameterFunction:
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
    fitted = estimator.influence_state()
    objective = fitted.objective
    if not objective.feature_perturbation:
        raise NotImplementedError(
            f"{type(estimator).__name__}: influence_perturbation needs ∇_x∇_θ L of "
            "a model whose features enter only through the raw prediction; "
            f"{type(objective).__name__} also has parameters the features do not "
            "multiply (the Huber scale), whose cross derivatives are not "
            "implemented."
        )
    X, Y = fitted.test_data(X_test, y_test)
    n_test, n_train, d = X.shape[0], objective.n_samples, objective.n_features
    check_result_size(
        "influence_perturbation (n_test × n_train × n_features)",
        (n_test, n_train, d),
        max_bytes,
        "Pass fewer test rows at a time.",
    )
    A = fitted.solve(fitted.test_gradients(X, Y).T)  # H⁻¹ ∇L(z_test_j), (p, n_test)
    out = np.empty((n_test, n_train, d))
    for j in range(n_test):
        out[j] = -objective.feature_derivative_apply(fitted.theta, A[:, j])
    return out
