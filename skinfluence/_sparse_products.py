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

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches
from threadpoolctl import ThreadpoolController

#: below this many multiply-adds (nnz times columns) a product stays on one thread
THREADED_MIN_WORK = 2**22
#: float64 entries of the dense slice multiplied at a time (12 MB: the slice stays in
#: the last-level cache while the nonzeros read its rows at random)
CACHE_BLOCK_ELEMENTS = 3 * 2**19


_CONTROLLER = None


def effective_n_threads():
    """Threads for the sparse products: the OpenMP runtime's current count (what
    :func:`threadpoolctl.threadpool_limits` and ``OMP_NUM_THREADS`` set; the
    BLAS count when no OpenMP runtime is loaded), never more than the usable
    cores.

    The libraries are looked up once (``threadpoolctl.ThreadpoolController``,
    2 ms); their current counts are read on every call (microseconds)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    libraries = _CONTROLLER.select(user_api="openmp").lib_controllers
    if not libraries:
        libraries = _CONTROLLER.select(user_api="blas").lib_controllers
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
    counts = [lib.num_threads for lib in libraries if lib.num_threads]
    return max(1, min([cores, *counts]))


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
        """Rows ``start:stop`` of CSR ``A`` as a CSR array sharing its data."""
        lo, hi = A.indptr[start], A.indptr[stop]
        return sp.csr_array(
            (A.data[lo:hi], A.indices[lo:hi], A.indptr[start : stop + 1] - lo),
            shape=(stop - start, A.shape[1]),
            copy=False,
        )

    def _product(self, A, V):
        """``A @ V`` for CSR ``A`` and a dense (k, m) ``V``: slices of the columns
        of ``V`` that fit in the cache, each over row blocks of ``A`` on threads."""
        V = np.asarray(V, dtype=np.float64)
        k, m = V.shape
        width = max(1, CACHE_BLOCK_ELEMENTS // max(k, 1))
        n_threads = effective_n_threads()
        if A.nnz * m < THREADED_MIN_WORK:
            n_threads = 1
        if (n_threads < 2 and width >= m) or A.shape[0] == 0:
            return np.asarray(A @ np.ascontiguousarray(V))
        out = np.empty((A.shape[0], m))
        if n_threads < 2:  # the slices one after the other, no pool
            for cols in gen_batches(m, width):
                out[:, cols] = A @ np.ascontiguousarray(V[:, cols])
            return out
        bounds = _row_blocks(A.indptr, n_threads)
        blocks = [(slice(lo, hi), self._rows(A, lo, hi)) for lo, hi in pairwise(bounds)]
        with ThreadPoolExecutor(len(blocks)) as pool:
            for cols in gen_batches(m, width):
                part = np.ascontiguousarray(V[:, cols])

                def block(rows_A, part=part, cols=cols):
                    rows, A_rows = rows_A
                    out[rows, cols] = A_rows @ part

                list(pool.map(block, blocks))
        return out

    def dot(self, V):
        """``X @ V``."""
        return self._product(self.X, V)

    def tdot(self, R):
        """``Xᵀ @ R``."""
        return self._product(self.XT, R)
