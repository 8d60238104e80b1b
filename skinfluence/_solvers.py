"""Linear solves with the Hessian: factor once, solve many right-hand sides."""

import threading
import warnings
from contextlib import nullcontext

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, eigh, solve_triangular
from scipy.linalg.blas import dtrsm
from scipy.linalg.lapack import dpocon
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches

from . import _blas as blas
from ._progress import progress
from ._threads import RowBlocks, one_blas_thread

#: elements per column chunk of the in-place projection off the flat directions
PROJECTION_CHUNK_ELEMENTS = 2**20
#: float64 entries per row block of the CG work arrays in the fused updates (1 MB,
#: the L2 of this machine's cores; 2**15 to 2**19 measured within the noise of each
#: other on the full-size sparse case: 88-140 ms per iteration outside the products)
CG_BLOCK_ELEMENTS = 2**17


class SingularHessianWarning(UserWarning):
    """The Hessian is singular beyond its known flat directions."""


class DenseHessianSolver:
    """Solve ``H x = b`` for a symmetric positive semi-definite ``H``.

    Known flat directions ``V`` (orthonormal columns, e.g. the gauge of the
    multinomial model) are handled exactly: ``H + c V Vᵀ`` is factored
    (Cholesky), and since ``H V = 0``, ``(H + c V Vᵀ)⁻¹ = H⁺ + V Vᵀ / c``: the
    pseudo-inverse solution is the solution projected onto the orthogonal
    complement of ``V`` (in place, on the rows ``V`` touches, in column chunks).

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

    def __init__(self, H, null_basis=None, rcond=1e-10, allow_singular=True):
        H = np.asarray(H, dtype=np.float64)
        self._H = H
        p = H.shape[0]
        V = np.zeros((p, 0)) if null_basis is None else np.asarray(null_basis)
        self._V = V
        touched = np.flatnonzero(np.any(V != 0, axis=1))
        if touched.size and np.array_equal(
            touched, np.arange(touched[0], touched[-1] + 1)
        ):
            touched = slice(touched[0], touched[-1] + 1)  # a view, not a copy
        self._touched, self._V_touched = touched, V[touched]
        scale = max(np.abs(np.diag(H)).max(initial=0.0), np.finfo(float).tiny)
        # one p×p working copy, Fortran-ordered (LAPACK's layout: no copies in
        # f2py): the flat directions added, equilibrated, factored in place
        A_eq = np.array(H, order="F")
        if V.shape[1]:
            block = A_eq[np.ix_(np.arange(p)[touched], np.arange(p)[touched])]
            Vt = self._V_touched
            block += scale * (Vt @ Vt.T)
            A_eq[np.ix_(np.arange(p)[touched], np.arange(p)[touched])] = block
        diag = np.diag(A_eq).copy()
        d = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        A_eq *= d[:, None]
        A_eq *= d[None, :]
        self.method = "cholesky"
        try:
            anorm = np.abs(A_eq).sum(axis=0).max()
            # one BLAS thread: p is small, and the recursive factorization's many
            # synchronizations cost 10x when another process holds a core
            # (measured p = 1010: 0.023 s on one thread, 0.22 s on two)
            with one_blas_thread() if p >= 256 else nullcontext():
                L, _ = cho_factor(A_eq, lower=True, overwrite_a=True)
            rc, info = dpocon(L, anorm, uplo="L")
            if info != 0 or not rc >= rcond:
                raise LinAlgError("numerically singular")
            # the factor of A itself, D⁻¹ L: no scaling passes over right-hand sides
            L /= d[:, None]
            self._L = L if L.flags.f_contiguous else np.asfortranarray(L)
            self.rank = p - V.shape[1]
        except LinAlgError:
            if not allow_singular:
                raise
            self.method = "eigh"
            A = H + scale * (V @ V.T)
            A_eq = A * d[:, None] * d[None, :]
            w_eq = eigh(A_eq, eigvals_only=True)
            r = int(np.sum(w_eq > rcond * max(w_eq.max(), 0.0)))
            w, U = eigh(A)
            self._U, self._w = U[:, p - r :], w[p - r :]
            self.rank = r - V.shape[1]
            warnings.warn(
                f"The Hessian is singular (numerical rank {self.rank} of "
                f"{p - V.shape[1]} identifiable directions): influences are the "
                "minimum-norm solutions. Parameters along the flat directions are "
                "not identified; neither are predictions at points outside the "
                "span of the training rows (e.g. with more features than rows), "
                "only at points inside it.",
                SingularHessianWarning,
                stacklevel=3,
            )

    def multiply(self, V):
        """``H V``."""
        return self._H @ V

    def _project(self, B):
        if self._V.shape[1] == 0:
            return B
        return B - self._V @ (self._V.T @ B)

    def _project_inplace(self, X):
        """``X ← (I − V Vᵀ) X`` on the rows ``V`` touches, in column chunks."""
        if self._V.shape[1] == 0:
            return X
        rows, Vs = self._touched, self._V_touched
        n_rows = Vs.shape[0]
        for cols in gen_batches(
            X.shape[1], max(1, PROJECTION_CHUNK_ELEMENTS // n_rows)
        ):
            part = X[rows, cols]
            part -= Vs @ (Vs.T @ part)
            if isinstance(rows, np.ndarray):  # fancy indexing made a copy
                X[rows, cols] = part
        return X

    def solve(self, B, scale=1.0, overwrite=False):
        """``H⁺ (scale · B)`` for ``B`` of shape (n_params,) or (n_params, m).

        ``overwrite=True`` lets the solve reuse ``B``'s memory (in place when ``B``
        is Fortran-ordered float64, e.g. the transpose of a C-ordered matrix)."""
        B = np.asarray(B, dtype=np.float64)
        one = B.ndim == 1
        B = B.reshape(B.shape[0], -1)
        if self.method == "cholesky":
            X = dtrsm(scale, self._L, B, lower=1, overwrite_b=overwrite)
            X = dtrsm(1.0, self._L, X, lower=1, trans_a=1, overwrite_b=1)
        else:
            X = self._U @ ((self._U.T @ B) / self._w[:, None])
            if scale != 1.0:
                X *= scale
        self._project_inplace(X)
        return X[:, 0] if one else X

    def on_subspace(self, reduce):
        """The solver of ``reduce(H)`` (``H`` on a subspace's coordinates, e.g.
        ``Eᵀ H E``), or ``None`` when it is not numerically positive definite or
        this one is not a Cholesky factorization."""
        if self.method != "cholesky":
            return None
        try:
            return DenseHessianSolver(reduce(self._H), allow_singular=False)
        except LinAlgError:
            return None

    def solve_in_place(self, B, scale=1.0):
        """``B ← H⁻¹ (scale · B)`` for a float64 view ``B`` (n_params, m) with
        contiguous columns, e.g. ``C[rows, cols].T`` of a C-ordered ``C`` (Cholesky
        only, no flat directions). Through SciPy's Cython BLAS when available
        (:mod:`._blas`), else solved into a copy and written back."""
        if self.method != "cholesky" or self._V.shape[1]:
            raise ValueError(
                "solve_in_place needs a Cholesky factor, no flat directions."
            )
        if blas.AVAILABLE:
            return blas.cholesky_solve_in_place(self._L, B, scale)
        B[...] = self.solve(B, scale)
        return B

    def _apply_root_inverse(self, B, transpose=False):
        """``F⁻¹ B`` (or ``F⁻ᵀ B``) for the factor ``F Fᵀ = H`` (pseudo on the range)."""
        if self.method == "cholesky":
            return solve_triangular(
                self._L, B, lower=True, trans="T" if transpose else "N"
            )
        s = 1.0 / np.sqrt(self._w)
        if transpose:
            return self._U @ (s[:, None] * B)
        return s[:, None] * (self._U.T @ B)

    def solve_shifted(self, B, shifts, diagonal):
        """``(H − δ_j diag(λ))⁺ b_j`` for each column ``b_j`` with its own ``δ_j``.

        ``λ ≥ 0`` is a diagonal part of ``H`` (the penalty), ``0 ≤ δ_j < 1``.
        With ``F Fᵀ = H`` and ``F⁻¹ diag(λ) F⁻ᵀ = Q diag(μ) Qᵀ`` (one
        eigendecomposition, then kept), ``(H − δΛ)⁻¹ = F⁻ᵀ Q diag(1/(1 − δμ)) Qᵀ F⁻¹``:
        every shifted solve costs as much as an unshifted one.
        """
        B = np.asarray(B, dtype=np.float64).reshape(B.shape[0], -1)
        shifts = np.asarray(shifts, dtype=np.float64)
        diagonal = np.asarray(diagonal, dtype=np.float64)
        cached = getattr(self, "_shift_basis", None)
        if cached is None or not np.array_equal(self._shift_key, diagonal):
            lam = np.sqrt(diagonal)
            K = self._apply_root_inverse(np.diag(lam))
            mu, Q = eigh(K @ K.T)
            self._shift_basis, self._shift_key = (mu, Q), diagonal
        mu, Q = self._shift_basis
        C = Q.T @ self._apply_root_inverse(B)
        C /= 1.0 - mu[:, None] * shifts[None, :]
        return self._project_inplace(self._apply_root_inverse(Q @ C, transpose=True))


class JacobiPreconditioner:
    """``M⁻¹ = diag(H)⁻¹`` (zero diagonal entries count as 1)."""

    name = "jacobi"

    def __init__(self, diagonal):
        self.inv_diag = 1.0 / np.where(diagonal > 0, diagonal, 1.0)[:, None]

    def apply(self, R, out):
        """``M⁻¹ R`` into ``out``."""
        return np.multiply(R, self.inv_diag, out=out)

    # per row block, for ConjugateGradientSolver._iterate_fused
    partial_size = 1

    def partial(self, rows, R, tmp, out):
        """``Σᵢ R²ᵢⱼ / dᵢ`` over the block's rows into ``out`` (1, k)."""
        np.multiply(R, self.inv_diag[rows], out=tmp)
        np.einsum("ij,ij->j", tmp, R, out=out[0])

    def inner(self, rr, W):
        """``(Rᵀ M⁻¹ R, state for block)`` per column from the summed partials."""
        return W[0], None

    def block(self, rows, R, state, out):
        """``(M⁻¹ R)[rows]`` into ``out``."""
        return np.multiply(R, self.inv_diag[rows], out=out)


