"""InfluencePlotDisplay and DiagnosticIndexDisplay: they draw the measures of
the estimator (checked against R in test_classical.py), and the index plot's
flags are R's ``is.inf`` flags of the published macrodata output."""

import numpy as np
import pytest
from test_classical import RESULTS, _macrodata

from skinfluence import (
    DiagnosticIndexDisplay,
    InfluenceLinearRegression,
    InfluencePlotDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pd = pytest.importorskip("pandas")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def macro():
    X, y = _macrodata()
    return X, InfluenceLinearRegression().fit(X, y)


def test_influence_plot_draws_the_measures(macro):
    X, model = macro
    disp = InfluencePlotDisplay.from_estimator(model, n_labels=4, marker="s")
    xy = disp.scatter_.get_offsets()
    np.testing.assert_array_equal(xy[:, 0], model.leverage())
    np.testing.assert_array_equal(xy[:, 1], model.studentized_residuals())
    cook = model.cooks_distance()
    np.testing.assert_allclose(disp.scatter_.get_sizes(), 600 * cook / cook.max())
    top = X.index[np.argsort(cook)[::-1][:4]]
    assert [a.get_text() for a in disp.annotations_] == [str(i) for i in top]
    n, p = len(X), 3
    vertical = sorted(line.get_xdata()[0] for line in disp.lines_[3:])
    np.testing.assert_allclose(vertical, [2 * p / n, 3 * p / n])
    assert sorted(line.get_ydata()[0] for line in disp.lines_[:3]) == [-2, 0, 2]
    assert disp.ax_.figure is disp.figure_


def test_influence_plot_on_given_axes():
    _, ax = plt.subplots()
    disp = InfluencePlotDisplay([0.1, 0.2], [1.0, -3.0], [0.0, 0.5], ["a", "b"], 1)
    assert disp.plot(ax=ax, n_labels=1).ax_ is ax
    assert [a.get_text() for a in disp.annotations_] == ["b"]
    with pytest.raises(ValueError, match="same length"):
        InfluencePlotDisplay([0.1], [1.0, 2.0], [0.1], ["a"], 1).plot()


R_COLUMNS = {
    "dffits": "dffit",
    "covratio": "cov.r",
    "cooks_distance": "cook.d",
    "leverage": "hat",
}


@pytest.mark.parametrize("measure", list(R_COLUMNS))
def test_index_plot_flags_are_rs(macro, measure):
    _, model = macro
    flags = pd.read_csv(RESULTS / "influence_measures_bool_R.csv", index_col=0)
    disp = DiagnosticIndexDisplay.from_estimator(model, measure, n_labels=3)
    np.testing.assert_array_equal(disp.flagged_, flags[R_COLUMNS[measure]])
    assert len(disp.annotations_) == min(3, flags[R_COLUMNS[measure]].sum())
    np.testing.assert_array_equal(
        disp.lines_[0].get_segments()[5][1, 1], disp.values[5]
    )


def test_index_plot_dfbetas_and_outliers(macro):
    X, model = macro
    by_name = DiagnosticIndexDisplay.from_estimator(model, "dfbetas", parameter="lint")
    np.testing.assert_array_equal(by_name.values, model.dfbetas()[:, 1])
    assert by_name.thresholds == [-1.0, 1.0]
    by_position = DiagnosticIndexDisplay.from_estimator(model, "dfbetas", parameter=1)
    np.testing.assert_array_equal(by_position.values, by_name.values)
    outliers = DiagnosticIndexDisplay.from_estimator(model, "studentized_residuals")
    table = model.outlier_test()
    np.testing.assert_array_equal(outliers.flagged_, table["outlier"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"measure": "press_residuals"}, "measure"),
        ({"measure": "dfbetas"}, "parameter="),
        ({"measure": "dfbetas", "parameter": "age"}, "not one of"),
        ({"measure": "dfbetas", "parameter": 7}, "parameter must be"),
    ],
    ids=["measure", "no-parameter", "bad-name", "bad-position"],
)
def test_index_plot_bad_arguments(macro, kwargs, match):
    _, model = macro
    with pytest.raises(ValueError, match=match):
        DiagnosticIndexDisplay.from_estimator(model, **kwargs)


def test_zero_weight_rows_are_not_drawn_or_flagged():
    X, y = _macrodata()
    w = np.ones(len(y))
    w[:5] = 0.0
    model = InfluenceLinearRegression().fit(X, y, sample_weight=w)
    disp = DiagnosticIndexDisplay.from_estimator(model, "leverage")
    assert np.isnan(disp.values[:5]).all() and not disp.flagged_[:5].any()
    bubbles = InfluencePlotDisplay.from_estimator(model)
    assert np.isnan(bubbles.studentized_residuals[:5]).all()


def test_influence_plot_of_a_logistic_regression():
    """GLMs: Pearson residuals with σ₍ᵢ₎ = 1 (fixed dispersion) against the
    generalized hat values; the outlier cut-off is the normal's."""
    from scipy import stats
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import scale

    from skinfluence import InfluenceLogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X, y = scale(X)[:150, :5], y[:150]
    model = InfluenceLogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12)
    model.fit(X, y)
    disp = InfluencePlotDisplay.from_estimator(model)
    xy = disp.scatter_.get_offsets()
    np.testing.assert_array_equal(xy[:, 0], model.leverage())
    np.testing.assert_array_equal(xy[:, 1], model.studentized_residuals())
    index = DiagnosticIndexDisplay.from_estimator(model, "studentized_residuals")
    limit = stats.norm.isf(0.05 / (2 * 150))
    np.testing.assert_allclose(index.thresholds, [-limit, limit])
