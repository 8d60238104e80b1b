"""InfluenceKernelRidge against scikit-learn's own KernelRidge refits.

Ground truth never calls skinfluence: weight derivatives are central
differences (``s_i ± δ``, times ``S``; one-sided second order at a zero
weight) of ``KernelRidge(...).fit(X, y, sample_weight=s)``; removals and
leave-one-out are refits without the rows; the hat matrix is the fitted values
of refits on unit targets (the fit is linear in ``y``). The capability cells of
the ``"KernelRidge"`` configuration are checked here (its parameters are dual
coefficients, not ``[coef_, intercept_]``, so the linear oracles of
``test_capabilities.py`` do not apply).
"""

import warnings

import numpy as np
import pytest
from conftest import report_accuracy
from hypothesis import given
from hypothesis import strategies as st
from oracles import rel_err
from scipy.stats import pearsonr, spearmanr
from sklearn.datasets import load_diabetes
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skinfluence
from skinfluence import InfluenceKernelRidge, attach, mean_loss
from skinfluence._capabilities import METHODS, capability_matrix, fit_configuration

#: central differences of direct solves, δ = 1e-4 on weights of order 1:
#: measured ≤ 2e-9 relative (truncation ~δ², round-off ~1e-16 cond(M)/δ)
FD_STEP, FD_RTOL = 1e-4, 1e-6
#: two direct float64 solves of the same system: ≤ 1e-12 measured
EXACT_RTOL = 1e-10


@pytest.fixture(autouse=True)
def _one_thread():
    """Small problems: BLAS threads only cost here (100x on a loaded machine)."""
    with threadpool_limits(limits=1):
        yield


def _callable_kernel(x, z):
    return np.exp(-0.5 * np.sum((x - z) ** 2)) + 0.1 * float(x @ z)


KERNELS = {
    "rbf": dict(kernel="rbf", gamma=0.5),
    "linear": dict(kernel="linear"),
    "poly": dict(kernel="poly", degree=2, gamma=0.3, coef0=1.0),
    "laplacian": dict(kernel="laplacian", gamma=0.4),
    "cosine": dict(kernel="cosine"),
    "sigmoid": dict(kernel="sigmoid", gamma=0.05, coef0=0.1),
    "chi2": dict(kernel="chi2", gamma=0.3),
    "callable": dict(kernel=_callable_kernel),
    "precomputed": dict(kernel="precomputed"),
}


class Case:
    """A drawn problem: training/test data, weights, parameters; refits."""

    def __init__(self, kernel, n, d, n_targets, weights, per_target, seed):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n + 4, d))
        if kernel == "chi2":
            X = np.abs(X)
        Y = np.sin(X @ rng.normal(size=(d, n_targets))) + 0.3 * rng.normal(
            size=(n + 4, n_targets)
        )
        self.params = dict(KERNELS[kernel])
        self.params["alpha"] = (
            rng.uniform(0.1, 2.0, n_targets) if per_target else rng.uniform(0.1, 2.0)
        )
        if kernel == "precomputed":  # kernel matrices in place of features
            K = rbf_kernel(X, X[:n], gamma=0.5)
            self.X, self.X_test = K[:n], K[n:]
        else:
            self.X, self.X_test = X[:n], X[n:]
        self.y, self.y_test = Y[:n], Y[n:]
        if n_targets == 1:
            self.y, self.y_test = self.y[:, 0], self.y_test[:, 0]
        self.s = {
            "none": np.ones(n),
            "uniform": rng.uniform(0.5, 2.0, n),
            "with a zero": np.r_[0.0, rng.uniform(0.5, 2.0, n - 1)],
        }[weights]
        self.weighted = weights != "none"
        self.kernel, self.n = kernel, n

    def fit_kw(self, s=None):
        s = self.s if s is None else s
        return {"sample_weight": s} if self.weighted or s is not self.s else {}

    def model(self):
        return InfluenceKernelRidge(**self.params).fit(self.X, self.y, **self.fit_kw())

    def refit(self, s=None, keep=None):
        s = self.s if s is None else s
        X, y = self.X, self.y
        if keep is not None:
            X = X[np.ix_(keep, keep)] if self.kernel == "precomputed" else X[keep]
            y, s = y[keep], s[keep]
        return KernelRidge(**self.params).fit(X, y, sample_weight=s)

    def test_kernel(self, keep):
        return self.X_test[:, keep] if self.kernel == "precomputed" else self.X_test

    def weight_derivative(self, i, f):
        """``S ∂f(refit(s))/∂s_i``: central, or one-sided at a zero weight."""
        S, h = self.s.sum(), FD_STEP

        def at(step):
            s = self.s.copy()
            s[i] += step
            return np.asarray(f(self.refit(s)), dtype=float)

        if self.s[i] == 0:
            return S * (-3 * at(0.0) + 4 * at(h) - at(2 * h)) / (2 * h)
        return S * (at(h) - at(-h)) / (2 * h)

    def loo_refit(self, i):
        keep = np.setdiff1d(np.arange(self.n), [i])
        return self.refit(keep=keep), keep


