"""Linear solves with the Hessian: factor once, solve many right-hand sides."""

import warnings

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, eigh
from scipy.linalg.lapack import dpocon


class SingularHessianWarning(UserWarning):
    """The Hessian is singular beyond its known flat directions."""


class DenseHessianSolver:
    """Solve ``H x = b`` for a symmetric positive semi-definite ``H``.

    Known flat directions ``V`` (orthonormal columns, e.g. the gauge of the
    multinomial model) are handled exactly: right-hand sides are projected onto
    their orthogonal complement and ``H + c V Vᵀ`` is factored, whose inverse acts
    as the pseudo-inverse of ``H`` there. If the result is still numerically
    singular (collinear columns, an unpenalized model on rank-deficient data), a
    symmetric eigendecomposition gives the minimum-norm solution, dropping
    eigenvalues below ``n_params · eps · λ_max`` (the rank rule of
    :func:`numpy.linalg.matrix_rank`), and a :class:`SingularHessianWarning` says so.

    Attributes
    ----------
    rank : int
        Numerical rank of ``H``.
    method : {"cholesky", "eigh"}
    """

    def __init__(self, H, null_basis=None):
        H = np.asarray(H, dtype=np.float64)
        p = H.shape[0]
        V = np.zeros((p, 0)) if null_basis is None else np.asarray(null_basis)
        self._V = V
        scale = max(np.abs(np.diag(H)).max(initial=0.0), np.finfo(float).tiny)
        A = H + scale * (V @ V.T)
        self.method = "cholesky"
        try:
            self._factor = cho_factor(A, lower=True, check_finite=True)
            rcond, info = dpocon(self._factor[0], np.abs(A).sum(axis=0).max(), uplo="L")
            if info != 0 or rcond < p * np.finfo(float).eps:
                raise LinAlgError("ill-conditioned")
            self.rank = p - V.shape[1]
        except LinAlgError:
            self.method = "eigh"
            w, U = eigh(A)
            keep = w > p * np.finfo(float).eps * max(w.max(), 0.0)
            self._U, self._w = U[:, keep], w[keep]
            self.rank = int(keep.sum()) - V.shape[1]
            warnings.warn(
                f"The Hessian is singular (numerical rank {self.rank} of "
                f"{p - V.shape[1]} identifiable directions): influences are the "
                "minimum-norm solutions; parameters along the flat directions are "
                "not identified, predictions are.",
                SingularHessianWarning,
                stacklevel=3,
            )

    def _project(self, B):
        if self._V.shape[1] == 0:
            return B
        return B - self._V @ (self._V.T @ B)

    def solve(self, B):
        """``H⁺ B`` for ``B`` of shape (n_params,) or (n_params, m)."""
        B = self._project(np.asarray(B, dtype=np.float64))
        if self.method == "cholesky":
            X = cho_solve(self._factor, B, check_finite=False)
        else:
            X = self._U @ ((self._U.T @ B) / (self._w if B.ndim == 1 else self._w[:, None]))
        return self._project(X)
