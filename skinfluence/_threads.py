"""Thread counts of the native libraries, read through threadpoolctl.

One :class:`threadpoolctl.ThreadpoolController` is made on first use (looking the
libraries up takes milliseconds); the current counts are read on every call, so
:func:`threadpoolctl.threadpool_limits` and joblib workers' limits are honoured.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from itertools import count

import numpy as np
from sklearn.utils import gen_batches
from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def _controllers(user_api):
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.select(user_api=user_api).lib_controllers


def one_blas_thread():
    """Context: BLAS calls in it run on one thread (through the one controller:
    ``threadpool_limits`` would look the libraries up again, 2.6 ms per call,
    measured; 15 µs this way)."""
    _controllers("blas")
    return _CONTROLLER.limit(limits=1, user_api="blas")


def blas_threads():
    """Threads the BLAS libraries may use now (the smallest limit among them),
    at least 1."""
    return max(1, min((c.num_threads for c in _controllers("blas")), default=1))


def effective_n_threads():
    """Threads for our own thread pools (the sparse products): the OpenMP
    runtime's current count (what ``threadpool_limits`` and ``OMP_NUM_THREADS``
    set; the BLAS count when no OpenMP runtime is loaded), never more than the
    usable cores."""
    libraries = _controllers("openmp") or _controllers("blas")
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
    counts = [lib.num_threads for lib in libraries if lib.num_threads]
    return max(1, min([cores, *counts]))


class RowBlocks:
    """Row blocks of (n_rows, width) arrays, ``block_elements`` entries each,
    shared among as many Python threads as BLAS may use (:func:`blas_threads`),
    each with one BLAS thread (numpy's ufuncs and matmul, and the ctypes BLAS
    calls of ``_blas``, release the GIL): this degrades gracefully when another
    process holds a core, where two-thread OpenBLAS degrades 2-10x. Threads take
    the next block from a shared counter, so a slowed thread takes fewer; partial
    sums are kept per block and summed in block order, so results do not depend
    on the number of threads."""

    def __init__(self, n_rows, width, block_elements):
        step = max(1, block_elements // max(width, 1))
        self.blocks, self.width = list(gen_batches(n_rows, step)), width
        self.n_workers = max(1, min(blas_threads(), len(self.blocks)))

    def __len__(self):
        return len(self.blocks)

    def partials(self, *shape):
        """Per-block partial sums: (n_blocks, *shape, width)."""
        return np.empty((len(self.blocks), *shape, self.width))

    @staticmethod
    def executor():
        """Context: a thread pool for :meth:`run` (None for one thread)."""
        n = blas_threads()
        return ThreadPoolExecutor(n - 1) if n > 1 else nullcontext()

    def run(self, pool, fn):
        """``fn(b, rows)`` for every block ``b`` (rows a slice), on one BLAS
        thread per Python thread; the calling thread works too."""
        blocks, counter = self.blocks, count()

        def work():
            while (b := next(counter)) < len(blocks):
                fn(b, blocks[b])

        with one_blas_thread():
            n = 1 if pool is None else self.n_workers
            futures = [pool.submit(work) for _ in range(n - 1)]
            try:
                work()
            finally:
                for future in futures:
                    future.result()
