"""skinfluence: influence functions for scikit-learn linear models.

Koh & Liang, "Understanding Black-box Predictions via Influence Functions",
ICML 2017, in closed form and matched to each estimator's training objective.
"""

from ._attach import attach
from ._estimators import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
)
from ._mixin import InfluenceMixin, NonStationaryWarning
from ._plotting import (
    InfluenceIndexDisplay,
    LeaveOneOutDisplay,
    TopInfluenceDisplay,
    self_influence,
)
from ._solvers import SingularHessianWarning
from ._validation import loo_refit

__version__ = "0.1.0"

__all__ = [
    "InfluenceIndexDisplay",
    "InfluenceLinearRegression",
    "InfluenceLogisticRegression",
    "InfluenceMixin",
    "InfluenceRidge",
    "LeaveOneOutDisplay",
    "NonStationaryWarning",
    "SingularHessianWarning",
    "TopInfluenceDisplay",
    "attach",
    "loo_refit",
    "self_influence",
    "__version__",
]