def padded(refit, keep, n):
    """A refit's dual coefficients in the full coordinates (0 at removed rows)."""
    coef = np.asarray(refit.dual_coef_)
    out = np.zeros((n, *coef.shape[1:]))
    out[keep] = coef
    return out.ravel()


def squared_loss(y, f):
    return np.sum(((np.asarray(y) - f).reshape(len(y), -1)) ** 2, axis=1)


# -- hypothesis-drawn problems ------------------------------------------------------------
problems = st.builds(
    Case,
    kernel=st.sampled_from(sorted(KERNELS)),
    n=st.integers(6, 18),
    d=st.integers(1, 3),
    n_targets=st.sampled_from([1, 2]),
    weights=st.sampled_from(["none", "uniform", "with a zero"]),
    per_target=st.booleans(),
    seed=st.integers(0, 2**16),
)


@given(case=problems)
def test_influence_prediction_is_the_weight_derivative_of_refits(case):
    model = case.model()
    got = model.influence_prediction(case.X_test)
    got = got if got.ndim == 3 else got[:, None, :]
    for i in (0, case.n - 1):
        expected = case.weight_derivative(i, lambda m: m.predict(case.X_test))
        expected = expected.reshape(got.shape[0], -1)
        assert rel_err(got[:, :, i], expected) <= FD_RTOL, (case.kernel, i)


