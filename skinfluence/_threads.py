"""Thread counts of the native libraries, read through threadpoolctl.

One :class:`threadpoolctl.ThreadpoolController` is made on first use (looking the
libraries up takes milliseconds); the current counts are read on every call, so
:func:`threadpoolctl.threadpool_limits` and joblib workers' limits are honoured.
"""

import os

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
