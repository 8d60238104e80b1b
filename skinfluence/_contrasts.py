"""``influence_params_`` of a shift-invariant linear model, solved on class contrasts.

For the symmetric multinomial (a loss invariant to adding one constant to every
output) the residuals sum to zero, ``Σ_k r_ik = 0``, so every gradient
``g_i = r_i ⊗ [x_i, 1]`` lies in the subspace ``S`` of parameters whose classes'
entries sum to zero, feature by feature. The data Hessian vanishes on ``S⊥`` (the
common shifts of the classes); when the penalty is the same for every class it
maps ``S`` and ``S⊥`` into themselves too, so ``H⁺ g_i`` lies in ``S``: it is the
solution of a system of ``(K − 1)(d + 1)`` unknowns instead of ``K (d + 1)``, and
the two triangular solves, which dominate ``influence_params_``, cost
``((K − 1)/K)²`` of the flops (0.81 for ten classes).

Coordinates: a point of ``S`` is fixed by all its entries but class 0's
coefficients and the last class's intercept, i.e. by the contiguous parameter
range ``kept = [d, p − 1)`` (``[d, p)`` without an intercept): ``θ = E φ`` with
``θ[kept] = φ`` and each eliminated entry minus the sum of its feature's kept ones.
``H θ = g`` on ``S`` becomes ``(Eᵀ H E) φ = Eᵀ g`` (``Eᵀ H E`` is positive definite
where ``H`` is on ``S``); ``Eᵀ g`` is ``g[kept]`` minus the eliminated entry of
the same feature, i.e. built from the residual differences ``r_ik − r_i0``
(coefficients) and ``r_ik − r_i,K−1`` (intercepts). Since ``kept`` is contiguous,
a block of rows of the C-ordered result is solved in place (:mod:`._blas`).
"""

import numpy as np

from ._threads import RowBlocks

#: elements of the result per block of rows built, solved and completed while in
#: cache (4 MB; measured K = 10, d = 100, n = 1e5 on 2 cores, in units of one
#: ``XᵀX``: blocks of 519 rows 2.16-2.19, 1038 rows 2.21-2.24, 2076 rows 2.37-2.45)
BLOCK_ELEMENTS = 2**19


class ClassContrasts:
    """The class-contrast coordinates of a dense ``K``-output linear model.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    residuals : ndarray of shape (n_samples, K)
        ``r_i = ∂L/∂raw_i``, summing to zero over the outputs.
    fit_intercept : bool
    """

    def __init__(self, X, residuals, fit_intercept):
        self.X, self.residuals = X, residuals
        self.fit_intercept = bool(fit_intercept)
        n, d = X.shape
        K = residuals.shape[1]
        self.n_outputs, self.n_features = K, d
        self.n_params = K * (d + self.fit_intercept)
        self.kept = slice(d, self.n_params - self.fit_intercept)
        # the eliminated entry of each kept coordinate's feature
        paired = [np.tile(np.arange(d), K - 1)]
        if self.fit_intercept:
            paired.append(np.full(K - 1, self.n_params - 1))
        self.paired = np.concatenate(paired)

    def reduce(self, H):
        """``Eᵀ H E``, the Hessian on the contrast coordinates."""
        kept = np.arange(self.n_params)[self.kept]
        HE = H[:, kept] - H[:, self.paired]
        return HE[kept] - HE[self.paired]

    def gradients(self, rows, out):
        """``Eᵀ g_i`` of ``rows`` written into ``out`` (b, (K − 1)(d + 1))."""
        X, R = self.X[rows], self.residuals[rows]
        K, d = self.n_outputs, self.n_features
        for k in range(1, K):
            np.multiply(
                (R[:, k] - R[:, 0])[:, None], X, out=out[:, (k - 1) * d : k * d]
            )
        if self.fit_intercept:
            np.subtract(R[:, : K - 1], R[:, K - 1 :], out=out[:, (K - 1) * d :])
        return out

    def complete(self, out):
        """Each eliminated entry of the rows of ``out`` (b, n_params), from the kept
        ones: minus their sum over the classes, feature by feature."""
        K, d = self.n_outputs, self.n_features
        b = out.shape[0]
        np.sum(out[:, d : K * d].reshape(b, K - 1, d), axis=1, out=out[:, :d])
        np.negative(out[:, :d], out=out[:, :d])
        if self.fit_intercept:
            last = self.n_params - 1
            np.sum(out[:, K * d : last], axis=1, out=out[:, last])
            np.negative(out[:, last], out=out[:, last])
        return out

    def influence_params(self, reduced_solver, shift=None):
        """``-H⁺ g_i`` of every row, shape (n_samples, n_params), C-ordered.

        ``reduced_solver``: the factored ``Eᵀ H E`` (its ``solve_in_place``);
        ``shift``: ``-H⁺`` of the penalty's weight derivative, added to every row
        (``None``: none). Blocks of rows are built, solved in place, completed
        and shifted while in cache, on threads (:class:`._threads.RowBlocks`)."""
        n = self.X.shape[0]
        out = np.empty((n, self.n_params))
        blocks = RowBlocks(n, self.n_params, BLOCK_ELEMENTS)

        def work(b, rows):
            block = out[rows]
            self.gradients(rows, block[:, self.kept])
            reduced_solver.solve_in_place(block[:, self.kept].T, scale=-1.0)
            self.complete(block)
            if shift is not None:
                block += shift

        with RowBlocks.executor() as pool:
            blocks.run(pool, work)
        return out