@given(case=problems)
def test_removal_and_leave_one_out_are_refits(case):
    model = case.model()
    group = [1, case.n // 2, case.n - 1]
    keep = np.setdiff1d(np.arange(case.n), group)
    smaller = model.remove_effect(group)
    refit = case.refit(keep=keep)
    assert type(smaller) is InfluenceKernelRidge
    assert rel_err(smaller.dual_coef_, refit.dual_coef_) <= EXACT_RTOL
    X_test = case.test_kernel(keep)
    assert rel_err(smaller.predict(X_test), refit.predict(X_test)) <= EXACT_RTOL
    expected_residuals, expected_changes = [], []
    c = np.asarray(model.dual_coef_).ravel()
    for i in range(case.n):
        refit, keep = case.loo_refit(i)
        x_i = case.X[i : i + 1]
        x_i = x_i[:, keep] if case.kernel == "precomputed" else x_i
        expected_residuals.append(np.asarray(case.y)[i] - refit.predict(x_i)[0])
        expected_changes.append(padded(refit, keep, case.n) - c)
    # all rows at once: a zero-weight row's change is 0 (round-off)
    assert rel_err(model.loo_residuals(), np.array(expected_residuals)) <= EXACT_RTOL
    assert rel_err(model.loo_params_change(), np.array(expected_changes)) <= EXACT_RTOL


# -- the capability cells of the "KernelRidge" configuration --------------------------------
LABEL = "KernelRidge"
ROWS = [0, 17, 42]


class Config:
    """The capability configuration with its data, as a ``Case``."""

    def __init__(self):
        self.model, (X, y, X_test, y_test) = fit_configuration(LABEL)
        self.case = Case.__new__(Case)
        self.case.params = self.model.get_params()
        self.case.X, self.case.y, self.case.X_test, self.case.y_test = (
            X,
            y,
            X_test,
            y_test,
        )
        self.case.s, self.case.weighted = np.ones(len(y)), False
        self.case.kernel, self.case.n = "rbf", len(y)


@pytest.fixture(scope="module")
def config():
    return Config()


def _by_row(case, f, rows=ROWS):
    return np.stack([case.weight_derivative(i, f) for i in rows], axis=-1)


def check_params(model, case):
    got = model.influence_params_[ROWS]
    expected = _by_row(case, lambda m: m.dual_coef_.ravel()).T
    assert rel_err(got, expected) <= FD_RTOL


def check_loss(model, case):
    got = model.influence_loss(case.X_test, case.y_test)[:, ROWS]
    expected = _by_row(
        case, lambda m: squared_loss(case.y_test, m.predict(case.X_test))
    )
    assert rel_err(got, expected) <= FD_RTOL


def check_top(model, case):
    top = model.top_influences(case.X_test, case.y_test, k=3)
    values = model.influence_loss(case.X_test, case.y_test)  # checked in its cell
    order = np.argsort(values, axis=1, kind="stable")
    np.testing.assert_array_equal(top.helpful_indices, order[:, :3])
    np.testing.assert_array_equal(top.harmful_indices, order[:, ::-1][:, :3])
    i = int(top.harmful_indices[0, 0])
    fd = case.weight_derivative(
        i, lambda m: squared_loss(case.y_test[:1], m.predict(case.X_test[:1]))[0]
    )
    assert rel_err(top.harmful_values[0, 0], fd) <= FD_RTOL


def check_self(model, case):
    got = model.self_influence()[ROWS]
    expected = [
        case.weight_derivative(
            i,
            lambda m, i=i: squared_loss(
                case.y[i : i + 1], m.predict(case.X[i : i + 1])
            )[0],
        )
        for i in ROWS
    ]
    assert rel_err(got, expected) <= FD_RTOL


def check_prediction(model, case):
    got = model.influence_prediction(case.X_test, "predict")[:, ROWS]
    expected = _by_row(case, lambda m: m.predict(case.X_test))
    assert rel_err(got, expected) <= FD_RTOL


def check_remove(model, case):
    for group in ([0, 1], [5, 17, 42]):
        keep = np.setdiff1d(np.arange(case.n), group)
        smaller = model.remove_effect(group, method="newton")
        refit = case.refit(keep=keep)
        assert rel_err(smaller.dual_coef_, refit.dual_coef_) <= EXACT_RTOL
        assert (
            rel_err(smaller.predict(case.X_test), refit.predict(case.X_test))
            <= EXACT_RTOL
        )


def _loo_changes(model, case):
    c = model.dual_coef_.ravel()
    return np.array([padded(*case.loo_refit(i), case.n) - c for i in range(case.n)])


def check_loo_params(model, case):
    assert rel_err(model.loo_params_change(), _loo_changes(model, case)) <= EXACT_RTOL


def check_dfbeta(model, case):
    assert rel_err(model.dfbeta(), -_loo_changes(model, case)) <= EXACT_RTOL


def check_loo_loss(model, case):
    base = squared_loss(case.y_test, model.predict(case.X_test))
    expected = np.stack(
        [
            squared_loss(case.y_test, case.loo_refit(i)[0].predict(case.X_test)) - base
            for i in range(case.n)
        ],
        axis=1,
    )
    assert (
        rel_err(model.loo_loss_change(case.X_test, case.y_test), expected) <= EXACT_RTOL
    )


def check_group_dfbeta(model, case):
    groups = np.arange(case.n) % 5
    c = model.dual_coef_.ravel()
    expected = []
    for label in range(5):
        keep = np.flatnonzero(groups != label)
        expected.append(c - padded(case.refit(keep=keep), keep, case.n))
    assert rel_err(model.dfbeta(groups=groups), np.array(expected)) <= EXACT_RTOL


def check_press(model, case):
    expected = [
        case.y[i] - case.loo_refit(i)[0].predict(case.X[i : i + 1])[0]
        for i in range(case.n)
    ]
    assert rel_err(model.press_residuals(), np.array(expected)) <= EXACT_RTOL


def hat_matrix(case):
    """``∂f(X_train)/∂y`` from refits on unit targets (the fit is linear in y)."""
    est = KernelRidge(**case.params)
    return np.column_stack(
        [
            est.fit(case.X, np.eye(case.n)[j], sample_weight=case.s).predict(case.X)
            for j in range(case.n)
        ]
    )


def check_leverage(model, case):
    assert rel_err(model.leverage(), np.diag(hat_matrix(case))) <= EXACT_RTOL


CHECKS = {
    "influence_params_": check_params,
    "influence_loss": check_loss,
    "top_influences": check_top,
    "self_influence": check_self,
    "influence_prediction(predict)": check_prediction,
    "remove_effect(newton)": check_remove,
    "loo_params_change": check_loo_params,
    "loo_loss_change": check_loo_loss,
    "leverage": check_leverage,
    "dfbeta": check_dfbeta,
    "dfbeta(groups)": check_group_dfbeta,
    "press_residuals": check_press,
}
REFUSED = {"influence_perturbation", "cooks_distance", "dfbetas"}
# the residual-based and group diagnostics need the objective in θ (issue 13)
REFUSED |= {
    "cooks_distance(groups)",
    "studentized_residuals",
    "sigma_loo",
    "dffits",
    "covratio",
    "outlier_test",
    "summary_frame",
}
ABSENT = {
    "influence_prediction(predict_proba)",
    "influence_prediction(decision_function)",
}


def test_every_public_method_is_checked_or_refused():
    cells = capability_matrix(
        [c for c in skinfluence._capabilities.CONFIGURATIONS if c[0] == LABEL]
    )
    for method in METHODS:
        cell = cells[LABEL, method]
        if method in REFUSED:
            assert cell.startswith("refused: InfluenceKernelRidge"), cell
        elif method in ABSENT:
            assert cell == "n/a"
        else:
            assert cell == "ok" and method in CHECKS, (method, cell)


@pytest.mark.parametrize("method", sorted(CHECKS))
def test_cell_matches_refits(config, method):
    CHECKS[method](config.model, config.case)


def test_attach_gives_the_ready_class_values(config):
    case = config.case
    params = {k: v for k, v in case.params.items()}
    attached = attach(KernelRidge(**params).fit(case.X, case.y), case.X, case.y)
    assert type(attached) is InfluenceKernelRidge
    for method, call in METHODS.items():
        if method in REFUSED or method in ABSENT:
            continue
        got, expected = (
            call(attached, case.X_test, case.y_test),
            call(config.model, case.X_test, case.y_test),
        )
        if hasattr(got, "dual_coef_"):
            got, expected = got.dual_coef_, expected.dual_coef_
        elif isinstance(got, dict):
            got = np.concatenate([np.ravel(got[k]) for k in sorted(got)])
            expected = np.concatenate([np.ravel(expected[k]) for k in sorted(expected)])
        assert rel_err(got, expected) <= 1e-12, method


# -- inputs, refusals, degenerate cases -------------------------------------------------------
def test_float32_and_pandas_inputs_match_float64():
    pd = pytest.importorskip("pandas")
    case = Case("rbf", 25, 3, 1, "uniform", False, seed=3)
    model = case.model()
    frame = pd.DataFrame(case.X, columns=["a", "b", "c"], index=np.arange(100, 125))
    test = pd.DataFrame(case.X_test, columns=["a", "b", "c"])
    on_frame = InfluenceKernelRidge(**case.params).fit(
        frame, pd.Series(case.y), sample_weight=case.s
    )
    np.testing.assert_allclose(
        on_frame.influence_loss(test, case.y_test),
        model.influence_loss(case.X_test, case.y_test),
    )
    assert list(on_frame.influence_frame(test, case.y_test).columns[:2]) == [100, 101]
    assert list(
        on_frame.remove_effect([0]).influence_frame(test, case.y_test).columns[:1]
    ) == [101]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skinfluence.NonStationaryWarning)
        single = InfluenceKernelRidge(**case.params).fit(
            case.X.astype(np.float32), case.y.astype(np.float32), sample_weight=case.s
        )
        got = single.influence_prediction(case.X_test.astype(np.float32))
    # influences are taken at the float64 solution on the float32-rounded data
    assert rel_err(got, model.influence_prediction(case.X_test)) <= 1e-5
    assert single.remove_effect([0]).dual_coef_.dtype == single.dual_coef_.dtype


