"""The regularized empirical risk of a linear model, composed once for every loss.

For parameters ``θ = [W.ravel(), b]`` (``W`` of shape ``(n_outputs, n_features)``,
class-major, ``b`` present only with an intercept) the model predicts
``raw_i = W x_i + b`` and the objective is

    F(θ) = Σ_i s_i L(y_i, raw_i) + ½ θᵀ diag(λ) θ,      R(θ) = F(θ) / S,  S = Σ_i s_i.

Per-sample gradients are ``∇_θ L_i = r_i ⊗ [x_i, 1]`` with ``r_i = ∂L/∂raw_i``; the
Hessian is ``H = (Σ_i s_i [x_i,1][x_i,1]ᵀ ⊗ ∂²L/∂raw_i² + diag(λ)) / S``. Nothing here
knows about scikit-learn.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches


def as_dense(a):
    """A dense ndarray of ``a`` (sparse matrices are expanded)."""
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _as_2d_outputs(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim == 1 else a


class LinearObjective:
    """Risk ``R(θ) = (Σ s_i L(y_i, W x_i + b) + ½ θᵀ diag(λ) θ) / Σ s_i``.

    Parameters
    ----------
    loss : loss object
        Per-sample loss on the raw prediction (see :mod:`skinfluence._losses`).
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        Targets in the loss's encoding.
    sample_weight : ndarray of shape (n_samples,)
        Effective weights ``s_i`` (sample weight times class weight), ``> 0`` in sum.
    penalty : ndarray of shape (n_params,)
        Diagonal ``λ`` of the quadratic penalty, in parameter order.
    fit_intercept : bool
    penalty_per_weight : bool, default=False
        True when the estimator's penalty is proportional to ``S`` (it minimizes
        a weighted *mean* loss plus a fixed penalty, as scikit-learn's GLMs do):
        ``penalty`` is then ``S`` times the mean-form penalty, and changing one
        weight also changes the penalty's relative strength.
    linear_penalty : ndarray of shape (n_params,), default=None
        A term ``cᵀθ`` added to ``F`` (an L1 penalty restricted to coefficients
        of fixed sign, ``c = λ₁ sign(θ)``); it has no curvature. Scaled like
        ``penalty`` when ``penalty_per_weight``.
    """

    def __init__(
        self,
        loss,
        X,
        Y,
        sample_weight,
        penalty,
        fit_intercept,
        penalty_per_weight=False,
        linear_penalty=None,
    ):
        self.loss = loss
        self.X = X
        self.Y = _as_2d_outputs(Y)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.penalty = np.asarray(penalty, dtype=np.float64)
        self.fit_intercept = bool(fit_intercept)
        self.penalty_per_weight = bool(penalty_per_weight)
        self.n_samples, self.n_features = X.shape
        self.n_outputs = loss.n_outputs
        self.n_params = self.n_outputs * (self.n_features + self.fit_intercept)
        self.weight_sum = float(self.sample_weight.sum())
        if not self.weight_sum > 0:
            raise ValueError("The sum of the effective sample weights must be > 0.")
        if self.penalty.shape != (self.n_params,):
            raise ValueError(
                f"penalty has shape {self.penalty.shape}, expected ({self.n_params},)."
            )
        self.linear_penalty = (
            np.zeros(self.n_params)
            if linear_penalty is None
            else np.asarray(linear_penalty, dtype=np.float64).reshape(self.n_params)
        )

    def with_weights(self, sample_weight):
        """The same objective with other effective weights (penalty rescaled if
        it is proportional to the total weight)."""
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        scale = (
            sample_weight.sum() / self.weight_sum if self.penalty_per_weight else 1.0
        )
        return LinearObjective(
            self.loss,
            self.X,
            self.Y,
            sample_weight,
            self.penalty * scale,
            self.fit_intercept,
            self.penalty_per_weight,
            linear_penalty=self.linear_penalty * scale,
        )

    # -- parameter layout -------------------------------------------------------
    def unpack(self, theta):
        """Split ``θ`` (or a (n_params, m) block) into ``W`` (K, d, ...) and ``b``."""
        K, d = self.n_outputs, self.n_features
        theta = np.asarray(theta, dtype=np.float64)
        tail = theta.shape[1:]
        W = theta[: K * d].reshape((K, d) + tail)
        b = theta[K * d :] if self.fit_intercept else np.zeros((K,) + tail)
        return W, b

    def raw_prediction(self, theta, X=None):
        X = self.X if X is None else X
        W, b = self.unpack(theta)
        return np.asarray(X @ W.T) + b

    # -- per-sample quantities --------------------------------------------------
    def loss_values(self, theta, X=None, Y=None):
        """Per-sample data term ``L(y_i, raw_i)`` (no weight, no penalty)."""
        X, Y = self._data(X, Y)
        return self.loss.loss(Y, self.raw_prediction(theta, X))

    def residuals(self, theta, X=None, Y=None):
        """``r_i = ∂L/∂raw_i``, shape (n, n_outputs)."""
        X, Y = self._data(X, Y)
        return self.loss.gradient(Y, self.raw_prediction(theta, X))

    def sample_gradients(self, theta, X=None, Y=None):
        """Matrix of ``∇_θ L(z_i, θ)``, shape (n, n_params); CSR when ``X`` is sparse."""
        X, Y = self._data(X, Y)
        return self._expand(X, self.residuals(theta, X, Y))

    def influence_gradients(self, theta, rows=None):
        """Rows ``g_i`` with ``S ∂θ̂/∂s_i = -H⁻¹ g_i``, shape (n, n_params).

        Differentiating the stationarity condition ``∇F(θ̂) = 0`` in ``s_i`` gives
        ``g_i = ∇L(z_i, θ̂)`` when the penalty does not depend on the weights (Koh
        & Liang's eq. 3), and ``g_i = ∇L(z_i, θ̂) + diag(λ) θ̂ / S`` when it is
        proportional to ``S`` (``penalty_per_weight``, design notes section 1),
        plus ``c / S`` for a linear term ``cᵀθ``.
        """
        X, Y = (self.X, self.Y) if rows is None else (self.X[rows], self.Y[rows])
        G = self.sample_gradients(theta, X, Y)
        if not self.penalty_per_weight:
            return G
        G = as_dense(G)
        return G + self._penalty_share(theta)

    def _penalty_share(self, theta):
        if not self.penalty_per_weight:
            return np.zeros(self.n_params)
        return (self.penalty * theta + self.linear_penalty) / self.weight_sum

    def influence_gradient_product(self, theta, A, rows=slice(None)):
        """``G A`` for ``G`` the influence gradients of ``rows`` and ``A`` of shape
        (n_params, m), without forming ``G``: ``Σ_k r_ik ([x_i, 1] · A_k)``."""
        A = np.asarray(A, dtype=np.float64)
        X, Y = self.X[rows], self.Y[rows]
        R = self.loss.gradient(Y, self.raw_prediction(theta, X))
        if sp.issparse(X):
            K, d, m = self.n_outputs, self.n_features, A.shape[1]
            W, b = self.unpack(A)  # (K, d, m), (K, m)
            XA = np.asarray(X @ W.transpose(1, 0, 2).reshape(d, K * m))
            out = np.einsum("nk,nkm->nm", R, XA.reshape(-1, K, m) + b[None])
        else:
            # one (rows, p) @ (p, m) product, computed as (Aᵀ Gᵀ)ᵀ so that the
            # (m, rows) transpose callers store is C-contiguous
            out = (A.T @ self._expand(X, R).T).T
        if self.penalty_per_weight:
            out += self._penalty_share(theta) @ A
        return out

    def _expand(self, X, R):
        """Rows ``r_i ⊗ [x_i, 1]`` in parameter order."""
        if sp.issparse(X):
            blocks = [sp.diags(R[:, k]) @ X for k in range(self.n_outputs)]
            if self.fit_intercept:
                blocks.append(sp.csr_matrix(R))
            return sp.hstack(blocks, format="csr")
        K, d = self.n_outputs, self.n_features
        out = np.empty((X.shape[0], self.n_params))
        for k in range(K):
            np.multiply(R[:, k, None], X, out=out[:, k * d : (k + 1) * d])
        if self.fit_intercept:
            out[:, K * d :] = R
        return out

    def _data(self, X, Y):
        if X is None:
            return self.X, self.Y
        return X, _as_2d_outputs(Y)

    # -- model-level quantities -------------------------------------------------
    def gradient(self, theta):
        """``∇R(θ)``, the full gradient of the risk."""
        R = self.residuals(theta) * self.sample_weight[:, None]
        parts = [np.asarray(self.X.T @ R).T.ravel()]
        if self.fit_intercept:
            parts.append(R.sum(axis=0))
        penalty = self.penalty * theta + self.linear_penalty
        return (np.concatenate(parts) + penalty) / self.weight_sum

    def hessian(self, theta):
        """Dense ``H = ∇²R(θ)``, shape (n_params, n_params)."""
        K = self.n_outputs
        raw = self.raw_prediction(theta)
        # column `out` of every per-sample Hessian, weighted, for each output
        cols = []
        for out in range(K):
            unit = np.zeros_like(raw)
            unit[:, out] = 1.0
            col = self.loss.hessian_apply(self.Y, raw, unit)
            cols.append(col * self.sample_weight[:, None])
        H = np.zeros((self.n_params, self.n_params))
        for out in range(K):
            ks = [k for k in range(out + 1) if np.any(cols[out][:, k])]
            grams = self._weighted_grams(cols[out][:, ks]) if ks else []
            for k, gram in zip(ks, grams, strict=True):
                idx_k, idx_o = self._block_index(k), self._block_index(out)
                H[np.ix_(idx_k, idx_o)] = gram
                H[np.ix_(idx_o, idx_k)] = gram.T
        H[np.diag_indices_from(H)] += self.penalty
        return H / self.weight_sum

    def _weighted_grams(self, W):
        """``[X, 1]ᵀ diag(W[:, k]) [X, 1]`` for every column of ``W``.

        For dense ``X``, rows go in blocks of about 8 MB (they stay in cache) and a
        weight column of one sign is a symmetric rank-k update ``±Zᵀ Z`` with
        ``Z = sqrt(±w) ⊙ [X, 1]`` (half the flops of a general product)."""
        if sp.issparse(self.X):
            return [self._weighted_gram(self.X, W[:, k]) for k in range(W.shape[1])]
        n, c = W.shape
        q = self.n_features + self.fit_intercept
        out = [np.zeros((q, q)) for _ in range(c)]
        for rows in gen_batches(n, max(1, 2**20 // q)):
            Xa = self.X[rows]
            if self.fit_intercept:
                Xa = np.hstack([Xa, np.ones((Xa.shape[0], 1))])
            for k in range(c):
                w = W[rows, k]
                if np.all(w >= 0):
                    Z = Xa * np.sqrt(w)[:, None]
                    out[k] += Z.T @ Z
                elif np.all(w <= 0):
                    Z = Xa * np.sqrt(-w)[:, None]
                    out[k] -= Z.T @ Z
                else:
                    out[k] += Xa.T @ (Xa * w[:, None])
        return out

    def _weighted_gram(self, X, w):
        """``[X, 1]ᵀ diag(w) [X, 1]`` as a dense array."""
        if sp.issparse(X):
            XtWX = (X.T @ sp.diags(w) @ X).toarray()
            Xtw = np.asarray(X.T @ w).ravel()
        else:
            Xw = X * w[:, None]
            XtWX = X.T @ Xw
            Xtw = Xw.sum(axis=0)
        if not self.fit_intercept:
            return XtWX
        d = self.n_features
        G = np.empty((d + 1, d + 1))
        G[:d, :d] = XtWX
        G[:d, d] = G[d, :d] = Xtw
        G[d, d] = w.sum()
        return G

    def _block_index(self, k):
        d = self.n_features
        idx = np.arange(k * d, (k + 1) * d)
        if self.fit_intercept:
            idx = np.append(idx, self.n_outputs * d + k)
        return idx

    def hessian_dot(self, theta, V):
        """``H V`` for ``V`` of shape (n_params,) or (n_params, m), matrix-free."""
        V = np.asarray(V, dtype=np.float64)
        one = V.ndim == 1
        V = V.reshape(self.n_params, -1)
        K, d, m = self.n_outputs, self.n_features, V.shape[1]
        raw = self.raw_prediction(theta)
        dW, db = self.unpack(V)  # (K, d, m), (K, m)
        draw = np.asarray(self.X @ dW.transpose(1, 0, 2).reshape(d, K * m))
        draw = draw.reshape(-1, K, m) + db[None]
        if K == 1:  # a scalar curvature per sample, the same for every column
            curvature = self.loss.hessian_apply(self.Y, raw, np.ones_like(raw))
            R = draw[:, 0, :] * (curvature * self.sample_weight[:, None])
            R = R[:, :, None]
        else:
            # per-sample Hessian applied to every column: (n, K, m) -> (n·m, K)
            flat = draw.transpose(0, 2, 1).reshape(-1, K)
            R = self.loss.hessian_apply(
                np.repeat(self.Y, m, axis=0), np.repeat(raw, m, axis=0), flat
            )
            R = R.reshape(-1, m, K) * self.sample_weight[:, None, None]
        parts = [np.asarray(self.X.T @ R.reshape(-1, m * K)).reshape(d, m, K)]
        out = np.empty_like(V)
        out[: K * d] = parts[0].transpose(2, 0, 1).reshape(K * d, m)
        if self.fit_intercept:
            out[K * d :] = R.sum(axis=0).T
        out += self.penalty[:, None] * V
        out /= self.weight_sum
        return out[:, 0] if one else out

    def hessian_diagonal(self, theta):
        """``diag(H)``, for preconditioning."""
        K, d, X = self.n_outputs, self.n_features, self.X
        raw = self.raw_prediction(theta)
        diag = np.empty(self.n_params)
        X2 = X.multiply(X) if sp.issparse(X) else X * X
        for k in range(K):
            unit = np.zeros_like(raw)
            unit[:, k] = 1.0
            w = self.loss.hessian_apply(self.Y, raw, unit)[:, k] * self.sample_weight
            diag[k * d : (k + 1) * d] = np.asarray(X2.T @ w).ravel()
            if self.fit_intercept:
                diag[K * d + k] = w.sum()
        return (diag + self.penalty) / self.weight_sum

    def null_directions(self):
        """Orthonormal directions along which ``R`` is exactly flat, shape (n_params, r).

        For a loss invariant to adding the same constant to every output (the
        symmetric multinomial), shifting every class's intercept together, and,
        for each feature, every class's coefficient together, leaves the data term
        unchanged; such a direction is null when the penalty does not act on it.
        """
        if not getattr(self.loss, "shift_invariant", False):
            return np.zeros((self.n_params, 0))
        K, d = self.n_outputs, self.n_features
        candidates = [j + d * np.arange(K) for j in range(d)]
        if self.fit_intercept:
            candidates.append(K * d + np.arange(K))
        dirs = []
        for idx in candidates:
            if np.all(self.penalty[idx] == 0):
                v = np.zeros(self.n_params)
                v[idx] = 1.0 / np.sqrt(K)
                dirs.append(v)
        return np.column_stack(dirs) if dirs else np.zeros((self.n_params, 0))


class MatrixObjectiveMixin:
    """The matrix-free methods the mixin uses, from explicit matrices: for
    objectives without the ``raw = W x + b`` structure (few parameters)."""

    n_outputs = 1

    def influence_gradient_product(self, theta, A, rows=slice(None)):
        G = self.influence_gradients(theta)[rows]
        return np.asarray(G @ np.asarray(A, dtype=np.float64))

    def hessian_dot(self, theta, V):
        return self.hessian(theta) @ V

    def hessian_diagonal(self, theta):
        return np.diag(self.hessian(theta)).copy()


class ActiveSetObjective(MatrixObjectiveMixin):
    """A :class:`LinearObjective` on some coordinates of ``θ``, the others frozen.

    For L1 penalties: on the coefficients that are nonzero at the fit (the
    active set) the objective is smooth; the others are assumed to stay at zero
    under small weight changes (the support does not change). ``inner`` works
    on the active coordinates ``keep``; gradients are zero and the Hessian is
    the identity on the frozen ones, so influences there are exactly zero.
    """

    def __init__(self, inner, keep, n_params, columns):
        self.inner = inner
        self.keep = np.asarray(keep)
        self.columns = np.asarray(columns)
        self.n_params = n_params
        self.n_samples = inner.n_samples
        self.sample_weight = inner.sample_weight
        self.weight_sum = inner.weight_sum
        self.Y = inner.Y

    def _X(self, X):
        return None if X is None else X[:, self.columns]

    def _embed_rows(self, G):
        G = as_dense(G)
        out = np.zeros(G.shape[:-1] + (self.n_params,))
        out[..., self.keep] = G
        return out

    def raw_prediction(self, theta, X=None):
        return self.inner.raw_prediction(theta[self.keep], self._X(X))

    def loss_values(self, theta, X=None, Y=None):
        return self.inner.loss_values(theta[self.keep], self._X(X), Y)

    def sample_gradients(self, theta, X=None, Y=None):
        return self._embed_rows(
            self.inner.sample_gradients(theta[self.keep], self._X(X), Y)
        )

    def influence_gradients(self, theta, rows=None):
        inner = self.inner.influence_gradients(theta[self.keep], rows)
        return self._embed_rows(inner)

    @property
    def penalty_per_weight(self):
        return self.inner.penalty_per_weight

    def with_weights(self, sample_weight):
        inner = self.inner.with_weights(sample_weight)
        return ActiveSetObjective(inner, self.keep, self.n_params, self.columns)

    def gradient(self, theta):
        return self._embed_rows(self.inner.gradient(theta[self.keep]))

    def hessian(self, theta):
        H = np.eye(self.n_params)
        H[np.ix_(self.keep, self.keep)] = self.inner.hessian(theta[self.keep])
        return H

    def null_directions(self):
        V = self.inner.null_directions()
        out = np.zeros((self.n_params, V.shape[1]))
        out[self.keep] = V
        return out
