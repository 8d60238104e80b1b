"""Displays: the numbers they show, checked against refits and identities; artists."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import rankdata
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale

from skinfluence import (
    InfluenceIndexDisplay,
    InfluenceKernelRidge,
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluencePipeline,
    InfluenceRidge,
    LeaveOneOutDisplay,
    TopInfluenceDisplay,
    attach,
)

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_import_does_not_load_matplotlib():
    code = "import sys, skinfluence; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_loo_display_from_estimator_logistic():
    X, y = load_breast_cancer(return_X_y=True)
    X = scale(X)
    X_train, y_train, x, label = X[:120], y[:120], X[200:201], y[200:201]
    model = InfluenceLogisticRegression(solver="newton-cholesky", tol=1e-10)
    model.fit(X_train, y_train)
    rows = np.arange(0, 120, 12)
    disp = LeaveOneOutDisplay.from_estimator(model, x, label, indices=rows)
    # actual: scikit-learn refits without each row, log-loss from predict_proba
    base = -np.log(model.predict_proba(x)[0, label[0]])
    actual = []
    for i in rows:
        keep = np.arange(120) != i
        refit = LogisticRegression(solver="newton-cholesky", tol=1e-10)
        refit.fit(X_train[keep], y_train[keep])
        actual.append(-np.log(refit.predict_proba(x)[0, label[0]]) - base)
    assert_allclose(disp.actual, actual, rtol=1e-6, atol=1e-12)
    assert_allclose(disp.predicted, -model.influence_loss(x, label)[0, rows] / 120)
    assert_allclose(disp.scatter_.get_offsets(), np.c_[disp.predicted, disp.actual])
    assert disp.pearson_ == pytest.approx(np.corrcoef(disp.predicted, actual)[0, 1])
    assert disp.pearson_ > 0.9
    assert disp.ax_.get_xlabel().startswith("predicted change")
    assert disp.ax_.get_ylabel().startswith("actual change")
    assert disp.ax_.get_title() == "Removing one training row: the test point"
    texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert texts[0].startswith("Pearson")
    assert disp.figure_ is disp.ax_.figure
    xs, ys = disp.line_.get_data()
    assert_allclose(xs, ys)


def test_loo_display_weighted_ridge_uses_weight_share():
    X, y = load_diabetes(return_X_y=True)
    X_train, y_train = X[:60], y[:60]
    sw = np.random.default_rng(0).uniform(0.5, 2.0, 60)
    model = InfluenceRidge(alpha=0.3, solver="cholesky").fit(X_train, y_train, sw)
    rows = [0, 5, 33]
    _, ax = plt.subplots()
    disp = LeaveOneOutDisplay.from_estimator(
        model,
        X[100],
        y[100:101],
        indices=rows,
        ax=ax,
    )
    assert disp.ax_ is ax
    influence = model.influence_loss(X[100:101], y[100:101])[0, rows]
    assert_allclose(disp.predicted, -sw[rows] / sw.sum() * influence)
    base = (y[100] - model.predict(X[100:101])[0]) ** 2
    actual = []
    for i in rows:
        keep = np.arange(60) != i
        refit = Ridge(alpha=0.3, solver="cholesky").fit(
            X_train[keep], y_train[keep], sample_weight=sw[keep]
        )
        actual.append((y[100] - refit.predict(X[100:101])[0]) ** 2 - base)
    assert_allclose(disp.actual, actual, rtol=1e-8)


def test_loo_display_from_predictions_and_errors():
    rng = np.random.default_rng(1)
    p = rng.normal(size=30)
    a = p + 0.3 * rng.normal(size=30)
    disp = LeaveOneOutDisplay.from_predictions(p, a)
    assert disp.pearson_ == pytest.approx(np.corrcoef(p, a)[0, 1])
    ranks = np.corrcoef(rankdata(p), rankdata(a))[0, 1]
    assert disp.spearman_ == pytest.approx(ranks)
    with pytest.raises(ValueError, match="must match"):
        LeaveOneOutDisplay.from_predictions(p, a[:-1])
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceLinearRegression().fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="one test row"):
        LeaveOneOutDisplay.from_estimator(model, X[50:52], y[50:52])


def test_self_influence_is_leverage_identity():
    """Least squares: -gᵀH⁻¹g = -2 n r_i² h_ii with h the hat-matrix diagonal."""
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:100], y[:100]
    model = InfluenceLinearRegression().fit(X, y)
    r = y - model.predict(X)
    Q, _ = np.linalg.qr(np.c_[X, np.ones(100)])
    h = (Q**2).sum(axis=1)
    assert_allclose(model.self_influence(), -2 * 100 * r**2 * h, rtol=1e-8)
    assert_allclose(
        model.self_influence(), np.diag(model.influence_loss(X, y)), rtol=1e-10
    )


def test_index_display():
    scores = np.array([0.5, -4.0, 0.0, 3.0, -1.0])
    disp = InfluenceIndexDisplay(scores, top_k=2, score_name="score").plot()
    assert disp.top_indices_.tolist() == [1, 3]
    assert_allclose(disp.scatter_.get_offsets(), np.c_[np.arange(5), scores])
    assert_allclose(disp.top_scatter_.get_offsets(), [[1, -4.0], [3, 3.0]])
    assert disp.ax_.get_ylabel() == "score"
    assert disp.ax_.get_xlabel() == "training row"
    assert "top 2" in disp.top_scatter_.get_label()

    X, y = load_breast_cancer(return_X_y=True)
    model = InfluenceLogisticRegression(tol=1e-10).fit(scale(X)[:100], y[:100])
    disp = InfluenceIndexDisplay.from_estimator(model, top_k=5)
    s = np.diag(model.influence_loss(scale(X)[:100], y[:100]))
    assert_allclose(disp.scores, s, rtol=1e-10, atol=1e-14)
    assert set(disp.top_indices_) == set(np.argsort(-np.abs(s))[:5])
    assert disp.ax_.get_title().startswith("self-influence of each training row\n")
    assert "the 5 largest" in disp.ax_.get_title()


def test_top_influence_bars():
    infl = np.array([0.5, -2.0, 0.1, 3.0, -0.3, 1.0])
    disp = TopInfluenceDisplay(infl, n_top=2, targets=list("abcdef")).plot()
    assert disp.helpful_rows_.tolist() == [1, 4]
    assert disp.harmful_rows_.tolist() == [3, 5]
    heights = [b.get_width() for b in disp.bars_]
    assert_allclose(heights, [-2.0, -0.3, 1.0, 3.0])  # bottom to top
    ticks = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert ticks == ["row 1 (y=b)", "row 4 (y=e)", "row 5 (y=f)", "row 3 (y=d)"]
    assert "harmful" in disp.ax_.get_title()


def test_top_influence_from_estimator_images():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    mask = np.isin(y, [3, 8])
    X, y = X[mask][:150], y[mask][:150]
    model = InfluenceLogisticRegression(tol=1e-10, max_iter=1000).fit(X[:120], y[:120])
    disp = TopInfluenceDisplay.from_estimator(
        model, X[130], y[130:131], n_top=3, image_shape=(8, 8)
    )
    infl = model.influence_loss(X[130:131], y[130:131])[0]
    assert_allclose(disp.influence, infl)
    assert disp.ax_.shape == (2, 3)
    assert infl[disp.harmful_rows_[0]] == infl.max()
    assert infl[disp.helpful_rows_[0]] == infl.min()
    first = disp.ax_[0, 0]
    assert_allclose(first.images[0].get_array(), X[disp.helpful_rows_[0]].reshape(8, 8))
    assert first.get_title().startswith(f"row {disp.helpful_rows_[0]} (y=")
    assert disp.ax_[1, 0].get_ylabel() == "harmful"
    with pytest.raises(ValueError, match="images is None"):
        TopInfluenceDisplay(infl, image_shape=(8, 8)).plot()


# -- labels, pandas rows, pipelines, style, reprs -------------------------------------
@pytest.fixture
def labelled_cancer():
    """Breast cancer as a DataFrame with string row labels, split like a user would."""
    pd = pytest.importorskip("pandas")
    data = load_breast_cancer(as_frame=True)
    X = data.data.iloc[:, :8]
    X.index = [f"pt{i:04d}" for i in range(len(X))]
    y = pd.Series(data.target.to_numpy(), index=X.index)
    return train_test_split(X, y, train_size=150, test_size=20, random_state=0)


def _no_warnings(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


def test_displays_name_rows_like_influence_frame(labelled_cancer):
    X_train, X_test, y_train, y_test = labelled_cancer
    model = InfluencePipeline(
        [("scale", StandardScaler()), ("model", InfluenceLogisticRegression(tol=1e-10))]
    ).set_output(transform="pandas")
    model.fit(X_train, y_train)
    name = X_test.index[3]
    frame = model.influence_frame(X_test.loc[[name]], y_test.loc[[name]])
    ranked = frame.loc[name].sort_values()
    for row in (X_test.loc[name], X_test.loc[[name]]):  # a Series and a 1-row frame
        disp = _no_warnings(
            TopInfluenceDisplay.from_estimator, model, row, y_test.loc[name], n_top=3
        )
        assert disp.helpful_rows_.tolist() == ranked.index[:3].tolist()
        assert disp.harmful_rows_.tolist() == ranked.index[::-1][:3].tolist()
        ticks = [t.get_text() for t in disp.ax_.get_yticklabels()]
        assert ticks[0] == f"row {ranked.index[0]} (y={y_train[ranked.index[0]]})"
        assert name in disp.ax_.get_title()
    index = _no_warnings(InfluenceIndexDisplay.from_estimator, model, top_k=4)
    assert [a.get_text() for a in index.annotations_] == list(index.top_rows_)
    few = InfluenceIndexDisplay(index.scores, rows=index.rows, top_k=4, n_labeled=2)
    assert [a.get_text() for a in few.plot().annotations_] == list(index.top_rows_[:2])
    assert set(index.top_rows_) <= set(X_train.index)
    assert index.ax_.get_xlabel() == "training row (position)"


def test_index_display_x_axis_is_the_users_integer_index():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, _, y_train, _ = train_test_split(X, y, train_size=80, random_state=1)
    model = InfluenceRidge(alpha=1.0).fit(X_train, y_train)
    disp = InfluenceIndexDisplay.from_estimator(model, score="leverage", top_k=3)
    assert_allclose(disp.scatter_.get_offsets(), np.c_[X_train.index, model.leverage()])
    # ridge hat values from the normal equations, intercept not penalized
    A = np.c_[X_train.to_numpy(), np.ones(80)]
    penalty = np.diag([1.0] * X.shape[1] + [0.0])
    hat = np.einsum("ij,ji->i", A, np.linalg.solve(A.T @ A + penalty, A.T))
    assert_allclose(disp.scores, hat, rtol=1e-8)
    expected = X_train.index[np.argsort(-hat)[:3]]
    assert disp.top_rows_.tolist() == expected.tolist()
    assert [a.get_text() for a in disp.annotations_] == [str(i) for i in expected]
    with pytest.raises(ValueError, match="score must be one of"):
        InfluenceIndexDisplay.from_estimator(model, score="dfbeta")
    # a DataFrame row (a Series) keeps its feature names: no scikit-learn warning
    row = X.loc[X.index.difference(X_train.index)[0]]
    top = _no_warnings(TopInfluenceDisplay.from_estimator, model, row, y[row.name])
    assert_allclose(
        top.influence, model.influence_loss(X.loc[[row.name]], [y[row.name]])[0]
    )
    assert f"test point {row.name}" in top.ax_.get_title()


@pytest.mark.parametrize("how", ["InfluencePipeline", "attach(pipeline)"])
def test_loo_and_top_displays_on_pipelines(how, labelled_cancer):
    X_train, X_test, y_train, y_test = labelled_cancer
    if how == "InfluencePipeline":
        pipe = InfluencePipeline(
            [("scale", StandardScaler()), ("model", InfluenceLogisticRegression())]
        )
        pipe.set_params(model__tol=1e-10).fit(X_train, y_train)
    else:
        fitted = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10))
        pipe = attach(fitted.fit(X_train, y_train), X_train, y_train)
    name, rows = X_test.index[0], [0, 7, 42]
    disp = _no_warnings(
        LeaveOneOutDisplay.from_estimator,
        pipe,
        X_test.loc[[name]],
        y_test.loc[[name]],
        indices=rows,
    )
    # ground truth: scikit-learn refits of the last step on the scaled rows
    scaler = StandardScaler().fit(X_train)
    Z, z = scaler.transform(X_train), scaler.transform(X_test.loc[[name]])
    label = y_test[name]
    full = LogisticRegression(tol=1e-10).fit(Z, y_train)
    base = -np.log(full.predict_proba(z)[0, label])
    actual = []
    for i in rows:
        keep = np.arange(len(Z)) != i
        refit = LogisticRegression(tol=1e-10).fit(Z[keep], y_train.to_numpy()[keep])
        actual.append(-np.log(refit.predict_proba(z)[0, label]) - base)
    assert_allclose(disp.actual, actual, rtol=1e-5, atol=1e-10)
    frame = pipe.influence_frame(X_test.loc[[name]], y_test.loc[[name]])
    assert disp.rows.tolist() == frame.columns[rows].tolist()  # the same names
    assert name in disp.ax_.get_title()
    top = _no_warnings(
        TopInfluenceDisplay.from_estimator, pipe, X_test.loc[name], label, n_top=2
    )
    infl = pipe.influence_loss(X_test.loc[[name]], [label])[0]
    assert_allclose(top.influence, infl)
    assert top.helpful_indices_.tolist() == np.argsort(infl)[:2].tolist()


def test_style_kwargs_reach_matplotlib():
    disp = LeaveOneOutDisplay.from_predictions([0.1, 0.2, 0.4], [0.2, 0.5, 0.7])
    disp.plot(color="k", marker="x")
    assert_allclose(disp.scatter_.get_facecolor()[0], [0, 0, 0, 0.7])  # default alpha
    disp = InfluenceIndexDisplay([1.0, -2.0, 0.5], top_k=1).plot(color="C2", s=3)
    assert_allclose(disp.scatter_.get_sizes(), [3])
    assert_allclose(disp.scatter_.get_facecolor()[0], matplotlib.colors.to_rgba("C2"))
    disp = TopInfluenceDisplay([0.5, -2.0, 0.1, 3.0], n_top=2).plot(color="green")
    assert all(
        np.allclose(b.get_facecolor(), matplotlib.colors.to_rgba("green"))
        for b in disp.bars_
    )
    disp = TopInfluenceDisplay.from_predictions(
        [0.5, -2.0, 0.1], rows=["a", "b", "c"], n_top=1, height=0.3
    )
    assert disp.helpful_rows_.tolist() == ["b"]
    assert_allclose([b.get_height() for b in disp.bars_], [0.3, 0.3])


def test_displays_have_readable_reprs():
    displays = [
        LeaveOneOutDisplay([0.1, 0.2], [0.1, 0.3], test_name="pt0001"),
        InfluenceIndexDisplay([1.0, 2.0], top_k=1),
        TopInfluenceDisplay([1.0, -1.0], n_top=1),
    ]
    reprs = [repr(d) for d in displays]
    assert reprs == [
        "LeaveOneOutDisplay(n_removed=2, test_name='pt0001')",
        "InfluenceIndexDisplay(n_rows=2, top_k=1, score_name='self-influence')",
        "TopInfluenceDisplay(n_rows=2, n_top=1)",
    ]


def test_matplotlib_support_is_checked_the_scikit_learn_way(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="requires matplotlib"):
        InfluenceIndexDisplay([1.0, 2.0]).plot()
    with pytest.raises(ImportError, match="LeaveOneOutDisplay.from_predictions"):
        LeaveOneOutDisplay.from_predictions([0.1, 0.2], [0.1, 0.3])


def test_loo_display_refuses_a_model_without_linear_objective_before_refitting():
    X, y = load_diabetes(return_X_y=True)
    model = InfluenceKernelRidge(alpha=1.0, kernel="rbf").fit(X[:40], y[:40])
    with pytest.raises(NotImplementedError, match="dual form"):
        LeaveOneOutDisplay.from_estimator(model, X[40:41], y[40:41])