#: rank and subspace (power) iterations of the Nyström preconditioner
NYSTROM_RANK, NYSTROM_POWER = 50, 2


def orthonormal_basis(Y):
    """An orthonormal basis of the columns of a tall ``Y`` (full column rank).

    Cholesky QR twice (CholeskyQR2, Fukaya et al. 2014): two Gram products and two
    triangular solves, level-3 BLAS, where Householder QR factors its panels with
    level-2 (measured p = 1e5, 50 columns, one BLAS thread: 0.09-0.11 s against
    0.28-0.34 s). Householder when the first pass leaves the basis far from
    orthonormal (``Y`` conditioned worse than about 1e7) or the Gram matrix is
    not numerically positive definite."""
    Q = Y
    try:
        for first in (True, False):
            G = Q.T @ Q
            if not first and np.abs(G - np.eye(G.shape[0])).max() > 1e-2:
                raise LinAlgError("ill-conditioned")
            C = np.linalg.cholesky(G)  # lower: C Cᵀ = G
            Q = solve_triangular(C, Q.T, lower=True, check_finite=False).T  # Q C⁻ᵀ
    except LinAlgError:
        Q = np.linalg.qr(Y)[0]
    return Q


class NystromPreconditioner:
    """Randomized Nyström preconditioner of the Hessian (Frangella, Tropp &
    Udell, 2023, with subspace iterations).

    A rank-``r`` approximation ``H ≈ U diag(λ) Uᵀ`` is built from ``1 + q`` blocks
    of ``r`` Hessian products (a Gaussian test matrix refined by ``q`` subspace
    iterations, then the stabilized Nyström approximation of their algorithm
    2.1), and ``M⁻¹ = λ_r U diag(1/λ) Uᵀ + I − U Uᵀ``: the ``r`` largest
    eigenvalues are mapped to about ``λ_r``, the others are left as they are.
    It pays most when a few directions carry much of the curvature (text:
    frequent words, topics); when the spectrum is one wide bulk (uniform random
    sparse designs) it saves about a third of the iterations, and its build and
    its cost per iteration take most of that back (doc/guide/large.rst).
    """

    name = "nystrom"

    def __init__(self, hessian_dot, p, rank=NYSTROM_RANK, power=NYSTROM_POWER, seed=0):
        rank = int(min(rank, p))
        rng = np.random.default_rng(seed)
        # the tall-skinny factorizations and products on one BLAS thread: with
        # two, another process holding a core made them 10-15x slower (measured
        # p = 4e4, rank 50: build 0.95 s on one thread, 9.3 s on two)
        with one_blas_thread():
            Omega = orthonormal_basis(rng.standard_normal((p, rank)))
        Y = hessian_dot(Omega)
        for _ in range(power):  # subspace iteration: Ω ← orth(H Ω)
            with one_blas_thread():
                Omega = orthonormal_basis(Y)
            Y = hessian_dot(Omega)
        with one_blas_thread():
            shift = np.sqrt(p) * np.finfo(float).eps * np.linalg.norm(Y)
            Y += shift * Omega
            C = np.linalg.cholesky(Omega.T @ Y)  # lower: C Cᵀ = Ωᵀ Y
            B = solve_triangular(C, Y.T, lower=True).T  # Y C⁻ᵀ
            U, sigma, _ = np.linalg.svd(B, full_matrices=False)
        lam = np.maximum(sigma**2 - shift, 0.0)
        keep = lam > lam.max(initial=0.0) * 1e-12
        # C-ordered: each row block of U is one piece of memory
        self.U, self.lam = np.ascontiguousarray(U[:, keep]), lam[keep]
        # λ_r / λ_i − 1 on the captured directions (0 elsewhere)
        self._ratio = self.lam[-1] / self.lam - 1.0 if self.lam.size else self.lam

    def apply(self, R, out):
        """``M⁻¹ R = R + U diag(λ_r/λ − 1) Uᵀ R`` into ``out``: the rows in blocks
        on threads (:class:`~skinfluence._threads.RowBlocks`), ``Uᵀ R`` summed over them, then each
        block of ``out`` written once (no (p, m) temporary)."""
        if not self.lam.size:
            out[...] = R
            return out
        blocks = RowBlocks(R.shape[0], R.shape[1], CG_BLOCK_ELEMENTS)
        W = blocks.partials(self.partial_size)

        def project(b, rows):
            self.partial(rows, R[rows], None, W[b])

        def write(b, rows):
            self.block(rows, R[rows], S, out[rows])

        with RowBlocks.executor() as pool:
            blocks.run(pool, project)
            _, S = self.inner(None, W.sum(axis=0))
            blocks.run(pool, write)
        return out

    # per row block, for ConjugateGradientSolver._iterate_fused
    @property
    def partial_size(self):
        return self.U.shape[1]

    def partial(self, rows, R, tmp, out):
        """``U[rows]ᵀ R`` into ``out`` (r, k)."""
        np.matmul(self.U[rows].T, R, out=out)

    def inner(self, rr, W):
        """``(Rᵀ M⁻¹ R, S)`` per column from the summed partials ``W = Uᵀ R`` and
        ``rr = ‖R‖²`` (None: no inner product): ``‖R‖² + Σ (λ_r/λ − 1) W²``
        and ``S = diag(λ_r/λ − 1) W`` (in ``W``'s memory)."""
        rz = None if rr is None else rr + np.einsum("ij,ij,i->j", W, W, self._ratio)
        W *= self._ratio[:, None]
        return rz, W

    def block(self, rows, R, S, out):
        """``(M⁻¹ R)[rows] = R[rows] + U[rows] S`` into ``out``."""
        np.matmul(self.U[rows], S, out=out)
        out += R
        return out


