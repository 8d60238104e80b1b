"""skinfluence: influence functions for scikit-learn linear models.

Koh & Liang, "Understanding Black-box Predictions via Influence Functions",
ICML 2017, in closed form and matched to each estimator's training objective.
"""

from ._estimators import (
    InfluenceElasticNet,
    InfluenceGammaRegressor,
    InfluenceHuberRegressor,
    InfluenceLasso,
    InfluenceLinearRegression,
    InfluenceLinearSVC,
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
from ._mixin import InfluenceMixin, NonStationaryWarning
from ._solvers import SingularHessianWarning
from ._validation import loo_refit

__version__ = "0.1.0"

__all__ = [
    "InfluenceElasticNet",
    "InfluenceGammaRegressor",
    "InfluenceHuberRegressor",
    "InfluenceLasso",
    "InfluenceLinearRegression",
    "InfluenceLinearSVC",
    "InfluenceLogisticRegression",
    "InfluenceLogisticRegressionCV",
    "InfluencePoissonRegressor",
    "InfluenceRidge",
    "InfluenceRidgeCV",
    "InfluenceRidgeClassifier",
    "InfluenceRidgeClassifierCV",
    "InfluenceSGDClassifier",
    "InfluenceSGDRegressor",
    "InfluenceTweedieRegressor",
    "InfluenceMixin",
    "NonStationaryWarning",
    "SingularHessianWarning",
    "loo_refit",
    "__version__",
]
