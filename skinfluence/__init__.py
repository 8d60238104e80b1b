"""skinfluence: influence functions for scikit-learn linear models.

Koh & Liang, "Understanding Black-box Predictions via Influence Functions",
ICML 2017, in closed form and matched to each estimator's training objective.
"""

from ._attach import attach
from ._config import config_context, get_config, set_config
from ._estimators import (
    InfluenceElasticNet,
    InfluenceGammaRegressor,
    InfluenceHuberRegressor,
    InfluenceKernelRidge,
    InfluenceLasso,
    InfluenceLinearRegression,
    InfluenceLinearSVC,
    InfluenceLinearSVR,
    InfluenceLogisticRegression,
    InfluenceLogisticRegressionCV,
    InfluencePoissonRegressor,
    InfluenceRidge,
    InfluenceRidgeClassifier,
    InfluenceRidgeClassifierCV,
    InfluenceRidgeCV,
    InfluenceSGDClassifier,
    InfluenceSGDRegressor,
    InfluenceTweedieRegressor,
)
from ._influence_plot import DiagnosticIndexDisplay, InfluencePlotDisplay
from ._mixin import InfluenceMixin, NonStationaryWarning
from ._outputs import ParameterFunction, mean_loss, prediction_gap
from ._pipeline import InfluencePipeline
from ._plotting import (
    InfluenceIndexDisplay,
    LeaveOneOutDisplay,
    TopInfluenceDisplay,
)
from ._solvers import CGWarning, SingularHessianWarning
from ._validation import loo_refit

__version__ = "0.1.0"

__all__ = [
    "CGWarning",
    "DiagnosticIndexDisplay",
    "InfluenceElasticNet",
    "InfluenceGammaRegressor",
    "InfluenceHuberRegressor",
    "InfluenceIndexDisplay",
    "InfluenceKernelRidge",
    "InfluenceLasso",
    "InfluenceLinearRegression",
    "InfluenceLinearSVC",
    "InfluenceLinearSVR",
    "InfluenceLogisticRegression",
    "InfluenceLogisticRegressionCV",
    "InfluenceMixin",
    "InfluencePipeline",
    "InfluencePlotDisplay",
    "InfluencePoissonRegressor",
    "InfluenceRidge",
    "InfluenceRidgeCV",
    "InfluenceRidgeClassifier",
    "InfluenceRidgeClassifierCV",
    "InfluenceSGDClassifier",
    "InfluenceSGDRegressor",
    "InfluenceTweedieRegressor",
    "LeaveOneOutDisplay",
    "NonStationaryWarning",
    "ParameterFunction",
    "SingularHessianWarning",
    "TopInfluenceDisplay",
    "attach",
    "config_context",
    "get_config",
    "loo_refit",
    "mean_loss",
    "prediction_gap",
    "set_config",
    "__version__",
]
