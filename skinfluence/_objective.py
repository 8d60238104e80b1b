"""The regularized empirical risk of a model, composed once for every loss.

Every objective here offers one interface (documented on :class:`Objective`);
the public methods use nothing else. For the linear model with parameters
``θ = [W.ravel(), b]`` (``W`` of shape ``(n_outputs, n_features)``, class-major,
``b`` present only with an intercept), ``raw_i = W x_i + b`` and

    F(θ) = Σ_i s_i L(y_i, raw_i) + Ω(θ),      R(θ) = F(θ) / S,  S = Σ_i s_i,

with ``Ω`` a declared :class:`~skinfluence._penalties.Penalty`. Per-sample
gradients are ``∇_θ L_i = r_i ⊗ [x_i, 1]`` with ``r_i = ∂L/∂raw_i``; the Hessian
is ``H = (Σ_i s_i [x_i,1][x_i,1]ᵀ ⊗ ∂²L/∂raw_i² + diag(λ)) / S``.

Row structure (Newton removal and diagnostics): row ``i`` enters ``F`` through
``u_i = J_i θ`` (``J_i`` of shape ``(k, p)``), so it adds ``s_i J_iᵀ ∂L/∂u`` to the
gradient and ``J_iᵀ D_i J_i`` (``D_i = s_i ∂²L/∂u²``) to the Hessian. Nothing here
knows about scikit-learn.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches

from ._penalties import Penalty


def as_dense(a):
    """A dense ndarray of ``a`` (sparse matrices are expanded)."""
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _as_2d_outputs(a):
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, 1) if a.ndim == 1 else a


class Objective:
    """The interface every objective implements, and its declared capabilities.

    Attributes: ``n_samples``, ``n_params``, ``n_outputs`` (columns of the raw
    prediction), ``sample_weight`` (effective ``s_i``), ``weight_sum`` (``S``),
    ``penalty`` (:class:`~skinfluence._penalties.Penalty`), ``loss``.

    Methods: ``raw_prediction``, ``loss_values``, ``sample_gradients``,
    ``influence_gradients``, ``influence_gradient_product``, ``gradient``,
    ``hessian``, ``hessian_dot``, ``hessian_diagonal``, ``null_directions``,
    ``output_jacobian`` (gradients of outputs of the raw prediction),
    ``row_jacobian``, ``row_curvature``, ``row_residuals`` (the row structure),
    ``dispersion`` and ``deleted_dispersion``.
    """

    #: ``influence_perturbation`` needs ``∇_x ∇_θ L`` (features enter only via ``raw``)
    feature_perturbation = False
    #: coordinates held at zero (an L1 active set's inactive coefficients)
    n_frozen = 0
    #: targets ``Y`` and ``raw_prediction(θ)`` of the training rows are at hand
    #: (residual-based diagnostics need them)
    rows_in_memory = True

    def influence_gradients(self, theta, rows=None):
        """Rows ``g_i`` with ``S ∂θ̂/∂s_i = -H⁻¹ g_i``: ``∇L_i`` plus the penalty's
        weight derivative (Koh & Liang's eq. 3 when the penalty is fixed)."""
        X, Y = self._rows_data(rows)
        G = self.sample_gradients(theta, X, Y)
        share = self.penalty.weight_derivative(theta, self.weight_sum)
        return G if not share.any() else as_dense(G) + share

    def influence_gradient_product(self, theta, A, rows=slice(None)):
        """``G A`` for ``G`` the influence gradients of ``rows``, shape (rows, m)."""
        rows = np.arange(self.n_samples)[rows]
        G = as_dense(self.influence_gradients(theta, rows))
        return G @ np.asarray(A, dtype=np.float64)

    def loss_values_at(self, thetas, X, Y):
        """``L(z_j, θ_c)`` for many parameter vectors (columns of ``thetas``): (m, c)."""
        return np.column_stack([self.loss_values(t, X, Y) for t in thetas.T])

    def dispersion(self, theta, dof):
        """The loss's dispersion ``φ`` at ``θ`` (``None``: not a likelihood)."""
        raw = self.raw_prediction(theta)
        return self.loss.dispersion(self.Y, raw, self.sample_weight, dof)

    def deleted_dispersion(self, theta, dof, leverage):
        """``φ₍ᵢ₎`` of each row (the loss's Gaussian formula, else ``φ``);
        ``leverage`` holds each row's hat value per output, (n, K)."""
        raw = self.raw_prediction(theta)
        return self.loss.deleted_dispersion(
            self.Y, raw, self.sample_weight, dof, leverage
        )

    def _rows_data(self, rows):
        if rows is None:
            return self.X, self.Y
        return self.X[rows], self.Y[rows]

    def _data(self, X, Y):
        if X is None:
            return self.X, self.Y
        return X, _as_2d_outputs(Y)


class LinearObjective(Objective):
    """Risk ``R(θ) = (Σ s_i L(y_i, W x_i + b) + Ω(θ)) / Σ s_i``.

    Parameters
    ----------
    loss : :class:`~skinfluence._losses.Loss`
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
        Targets in the loss's encoding.
    sample_weight : ndarray of shape (n_samples,)
        Effective weights ``s_i`` (sample weight times class weight), ``> 0`` in sum.
    penalty : :class:`~skinfluence._penalties.Penalty`
    fit_intercept : bool
    weight_sum : float, default=None
        ``S`` of the whole training set when ``X`` holds only some of its rows (a
        chunk); ``None``: the sum of ``sample_weight``.
    """

    feature_perturbation = True

    def __init__(
        self, loss, X, Y, sample_weight, penalty, fit_intercept, weight_sum=None
    ):
        self.loss = loss
        self.X = X
        self.Y = _as_2d_outputs(Y)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self.penalty = penalty
        self.fit_intercept = bool(fit_intercept)
        self.n_samples, self.n_features = X.shape
        self.n_outputs = loss.n_outputs
        self.n_params = self.n_outputs * (self.n_features + self.fit_intercept)
        if weight_sum is None:
            weight_sum = self.sample_weight.sum()
        self.weight_sum = float(weight_sum)
        if not self.weight_sum > 0:
            raise ValueError("The sum of the effective sample weights must be > 0.")
        if penalty.n_params != self.n_params:
            raise ValueError(
                f"penalty has {penalty.n_params} entries, expected {self.n_params}."
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

    def loss_values_at(self, thetas, X, Y):
        """``L(z_j, θ_c)`` for many ``θ_c`` (columns), through one product: (m, c)."""
        Y = _as_2d_outputs(Y)
        W, b = self.unpack(thetas)  # (K, d, c), (K, c)
        K, d, c = W.shape
        m = X.shape[0]
        raw = np.asarray(X @ W.transpose(1, 0, 2).reshape(d, K * c)).reshape(m, K, c)
        raw = (raw + b[None]).transpose(0, 2, 1).reshape(m * c, K)
        return self.loss.loss(np.repeat(Y, c, axis=0), raw).reshape(m, c)

    def residuals(self, theta, X=None, Y=None):
        """``r_i = ∂L/∂raw_i``, shape (n, n_outputs)."""
        X, Y = self._data(X, Y)
        return self.loss.gradient(Y, self.raw_prediction(theta, X))

    def sample_gradients(self, theta, X=None, Y=None):
        """Matrix of ``∇_θ L(z_i, θ)``, shape (n, n_params); CSR when ``X`` is sparse."""
        X, Y = self._data(X, Y)
        return self.expand(X, self.residuals(theta, X, Y))

    def influence_gradient_product(self, theta, A, rows=slice(None)):
        """``G A`` without forming ``G``: ``Σ_k r_ik ([x_i, 1] · A_k)``."""
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
            out = (A.T @ self.expand(X, R).T).T
        share = self.penalty.weight_derivative(theta, self.weight_sum)
        if share.any():
            out += share @ A
        return out

    def expand(self, X, R):
        """Rows ``r_i ⊗ [x_i, 1]`` in parameter order (CSR when ``X`` is sparse)."""
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

    def output_jacobian(self, X, D):
        """Gradients in ``θ`` of outputs with ``∂out_k/∂raw = D[:, k]``: (n, m, p)."""
        J = np.empty((X.shape[0], D.shape[1], self.n_params))
        for k in range(D.shape[1]):
            J[:, k, :] = as_dense(self.expand(X, D[:, k, :]))
        return J

    # -- row structure: u_i = raw_i = J_i θ ---------------------------------------
    def row_jacobian(self, rows):
        """``J_i`` of the given rows, (b, K, p): row k is ``e_k ⊗ [x_i, 1]``, the
        output Jacobian of ``raw`` itself."""
        X = self.X[rows]
        K = self.n_outputs
        return self.output_jacobian(X, np.broadcast_to(np.eye(K), (X.shape[0], K, K)))

    def row_curvature(self, theta, rows):
        """``D_i = s_i ∂²L/∂raw²`` of the given rows, (b, K, K)."""
        raw = self.raw_prediction(theta, self.X[rows])
        D = self.loss.hessian_blocks(self.Y[rows], raw)
        return D * self.sample_weight[rows, None, None]

    def row_residuals(self, theta, rows):
        """``ρ_i = s_i ∂L/∂raw_i`` of the given rows, (b, K)."""
        R = self.residuals(theta, self.X[rows], self.Y[rows])
        return self.sample_weight[rows, None] * R

    # -- model-level quantities -------------------------------------------------
    def gradient(self, theta):
        """``∇R(θ)``, the full gradient of the risk."""
        R = self.residuals(theta) * self.sample_weight[:, None]
        parts = [np.asarray(self.X.T @ R).T.ravel()]
        if self.fit_intercept:
            parts.append(R.sum(axis=0))
        return (np.concatenate(parts) + self.penalty.gradient(theta)) / self.weight_sum

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
        H[np.diag_indices_from(H)] += self.penalty.l2
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
        XtWX = (X.T @ sp.diags(w) @ X).toarray()
        Xtw = np.asarray(X.T @ w).ravel()
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
        out += self.penalty.l2[:, None] * V
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
        return (diag + self.penalty.l2) / self.weight_sum

    def null_directions(self):
        """Orthonormal directions along which ``R`` is exactly flat, shape (n_params, r).

        For a loss invariant to adding the same constant to every output (the
        symmetric multinomial), shifting every class's intercept together, and,
        for each feature, every class's coefficient together, leaves the data term
        unchanged; such a direction is null when the penalty does not act on it.
        """
        if not self.loss.shift_invariant:
            return np.zeros((self.n_params, 0))
        K, d = self.n_outputs, self.n_features
        candidates = [j + d * np.arange(K) for j in range(d)]
        if self.fit_intercept:
            candidates.append(K * d + np.arange(K))
        dirs = []
        for idx in candidates:
            if np.all(self.penalty.l2[idx] == 0) and np.all(self.penalty.l1[idx] == 0):
                v = np.zeros(self.n_params)
                v[idx] = 1.0 / np.sqrt(K)
                dirs.append(v)
        return np.column_stack(dirs) if dirs else np.zeros((self.n_params, 0))

    def feature_derivative_apply(self, theta, A):
        """``Aᵀ ∇_x∇_θ L(z_i)`` for one direction ``A`` in θ: (n_train, n_features).

        With ``r = ∂L/∂raw`` and ``Λ = ∂²L/∂raw²`` the per-sample gradient is
        ``r ⊗ [x, 1]``; its derivative in ``x`` sends ``a = (A_W, c)`` to
        ``(Λ (A_W x + c))ᵀ W + rᵀ A_W``: the change of ``r`` through ``raw``, then
        the ``x`` inside ``r ⊗ x``.
        """
        A_coef, c = self.unpack(A)
        W, _ = self.unpack(theta)
        raw = self.raw_prediction(theta)
        U = np.asarray(self.X @ A_coef.T) + c
        R = self.residuals(theta)
        return self.loss.hessian_apply(self.Y, raw, U) @ W + R @ A_coef


class ActiveSetObjective(Objective):
    """A :class:`LinearObjective` on some coordinates of ``θ``, the others frozen.

    For L1 penalties: on the coefficients that are nonzero at the fit (the
    active set) the objective is smooth; the others are assumed to stay at zero
    under small weight changes (the support does not change). ``inner`` works
    on the active coordinates ``keep``; gradients are zero and the Hessian is
    the identity on the frozen ones, so influences there are exactly zero.
    """

    feature_perturbation = True

    def __init__(self, inner, keep, n_params, columns):
        self.inner = inner
        self.keep = np.asarray(keep)
        self.columns = np.asarray(columns)
        self.n_params = n_params
        self.n_frozen = n_params - self.keep.size
        self.n_features = n_params - inner.n_params + inner.n_features
        self.loss = inner.loss
        self.n_outputs = inner.n_outputs
        self.n_samples = inner.n_samples
        self.sample_weight = inner.sample_weight
        self.weight_sum = inner.weight_sum
        self.X, self.Y = inner.X, inner.Y
        l2, l1 = np.zeros(n_params), np.zeros(n_params)
        l2[self.keep], l1[self.keep] = inner.penalty.l2, inner.penalty.l1
        self.penalty = Penalty(l2, l1, inner.penalty.scaling, inner.penalty.totals)

    def _X(self, X):
        return None if X is None else X[:, self.columns]

    def _embed(self, G):
        G = as_dense(G)
        out = np.zeros(G.shape[:-1] + (self.n_params,))
        out[..., self.keep] = G
        return out

    def raw_prediction(self, theta, X=None):
        return self.inner.raw_prediction(theta[self.keep], self._X(X))

    def loss_values(self, theta, X=None, Y=None):
        return self.inner.loss_values(theta[self.keep], self._X(X), Y)

    def sample_gradients(self, theta, X=None, Y=None):
        return self._embed(self.inner.sample_gradients(theta[self.keep], self._X(X), Y))

    def loss_values_at(self, thetas, X, Y):
        return self.inner.loss_values_at(thetas[self.keep], self._X(X), Y)

    def influence_gradients(self, theta, rows=None):
        return self._embed(self.inner.influence_gradients(theta[self.keep], rows))

    def influence_gradient_product(self, theta, A, rows=slice(None)):
        A = np.asarray(A, dtype=np.float64)
        return self.inner.influence_gradient_product(
            theta[self.keep], A[self.keep], rows
        )

    def output_jacobian(self, X, D):
        return self._embed(self.inner.output_jacobian(X[:, self.columns], D))

    def row_jacobian(self, rows):
        return self._embed(self.inner.row_jacobian(rows))

    def row_curvature(self, theta, rows):
        return self.inner.row_curvature(theta[self.keep], rows)

    def row_residuals(self, theta, rows):
        return self.inner.row_residuals(theta[self.keep], rows)

    def gradient(self, theta):
        return self._embed(self.inner.gradient(theta[self.keep]))

    def hessian(self, theta):
        H = np.eye(self.n_params)
        H[np.ix_(self.keep, self.keep)] = self.inner.hessian(theta[self.keep])
        return H

    def hessian_dot(self, theta, V):
        V = np.asarray(V, dtype=np.float64)
        out = V.copy()
        out[self.keep] = self.inner.hessian_dot(theta[self.keep], V[self.keep])
        return out

    def hessian_diagonal(self, theta):
        out = np.ones(self.n_params)
        out[self.keep] = self.inner.hessian_diagonal(theta[self.keep])
        return out

    def null_directions(self):
        V = self.inner.null_directions()
        out = np.zeros((self.n_params, V.shape[1]))
        out[self.keep] = V
        return out

    def dispersion(self, theta, dof):
        return self.inner.dispersion(theta[self.keep], dof)

    def deleted_dispersion(self, theta, dof, leverage):
        return self.inner.deleted_dispersion(theta[self.keep], dof, leverage)

    def feature_derivative_apply(self, theta, A):
        """Inactive features have zero coefficients and frozen influence: their
        columns are zero; the active ones follow :class:`LinearObjective`."""
        A = np.asarray(A, dtype=np.float64)
        out = np.zeros((self.n_samples, self.n_features))
        out[:, self.columns] = self.inner.feature_derivative_apply(
            theta[self.keep], A[self.keep]
        )
        return out
