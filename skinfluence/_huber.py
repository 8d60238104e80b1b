"""HuberRegressor's objective: the scale σ is a parameter, fitted jointly.

scikit-learn minimizes ``F(θ) = Σ_i s_i L_i(θ) + α‖w‖²`` over
``θ = [w, b, σ]`` with, for ``r_i = y_i - η_i`` and ``η_i = x_iᵀw + b``,

    L_i = σ + r_i²/σ                    if |r_i| ≤ εσ   (inlier)
    L_i = σ + 2ε|r_i| - σε²             otherwise       (outlier).

Row ``i`` enters through ``u_i = (η_i, σ) = J_i θ`` with ``J_i = [[x̃_i, 0], [0, 1]]``
(``x̃_i = [x_i, 1]``), so the generic row structure of
:mod:`skinfluence._objective` applies with two columns per row:

    inlier:  ∂L/∂u = (-2r/σ, 1 - r²/σ²),
             ∂²L/∂u² = [[2/σ, 2r/σ²], [2r/σ², 2r²/σ³]]  (= (2/σ³) a aᵀ, a = (σ, r));
    outlier: ∂L/∂u = (-2ε sign(r), 1 - ε²), ∂²L/∂u² = 0.

``L_i`` is once continuously differentiable; its second derivative jumps at
``|r_i| = εσ``: we use the inlier (one-sided) value there, matching
scikit-learn's outlier mask ``|r| > εσ``.
"""

import numpy as np

from ._losses import Loss
from ._objective import Objective, as_dense
from ._penalties import Penalty


class HuberScaleLoss(Loss):
    """Declared properties of ``σ + σ H_ε(r/σ)``: jointly convex in ``(η, σ)``
    (a perspective), not twice differentiable at ``|r| = εσ``, not a
    negative log-likelihood (no dispersion)."""

    smooth = False

    def __init__(self, epsilon):
        self.epsilon = float(epsilon)


