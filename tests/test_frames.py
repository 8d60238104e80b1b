"""Labelled results (``set_config(influence_output="pandas")``): the user's row
labels, through pipelines and attach, never positions passed off as labels."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinfluence import InfluencePipeline, InfluenceRidge, attach, config_context


@pytest.fixture(scope="module")
def split():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    return X_train, X_test.iloc[:4], y_train, y_test.iloc[:4]


def _pipelines(split):
    X_train, _, y_train, _ = split
    fitted = InfluencePipeline(
        [("scale", StandardScaler()), ("ridge", InfluenceRidge(alpha=1.0))]
    ).fit(X_train, y_train)
    plain = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X_train, y_train)
    return {"InfluencePipeline": fitted, "attach": attach(plain, X_train, y_train)}


@pytest.mark.parametrize("kind", ["InfluencePipeline", "attach"])
def test_labels_through_a_pipeline_are_the_original_index(split, kind):
    X_train, X_test, y_train, y_test = split
    pipe = _pipelines(split)[kind]
    with config_context(influence_output="pandas"):
        change = pipe.loo_loss_change(X_test, y_test)  # exact for Ridge
    assert change.index.equals(X_test.index)
    assert change.columns.equals(X_train.index)
    # a label that is also a valid position of another row: the column named
    # `label` must be the effect of removing the row X_train.loc[label]
    position = 5
    label = X_train.index[position]
    assert label != position and label < len(X_train)
    scaler = StandardScaler().fit(X_train)  # held fixed, as in the pipeline
    keep = X_train.index != label
    base = Ridge(alpha=1.0).fit(scaler.transform(X_train), y_train)
    refit = Ridge(alpha=1.0).fit(scaler.transform(X_train[keep]), y_train[keep])
    Z_test = scaler.transform(X_test)
    actual = (refit.predict(Z_test) - y_test) ** 2 - (
        base.predict(Z_test) - y_test
    ) ** 2
    assert_allclose(change[label].to_numpy(), actual.to_numpy(), rtol=1e-6)
    # what labelling by position would have called `label`: another row
    wrong = change.iloc[:, label].to_numpy()
    assert not np.allclose(wrong, actual.to_numpy(), rtol=1e-3)


def test_every_per_row_result_is_labelled_and_equals_the_array(split):
    X_train, X_test, y_train, y_test = split
    pipe = _pipelines(split)["InfluencePipeline"]
    calls = {
        "influence_params_": lambda: pipe.influence_params_,
        "influence_loss": lambda: pipe.influence_loss(X_test, y_test),
        "loo_params_change": lambda: pipe.loo_params_change(),
        "influence_prediction": lambda: pipe.influence_prediction(X_test),
        "cooks_distance": lambda: pipe.cooks_distance(),
        "leverage": lambda: pipe.leverage(),
        "dfbetas": lambda: pipe.dfbetas(),
        "self_influence": lambda: pipe.self_influence(),
        "influence_perturbation": lambda: pipe.influence_perturbation(X_test, y_test),
    }
    for name, call in calls.items():
        array = call()
        with config_context(influence_output="pandas"):
            labelled = call()
        assert isinstance(array, np.ndarray), name
        assert isinstance(labelled, (pd.Series, pd.DataFrame)), name
        assert_allclose(labelled.to_numpy().reshape(array.shape), array, err_msg=name)
        rows = labelled.index
        if isinstance(rows, pd.MultiIndex):
            rows = rows.get_level_values("train_row").unique()
        if rows.name == "test_row":
            assert rows.equals(X_test.index), name
            assert labelled.columns.equals(X_train.index), name
        else:
            assert rows.equals(X_train.index), name


def test_top_influences_and_frame_name_the_same_rows(split):
    X_train, X_test, y_train, y_test = split
    pipe = _pipelines(split)["attach"]
    frame = pipe.influence_frame(X_test, y_test)
    with config_context(influence_output="pandas"):
        tidy = pipe.top_influences(X_test, y_test, k=1)
    harmful = tidy[tidy.kind == "harmful"].set_index("test_row")["train_row"]
    assert harmful.to_dict() == frame.idxmax(axis=1).to_dict()
    assert isinstance(pipe.top_influences(X_test, y_test).harmful_indices, np.ndarray)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(lambda X: X.index[[3, 10]], id="Index-of-labels"),
        pytest.param(lambda X: [3, 10], id="positions"),
        pytest.param(lambda X: np.isin(np.arange(len(X)), [3, 10]), id="mask"),
    ],
)
def test_remove_effect_takes_labels_masks_and_positions(split, rows):
    X_train, _, y_train, _ = split
    pipe = _pipelines(split)["InfluencePipeline"]
    smaller = pipe.remove_effect(rows(X_train), method="newton")  # exact for Ridge
    scaler = StandardScaler().fit(X_train)
    keep = ~X_train.index.isin(X_train.index[[3, 10]])
    refit = Ridge(alpha=1.0).fit(scaler.transform(X_train[keep]), y_train[keep])
    assert_allclose(smaller[-1].coef_, refit.coef_, rtol=1e-8)
    with config_context(influence_output="pandas"):
        assert smaller.leverage().index.equals(X_train.index[keep])


def test_string_labels_and_clear_errors():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X.set_axis("p" + X.index.astype(str), axis=0)
    model = InfluenceRidge().fit(X, y)
    assert_allclose(
        model.remove_effect(["p3", "p7"], method="newton").coef_,
        model.remove_effect([3, 7], method="newton").coef_,
    )
    with pytest.raises(ValueError, match="not labels of the training rows"):
        model.remove_effect(["p3", "nope"])
    with pytest.raises(ValueError, match="boolean mask of 3 values"):
        model.remove_effect(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="duplicates"):
        model.remove_effect(pd.Index(["p3", "p3"]))


def test_labels_survive_a_search_over_a_pipeline(split):
    X_train, X_test, y_train, y_test = split
    pipe = InfluencePipeline([("scale", StandardScaler()), ("ridge", InfluenceRidge())])
    search = GridSearchCV(pipe, {"ridge__alpha": [0.1, 10.0]}, cv=2)
    search.fit(X_train, y_train)
    with config_context(influence_output="pandas"):
        frame = search.best_estimator_.influence_loss(X_test, y_test)
    assert frame.columns.equals(X_train.index)


def test_outputs_are_named_by_class_and_unlabelled_data_by_position():
    from sklearn.datasets import load_iris

    from skinfluence import InfluenceLogisticRegression

    iris = load_iris()
    X, y = iris.data, iris.target_names[iris.target]
    model = InfluenceLogisticRegression(solver="newton-cholesky").fit(X, y)
    with config_context(influence_output="pandas"):
        frame = model.influence_prediction(X[:2])
        params = model.influence_params_
    outputs = frame.index.get_level_values("output").unique()
    assert list(outputs) == ["setosa", "versicolor", "virginica"]
    assert frame.columns.equals(pd.RangeIndex(150, name="train_row"))
    assert list(params.columns[:5]) == ["0:x0", "0:x1", "0:x2", "0:x3", "1:x0"]
    assert list(params.columns[-3:]) == ["0:intercept", "1:intercept", "2:intercept"]


def test_kernel_ridge_results_are_labelled(split):
    from skinfluence import InfluenceKernelRidge

    X_train, X_test, y_train, y_test = split
    model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X_train, y_train)
    with config_context(influence_output="pandas"):
        frame = model.influence_loss(X_test, y_test)
        residuals = model.loo_residuals()
    assert frame.index.equals(X_test.index) and frame.columns.equals(X_train.index)
    assert residuals.index.equals(X_train.index)
    by_label = model.remove_effect(X_train.index[[2, 9]]).predict(X_test)
    by_position = model.remove_effect([2, 9]).predict(X_test)
    assert_allclose(by_label, by_position)


def test_group_results_are_labelled_by_group_and_classical_ones_by_row(split):
    X_train, _, y_train, _ = split
    pipe = _pipelines(split)["InfluencePipeline"]
    groups = np.where(X_train["sex"] > 0, "m", "f")
    with config_context(influence_output="pandas"):
        by_group = pipe[-1].cooks_distance(groups=groups)
        dfb = pipe[-1].dfbeta(groups=groups)
        dffits = pipe[-1].dffits()
        table = pipe[-1].summary_frame()
    assert list(by_group.index) == ["f", "m"] and by_group.index.name == "group"
    assert_allclose(by_group.to_numpy(), pipe[-1].cooks_distance(groups=groups))
    assert list(dfb.index) == ["f", "m"]
    assert dffits.index.equals(X_train.index)
    assert_allclose(dffits.to_numpy(), pipe[-1].dffits())
    assert table.index.equals(X_train.index)
