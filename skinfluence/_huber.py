"""HuberRegressor's objective: the scale σ is a parameter, fitted jointly.

scikit-learn minimizes ``F(θ) = Σ_i s_i L_i(θ) + α‖w‖²`` over
``θ = [w, b, σ]`` with, for ``r_i = y_i - x_iᵀw - b``,

    L_i = σ + r_i²/σ                    if |r_i| ≤ εσ   (inlier)
    L_i = σ + 2ε|r_i| - σε²             otherwise       (outlier).

``L_i`` is once continuously differentiable; its second derivative jumps at
``|r_i| = εσ``. We use the inlier (one-sided) value there, matching
scikit-learn's outlier mask ``|r| > εσ``. Per-sample derivatives, with
``z_i = [x_i, 1]``:

    inlier:  ∇_(w,b) L = -2 r/σ z,  ∂L/∂σ = 1 - r²/σ²,
             ∇²_(w,b) L = 2/σ z zᵀ, ∂²L/∂(w,b)∂σ = 2r/σ² z, ∂²L/∂σ² = 2r²/σ³;
    outlier: ∇_(w,b) L = -2ε sign(r) z, ∂L/∂σ = 1 - ε², second derivatives 0.
"""

import numpy as np

from ._objective import MatrixObjectiveMixin, as_dense


class HuberObjective(MatrixObjectiveMixin):
    """Risk ``R(θ) = F(θ)/S`` of HuberRegressor, ``θ = [coef_, intercept_, scale_]``.

    Offers the same interface as :class:`~skinfluence._objective.LinearObjective`
    (the parts :class:`~skinfluence.InfluenceMixin` uses).
    """

    penalty_per_weight = False

    def __init__(self, X, y, sample_weight, alpha, epsilon, fit_intercept):
        self.X = X
        self.Y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.alpha = float(alpha)
        self.epsilon = float(epsilon)
        self.fit_intercept = bool(fit_intercept)
        self.n_samples, self.n_features = X.shape
        self.n_params = self.n_features + self.fit_intercept + 1
        self.weight_sum = float(self.sample_weight.sum())
        if not self.weight_sum > 0:
            raise ValueError("The sum of the effective sample weights must be > 0.")
        self.penalty = np.zeros(self.n_params)
        self.penalty[: self.n_features] = 2.0 * self.alpha  # α‖w‖² = ½ wᵀ(2α)w

    def _split(self, theta):
        d = self.n_features
        b = theta[d] if self.fit_intercept else 0.0
        return theta[:d], b, theta[-1]

    def raw_prediction(self, theta, X=None):
        X = self.X if X is None else X
        w, b, _ = self._split(theta)
        return (np.asarray(X @ w) + b).reshape(-1, 1)

    def _parts(self, theta, X, Y):
        X, Y = (
            (self.X, self.Y) if X is None else (X, np.asarray(Y, float).reshape(-1, 1))
        )
        _, _, sigma = self._split(theta)
        r = Y[:, 0] - self.raw_prediction(theta, X)[:, 0]
        inlier = np.abs(r) <= self.epsilon * sigma
        return X, r, sigma, inlier

    def loss_values(self, theta, X=None, Y=None):
        """Per-sample ``L_i`` (no weight, no penalty)."""
        _, r, sigma, inlier = self._parts(theta, X, Y)
        e = self.epsilon
        return sigma + np.where(inlier, r**2 / sigma, 2 * e * np.abs(r) - sigma * e**2)

    def sample_gradients(self, theta, X=None, Y=None):
        """Rows ``∇_θ L_i``, shape (n, n_params), dense."""
        X, r, sigma, inlier = self._parts(theta, X, Y)
        e = self.epsilon
        dr = np.where(inlier, -2 * r / sigma, -2 * e * np.sign(r))  # ∂L/∂(xᵀw + b)
        ds = np.where(inlier, 1 - (r / sigma) ** 2, 1 - e**2)
        Xd = as_dense(X)
        cols = [dr[:, None] * Xd]
        if self.fit_intercept:
            cols.append(dr[:, None])
        cols.append(ds[:, None])
        return np.hstack(cols)

    def influence_gradients(self, theta, rows=None):
        """The penalty does not depend on the weights: ``∇L_i`` itself."""
        G = self.sample_gradients(theta)
        return G if rows is None else G[rows]

    def gradient(self, theta):
        """``∇R(θ)``."""
        G = self.sample_gradients(theta)
        return (self.sample_weight @ G + self.penalty * theta) / self.weight_sum

    def hessian(self, theta):
        """Dense ``H = ∇²R(θ)`` with the one-sided value at the kink."""
        X, r, sigma, inlier = self._parts(theta, None, None)
        s = self.sample_weight * inlier
        Xd = as_dense(X)
        Z = np.hstack([Xd, np.ones((self.n_samples, 1))]) if self.fit_intercept else Xd
        q = Z.shape[1]
        H = np.empty((self.n_params, self.n_params))
        H[:q, :q] = (2.0 / sigma) * (Z.T @ (s[:, None] * Z))
        H[:q, q] = H[q, :q] = (2.0 / sigma**2) * (Z.T @ (s * r))
        H[q, q] = (2.0 / sigma**3) * (s @ r**2)
        H[np.diag_indices_from(H)] += self.penalty
        return H / self.weight_sum

    def null_directions(self):
        return np.zeros((self.n_params, 0))
