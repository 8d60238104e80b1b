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
    their orthogonal complement and ``H + c V Vᵀ`` is factored (Cholesky), whose
    inverse acts as the pseudo-inverse of ``H`` there.

    Singularity is judged scale-free, on the matrix equilibrated by its diagonal
    ``D^-½ A D^-½``: if its reciprocal condition number is below ``rcond``
    (collinear columns, an unpenalized model on rank-deficient data), the
    numerical rank ``r`` is the number of its eigenvalues above ``rcond`` times
    the largest, and the solution is the minimum-norm one, using the ``r``
    largest eigenpairs of ``A`` itself; a :class:`SingularHessianWarning` says so.

    Attributes
    ----------
    rank : int
        Numerical rank of ``H``.
    method : {"cholesky", "eigh"}
    """

    def __init__(self, H, null_basis=None, rcond=1e-10):
        H = np.asarray(H, dtype=np.float64)
        p = H.shape[0]
        V = np.zeros((p, 0)) if null_basis is None else np.asarray(null_basis)
        self._V = V
        scale = max(np.abs(np.diag(H)).max(initial=0.0), np.finfo(float).tiny)
        A = H + scale * (V @ V.T)
        diag = np.diag(A)
        d = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        A_eq = A * d[:, None] * d[None, :]
        self.method = "cholesky"
        try:
            L, _ = cho_factor(A_eq, lower=True)
            anorm = np.abs(A_eq).sum(axis=0).max()
            rc, info = dpocon(L, anorm, uplo="L")
            if info != 0 or not rc >= rcond:
                raise LinAlgError("numerically singular")
            self._factor = (L, True)
            self._d = d
            self.rank = p - V.shape[1]
        except LinAlgError:
            self.method = "eigh"
            w_eq = eigh(A_eq, eigvals_only=True)
            r = int(np.sum(w_eq > rcond * max(w_eq.max(), 0.0)))
            w, U = eigh(A)
            self._U, self._w = U[:, p - r :], w[p - r :]
            self.rank = r - V.shape[1]
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
            d = self._d if B.ndim == 1 else self._d[:, None]
            X = d * cho_solve(self._factor, d * B, check_finite=False)
        else:
            w = self._w if B.ndim == 1 else self._w[:, None]
            X = self._U @ ((self._U.T @ B) / w)
        return self._project(X)
