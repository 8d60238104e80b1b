"""Products of a sparse design with dense blocks, for matrix-free Hessian products.

``X @ V`` and ``Xᵀ @ R`` with ``V``, ``R`` dense blocks of many columns (all the
right-hand sides of a conjugate-gradient solve): both are computed as CSR times
dense (``Xᵀ`` is kept as a CSR copy made once, instead of SciPy's CSC path,
which scatters into random rows of its result), split over row blocks run on a
thread pool (SciPy's sparse kernels release the GIL), one block per thread.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

#: below this many multiply-adds (nnz times columns) a product stays on one thread
THREADED_MIN_WORK = 2**22


def _row_blocks(indptr, n_blocks):
    """Row boundaries splitting a CSR matrix into blocks of about equal nnz."""
    targets = np.linspace(0, indptr[-1], n_blocks + 1)
    bounds = np.searchsorted(indptr, targets)
    bounds[0], bounds[-1] = 0, indptr.shape[0] - 1
    return np.unique(bounds)


class SparseDesign:
    """``X`` (CSR) and a CSR copy of ``Xᵀ``, multiplied into dense blocks.

    The thread count is scikit-learn's (:func:`threadpoolctl.threadpool_limits`
    on OpenMP and ``OMP_NUM_THREADS`` lower it; never more than the usable cores).
    """

    def __init__(self, X):
        self.X = sp.csr_array(X)
        self.XT = sp.csr_array(self.X.T)  # one transposition, kept with the solver

    @staticmethod
    def _rows(A, start, stop):
        """Rows ``start:stop`` of CSR ``A`` as a CSR array sharing its data."""
        lo, hi = A.indptr[start], A.indptr[stop]
        return sp.csr_array(
            (A.data[lo:hi], A.indices[lo:hi], A.indptr[start : stop + 1] - lo),
            shape=(stop - start, A.shape[1]),
            copy=False,
        )

    def _product(self, A, V):
        """``A @ V`` for CSR ``A`` and a dense (rows, m) ``V``, row blocks on threads."""
        V = np.ascontiguousarray(V, dtype=np.float64)
        n_threads = _openmp_effective_n_threads()
        if n_threads < 2 or A.nnz * V.shape[1] < THREADED_MIN_WORK:
            return np.asarray(A @ V)
        bounds = _row_blocks(A.indptr, n_threads)
        out = np.empty((A.shape[0], V.shape[1]))

        def block(k):
            start, stop = bounds[k], bounds[k + 1]
            out[start:stop] = self._rows(A, start, stop) @ V

        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(block, range(len(bounds) - 1)))
        return out

    def dot(self, V):
        """``X @ V``."""
        return self._product(self.X, V)

    def tdot(self, R):
        """``Xᵀ @ R``."""
        return self._product(self.XT, R)
