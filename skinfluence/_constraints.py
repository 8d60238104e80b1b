"""Parameter constraints of the public API, checked by scikit-learn's
:func:`~sklearn.utils._param_validation.validate_params` (an
``InvalidParameterError``, a ``ValueError`` naming the parameter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import scipy.sparse

#: features: anything scikit-learn accepts as ``X``
MatrixLike = Union[ArrayLike, "scipy.sparse.spmatrix", "scipy.sparse.sparray"]
#: a per-row or per-test result: an array, or labelled with pandas output
Result = Union[np.ndarray, "pandas.Series", "pandas.DataFrame"]

TEST_DATA = {"X_test": ["array-like", "sparse matrix"], "y_test": ["array-like", None]}
RESPONSE_METHOD = [
    StrOptions({"auto", "predict_proba", "decision_function", "predict"})
]
INFLUENCE_ESTIMATOR = [HasMethods(["influence_state"])]


def validated(constraints, nested=False):
    """:func:`validate_params` for a public method or function.

    ``nested=True`` for functions that take an estimator not validated yet
    (its own parameters are then validated when it is fitted).
    """
    return validate_params(constraints, prefer_skip_nested_validation=not nested)
