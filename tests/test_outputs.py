"""Influence on outputs, on functions of the parameters, and of feature moves:
checked against central differences of tight scikit-learn refits (sample weight
moved by ±ε·S, or a training row's features moved by ±h·δ) and against finite
differences of the per-sample gradient, on problems drawn by hypothesis."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import report_accuracy
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinfluence import (
    InfluenceLinearRegression,
    InfluenceLogisticRegression,
    InfluenceRidge,
    mean_loss,
    prediction_gap,
)
from skinfluence._outputs import central_difference_gradient

EPS = 1e-4  # relative weight perturbation
H_STEP = 1e-4  # feature perturbation, in units of the feature's scale


def _logistic(C, tol=1e-12):
    return dict(solver="newton-cholesky", tol=tol, max_iter=1000, C=C)


# each case: influence model, plain refit with the same objective, response methods
CASES = {
    "binary": (
        lambda a: InfluenceLogisticRegression(**_logistic(a)),
        lambda a: LogisticRegression(**_logistic(a)),
        ("predict_proba", "decision_function"),
    ),
    "multinomial": (
        lambda a: InfluenceLogisticRegression(**_logistic(a)),
        lambda a: LogisticRegression(**_logistic(a)),
        ("predict_proba", "decision_function"),
    ),
    "ridge-2-targets": (
        lambda a: InfluenceRidge(alpha=[a, 3 * a]),
        lambda a: Ridge(alpha=[a, 3 * a]),
        ("predict",),
    ),
    "linear-regression": (
        lambda a: InfluenceLinearRegression(),
        lambda a: LinearRegression(),
        ("predict",),
    ),
}


@st.composite
def problems(draw, case):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(25, 60))
    d = draw(st.integers(1, 4))
    strength = draw(st.floats(0.05, 10.0))
    weighted = draw(st.booleans())
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + 5, d)) * rng.uniform(0.5, 3.0, d) + rng.normal(size=d)
    if case in ("binary", "multinomial"):
        K = 2 if case == "binary" else 3
        logits = X @ rng.normal(size=(d, K)) + 1.5 * rng.gumbel(size=(n + 5, K))
        y = np.array([3, 7, 9])[logits.argmax(axis=1)]
        assume(np.bincount(logits[:n].argmax(axis=1), minlength=K).min() >= 4)
    else:
        T = 2 if case == "ridge-2-targets" else 1
        y = X @ rng.normal(size=(d, T)) + 2 * rng.normal(size=(n + 5, T)) + 3
        y = y[:, 0] if T == 1 else y
    sw = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    rows = rng.choice(n, size=2, replace=False)
    return X[:n], y[:n], sw, X[n:], y[n:], strength, rows, rng


def _response(model, method, X):
    out = getattr(model, method)(X)
    return out if out.ndim == 2 and out.shape[1] > 1 else out.reshape(len(X))


def _theta(model):
    return np.r_[np.ravel(model.coef_), np.ravel(model.intercept_)]


def _weight_difference(refit, X, y, s, i, measure):
    """S · d measure(refit) / ds_i by central differences."""
    S = s.sum()
    up, down = s.copy(), s.copy()
    up[i] += EPS * S
    down[i] -= EPS * S
    return (measure(refit(X, y, up)) - measure(refit(X, y, down))) / (2 * EPS)


def _fit(case, problem):
    X, y, sw, Xt, yt, a, rows, rng = problem
    make_model, make_plain, methods = CASES[case]
    model = make_model(a).fit(X, y, sample_weight=sw)

    def refit(X, y, weights):
        return make_plain(a).fit(X, y, sample_weight=weights)

    return model, refit, methods


@pytest.mark.parametrize("case", CASES)
def test_influence_prediction_is_the_weight_derivative_of_refit_outputs(case):
    worst = []

    @given(problem=problems(case))
    def check(problem):
        X, y, sw, Xt, yt, a, rows, _ = problem
        model, refit, methods = _fit(case, problem)
        for method in methods:
            influence = model.influence_prediction(Xt, response_method=method)
            expected_shape = np.shape(getattr(model, method)(Xt))
            if len(expected_shape) == 1 or expected_shape[1] == 1:
                expected_shape = (len(Xt),)
            assert influence.shape == expected_shape + (len(y),)
            scale = np.abs(influence).max()
            for i in rows:
                expected = _weight_difference(
                    refit,
                    X,
                    y,
                    sw,
                    i,
                    lambda m, method=method: _response(m, method, Xt),
                )
                got = influence[..., i]
                np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * scale)
                worst.append(np.abs(got - expected).max() / scale)

    check()
    report_accuracy(f"influence_prediction vs refits [{case}]", max_rel_err=max(worst))


def test_auto_response_method_and_binary_probability_columns():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    model = InfluenceLogisticRegression(**_logistic(1.0)).fit(X, y)
    proba = model.influence_prediction(X[:4])
    np.testing.assert_array_equal(
        proba, model.influence_prediction(X[:4], "predict_proba")
    )
    np.testing.assert_allclose(proba[:, 0], -proba[:, 1], atol=1e-15)
    # ∂p/∂θ = p(1 − p) ∂η/∂θ, so the proba influence is p(1 − p) × decision influence
    p = model.predict_proba(X[:4])[:, 1]
    decision = model.influence_prediction(X[:4], "decision_function")
    np.testing.assert_allclose(proba[:, 1], (p * (1 - p))[:, None] * decision)
    ridge = InfluenceRidge().fit(X, X @ [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(
        ridge.influence_prediction(X[:4]), ridge.influence_prediction(X[:4], "predict")
    )


@pytest.mark.parametrize("case", CASES)
def test_influence_statistic_of_ready_functions_matches_refits(case):
    worst = []

    @given(problem=problems(case))
    def check(problem):
        X, y, sw, Xt, yt, a, rows, _ = problem
        model, refit, methods = _fit(case, problem)
        loss = mean_loss(model, Xt, yt)
        # mean of influence_loss: the same quantity through another code path
        np.testing.assert_allclose(
            model.influence_statistic(loss),
            model.influence_loss(Xt, yt).mean(axis=0),
            rtol=1e-10,
            atol=1e-12 * np.abs(model.influence_loss(Xt, yt)).max(),
        )
        output = 1 if case in ("multinomial", "ridge-2-targets") else None
        gap = prediction_gap(model, Xt[:2], Xt[2:], output=output)
        influence = model.influence_statistic(gap)
        scale = np.abs(influence).max()
        method = methods[0]
        # the documented column, not read from the object under test: the
        # positive class classes_[1] of a binary predict_proba, else the only one
        column = output if output is not None else int(method == "predict_proba")
        assert gap.output == column

        def measure(m):
            values = getattr(m, method)(Xt).reshape(len(Xt), -1)[:, column]
            return values[:2].mean() - values[2:].mean()

        assert gap.value_ == pytest.approx(measure(model), rel=1e-12, abs=1e-12)
        for i in rows:
            expected = _weight_difference(refit, X, y, sw, i, measure)
            np.testing.assert_allclose(
                influence[i], expected, rtol=1e-4, atol=1e-6 * scale
            )
            worst.append(abs(influence[i] - expected) / scale)

    check()
    report_accuracy(
        f"prediction_gap influence vs refits [{case}]", max_rel_err=max(worst)
    )


@pytest.mark.parametrize("case", CASES)
def test_ready_function_gradients_match_finite_differences(case):
    @given(problem=problems(case))
    def check(problem):
        X, y, sw, Xt, yt, a, rows, rng = problem
        model, _, _ = _fit(case, problem)
        theta = _theta(model) + 0.1 * rng.normal(size=_theta(model).size)
        output = 1 if case in ("multinomial", "ridge-2-targets") else None
        for f in (
            mean_loss(model, Xt, yt),
            prediction_gap(model, Xt[:3], Xt[3:], output=output),
        ):
            exact = f.gradient(theta)
            numeric = central_difference_gradient(f, theta)
            np.testing.assert_allclose(
                numeric, exact, rtol=1e-6, atol=1e-8 * max(np.abs(exact).max(), 1.0)
            )

    check()


def test_statistic_without_gradient_warns_and_uses_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = rng.integers(0, 3, 80)
    model = InfluenceLogisticRegression(**_logistic(2.0)).fit(X, y)
    gap = prediction_gap(model, X[:10], X[10:20], output=0)
    exact = model.influence_statistic(gap)
    with pytest.warns(UserWarning, match="finite differences"):
        numeric = model.influence_statistic(lambda theta: gap(theta))
    np.testing.assert_allclose(
        numeric, exact, rtol=1e-6, atol=1e-9 * np.abs(exact).max()
    )
    # an explicit grad wins over func.gradient; a wrong shape is refused
    np.testing.assert_array_equal(
        model.influence_statistic(gap, grad=gap.gradient), exact
    )
    with pytest.raises(ValueError, match="shape"):
        model.influence_statistic(gap, grad=lambda theta: np.ones(3))
    # a linear function of θ: its influence is that combination of influence_params_
    c = rng.normal(size=model.influence_params_.shape[1])
    np.testing.assert_allclose(
        model.influence_statistic(lambda t: c @ t, grad=lambda t: c),
        model.influence_params_ @ c,
        rtol=1e-10,
        atol=1e-12 * np.abs(model.influence_params_).max(),
    )


def _move_features(refit, X, y, s, i, delta, measure):
    """d measure(refit) / dh for x_i → x_i + h δ, by central differences."""
    up, down = X.copy(), X.copy()
    up[i] += H_STEP * delta
    down[i] -= H_STEP * delta
    return (measure(refit(up, y, s)) - measure(refit(down, y, s))) / (2 * H_STEP)


def _test_losses(model, Xt, yt):
    if hasattr(model, "predict_proba"):
        P = model.predict_proba(Xt)
        return -np.log(P[np.arange(len(yt)), np.searchsorted(model.classes_, yt)])
    residual = (np.asarray(yt) - model.predict(Xt)).reshape(len(Xt), -1)
    return (residual**2).sum(axis=1)


@pytest.mark.parametrize("case", CASES)
def test_influence_perturbation_matches_refits_with_moved_features(case):
    worst = []

    @given(problem=problems(case))
    def check(problem):
        X, y, sw, Xt, yt, a, rows, rng = problem
        model, refit, _ = _fit(case, problem)
        pert = model.influence_perturbation(Xt, yt)
        assert pert.shape == (len(Xt), len(y), X.shape[1])
        scale = np.abs(pert).max() * np.abs(sw / sw.sum()).max()
        for i in rows:
            delta = rng.normal(size=X.shape[1]) * X.std(axis=0)
            expected = _move_features(
                refit, X, y, sw, i, delta, lambda m: _test_losses(m, Xt, yt)
            )
            got = (sw[i] / sw.sum()) * pert[:, i] @ delta
            tol = 1e-6 * scale * np.abs(delta).max()
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=tol)
            worst.append(np.abs(got - expected).max() / (scale * np.abs(delta).max()))

    check()
    report_accuracy(
        f"influence_perturbation vs moved-row refits [{case}]", max_rel_err=max(worst)
    )


@pytest.mark.parametrize("case", ["binary", "multinomial", "ridge-2-targets"])
def test_perturbation_is_the_cross_derivative_of_the_per_sample_gradient(case):
    """-∇L_testᵀ H⁻¹ (∂/∂x ∇_θ L(z_i)), the cross derivative by finite differences."""

    @given(problem=problems(case))
    def check(problem):
        X, y, sw, Xt, yt, a, rows, _ = problem
        model, _, _ = _fit(case, problem)
        core = model.influence_state()
        obj, theta = core.objective, core.theta
        a_test = core.solver.solve(
            obj.sample_gradients(theta, Xt, core.adapter.encode_targets(yt)).T
        )
        Y = obj.Y
        pert = model.influence_perturbation(Xt, yt)
        for i in rows:
            cross = np.empty((theta.size, X.shape[1]))
            for f in range(X.shape[1]):
                h = 1e-5 * max(1.0, abs(X[i, f]))
                up, down = X[i : i + 1].copy(), X[i : i + 1].copy()
                up[0, f] += h
                down[0, f] -= h
                cross[:, f] = (
                    obj.sample_gradients(theta, up, Y[i : i + 1])[0]
                    - obj.sample_gradients(theta, down, Y[i : i + 1])[0]
                ) / (2 * h)
            np.testing.assert_allclose(
                pert[:, i], -a_test.T @ cross, rtol=1e-6, atol=1e-8 * np.abs(pert).max()
            )

    check()


def test_perturbation_memory_guard():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    model = InfluenceRidge().fit(X, X.sum(axis=1))
    needed = 8 * 10 * 50 * 4
    assert model.influence_perturbation(
        X[:10], X[:10].sum(axis=1), max_bytes=needed
    ).shape == (10, 50, 4)
    with pytest.raises(ValueError, match=r"10 × 50 × 4 .* max_bytes"):
        model.influence_perturbation(X[:10], X[:10].sum(axis=1), max_bytes=needed - 1)


def test_sparse_and_dense_agree():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(70, 5)) * (rng.random((70, 5)) < 0.5)
    y = rng.integers(0, 3, 70)
    dense = InfluenceLogisticRegression(**_logistic(1.0)).fit(X, y)
    sparse = InfluenceLogisticRegression(**_logistic(1.0)).fit(sp.csr_matrix(X), y)
    Xt = sp.csr_matrix(X[:4])
    for method in ("influence_prediction", "influence_perturbation"):
        np.testing.assert_allclose(
            getattr(sparse, method)(Xt), getattr(dense, method)(X[:4]), atol=1e-8
        )
    np.testing.assert_allclose(
        sparse.influence_statistic(prediction_gap(sparse, Xt, X[4:9], output=0)),
        dense.influence_statistic(prediction_gap(dense, X[:4], X[4:9], output=0)),
        atol=1e-8,
    )


def test_pickle_keeps_output_influences():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, 60)
    model = InfluenceLogisticRegression(**_logistic(1.0)).fit(X, y)
    gap = prediction_gap(model, X[:5], X[5:10], output=2)
    expected = (
        model.influence_prediction(X[:3]),
        model.influence_perturbation(X[:3], y[:3]),
        model.influence_statistic(gap),
    )
    restored = pickle.loads(pickle.dumps(model))
    restored_gap = pickle.loads(pickle.dumps(gap))
    np.testing.assert_array_equal(restored.influence_prediction(X[:3]), expected[0])
    np.testing.assert_array_equal(
        restored.influence_perturbation(X[:3], y[:3]), expected[1]
    )
    np.testing.assert_array_equal(
        restored.influence_statistic(restored_gap), expected[2]
    )


def test_pipeline_last_step_on_transformed_test_data():
    rng = np.random.default_rng(4)
    raw = rng.normal(size=(90, 3)) * [1.0, 10.0, 100.0] + 5
    y = (raw @ [1.0, 0.1, 0.01] + rng.normal(size=90) > 6.5).astype(int)
    pipe = make_pipeline(
        StandardScaler(), InfluenceLogisticRegression(**_logistic(1.0))
    )
    pipe.fit(raw, y)
    Xt = pipe[:-1].transform(raw[:5])
    direct = InfluenceLogisticRegression(**_logistic(1.0)).fit(
        pipe[:-1].transform(raw), y
    )
    np.testing.assert_allclose(
        pipe[-1].influence_prediction(Xt), direct.influence_prediction(Xt), atol=1e-9
    )
    np.testing.assert_allclose(
        pipe[-1].influence_perturbation(Xt, y[:5]),
        direct.influence_perturbation(Xt, y[:5]),
        atol=1e-9,
    )


def test_clear_errors():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    clf = InfluenceLogisticRegression(**_logistic(1.0)).fit(X, rng.integers(0, 3, 40))
    reg = InfluenceRidge().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="response_method. parameter"):
        clf.influence_prediction(X, response_method="proba")
    with pytest.raises(ValueError, match="class labels"):
        clf.influence_prediction(X, response_method="predict")
    with pytest.raises(ValueError, match="Ridge has no predict_proba"):
        reg.influence_prediction(X, response_method="predict_proba")
    with pytest.raises(ValueError, match="pass output="):
        prediction_gap(clf, X[:3], X[3:])
    with pytest.raises(ValueError, match="output must be an integer column index"):
        prediction_gap(clf, X[:3], X[3:], output=3)
    with pytest.raises(ValueError, match="'output' parameter of prediction_gap"):
        prediction_gap(clf, X[:3], X[3:], output="a class label")
    with pytest.raises(ValueError, match="features"):
        clf.influence_prediction(X[:, :1])
    with pytest.raises(ValueError, match="y_test"):
        reg.influence_perturbation(X[:2])
    with pytest.raises(ValueError, match="rows"):
        clf.influence_perturbation(X[:2], [0])
