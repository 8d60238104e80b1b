"""Displays: the numbers they show, checked against refits and identities; artists."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import rankdata
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import scale

from skinfluence import (
    InfluenceIndexDisplay,
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
    LeaveOneOutDisplay,
    TopInfluenceDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
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
    disp = LeaveOneOutDisplay.from_estimator(
        model, x, label, X_train, y_train, indices=rows
    )
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
    assert disp.ax_.get_title() == "Removing one training row"
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
        X_train,
        y_train,
        sample_weight=sw,
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
        LeaveOneOutDisplay.from_estimator(model, X[50:52], y[50:52], X[:50], y[:50])
    with pytest.raises(ValueError, match="fitted on 50"):
        LeaveOneOutDisplay.from_estimator(model, X[50], y[50:51], X[:40], y[:40])


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
    assert disp.ax_.get_title() == "self-influence of each training row"


def test_top_influence_bars():
    infl = np.array([0.5, -2.0, 0.1, 3.0, -0.3, 1.0])
    disp = TopInfluenceDisplay(infl, n_top=2, labels=list("abcdef")).plot()
    assert disp.helpful_.tolist() == [1, 4]
    assert disp.harmful_.tolist() == [3, 5]
    heights = [b.get_width() for b in disp.bars_]
    assert_allclose(heights, [1.0, 3.0, -2.0, -0.3])
    ticks = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert ticks == ["row 5 (y=f)", "row 3 (y=d)", "row 1 (y=b)", "row 4 (y=e)"]
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
    assert infl[disp.harmful_[0]] == infl.max()
    assert infl[disp.helpful_[0]] == infl.min()
    first = disp.ax_[0, 0]
    assert_allclose(first.images[0].get_array(), X[disp.helpful_[0]].reshape(8, 8))
    assert first.get_title().startswith(f"row {disp.helpful_[0]} (y=")
    assert disp.ax_[1, 0].get_ylabel() == "harmful"
    with pytest.raises(ValueError, match="images is None"):
        TopInfluenceDisplay(infl, image_shape=(8, 8)).plot()