def test_sparse_input_matches_dense():
    sp = pytest.importorskip("scipy.sparse")
    case = Case("linear", 15, 3, 1, "none", False, seed=1)
    dense = case.model()
    sparse = InfluenceKernelRidge(**case.params).fit(sp.csr_matrix(case.X), case.y)
    np.testing.assert_allclose(
        sparse.influence_loss(sp.csr_matrix(case.X_test), case.y_test),
        dense.influence_loss(case.X_test, case.y_test),
        rtol=1e-10,
    )


def test_refusals_are_clear():
    case = Case("rbf", 10, 2, 1, "none", False, seed=0)
    model = case.model()
    with pytest.raises(NotImplementedError, match=r"alpha=0.*Use alpha > 0"):
        InfluenceKernelRidge(alpha=0.0).fit(case.X, case.y).influence_params_
    with pytest.raises(NotImplementedError, match="kernel in its inputs"):
        model.influence_perturbation(case.X_test, case.y_test)
    with pytest.raises(NotImplementedError, match="no objective in coefficients"):
        mean_loss(model, case.X_test, case.y_test)
    with pytest.raises(NotImplementedError, match="do not vanish"):
        model.remove_effect(0, method="influence")
    with pytest.raises(ValueError, match="has no predict_proba"):
        model.influence_prediction(case.X_test, "predict_proba")
    with pytest.raises(ValueError, match="needs y_test"):
        model.influence_loss(case.X_test)
    with pytest.raises(ValueError, match="non-negative"):
        attach(
            KernelRidge().fit(case.X, case.y),
            case.X,
            case.y,
            sample_weight=-np.ones(10),
        )
    with pytest.raises(ValueError, match="not all zero"):
        attach(
            KernelRidge().fit(case.X, case.y),
            case.X,
            case.y,
            sample_weight=np.zeros(10),
        )
    with pytest.raises(ValueError, match="alpha has 3 values for 1 targets"):
        InfluenceKernelRidge(alpha=[1.0, 2.0, 3.0]).fit(
            case.X, case.y[:, None]
        ).leverage()


