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

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows

from ._contrasts import ClassContrasts
from ._penalties import Penalty
from ._sparse_products import SparseDesign
from ._threads import blas_threads, one_blas_thread

#: rows of ``[X, 1]`` per block of the dense Hessian assembly (about 8 MB of float64)
GRAM_BLOCK_ELEMENTS = 2**20
#: elements of ``G`` per block of rows in :meth:`LinearObjective.influence_gradient_product`
#: (32 MB: each product packs ``A`` again; measured with p = 1010, m = 1000,
#: blocks of 259 rows cost 1.56x one product, 1024 rows 1.43x, 4096 rows 1.09x;
#: for p = 101, blocks of 4096 rows were slower than 32 MB ones)
PRODUCT_BLOCK_ELEMENTS = 2**22
#: elements of dense gradient rows per Python thread at least, when expanding
EXPAND_THREAD_ELEMENTS = 2**20
#: elements of ``[X, 1]`` per block of rows of the multinomial Hessian (0.5 MB:
#: measured K = 10, d = 100, n = 1e5 on 2 threads, blocks of 2**14 to 2**18
#: elements within 10 %)
HESSIAN_BLOCK_ELEMENTS = 2**16


def as_dense(a):
    """A dense ndarray of ``a`` (sparse matrices are expanded)."""
    return a.toarray() if sp.issparse(a) else np.asarray(a)