class HuberObjective(Objective):
    """Risk ``R(θ) = F(θ)/S`` of HuberRegressor, ``θ = [coef_, intercept_, scale_]``."""

    n_outputs = 1
    feature_perturbation = True

    def __init__(self, X, y, sample_weight, alpha, epsilon, fit_intercept):
        self.X = as_dense(X)
        self.Y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.epsilon = float(epsilon)
        self.loss = HuberScaleLoss(epsilon)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples, self.n_features = self.X.shape
        self.n_params = self.n_features + self.fit_intercept + 1
        self.weight_sum = float(self.sample_weight.sum())
        if not self.weight_sum > 0:
            raise ValueError("The sum of the effective sample weights must be > 0.")
        l2 = np.zeros(self.n_params)
        l2[: self.n_features] = 2.0 * alpha  # α‖w‖² = ½ wᵀ(2α)w
        self.penalty = Penalty(l2)

    def _design(self, X):
        X = as_dense(X)
        if not self.fit_intercept:
            return X
        return np.hstack([X, np.ones((X.shape[0], 1))])

    def raw_prediction(self, theta, X=None):
        X = self.X if X is None else X
        q = self.n_params - 1
        return (self._design(X) @ theta[:q]).reshape(-1, 1)

    def _u_derivatives(self, theta, X, Y):
        """``∂L/∂u`` (n, 2) and ``∂²L/∂u²`` (n, 2, 2) at ``u = (η, σ)``."""
        sigma, e = theta[-1], self.epsilon
        r = Y[:, 0] - self.raw_prediction(theta, X)[:, 0]
        inlier = np.abs(r) <= e * sigma
        grad = np.column_stack(
            [
                np.where(inlier, -2 * r / sigma, -2 * e * np.sign(r)),
                np.where(inlier, 1 - (r / sigma) ** 2, 1 - e**2),
            ]
        )
        a = np.stack([np.full_like(r, sigma), r], axis=1) * inlier[:, None]
        hess = (2.0 / sigma**3) * a[:, :, None] * a[:, None, :]
        return grad, hess

    def loss_values(self, theta, X=None, Y=None):
        """Per-sample ``L_i`` (no weight, no penalty)."""
        X, Y = self._data(X, Y)
        sigma, e = theta[-1], self.epsilon
        r = Y[:, 0] - self.raw_prediction(theta, X)[:, 0]
        inlier = np.abs(r) <= e * sigma
        return sigma + np.where(inlier, r**2 / sigma, 2 * e * np.abs(r) - sigma * e**2)

    def loss_values_at(self, thetas, X, Y):
        """``L(z_j, θ_c)`` for many ``θ_c`` (columns): (m, c)."""
        e, sigma = self.epsilon, thetas[-1][None, :]
        r = np.asarray(Y, float).reshape(-1, 1) - self._design(X) @ thetas[:-1]
        inlier = np.abs(r) <= e * sigma
        return sigma + np.where(inlier, r**2 / sigma, 2 * e * np.abs(r) - sigma * e**2)

    def _jacobian(self, X):
        Z = self._design(X)
        J = np.zeros((Z.shape[0], 2, self.n_params))
        J[:, 0, :-1] = Z
        J[:, 1, -1] = 1.0
        return J

    def sample_gradients(self, theta, X=None, Y=None):
        """Rows ``∇_θ L_i = J_iᵀ ∂L/∂u``, shape (n, n_params), dense."""
        X, Y = self._data(X, Y)
        grad, _ = self._u_derivatives(theta, X, Y)
        return np.hstack([grad[:, :1] * self._design(X), grad[:, 1:]])

    def output_jacobian(self, X, D):
        Z = self._design(X)
        J = np.zeros((Z.shape[0], D.shape[1], self.n_params))
        J[:, :, :-1] = D[:, :, :1] * Z[:, None, :]
        return J

    def row_jacobian(self, rows):
        return self._jacobian(self.X[rows])

    def row_curvature(self, theta, rows):
        _, hess = self._u_derivatives(theta, self.X[rows], self.Y[rows])
        return hess * self.sample_weight[rows, None, None]

    def row_residuals(self, theta, rows):
        grad, _ = self._u_derivatives(theta, self.X[rows], self.Y[rows])
        return grad * self.sample_weight[rows, None]

    def gradient(self, theta):
        """``∇R(θ)``."""
        G = self.sample_gradients(theta)
        return (self.sample_weight @ G + self.penalty.gradient(theta)) / self.weight_sum

    def hessian(self, theta):
        """Dense ``H = Σ_i J_iᵀ D_i J_i / S`` (+ penalty), one-sided at the kink."""
        _, hess = self._u_derivatives(theta, self.X, self.Y)
        hess *= self.sample_weight[:, None, None]
        Z = self._design(self.X)
        q = Z.shape[1]
        H = np.empty((self.n_params, self.n_params))
        H[:q, :q] = Z.T @ (hess[:, 0, 0, None] * Z)
        H[:q, q] = H[q, :q] = Z.T @ hess[:, 0, 1]
        H[q, q] = hess[:, 1, 1].sum()
        H[np.diag_indices_from(H)] += self.penalty.l2
        return H / self.weight_sum

    def feature_derivative_apply(self, theta, A):
        """``Aᵀ ∇_x∇_θ L(z_i)`` for one direction ``A``: (n_train, n_features).

        ``Aᵀ g_i = (a_βᵀ x̃_i) ∂L/∂η + a_σ ∂L/∂σ``; differentiating in ``x_i`` (which
        enters through ``η = x̃ᵀβ`` and explicitly in ``x̃``) gives
        ``a_β ∂L/∂η + ((a_βᵀ x̃_i) ∂²L/∂η² + a_σ ∂²L/∂σ∂η) β``, restricted to the
        feature coordinates.
        """
        d = self.n_features
        grad, hess = self._u_derivatives(theta, self.X, self.Y)
        Z = self._design(self.X)
        a_beta, a_sigma = A[:-1], A[-1]
        coef = (Z @ a_beta) * hess[:, 0, 0] + a_sigma * hess[:, 0, 1]
        return grad[:, :1] * a_beta[:d] + coef[:, None] * theta[:d]

    def hessian_dot(self, theta, V):
        return self.hessian(theta) @ V

    def hessian_diagonal(self, theta):
        return np.diag(self.hessian(theta)).copy()

    def null_directions(self):
        return np.zeros((self.n_params, 0))