def test_attach_detects_other_data():
    case = Case("rbf", 30, 2, 1, "none", False, seed=2)
    fitted = KernelRidge(**case.params).fit(case.X, case.y)
    with pytest.warns(UserWarning, match="probably not the data"):
        attach(fitted, case.X, case.y[::-1])


def test_exact_refit_method_and_newton_update():
    case = Case("precomputed", 12, 2, 2, "uniform", True, seed=5)
    model = case.model()
    keep = np.setdiff1d(np.arange(case.n), [3])
    refit = case.refit(keep=keep)
    for method in ("newton", "exact"):
        smaller = model.remove_effect(3, method=method)
        assert smaller.X_fit_.shape == (11, 11)
        assert (
            rel_err(
                smaller.predict(case.test_kernel(keep)),
                refit.predict(case.test_kernel(keep)),
            )
            <= EXACT_RTOL
        )
        assert smaller.leverage().shape == (11,)
    assert rel_err(model.newton_update().dual_coef_, model.dual_coef_) <= EXACT_RTOL


def test_first_order_is_newton_times_leverage_factor():
    """Leaving row i out changes a prediction by the first-order change divided
    by ``1 − h_ii`` (exactly, for squared loss)."""
    case = Case("rbf", 20, 2, 1, "uniform", False, seed=4)
    model = case.model()
    first = model.loo_loss_change(case.X_test, case.y_test, method="influence")
    f = model.predict(case.X_test)
    r = case.y_test - f
    dP = (
        -model.influence_prediction(case.X_test)
        * model.influence_state().removal_shares()
    )
    np.testing.assert_allclose(first, -2 * r[:, None] * dP, rtol=1e-10, atol=1e-14)
    h = model.leverage()
    new_r = r[:, None] - dP / (1 - h)
    np.testing.assert_allclose(
        model.loo_loss_change(case.X_test, case.y_test),
        new_r**2 - r[:, None] ** 2,
        rtol=1e-9,
    )


