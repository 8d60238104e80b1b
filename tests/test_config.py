"""Settings and parameter validation with scikit-learn's machinery."""

import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import InvalidParameterError

import skinfluence
from skinfluence import (
    CGWarning,
    InfluenceRidge,
    NonStationaryWarning,
    TrainingDataWarning,
    attach,
    config_context,
    get_config,
    loo_refit,
    mean_loss,
    prediction_gap,
    set_config,
)


@pytest.fixture(scope="module")
def model():
    X, y = load_diabetes(return_X_y=True)
    return InfluenceRidge().fit(X[:100], y[:100]), X[100:103], y[100:103]


@pytest.mark.parametrize(
    "call, name",
    [
        pytest.param(lambda m, X, y: m.top_influences(X, y, k="3"), "k", id="k-str"),
        pytest.param(lambda m, X, y: m.top_influences(X, y, k=0), "k", id="k-zero"),
        pytest.param(
            lambda m, X, y: m.top_influences(X, y, as_frame="yes"),
            "as_frame",
            id="as_frame",
        ),
        pytest.param(lambda m, X, y: m.influence_loss("X", y), "X_test", id="X_test"),
        pytest.param(lambda m, X, y: m.influence_loss(X, 3.0), "y_test", id="y_test"),
        pytest.param(
            lambda m, X, y: m.influence_prediction(X, response_method="proba"),
            "response_method",
            id="response_method",
        ),
        pytest.param(
            lambda m, X, y: m.influence_statistic(3.0), "func", id="statistic-func"
        ),
        pytest.param(
            lambda m, X, y: m.influence_perturbation(X, y, max_bytes=-1),
            "max_bytes",
            id="max_bytes",
        ),
        pytest.param(
            lambda m, X, y: m.remove_effect(0, method="refit"), "method", id="remove"
        ),
        pytest.param(
            lambda m, X, y: m.loo_params_change(method="exact"),
            "method",
            id="loo_params_change",
        ),
        pytest.param(
            lambda m, X, y: m.loo_loss_change(X, y, method=1),
            "method",
            id="loo_loss_change",
        ),
        pytest.param(lambda m, X, y: mean_loss(Ridge(), X, y), "estimator", id="mean"),
        pytest.param(
            lambda m, X, y: prediction_gap(m, X, X, output=-1), "output", id="gap"
        ),
        pytest.param(
            lambda m, X, y: loo_refit(m, X, y, n_jobs="all"), "n_jobs", id="loo_refit"
        ),
        pytest.param(lambda m, X, y: attach("model", X, y), "estimator", id="attach"),
        pytest.param(lambda m, X, y: set_config(cg_tol="abc"), "cg_tol", id="cg_tol"),
        pytest.param(
            lambda m, X, y: set_config(hessian_solver="lu"),
            "hessian_solver",
            id="hessian_solver",
        ),
        pytest.param(
            lambda m, X, y: set_config(cg_maxiter=0), "cg_maxiter", id="cg_maxiter"
        ),
        pytest.param(
            lambda m, X, y: set_config(cg_preconditioner="ilu"),
            "cg_preconditioner",
            id="cg_preconditioner",
        ),
        pytest.param(
            lambda m, X, y: set_config(influence_output="numpy"),
            "influence_output",
            id="influence_output",
        ),
    ],
)
def test_invalid_parameters_are_named(model, call, name):
    m, X, y = model
    before = get_config()
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        call(m, X, y)
    assert get_config() == before  # a refused setting changes nothing


def test_config_context_restores_and_validates():
    before = get_config()
    with config_context(cg_tol=1e-6, influence_output="pandas"):
        assert get_config()["cg_tol"] == 1e-6
        assert get_config()["influence_output"] == "pandas"
    assert get_config() == before
    with pytest.raises(InvalidParameterError):
        with config_context(max_dense_params=-3):
            pass  # pragma: no cover
    assert get_config() == before


def test_output_settings_do_not_rebuild_the_influence_state(model):
    m, X, y = model
    fitted = m.influence_state()
    with config_context(influence_output="pandas", progress_bar=False):
        assert m.influence_state() is fitted
    with config_context(cg_tol=1e-6):
        assert m.influence_state() is not fitted


def test_warnings_are_in_scikit_learns_hierarchy():
    assert issubclass(NonStationaryWarning, ConvergenceWarning)
    assert issubclass(CGWarning, ConvergenceWarning)
    assert issubclass(TrainingDataWarning, UserWarning)
    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(TrainingDataWarning, match="probably not the data"):
        attach(Ridge().fit(X, y), X[::-1][:200], y[:200])


def test_package_is_typed():
    import pathlib

    assert (pathlib.Path(skinfluence.__file__).parent / "py.typed").is_file()
    hints = InfluenceRidge.influence_loss.__annotations__
    assert {"X_test", "y_test", "return"} <= set(hints)
