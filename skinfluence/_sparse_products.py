"""Products of a sparse design with dense blocks, for matrix-free Hessian products.

``X @ V`` and ``Xᵀ @ R`` with ``V``, ``R`` dense blocks of many columns (all the
right-hand sides of a conjugate-gradient solve). Both are CSR times dense (``Xᵀ``
is kept as a CSR copy made once, instead of SciPy's CSC path, which scatters
into random rows of its result), and both are blocked for the cache: every
nonzero reads a random row of the dense block, so the block is multiplied in
slices of columns small enough to stay in the last-level cache
(``CACHE_BLOCK_ELEMENTS``), each slice split over row blocks of the sparse
matrix run on a thread pool (SciPy's sparse kernels release the GIL).
"""

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches

from ._threads import effective_n_threads

#: below this many multiply-adds (nnz times columns) a product stays on one thread
THREADED_MIN_WORK = 2**22
#: float64 entries of the dense slice multiplied at a time (12 MB: the slice stays in
#: the last-level cache while the nonzeros read its rows at random)
CACHE_BLOCK_ELEMENTS = 3 * 2**19


def _row_blocks(indptr, n_blocks):
    """Row boundaries splitting a CSR matrix into blocks of about equal nnz."""
    targets = np.linspace(0, indptr[-1], n_blocks + 1)
    bounds = np.searchsorted(indptr, targets)
    bounds[0], bounds[-1] = 0, indptr.shape[0] - 1
    return np.unique(bounds)


class SparseDesign:
    """``X`` (CSR) and a CSR copy of ``Xᵀ``, multiplied into dense blocks.

    The thread count is :func:`effective_n_threads`'s
    (:func:`threadpoolctl.threadpool_limits` and ``OMP_NUM_THREADS`` lower it).
    """

    def __init__(self, X):
        self.X = sp.csr_array(X)
        self.XT = sp.csr_array(self.X.T)  # one transposition, kept with the solver

    @staticmethod
    def _rows(A, start, stop):
        """Rows ``start:stop`` of CSR ``A`` as a CSR array sharing its data (its
        arrays set after construction: SciPy's constructor copies views of less
        than half their base, 3 ms per row block at the benchmark's size)."""
        lo, hi = A.indptr[start], A.indptr[stop]
        rows = sp.csr_array((stop - start, A.shape[1]), dtype=A.dtype)
        rows.indptr = A.indptr[start : stop + 1] - lo
        rows.indices, rows.data = A.indices[lo:hi], A.data[lo:hi]
        rows.has_sorted_indices = False  # not known without a check
        return rows

    def _product(self, A, V):
        """``A @ V`` for CSR ``A`` and a dense (k, m) ``V``: slices of the columns
        of ``V`` that fit in the cache, each over row blocks of ``A`` on threads
        (:meth:`_blocks`, :meth:`_into`, as in :meth:`weighted_gram_dot`)."""
        V = np.asarray(V, dtype=np.float64)
        k, m = V.shape
        width = max(1, CACHE_BLOCK_ELEMENTS // max(k, 1))
        n_threads = effective_n_threads()
        if A.nnz * m < THREADED_MIN_WORK:
            n_threads = 1
        if (n_threads < 2 and width >= m) or A.shape[0] == 0:
            return np.asarray(A @ np.ascontiguousarray(V))
        out = np.empty((A.shape[0], m))
        blocks = self._blocks(A, n_threads)
        pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
        try:
            for cols in gen_batches(m, width):
                part = np.ascontiguousarray(V[:, cols])
                self._into(pool, blocks, part, out[:, cols])
        finally:
            if pool is not None:
                pool.shutdown()
        return out

    def weighted_gram_dot(self, V, weights, diagonal, intercept):
        """``([X, 1]ᵀ diag(weights) [X, 1] + diag(diagonal)) V`` for a dense
        (d + intercept, m) ``V`` (without the column of ones when not
        ``intercept``): the Hessian product of a one-output linear model.

        Fused per column slice: ``X Vₛ``, the weights, ``Xᵀ(·)`` and the diagonal
        of each slice are applied while its (n, w) and (d, w) pieces are in the
        cache, so no (n, m) temporary is made and ``V`` is read twice only (the
        slice copy, the diagonal); every product over row blocks on threads."""
        V = np.asarray(V, dtype=np.float64)
        X, XT = self.X, self.XT
        n, d = X.shape
        m = V.shape[1]
        out = np.empty_like(V)
        width = max(1, min(m, CACHE_BLOCK_ELEMENTS // max(d, n, 1)))
        width = -(-m // -(-m // width)) if m else 1  # equal slices: 17 -> 9 + 8
        n_threads = effective_n_threads()
        if X.nnz * m < THREADED_MIN_WORK or n == 0 or d == 0:
            n_threads = 1
        weights = np.asarray(weights, dtype=np.float64)[:, None]
        diag_w = np.asarray(diagonal[:d], dtype=np.float64)[:, None]
        pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
        try:
            blocks_X = self._blocks(X, n_threads)
            blocks_XT = self._blocks(XT, n_threads)
            for cols in gen_batches(m, width):
                part = np.array(V[:d, cols], order="C")  # a copy: scaled below
                Z = self._into(pool, blocks_X, part, np.empty((n, part.shape[1])))
                if intercept:
                    Z += V[d, cols]
                Z *= weights
                Y = self._into(pool, blocks_XT, Z, np.empty(part.shape))
                part *= diag_w
                Y += part
                out[:d, cols] = Y
                if intercept:
                    out[d, cols] = Z.sum(axis=0) + diagonal[d] * V[d, cols]
        finally:
            if pool is not None:
                pool.shutdown()
        return out

    def _blocks(self, A, n_threads):
        """Row blocks of ``A`` of about equal nnz, one per thread: (rows, CSR)."""
        if n_threads < 2:
            return [(slice(None), A)]
        bounds = _row_blocks(A.indptr, n_threads)
        return [(slice(lo, hi), self._rows(A, lo, hi)) for lo, hi in pairwise(bounds)]

    @staticmethod
    def _into(pool, blocks, part, out):
        """``A @ part`` into ``out``, the row blocks of ``A`` on ``pool``'s threads."""

        def block(rows_A):
            rows, A_rows = rows_A
            out[rows] = A_rows @ part

        if pool is None or len(blocks) < 2:
            for b in blocks:
                block(b)
        else:
            list(pool.map(block, blocks))
        return out

    def dot(self, V, start=0, stop=None):
        """``X[start:stop] @ V``."""
        if start == 0 and stop in (None, self.X.shape[0]):
            return self._product(self.X, V)
        return self._product(self._rows(self.X, start, stop), V)

    def tdot(self, R):
        """``Xᵀ @ R``."""
        return self._product(self.XT, R)
