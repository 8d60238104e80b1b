"""InfluencePipeline: influence methods of the last step, on raw inputs."""

import copy

from sklearn.pipeline import Pipeline

from ._mixin import COMPUTED_ATTRIBUTES, uncomputed_attributes, visible_attributes

# methods of the final influence estimator whose first argument is test data
_ON_TEST_DATA = (
    "influence_loss",
    "influence_frame",
    "top_influences",
    "loo_loss_change",
    "influence_prediction",
    "influence_perturbation",
)
# methods and attributes that only concern the training rows
_ON_TRAINING_ROWS = (
    "loo_params_change",
    "influence_statistic",
    "leverage",
    "cooks_distance",
    "dfbeta",
    "dfbetas",
    "self_influence",
    "studentized_residuals",
    "sigma_loo",
    "dffits",
    "covratio",
    "press_residuals",
    "press_statistic",
    "outlier_test",
    "summary_frame",
)


class InfluencePipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose influence methods take raw data.

    The last step must be an influence estimator (e.g.
    :class:`InfluenceLogisticRegression`). Methods such as ``influence_loss``,
    ``top_influences``, ``loo_loss_change`` and ``influence_prediction`` pass
    ``X_test`` through ``pipeline[:-1].transform`` and call the last step; the
    influence is that of the training rows *as the last step saw them*: the
    earlier steps are held fixed (a scaler is not refit when a row is removed).
    ``influence_perturbation`` is with respect to the transformed features.

    To route ``sample_weight`` to the last step (so the influence uses the
    weights the model was fitted with), either pass
    ``fit(X, y, <last step name>__sample_weight=w)`` or enable scikit-learn's
    metadata routing and call ``set_fit_request(sample_weight=True)`` on it.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skinfluence import InfluenceLogisticRegression, InfluencePipeline
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = InfluencePipeline(
    ...     [("scale", StandardScaler()), ("model", InfluenceLogisticRegression(tol=1e-10))]
    ... ).fit(X[:300], y[:300])
    >>> pipe.influence_loss(X[300:302], y[300:302]).shape
    (2, 300)
    """

    def __dir__(self):
        last = self.steps[-1][1] if self.steps else None
        hidden = (
            uncomputed_attributes(last)
            if hasattr(last, "influence_state")
            else set(COMPUTED_ATTRIBUTES)
        )
        return visible_attributes(self, hidden)

    def _transform_test(self, X_test):
        return self[:-1].transform(X_test) if len(self.steps) > 1 else X_test

    @property
    def influence_params_(self):
        """``influence_params_`` of the last step."""
        return self[-1].influence_params_

    @property
    def gradient_norm_(self):
        """``gradient_norm_`` of the last step."""
        return self[-1].gradient_norm_

    @property
    def newton_step_(self):
        """``newton_step_`` of the last step."""
        return self[-1].newton_step_

    def remove_effect(self, indices, method="influence"):
        """The pipeline with its last step replaced by ``remove_effect`` of it.

        Earlier steps are shared copies, not refit.
        """
        return self._with_last(self[-1].remove_effect(indices, method=method))

    def newton_update(self):
        """The pipeline with its last step moved by one Newton step."""
        return self._with_last(self[-1].newton_update())

    def _with_last(self, estimator):
        new = copy.copy(self)
        new.steps = [*self.steps[:-1], (self.steps[-1][0], estimator)]
        return new


def _on_test_data(name):
    def method(self, X_test, *args, **kwargs):
        return getattr(self[-1], name)(self._transform_test(X_test), *args, **kwargs)

    method.__name__ = name
    method.__doc__ = (
        f"``{name}`` of the last step on ``X_test`` transformed by the earlier steps."
    )
    return method


def _on_training_rows(name):
    def method(self, *args, **kwargs):
        return getattr(self[-1], name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` of the last step."
    return method


for _name in _ON_TEST_DATA:
    setattr(InfluencePipeline, _name, _on_test_data(_name))
for _name in _ON_TRAINING_ROWS:
    setattr(InfluencePipeline, _name, _on_training_rows(_name))