# -- the leave-one-out report ---------------------------------------------------------------
def test_loo_correlation_report():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X, X_test, y, y_test = X[:200], X[400:401], y[:200], y[400:401]
    params = dict(alpha=1.0, kernel="rbf", gamma=0.05)
    model = InfluenceKernelRidge(**params).fit(X, y)
    base = squared_loss(y_test, model.predict(X_test))[0]
    actual = np.array(
        [
            squared_loss(
                y_test,
                KernelRidge(**params)
                .fit(np.delete(X, i, 0), np.delete(y, i))
                .predict(X_test),
            )[0]
            - base
            for i in range(len(y))
        ]
    )
    first = model.loo_loss_change(X_test, y_test, method="influence")[0]
    newton = model.loo_loss_change(X_test, y_test)[0]
    pearson, spearman = pearsonr(first, actual)[0], spearmanr(first, actual)[0]
    report_accuracy(
        "LOO test-loss change, diabetes KernelRidge rbf (first order)",
        pearson=pearson,
        spearman=spearman,
    )
    report_accuracy(
        "LOO test-loss change, diabetes KernelRidge rbf (exact downdate)",
        pearson=pearsonr(newton, actual)[0],
        max_rel_err=rel_err(newton, actual),
    )
    assert pearson > 0.95 and spearman > 0.95
    assert rel_err(newton, actual) <= EXACT_RTOL


def test_pipeline_and_displays():
    """A Pipeline ending in KernelRidge attaches (raw test data in); the index
    and top-influence displays draw from its public methods."""
    pytest.importorskip("matplotlib").use("Agg")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    case = Case("rbf", 20, 2, 1, "none", False, seed=6)
    pipe = make_pipeline(StandardScaler(), KernelRidge(**case.params)).fit(
        case.X, case.y
    )
    attached = attach(pipe, case.X, case.y)
    Z, Z_test = pipe[0].transform(case.X), pipe[0].transform(case.X_test)
    direct = InfluenceKernelRidge(**case.params).fit(Z, case.y)
    np.testing.assert_allclose(
        attached.influence_loss(case.X_test, case.y_test),
        direct.influence_loss(Z_test, case.y_test),
        rtol=1e-12,
    )
    skinfluence.InfluenceIndexDisplay.from_estimator(direct, top_k=3)
    skinfluence.TopInfluenceDisplay.from_estimator(direct, Z_test[:1], case.y_test[:1])


def test_display_computes_nothing():
    """dir() (scikit-learn's HTML repr) lists influence_params_ only once it
    has been computed, and building it is not triggered by the display."""
    case = Case("rbf", 12, 2, 1, "none", False, seed=7)
    model = case.model()
    model._repr_html_()
    assert "influence_params_" not in dir(model)
    assert model.influence_state().has_influence_params() is False
    model.influence_params_
    assert "influence_params_" in dir(model)