def _row_span(rows, n):
    """``(start, stop)`` when ``rows`` is a slice of consecutive rows, else ``None``."""
    if not isinstance(rows, slice):
        return None
    start, stop, step = rows.indices(n)
    return (start, max(start, stop)) if step == 1 else None


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
    #: ``influence_gradient_product`` bounds its own temporaries (any rows at once)
    blocked_product = False
    #: coordinates held at zero (an L1 active set's inactive coefficients)
    n_frozen = 0
    frozen = np.zeros(0, dtype=int)

    def influence_gradients(self, theta, rows=None):
        """Rows ``g_i`` with ``S ∂θ̂/∂s_i = -H⁻¹ g_i``: ``∇L_i`` plus the penalty's
        weight derivative (Koh & Liang's eq. 3 when the penalty is fixed)."""
        X, Y = self._rows_data(rows)
        G = self.sample_gradients(theta, X, Y)
        share = self.penalty.weight_derivative(theta, self.weight_sum)
        return G if not share.any() else as_dense(G) + share

    def influence_gradient_product(self, theta, A, rows=slice(None), out=None):
        """``G A`` for ``G`` the influence gradients of ``rows``, shape (rows, m).

        ``out``: an array of shape (m, rows) (any float dtype, e.g. a column
        block of a larger result) that receives ``(G A)ᵀ``; ``out.T`` is returned."""
        rows = np.arange(self.n_samples)[rows]
        G = as_dense(self.influence_gradients(theta, rows))
        GA = G @ np.asarray(A, dtype=np.float64)
        if out is None:
            return GA
        out[...] = GA.T
        return out.T

    def loss_values_at(self, thetas, X, Y):
        """``L(z_j, θ_c)`` for many parameter vectors (columns of ``thetas``): (m, c)."""
        return np.column_stack([self.loss_values(t, X, Y) for t in thetas.T])

    def hessian_lower_bound(self, theta):
        """A lower bound ``≥ 0`` on the smallest eigenvalue of ``H`` (0: none known)."""
        return 0.0

    def class_contrasts(self, theta):
        """:class:`~skinfluence._contrasts.ClassContrasts` at ``θ`` when ``H⁺ g_i``
        can be solved on the class contrasts (``None``: it cannot)."""
        return None

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

    @property
    def blocked_product(self):
        return not sp.issparse(self.X)

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
        """``X W.T + b``; for the training rows remembered for the last ``θ``
        (read-only), since every quantity at the fit starts from it."""
        training = X is None or X is self.X
        if training:
            key = (np.shape(theta), np.asarray(theta, dtype=np.float64).tobytes())
            cached = getattr(self, "_raw_cache", None)
            if cached is not None and cached[0] == key:
                return cached[1]
        X = self.X if X is None else X
        W, b = self.unpack(theta)
        raw = np.asarray(X @ W.T) + b
        if training:
            raw.flags.writeable = False
            self._raw_cache = (key, raw)
        return raw

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

    def influence_gradient_product(self, theta, A, rows=slice(None), out=None):
        """``G A`` (rows, m) for ``G`` the influence gradients of ``rows``.

        ``out``: an array of shape (m, rows) (any float dtype, e.g. a column block
        of a larger result) that receives ``(G A)ᵀ``; ``out.T`` is returned.
        Sparse ``X``: ``Σ_k r_ik ([x_i, 1] · A_k)`` without forming ``G``. Dense
        ``X``: ``G`` is built in blocks of rows, each followed by its
        ``Aᵀ Gᵀ`` product written straight into ``out`` (float64), so the result
        is written once, in its final layout. For a shift-invariant loss the
        residuals sum to zero over the outputs (the derivative of the invariance),
        so ``g_i · a = Σ_{k<K} r_ik [x_i, 1] · (a_k − a_K)``: the product runs over
        ``(K − 1)(d + 1)`` parameters instead of ``K (d + 1)``."""
        A = np.asarray(A, dtype=np.float64)
        X, Y = self.X[rows], self.Y[rows]
        R = self.loss.gradient(Y, self.raw_prediction(theta)[rows])
        share = self.penalty.weight_derivative(theta, self.weight_sum)
        bias = share @ A if share.any() else None
        W, b = self.unpack(A)  # (K, d, m), (K, m)
        if self.loss.shift_invariant and self.n_outputs > 1:
            R, W, b = R[:, :-1], W[:-1] - W[-1], b[:-1] - b[-1]
        K, d, m = W.shape
        if sp.issparse(X):
            WA = W.transpose(1, 0, 2).reshape(d, K * m)
            span = _row_span(rows, self.n_samples)
            if span is None:
                XA = np.asarray(X @ WA)
            else:  # a range of rows: the threaded, cache-blocked product
                XA = self._sparse().dot(WA, *span)
            GA = np.einsum("nk,nkm->nm", R, XA.reshape(-1, K, m) + b[None])
            if bias is not None:
                GA += bias
            if out is None:
                return GA
            out[...] = GA.T
            return out.T
        n_rows, width = X.shape[0], K * (d + self.fit_intercept)
        if out is None:
            out = np.empty((m, n_rows))
        At = np.empty((m, width))  # Aᵀ of the (reduced) parameters, C-ordered
        At[:, : K * d] = W.reshape(K * d, m).T
        if self.fit_intercept:
            At[:, K * d :] = b.T
        step = max(1, min(n_rows, PRODUCT_BLOCK_ELEMENTS // width))
        G = np.empty((step, width))
        # float32 results: each block's float64 product, rounded into ``out``
        buffer = None if out.dtype == np.float64 else np.empty((m, step))
        # one pool for every block's expansion (not one per block)
        n_workers = blas_threads() if step * width >= 2 * EXPAND_THREAD_ELEMENTS else 1
        with ThreadPoolExecutor(n_workers) if n_workers > 1 else nullcontext() as pool:
            for block in gen_batches(n_rows, step):
                g = G[: block.stop - block.start]
                self.expand(X[block], R[block], out=g, pool=pool, n_workers=n_workers)
                target = out[:, block] if buffer is None else buffer[:, : g.shape[0]]
                np.matmul(At, g.T, out=target)
                if bias is not None:
                    target += bias[:, None]
                if buffer is not None:
                    out[:, block] = target
        return out.T

    def expand(self, X, R, out=None, pool=None, n_workers=None):
        """Rows ``r_i ⊗ [x_i, 1]`` in parameter order for ``R`` of shape (n, k)
        (``k`` outputs, of the model or fewer; CSR when ``X`` is sparse); dense
        ones written into ``out`` when given. Large dense blocks are split among
        ``n_workers`` threads of ``pool`` when given (else a pool of as many
        threads as BLAS may use is made)."""
        K, d = R.shape[1], self.n_features
        if sp.issparse(X):
            blocks = [sp.diags(R[:, k]) @ X for k in range(K)]
            if self.fit_intercept:
                blocks.append(sp.csr_matrix(R))
            return sp.hstack(blocks, format="csr")
        if out is None:
            out = np.empty((X.shape[0], K * (d + self.fit_intercept)))

        def fill(rows):
            for k in range(K):
                np.multiply(
                    R[rows, k, None], X[rows], out=out[rows, k * d : (k + 1) * d]
                )
            if self.fit_intercept:
                out[rows, K * d :] = R[rows]

        # large blocks on as many Python threads as BLAS may use (numpy releases
        # the GIL): the passes and the first writes to new pages run in parallel
        parts = out.size // EXPAND_THREAD_ELEMENTS
        if parts >= 2 and pool is None:  # small blocks do not ask (~1 ms)
            n_workers = blas_threads()
        parts = min(parts, n_workers or 1)
        if parts < 2:
            fill(slice(None))
            return out
        slices = [
            slice(a, b)
            for a, b in pairwise(np.linspace(0, X.shape[0], parts + 1).astype(int))
        ]
        if pool is not None:
            list(pool.map(fill, slices))
            return out
        with ThreadPoolExecutor(parts) as own:
            list(own.map(fill, slices))
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
        """Dense ``H = ∇²R(θ)``, shape (n_params, n_params).

        ``H`` has one ``(d+1, d+1)`` block per pair of outputs ``(k, j)``, the
        Gram matrix ``[X, 1]ᵀ diag(s ⊙ Λ_kj) [X, 1]`` (``Λ = ∂²L/∂raw²``). For a
        shift-invariant loss ``Λ 1 = 0``, so only the blocks ``k < j`` are
        computed and each diagonal block is minus the sum of its row's others.
        """
        K, d = self.n_outputs, self.n_features
        raw = self.raw_prediction(theta)
        derive_diagonal = self.loss.shift_invariant and K > 1
        factor = getattr(self.loss, "offdiagonal_factor", None)
        if derive_diagonal and factor is not None and not sp.issparse(self.X):
            U = factor(self.Y, raw) * np.sqrt(self.sample_weight)[:, None]
            grams = self._offdiagonal_grams(U)
        else:
            D = self.loss.hessian_blocks(self.Y, raw)
            D *= self.sample_weight[:, None, None]
            pairs = [
                (k, j)
                for k in range(K)
                for j in range(k + derive_diagonal, K)
                if D[:, k, j].any()
            ]
            grams = self._weighted_grams(D, pairs)
        if derive_diagonal:
            zero = np.zeros((d + self.fit_intercept,) * 2)
            for k in range(K):
                others = [grams.get((min(k, j), max(k, j)), zero) for j in range(K)]
                grams[k, k] = -sum(o for j, o in enumerate(others) if j != k)
        H = np.zeros((self.n_params, self.n_params))
        for (k, j), gram in grams.items():
            idx_k, idx_j = self._block_index(k), self._block_index(j)
            H[np.ix_(idx_k, idx_j)] = gram
            H[np.ix_(idx_j, idx_k)] = gram.T
        H[np.diag_indices_from(H)] += self.penalty.l2
        H /= self.weight_sum
        return H

    def _weighted_grams(self, D, pairs):
        """``{(k, j): [X, 1]ᵀ diag(D[:, k, j]) [X, 1]}`` for the given pairs.

        For dense ``X`` every Gram matrix is a sum of symmetric rank-k updates
        (``dsyrk``) ``+Z₊ᵀZ₊ − Z₋ᵀZ₋`` with ``Z± = sqrt(max(±w, 0)) ⊙ [X, 1]``,
        half the flops of a general product, accumulated in place over row
        blocks of about 8 MB (they stay in cache), never more than scikit-learn's
        ``working_memory``."""
        if sp.issparse(self.X):
            return {(k, j): self._weighted_gram(self.X, D[:, k, j]) for k, j in pairs}
        n, d = self.X.shape
        q = d + self.fit_intercept
        out = {pair: np.zeros((q, q), order="F") for pair in pairs}
        rows_in_memory = get_chunk_n_rows(8 * q, max_n_rows=max(n, 1))
        Z = np.empty((max(1, min(n, GRAM_BLOCK_ELEMENTS // q, rows_in_memory)), q))
        for rows in gen_batches(n, Z.shape[0]) if n else ():  # a chunk may be empty
            X, z = self.X[rows], Z[: rows.stop - rows.start]
            for (k, j), C in out.items():
                w = D[rows, k, j]
                for sign, part in ((1.0, w > 0), (-1.0, w < 0)):
                    if not part.any():
                        continue
                    root = np.sqrt(np.abs(np.where(part, w, 0.0)))
                    np.multiply(X, root[:, None], out=z[:, :d])
                    if self.fit_intercept:
                        z[:, d] = root
                    dsyrk(sign, z.T, beta=1.0, c=C, lower=0, overwrite_c=1)
        for C in out.values():  # dsyrk filled the upper triangle
            C += np.triu(C, 1).T
        return out

    def _offdiagonal_grams(self, U):
        """``{(k, j): -[X, 1]ᵀ diag(U_k U_j) [X, 1]}`` for every ``k < j``, dense ``X``
        and ``U ≥ 0``.

        Each is a symmetric rank-k update of ``√(U_k U_j) ⊙ [X, 1]`` per block of
        rows (about 0.5 MB, in cache), accumulated: ``K (K − 1) / 2`` updates of
        width ``d + 1`` cost 0.45 of one update of width ``K (d + 1)`` (K = 10).
        OpenBLAS ran updates that narrow at one thread's speed whatever its
        setting (measured: 33 GFLOP/s on 1 or 2 threads, 2.6 s per ``XᵀX``-sized
        product where numpy's wide ``AᵀA`` takes 1.3 s), so the blocks of rows
        are shared among as many Python threads as BLAS may use
        (:func:`blas_threads`), each with one BLAS thread and its own
        accumulators, summed at the end: numpy's ``zᵀz`` (a ``dsyrk``) releases
        the GIL, SciPy's ``dsyrk`` wrapper does not."""
        n, d = self.X.shape
        K, q = self.n_outputs, d + self.fit_intercept
        pairs = [(k, j) for k in range(K) for j in range(k + 1, K)]
        rows_in_memory = get_chunk_n_rows(8 * q, max_n_rows=max(n, 1))
        step = max(1, min(n, HESSIAN_BLOCK_ELEMENTS // q, rows_in_memory))
        batches = list(gen_batches(n, step)) if n else []  # a chunk may be empty
        n_workers = max(1, min(blas_threads(), len(batches)))

        def accumulate(worker):
            out = {pair: np.zeros((q, q)) for pair in pairs}
            Xe, Z = np.empty((step, q)), np.empty((step, q))
            root, T = np.empty(step), np.empty((q, q))
            Xe[:, d:] = 1.0  # the intercept's column of [X, 1]
            for rows in batches[worker::n_workers]:
                b = rows.stop - rows.start
                xe, z, r = Xe[:b], Z[:b], root[:b]
                xe[:, :d] = self.X[rows]
                S = np.sqrt(U[rows])
                for (k, j), C in out.items():
                    np.multiply(S[:, k], S[:, j], out=r)
                    np.multiply(xe, r[:, None], out=z)
                    np.matmul(z.T, z, out=T)  # numpy runs zᵀz as dsyrk
                    C -= T
            return out

        with (
            one_blas_thread() if n_workers > 1 else nullcontext(),
            ThreadPoolExecutor(n_workers) as pool,
        ):
            parts = list(pool.map(accumulate, range(n_workers)))
        out = parts[0]
        for part in parts[1:]:
            for pair, C in part.items():
                out[pair] += C
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
        if K == 1 and sp.issparse(self.X):  # fused, cache-blocked, threaded
            curvature = self.loss.hessian_apply(self.Y, raw, np.ones_like(raw))[:, 0]
            out = self._sparse().weighted_gram_dot(
                V,
                curvature * self.sample_weight / self.weight_sum,
                self.penalty.l2 / self.weight_sum,
                self.fit_intercept,
            )
            return out[:, 0] if one else out
        dW, db = self.unpack(V)  # (K, d, m), (K, m)
        dot, tdot = self._design_products()
        draw = np.asarray(dot(dW.transpose(1, 0, 2).reshape(d, K * m)))
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
        parts = [np.asarray(tdot(R.reshape(-1, m * K))).reshape(d, m, K)]
        out = np.empty_like(V)
        out[: K * d] = parts[0].transpose(2, 0, 1).reshape(K * d, m)
        if self.fit_intercept:
            out[K * d :] = R.sum(axis=0).T
        out += self.penalty.l2[:, None] * V
        out /= self.weight_sum
        return out[:, 0] if one else out

    def _design_products(self):
        """``(V ↦ X V, R ↦ Xᵀ R)``; for sparse ``X`` threaded CSR products with a
        CSR copy of ``Xᵀ`` made once (:class:`~._sparse_products.SparseDesign`)."""
        if not sp.issparse(self.X):
            return self.X.__matmul__, self.X.T.__matmul__
        return self._sparse().dot, self._sparse().tdot

    def _sparse(self):
        """The :class:`~._sparse_products.SparseDesign` of sparse ``X``, made once."""
        if getattr(self, "_sparse_design", None) is None:
            self._sparse_design = SparseDesign(self.X)
        return self._sparse_design

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

    def hessian_lower_bound(self, theta):
        """A lower bound on the smallest eigenvalue of ``H`` without any solve:
        for one output, an L2 penalty ``λ₀ = min_j λ_j > 0`` on every coefficient
        and curvatures ``c_i = s_i ∂²L/∂raw_i² ≥ 0`` (0 otherwise: none known).

        ``S H = [X, 1]ᵀ C [X, 1] + diag(λ)``. Without an intercept the bound is
        ``λ₀ / S``. With one, write a unit vector as ``(u, t)``, ``a = ‖u‖``,
        ``b = |t| = √(1 − a²)``, ``γ² = Σ_i c_i`` and ``σ² ≥ ‖C^½ X‖₂²``; then
        ``‖C^½(X u + t 1)‖ ≥ γ b − σ a`` and

            S vᵀHv ≥ (γ b − σ a)₊² + λ₀ a².

        Where ``γ b ≥ σ a`` the right side is the quadratic form of
        ``M = [[σ² + λ₀, −σγ], [−σγ, γ²]]`` at the unit vector ``(a, b)``, at
        least ``λ_min(M) = λ₀ γ² / λ_max(M)``; elsewhere ``a² > γ²/(γ² + σ²)`` and
        it is at least ``λ₀ γ² / (γ² + σ²)``. ``σ²`` is bounded by the largest
        row sum of ``|X|ᵀ C |X|`` (a symmetric matrix's spectral norm is at most
        its ∞-norm, and ``‖A‖₂ ≤ ‖B‖₂`` for ``|A| ≤ B`` entrywise): two products
        of ``|X|`` with vectors.
        """
        d = self.n_features
        if self.n_outputs != 1 or d == 0:
            return 0.0
        lam0 = float(self.penalty.l2[:d].min())
        if not lam0 > 0:
            return 0.0
        if not self.fit_intercept:
            return lam0 / self.weight_sum
        raw = self.raw_prediction(theta)
        c = self.loss.hessian_apply(self.Y, raw, np.ones_like(raw))[:, 0]
        c = c * self.sample_weight
        if not np.all(c >= 0):
            return 0.0
        X = self.X
        if sp.issparse(X):
            X = sp.csr_array((np.abs(X.data), X.indices, X.indptr), shape=X.shape)
        else:
            X = np.abs(X)
        sigma2 = float(np.max(X.T @ (c * (X @ np.ones(d))), initial=0.0))
        gamma2 = float(c.sum())
        if not gamma2 > 0:  # no curvature along the intercept
            return 0.0
        top = 0.5 * (
            sigma2
            + lam0
            + gamma2
            + np.hypot(sigma2 + lam0 - gamma2, 2 * np.sqrt(sigma2 * gamma2))
        )
        if not top > 0:
            return 0.0
        bound = min(lam0 * gamma2 / top, lam0 * gamma2 / (gamma2 + sigma2))
        return bound / self.weight_sum

    def class_contrasts(self, theta):
        """The class contrasts (:mod:`~skinfluence._contrasts`) at ``θ``, for a
        shift-invariant loss with more than one output, dense ``X`` and a smooth
        penalty that is the same for every class; else ``None``."""
        K, d = self.n_outputs, self.n_features
        if not (self.loss.shift_invariant and K > 1) or sp.issparse(self.X):
            return None
        l2, l1 = self.penalty.l2, self.penalty.l1
        coef, intercept = l2[: K * d].reshape(K, d), l2[K * d :]
        if l1.any() or np.any(coef != coef[:1]) or np.any(intercept != intercept[:1]):
            return None
        return ClassContrasts(self.X, self.residuals(theta), self.fit_intercept)

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
    on the features ``columns`` (those with an active coefficient for some
    output) with parameters ``θ[inner_map]``; of these, ``active`` (a mask) are
    free and the others (a zero coefficient of one class whose feature is
    active for another) are frozen inside ``inner`` too. Gradients are zero and
    the Hessian is the identity on every frozen coordinate, so influences there
    are exactly zero. ``keep = inner_map[active]``: the free coordinates.
    """

    feature_perturbation = True

    def __init__(self, inner, inner_map, n_params, columns, active=None):
        self.inner = inner
        self.inner_map = np.asarray(inner_map)
        self.active = (
            np.ones(self.inner_map.size, bool) if active is None else np.asarray(active)
        )
        self.keep = self.inner_map[self.active]
        self.columns = np.asarray(columns)
        self.n_params = n_params
        self.n_frozen = n_params - self.keep.size
        self.frozen = np.setdiff1d(np.arange(n_params), self.keep)
        self.n_features = (n_params - inner.n_params) // inner.n_outputs + (
            inner.n_features
        )
        self.loss = inner.loss
        self.n_outputs = inner.n_outputs
        self.n_samples = inner.n_samples
        self.sample_weight = inner.sample_weight
        self.weight_sum = inner.weight_sum
        self.X, self.Y = inner.X, inner.Y
        l2, l1 = np.zeros(n_params), np.zeros(n_params)
        l2[self.keep] = inner.penalty.l2[self.active]
        l1[self.keep] = inner.penalty.l1[self.active]
        self.penalty = Penalty(l2, l1, inner.penalty.scaling, inner.penalty.totals)

    @classmethod
    def from_frozen(
        cls, loss, X, Y, s, penalty, fit_intercept, frozen, weight_sum=None
    ):
        """The objective with the coordinates ``frozen`` (a mask over ``θ``) held
        at zero: the inner model keeps every feature with a free coefficient
        for some output."""
        K, d = loss.n_outputs, X.shape[1]
        coef_frozen = frozen[: K * d].reshape(K, d)
        columns = np.flatnonzero(~coef_frozen.all(axis=0))
        inner_map = (np.arange(K)[:, None] * d + columns[None, :]).ravel()
        if fit_intercept:
            inner_map = np.append(inner_map, K * d + np.arange(K))
        inner = LinearObjective(
            loss,
            X[:, columns],
            Y,
            s,
            penalty.take(inner_map),
            fit_intercept,
            weight_sum,
        )
        return cls(inner, inner_map, frozen.size, columns, ~frozen[inner_map])

    @property
    def blocked_product(self):
        return self.inner.blocked_product

    def _inner(self, theta):
        """``θ`` on the inner coordinates (frozen ones at their value, zero)."""
        return theta[self.inner_map]

    def _inner_directions(self, A):
        """Directions ``A`` (n_params, ...) on the inner coordinates, zero on the
        frozen ones."""
        out = np.zeros((self.inner_map.size,) + A.shape[1:])
        out[self.active] = A[self.keep]
        return out

    def _X(self, X):
        return None if X is None else X[:, self.columns]

    def _embed(self, G):
        """Inner-coordinate rows (last axis) into ``θ``, zero on frozen ones."""
        G = as_dense(G)
        out = np.zeros(G.shape[:-1] + (self.n_params,))
        out[..., self.keep] = G[..., self.active]
        return out

    def raw_prediction(self, theta, X=None):
        return self.inner.raw_prediction(self._inner(theta), self._X(X))

    def loss_values(self, theta, X=None, Y=None):
        return self.inner.loss_values(self._inner(theta), self._X(X), Y)

    def sample_gradients(self, theta, X=None, Y=None):
        G = self.inner.sample_gradients(self._inner(theta), self._X(X), Y)
        return self._embed(G)

    def loss_values_at(self, thetas, X, Y):
        return self.inner.loss_values_at(thetas[self.inner_map], self._X(X), Y)

    def influence_gradients(self, theta, rows=None):
        return self._embed(self.inner.influence_gradients(self._inner(theta), rows))

    def influence_gradient_product(self, theta, A, rows=slice(None), out=None):
        A = np.asarray(A, dtype=np.float64)
        return self.inner.influence_gradient_product(
            self._inner(theta), self._inner_directions(A), rows, out
        )

    def output_jacobian(self, X, D):
        return self._embed(self.inner.output_jacobian(X[:, self.columns], D))

    def row_jacobian(self, rows):
        return self._embed(self.inner.row_jacobian(rows))

    def row_curvature(self, theta, rows):
        return self.inner.row_curvature(self._inner(theta), rows)

    def row_residuals(self, theta, rows):
        return self.inner.row_residuals(self._inner(theta), rows)

    def gradient(self, theta):
        return self._embed(self.inner.gradient(self._inner(theta)))

    def hessian(self, theta):
        H = np.eye(self.n_params)
        if self.inner.n_params:  # else every coordinate is frozen
            inner = self.inner.hessian(self._inner(theta))
            H[np.ix_(self.keep, self.keep)] = inner[np.ix_(self.active, self.active)]
        return H

    def hessian_dot(self, theta, V):
        V = np.asarray(V, dtype=np.float64)
        out = V.copy()
        HV = self.inner.hessian_dot(self._inner(theta), self._inner_directions(V))
        out[self.keep] = HV[self.active]
        return out

    def hessian_diagonal(self, theta):
        out = np.ones(self.n_params)
        out[self.keep] = self.inner.hessian_diagonal(self._inner(theta))[self.active]
        return out

    def null_directions(self):
        """The inner objective's flat directions that stay off the frozen
        coordinates (the multinomial's common intercept shift)."""
        V = self.inner.null_directions()
        V = V[:, np.all(V[~self.active] == 0, axis=0)]
        return self._embed(V.T).T

    def dispersion(self, theta, dof):
        return self.inner.dispersion(self._inner(theta), dof)

    def deleted_dispersion(self, theta, dof, leverage):
        return self.inner.deleted_dispersion(self._inner(theta), dof, leverage)

    def feature_derivative_apply(self, theta, A):
        """Inactive features have zero coefficients and frozen influence: their
        columns are zero; the active ones follow :class:`LinearObjective`."""
        A = np.asarray(A, dtype=np.float64)
        out = np.zeros((self.n_samples, self.n_features))
        out[:, self.columns] = self.inner.feature_derivative_apply(
            self._inner(theta), self._inner_directions(A)
        )
        return out
