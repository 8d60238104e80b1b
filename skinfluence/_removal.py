"""One exact Newton step on the objective without some rows (Woodbury), batched.

Write the sum-form objective's Hessian ``A = S H`` and gradient ``q = S ∇R(θ̂)``.
Row ``i`` enters the model through ``raw_i = J_i θ`` (``J_i`` of shape (K, p)); its
weighted data term contributes ``s_i J_iᵀ r_i`` to the gradient and
``J_iᵀ D_i J_i`` (``D_i = s_i ∂²L/∂raw²``) to the Hessian. Removing a set of rows
``I`` (stacked: ``J``, ``D`` block-diagonal, ``ρ = [s_i r_i]``) and taking one
Newton step from ``θ̂`` gives, with ``c = A⁻¹q``, ``Y = A⁻¹Jᵀ``, ``P = J Y``:

    θ' − θ̂ = −c + Y (ρ − z),      z = (I − D P)⁻¹ D (J c − P ρ)

(the Sherman–Morrison–Woodbury identity for ``(A − Jᵀ D J)⁻¹``, written so that
``D`` need not be invertible: the multinomial ``D_i`` is singular). ``−c`` is the
step the full objective itself asks for (zero at an exact minimum, Koh & Liang's
appendix B); ``Y (ρ − z)`` is the part due to the removed rows. For one row of a
single-output model, ``D P`` is the generalized leverage ``h_ii`` and the part is
the first-order change divided by ``1 − h_ii``; for squared error it is exact.
"""

import numpy as np
from sklearn import get_config
from sklearn.utils import gen_batches


def _design_rows(objective, rows):
    """``J_i`` for the given rows, shape (len(rows), K, p): row k is ``e_k ⊗ [x_i, 1]``."""
    X = objective.X[rows]
    K = objective.n_outputs
    J = np.empty((len(rows), K, objective.n_params))
    for k in range(K):
        unit = np.zeros((len(rows), K))
        unit[:, k] = 1.0
        G = objective._expand(X, unit)
        J[:, k, :] = G.toarray() if hasattr(G, "toarray") else G
    return J


def _curvature_rows(objective, theta, rows):
    """``D_i = s_i ∂²L/∂raw²`` for the given rows, shape (len(rows), K, K)."""
    raw = objective.raw_prediction(theta, objective.X[rows])
    Y = objective.Y[rows]
    K = objective.n_outputs
    D = np.empty((len(rows), K, K))
    for k in range(K):
        unit = np.zeros_like(raw)
        unit[:, k] = 1.0
        D[:, :, k] = objective.loss.hessian_apply(Y, raw, unit)
    return D * objective.sample_weight[rows, None, None]


class RowBlocks:
    """Per-row pieces of the Woodbury step for a batch of rows.

    Attributes: ``J`` (b, K, p), ``Y = A⁻¹Jᵀ`` as (b, K, p), ``P`` (b, K, K),
    ``D`` (b, K, K), ``rho`` (b, K), ``Jc`` (b, K).
    """

    def __init__(self, objective, theta, solver, newton_constant, rows):
        S = objective.weight_sum
        self.J = J = _design_rows(objective, rows)
        b, K, p = J.shape
        self.Y = solver.solve(J.reshape(b * K, p).T).T.reshape(b, K, p) / S
        self.P = np.einsum("ikp,ilp->ikl", J, self.Y)
        self.D = _curvature_rows(objective, theta, rows)
        residuals = objective.residuals(theta, objective.X[rows], objective.Y[rows])
        self.rho = objective.sample_weight[rows, None] * residuals
        self.Jc = np.einsum("ikp,p->ik", J, newton_constant)

    def leverage(self):
        """Generalized hat values ``trace(D_i P_i)``."""
        return np.einsum("ikl,ilk->i", self.D, self.P)

    def removal_parts(self):
        """``Y_i (ρ_i − z_i)`` for each row removed on its own, shape (b, p)."""
        return np.einsum("ikp,ik->ip", self.Y, self.removal_weights())

    def removal_weights(self):
        """``u_i = ρ_i − z_i``, shape (b, K): row ``i``'s part is ``A⁺ J_iᵀ u_i``."""
        return _weights(self.P, self.D, self.rho, self.Jc)

    def quadratic(self, u):
        """``Δ_iᵀ A Δ_i`` of the parts ``Δ_i = A⁺ J_iᵀ u_i``: ``u_iᵀ P_i u_i``, since
        ``A⁺ A A⁺ = A⁺`` (no product with ``A`` needed)."""
        return np.einsum("ik,ikl,il->i", u, self.P, u)

    def as_group(self):
        """All rows of the batch stacked into one block (the group removed together)."""
        b, K, p = self.J.shape
        group = object.__new__(RowBlocks)
        group.J = self.J.reshape(1, b * K, p)
        group.Y = self.Y.reshape(1, b * K, p)
        group.P = np.einsum("qp,rp->qr", group.J[0], group.Y[0])[None]
        D = np.zeros((b * K, b * K))
        for i in range(b):
            D[i * K : (i + 1) * K, i * K : (i + 1) * K] = self.D[i]
        group.D = D[None]
        group.rho = self.rho.reshape(1, b * K)
        group.Jc = self.Jc.reshape(1, b * K)
        return group


def _weights(P, D, rho, Jc):
    q = P.shape[1]
    M = np.eye(q) - D @ P
    t = Jc - np.einsum("ikl,il->ik", P, rho)
    z = np.linalg.solve(M, np.einsum("ikl,il->ik", D, t)[..., None])[..., 0]
    return rho - z


def iter_row_blocks(objective, theta, solver, newton_constant):
    """``(batch, RowBlocks)`` over all training rows, in memory-bounded batches."""
    rows = np.arange(objective.n_samples)
    for batch in row_batches(objective):
        yield batch, RowBlocks(objective, theta, solver, newton_constant, rows[batch])


def row_batches(objective):
    """Batches of rows whose blocks fit in scikit-learn's ``working_memory``."""
    per_row = 3 * 8 * objective.n_outputs * objective.n_params
    budget = get_config()["working_memory"] * 2**20
    size = max(1, int(budget // max(per_row, 1)))
    return gen_batches(objective.n_samples, size)