class ConjugateGradientSolver:
    """Matrix-free ``H⁺ B``: preconditioned conjugate gradients on
    Hessian-vector products, all right-hand sides iterated together.

    The Hessian is never formed: each iteration costs one product with ``X``
    and one with ``Xᵀ`` for the whole block of still unconverged columns
    (converged columns leave the block, so it stays contiguous). Known flat
    directions are projected out of right-hand sides, search directions and
    results. The preconditioner is Jacobi (``diag(H)``) or randomized Nyström
    (:class:`NystromPreconditioner`, ``cg_preconditioner="nystrom"``);
    ``"auto"`` starts with Jacobi and builds Nyström at the first solve of at
    least ``nystrom_rank`` right-hand sides, for that solve and the later ones. Each
    column stops when ``‖H x − b‖ ≤ tol ‖b‖`` (or a looser tolerance of its
    own, see :meth:`solve`), and that residual is recomputed from ``H x − b``
    at the end (with more iterations from there if recurrence rounding left a
    column above it); ``residual_`` reports the largest relative residual of
    the last solve, ``n_iter_`` its number of iterations, and a
    :class:`CGWarning` says when ``maxiter`` was reached first.
    """

    method = "cg"

    def __init__(
        self,
        hessian_dot,
        diagonal,
        null_basis=None,
        tol=1e-10,
        maxiter=1000,
        preconditioner="auto",
        nystrom_rank=NYSTROM_RANK,
    ):
        self._hessian_dot = hessian_dot
        p = diagonal.shape[0]
        self._V = np.zeros((p, 0)) if null_basis is None else np.asarray(null_basis)
        touched = np.flatnonzero(np.any(self._V != 0, axis=1))
        self._touched, self._V_touched = touched, self._V[touched]
        self.rank = p - self._V.shape[1]
        self.tol, self.maxiter = tol, maxiter
        self.multiply = hessian_dot
        self._nystrom_rank = nystrom_rank
        # "auto": Nyström once a solve has as many right-hand sides as its rank
        # (its build, three products of that width, then costs a few iterations)
        self._auto = preconditioner == "auto"
        if preconditioner == "nystrom":
            self.preconditioner = NystromPreconditioner(hessian_dot, p, nystrom_rank)
        else:
            self.preconditioner = JacobiPreconditioner(diagonal)
        self.residual_ = 0.0
        self.n_iter_ = 0

    _project = DenseHessianSolver._project
    _project_inplace = DenseHessianSolver._project_inplace

    def solve_shifted(self, B, shifts, diagonal):
        """``(H − δ_j diag(λ))⁺ b_j`` per column (see :class:`DenseHessianSolver`):
        the shift is applied inside each Hessian-vector product."""
        return self.solve(B, shifts=(np.asarray(shifts, float), np.asarray(diagonal)))

    def _operator(self, shifts):
        """``V ↦ (H − δ diag(λ)) V`` for the columns ``idx`` of the solve."""
        if shifts is None:
            return lambda V, idx: self._hessian_dot(V)

        delta, lam = shifts
        lam = lam[:, None]

        def shifted(V, idx):
            HV = self._hessian_dot(V)
            HV -= lam * (V * delta[idx])
            return HV

        return shifted

    def solve(self, B, shifts=None, tol=None, x0=None):
        """``H⁺ B`` for ``B`` of shape (n_params,) or (n_params, m).

        ``tol`` (a number or one per column, at least the solver's ``tol``)
        lets columns that need less accuracy stop earlier. ``x0`` (the shape of
        ``B``) is a starting guess, e.g. a solution to a looser tolerance: the
        iterations start from its residual ``B − H x0`` (one more product)."""
        B = np.asarray(B, dtype=np.float64)
        one = B.ndim == 1
        B = self._project(B.reshape(B.shape[0], -1))
        m = B.shape[1]
        tol = np.broadcast_to(
            np.maximum(self.tol, self.tol if tol is None else tol), (m,)
        )
        norms = np.linalg.norm(B, axis=0)
        operator = self._operator(shifts)
        residual = np.zeros(m)
        self.n_iter_ = 0
        idx = np.flatnonzero(norms > 0)
        if self._auto and idx.size >= self._nystrom_rank:
            self._auto = False
            self.preconditioner = NystromPreconditioner(
                self._hessian_dot, B.shape[0], self._nystrom_rank
            )
        if x0 is None:
            out = np.zeros_like(B)
            R = B[:, idx]
        else:
            out = self._project(np.array(x0, dtype=np.float64).reshape(B.shape))
            out[:, norms == 0] = 0.0
            R = B[:, idx] - operator(out[:, idx], idx)
            self._project_inplace(R)
        bar = progress(self.maxiter, "conjugate gradients", unit="iteration")
        while idx.size and self.n_iter_ < self.maxiter:
            self._iterate(operator, out, R, idx, norms, tol, bar)
            # the true residuals: columns left above tolerance by recurrence
            # rounding restart from where they are
            X = out[:, idx]
            R = B[:, idx] - operator(X, idx)
            self._project_inplace(R)
            residual[idx] = np.linalg.norm(R, axis=0) / norms[idx]
            above = residual[idx] > tol[idx]
            idx, R = idx[above], R[:, above]
        bar.close()
        self.residual_ = float(residual.max(initial=0.0))
        if np.any(residual > tol):
            warnings.warn(
                f"Conjugate gradients stopped after {self.maxiter} iterations with a "
                f"relative residual of {self.residual_:.2e} > cg_tol={self.tol:g}; "
                "raise cg_maxiter or cg_tol (skinfluence.set_config).",
                CGWarning,
                stacklevel=3,
            )
        self._project_inplace(out)
        return out[:, 0] if one else out

    def _iterate(self, operator, out, R, idx, norms, tol, bar):
        """CG from ``out[:, idx]`` with residuals ``R`` until every column meets
        its tolerance by the recurrence (or ``maxiter``); solutions written into
        ``out``. Work arrays are contiguous blocks of the active columns, updated
        in place; converged columns are dropped from them."""
        if self._V.shape[1] == 0 and hasattr(self.preconditioner, "partial"):
            return self._iterate_fused(operator, out, R, idx, norms, tol, bar)
        R = np.ascontiguousarray(R)
        X = np.ascontiguousarray(out[:, idx])
        Z = np.empty_like(R)
        self._project_inplace(self.preconditioner.apply(R, Z))
        P = Z.copy()
        rz = np.einsum("ij,ij->j", R, Z)
        while self.n_iter_ < self.maxiter:
            self.n_iter_ += 1
            bar.update()
            HP = operator(P, idx)
            curvature = np.einsum("ij,ij->j", P, HP)
            alpha = rz / np.where(curvature > 0, curvature, np.inf)
            np.multiply(P, alpha, out=Z)  # Z is free until the preconditioner
            X += Z
            HP *= alpha
            R -= HP
            res = np.sqrt(np.einsum("ij,ij->j", R, R)) / norms[idx]
            done = res <= tol[idx]
            if done.any():
                out[:, idx[done]] = X[:, done]
                keep = ~done
                if not keep.any():
                    return
                idx, rz = idx[keep], rz[keep]
                X, R, P = X[:, keep], R[:, keep], P[:, keep]
                Z = np.empty_like(R)
            self._project_inplace(self.preconditioner.apply(R, Z))
            rz_new = np.einsum("ij,ij->j", R, Z)
            P *= rz_new / rz
            P += Z
            rz = rz_new
        out[:, idx] = X

    def _iterate_fused(self, operator, out, R, idx, norms, tol, bar):
        """:meth:`_iterate` without flat directions, its vector updates fused
        over row blocks on threads (:class:`~skinfluence._threads.RowBlocks`). Per iteration, one pass
        for the curvatures ``pᵀHp``; one for ``x += αp``, ``r −= αHp``, ``‖r‖²``
        and the preconditioner's partial sums (``Uᵀr`` for Nyström); one for
        ``p ← M⁻¹r + βp``. ``rᵀM⁻¹r`` comes from the partial sums, so ``M⁻¹r`` is
        never stored."""
        M = self.preconditioner
        R = np.array(R, order="C")
        X = np.array(out[:, idx], order="C")
        P = np.empty_like(R)
        HP = alpha = beta = S = None
        scratch = threading.local()  # one block-sized array per thread

        def tmp(rows):
            n = rows.stop - rows.start
            t = getattr(scratch, "t", None)
            if t is None or t.shape[0] < n or t.shape[1] != R.shape[1]:
                t = scratch.t = np.empty((n, R.shape[1]))
            return t[:n]

        def start(b, rows):  # ‖r‖² and the preconditioner's partial sums
            r = R[rows]
            np.einsum("ij,ij->j", r, r, out=rr[b])
            M.partial(rows, r, tmp(rows), W[b])

        def curvature(b, rows):
            np.einsum("ij,ij->j", P[rows], HP[rows], out=rr[b])

        def update(b, rows):
            t, r = tmp(rows), R[rows]
            np.multiply(P[rows], alpha, out=t)
            X[rows] += t
            np.multiply(HP[rows], alpha, out=t)
            r -= t
            start(b, rows)

        def direction(b, rows):  # p ← M⁻¹r + βp (β = 0: p ← M⁻¹r)
            p = P[rows]
            if beta is None:
                M.block(rows, R[rows], S, p)
            else:
                p *= beta
                p += M.block(rows, R[rows], S, tmp(rows))

        with RowBlocks.executor() as pool:
            blocks = RowBlocks(R.shape[0], R.shape[1], CG_BLOCK_ELEMENTS)
            rr, W = blocks.partials(), blocks.partials(M.partial_size)
            blocks.run(pool, start)
            rz, S = M.inner(rr.sum(axis=0), W.sum(axis=0))
            blocks.run(pool, direction)
            while self.n_iter_ < self.maxiter:
                self.n_iter_ += 1
                bar.update()
                HP = operator(P, idx)
                blocks.run(pool, curvature)
                curv = rr.sum(axis=0)
                alpha = rz / np.where(curv > 0, curv, np.inf)
                blocks.run(pool, update)
                res = rr.sum(axis=0)
                rz_new, S = M.inner(res, W.sum(axis=0))
                done = np.sqrt(res) / norms[idx] <= tol[idx]
                if done.any():
                    out[:, idx[done]] = X[:, done]
                    keep = ~done
                    if not keep.any():
                        return
                    idx, rz, rz_new = idx[keep], rz[keep], rz_new[keep]
                    X, R, P = X[:, keep], R[:, keep], P[:, keep]
                    S = None if S is None else S[:, keep]
                    blocks = RowBlocks(R.shape[0], R.shape[1], CG_BLOCK_ELEMENTS)
                    rr, W = blocks.partials(), blocks.partials(M.partial_size)
                beta, rz = rz_new / rz, rz_new
                blocks.run(pool, direction)
        out[:, idx] = X


class CGWarning(ConvergenceWarning):
    """Conjugate gradients did not reach the requested tolerance (a
    :class:`~sklearn.exceptions.ConvergenceWarning`)."""
