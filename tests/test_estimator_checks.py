"""scikit-learn's own estimator checks on every ready class."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
)

# Inherited unchanged from the base estimator, which scikit-learn's own test
# suite lists as expected failures (sklearn/utils/_test_common/instance_generator.py).
INHERITED_XFAILS = {
    "InfluenceRidge": {
        "check_non_transformer_estimators_n_iter": "Ridge: n_iter_ is None for direct solvers."
    },
}


@parametrize_with_checks(
    [InfluenceLogisticRegression(), InfluenceLinearRegression(), InfluenceRidge()],
    expected_failed_checks=lambda est: INHERITED_XFAILS.get(type(est).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
