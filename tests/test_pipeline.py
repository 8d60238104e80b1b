"""InfluencePipeline: raw test data through the earlier steps, GridSearchCV,
sample weights routed to the last step; pandas-labelled results."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceLogisticRegression,
    InfluencePipeline,
    InfluenceRidge,
    attach,
)


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:250], y[:250], X[250:270], y[250:270]


def _pipe(**kw):
    return InfluencePipeline(
        [
            ("scale", StandardScaler()),
            (
                "model",
                InfluenceLogisticRegression(tol=1e-12, solver="newton-cholesky", **kw),
            ),
        ]
    )


def test_raw_inputs_equal_manually_transformed_inputs(data):
    X, y, Xt, yt = data
    pipe = _pipe().fit(X, y)
    Z = pipe[:-1].transform(Xt)
    last = pipe[-1]
    np.testing.assert_array_equal(
        pipe.influence_loss(Xt, yt), last.influence_loss(Z, yt)
    )
    np.testing.assert_array_equal(
        pipe.loo_loss_change(Xt, yt), last.loo_loss_change(Z, yt)
    )
    np.testing.assert_array_equal(
        pipe.influence_prediction(Xt), last.influence_prediction(Z)
    )
    np.testing.assert_array_equal(
        pipe.top_influences(Xt, yt, k=3).harmful_indices,
        last.top_influences(Z, yt, k=3).harmful_indices,
    )
    np.testing.assert_array_equal(pipe.influence_params_, last.influence_params_)
    np.testing.assert_array_equal(pipe.cooks_distance(), last.cooks_distance())
    smaller = pipe.remove_effect([0, 1], method="newton")
    assert isinstance(smaller, InfluencePipeline) and smaller[0] is pipe[0]
    np.testing.assert_array_equal(
        smaller.predict_proba(Xt),
        last.remove_effect([0, 1], method="newton").predict_proba(Z),
    )


def test_gridsearch_best_estimator_keeps_raw_input_influence(data):
    X, y, Xt, yt = data
    search = GridSearchCV(_pipe(), {"model__C": [0.1, 1.0]}, cv=3).fit(X, y)
    best = search.best_estimator_
    assert isinstance(best, InfluencePipeline)
    direct = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=best[-1].C, tol=1e-12, solver="newton-cholesky"),
    ).fit(X, y)
    manual = attach(direct, X, y)
    np.testing.assert_allclose(
        best.influence_loss(Xt, yt),
        manual.influence_loss(Xt, yt),
        rtol=1e-8,
        atol=1e-10,
    )


def test_sample_weight_reaches_the_last_step_with_metadata_routing(data):
    X, y, Xt, yt = data
    w = np.linspace(0.5, 2.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        model = InfluenceLogisticRegression(
            tol=1e-12, solver="newton-cholesky"
        ).set_fit_request(sample_weight=True)
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        routed = InfluencePipeline([("scale", scaler), ("model", model)]).fit(
            X, y, sample_weight=w
        )
        routed_values = routed.influence_loss(Xt, yt)
    legacy = _pipe().fit(X, y, model__sample_weight=w)
    np.testing.assert_allclose(routed_values, legacy.influence_loss(Xt, yt), rtol=1e-10)
    np.testing.assert_array_equal(routed[-1].influence_state().data.sample_weight, w)
    unweighted = _pipe().fit(X, y)
    assert not np.allclose(routed_values, unweighted.influence_loss(Xt, yt))


def test_pandas_results_carry_the_row_labels():
    pd = pytest.importorskip("pandas")
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X.index = [f"patient{i}" for i in range(len(X))]
    y.index = X.index
    model = InfluenceRidge(alpha=0.3).fit(X.iloc[20:], y.iloc[20:])
    frame = model.influence_frame(X.iloc[:4], y.iloc[:4])
    assert list(frame.index) == list(X.index[:4]) and list(frame.columns) == list(
        X.index[20:]
    )
    np.testing.assert_array_equal(
        frame.to_numpy(), model.influence_loss(X.iloc[:4], y.iloc[:4])
    )
    tidy = model.top_influences(X.iloc[:4], y.iloc[:4], k=2, as_frame=True)
    assert isinstance(tidy, pd.DataFrame) and len(tidy) == 4 * 2 * 2
    first = tidy[
        (tidy.test_row == "patient0") & (tidy.kind == "harmful") & (tidy["rank"] == 1)
    ].iloc[0]
    assert first.train_row == frame.loc["patient0"].idxmax()
    assert first.influence == frame.loc["patient0"].max()
    assert first.label == y[first.train_row]
    np.testing.assert_allclose(
        first.loss_change_if_removed, -first.influence / len(frame.columns)
    )
    # the rows of a model from remove_effect keep their labels
    smaller = model.remove_effect(0)
    assert list(smaller.influence_frame(X.iloc[:1], y.iloc[:1]).columns) == list(
        X.index[21:]
    )
