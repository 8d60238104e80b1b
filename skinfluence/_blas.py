"""In-place triangular solves on strided blocks, through SciPy's Cython BLAS.

SciPy's Python BLAS wrappers (:mod:`scipy.linalg.blas`) copy a right-hand side
whose columns are not contiguous, and hold the GIL. The same routines exported
for Cython (:mod:`scipy.linalg.cython_blas`, a public SciPy API) take leading
dimensions, so a block of rows of a C-ordered array (a strided Fortran-ordered
view) is solved in place; their addresses are read from the module's Cython
capsules (``__pyx_capi__``) and they are called through :mod:`ctypes`, which
releases the GIL, so Python threads can share the work.

:data:`AVAILABLE` is false when the routines cannot be found (another SciPy
build); callers then take their contiguous path.
"""

import ctypes

import numpy as np

_INT32_MAX = 2**31 - 1
#: rows of the triangular factor per diagonal block of :func:`cholesky_solve_in_place`
#: (the off-diagonal work goes to ``dgemm``, 100 GFLOP/s on 2 cores where ``dtrsm``
#: runs at 71: 909 unknowns, 1e5 right-hand sides, one ``dtrsm`` each way 2.42 s,
#: blocks of 64 rows 2.11 s, of 32 or 128 rows within 10 % of that)
DIAGONAL_BLOCK = 64


def _routines():
    try:
        import scipy.linalg.cython_blas as cython_blas

        pointer_of = ctypes.pythonapi.PyCapsule_GetPointer
        pointer_of.restype = ctypes.c_void_p
        pointer_of.argtypes = [ctypes.py_object, ctypes.c_char_p]
        name_of = ctypes.pythonapi.PyCapsule_GetName
        name_of.restype = ctypes.c_char_p
        name_of.argtypes = [ctypes.py_object]
        char, i, d, a = (
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_double),
            ctypes.c_void_p,
        )
        signatures = {  # Fortran BLAS: every argument by reference
            "dtrsm": [char, char, char, char, i, i, d, a, i, a, i],
            "dgemm": [char, char, i, i, i, d, a, i, a, i, d, a, i],
        }
        found = {}
        for name, arguments in signatures.items():
            capsule = cython_blas.__pyx_capi__[name]
            address = pointer_of(capsule, name_of(capsule))
            found[name] = ctypes.CFUNCTYPE(None, *arguments)(address)
        return found
    except Exception:  # any SciPy without them: the callers' contiguous path
        return None


_ROUTINES = _routines()
AVAILABLE = _ROUTINES is not None


def _int(value):
    return ctypes.byref(ctypes.c_int(int(value)))


def _double(value):
    return ctypes.byref(ctypes.c_double(float(value)))


def _leading_dimension(M, name):
    """``lda`` of a column-major float64 view (unit stride down its columns)."""
    if M.dtype != np.float64 or M.ndim != 2:
        raise TypeError(f"{name}: a 2-d float64 array is needed.")
    if M.shape[0] > 1 and M.strides[0] != 8:
        raise ValueError(f"{name}: its columns must be contiguous.")
    ld = M.strides[1] // 8 if M.shape[1] > 1 else max(M.shape[0], 1)
    if M.shape[1] > 1 and (M.strides[1] % 8 or ld < M.shape[0]):
        raise ValueError(f"{name}: columns overlap or are misaligned.")
    if max(M.shape + (ld,)) > _INT32_MAX:
        raise ValueError(f"{name}: too large for 32-bit BLAS indices.")
    return max(ld, 1)


def triangular_solve_in_place(L, B, transpose=False, alpha=1.0):
    """``B ← alpha · L⁻¹ B`` (``L⁻ᵀ`` with ``transpose``), ``L`` lower triangular.

    ``B`` is any float64 view whose columns are contiguous (e.g. ``C[rows].T`` for a
    C-ordered ``C``); it is overwritten."""
    if 0 in B.shape:
        return B
    if not B.flags.writeable:
        raise ValueError("B: the array must be writeable.")
    lda, ldb = _leading_dimension(L, "L"), _leading_dimension(B, "B")
    _ROUTINES["dtrsm"](
        b"L",
        b"L",
        b"T" if transpose else b"N",
        b"N",
        _int(B.shape[0]),
        _int(B.shape[1]),
        _double(alpha),
        L.ctypes.data,
        _int(lda),
        B.ctypes.data,
        _int(ldb),
    )
    return B


def subtract_product(A, B, C, transpose_a=False, beta=1.0):
    """``C ← beta · C − op(A) B`` in place (``op(A) = Aᵀ`` with ``transpose_a``)."""
    m, n = C.shape
    k = B.shape[0]
    if 0 in (m, n, k):
        return C
    lda, ldb, ldc = (
        _leading_dimension(M, s) for M, s in ((A, "A"), (B, "B"), (C, "C"))
    )
    _ROUTINES["dgemm"](
        b"T" if transpose_a else b"N",
        b"N",
        _int(m),
        _int(n),
        _int(k),
        _double(-1.0),
        A.ctypes.data,
        _int(lda),
        B.ctypes.data,
        _int(ldb),
        _double(beta),
        C.ctypes.data,
        _int(ldc),
    )
    return C


def cholesky_solve_in_place(L, B, scale=1.0, block=None):
    """``B ← scale · (L Lᵀ)⁻¹ B`` in place, for ``L`` lower triangular, Fortran-ordered.

    Blocked by ``block`` rows of ``L`` (default :data:`DIAGONAL_BLOCK`): a triangular
    solve of each diagonal block, then a matrix product updating the rows below (or
    above, on the way back), so most of the flops run in ``dgemm``, faster than
    ``dtrsm`` on the same flops."""
    if L.shape[0] != L.shape[1] or L.shape[0] != B.shape[0]:
        raise ValueError(f"L {L.shape} does not match B {B.shape}.")
    if not L.flags.f_contiguous:
        raise ValueError("L must be Fortran-ordered.")
    step = block or DIAGONAL_BLOCK
    p = L.shape[0]
    cuts = list(range(0, p, step)) + [p]
    spans = list(zip(cuts[:-1], cuts[1:], strict=True))
    for i, (a, b) in enumerate(spans):  # L Y = scale · B: the first block scales all
        first = scale if i == 0 else 1.0
        triangular_solve_in_place(L[a:b, a:b], B[a:b], alpha=first)
        subtract_product(L[b:, a:b], B[a:b], B[b:], beta=first)
    for a, b in reversed(spans):  # Lᵀ X = Y
        triangular_solve_in_place(L[a:b, a:b], B[a:b], transpose=True)
        subtract_product(L[a:b, :a], B[a:b], B[:a], transpose_a=True)
    return B
