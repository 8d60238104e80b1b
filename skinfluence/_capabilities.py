"""Which public method works for which estimator: measured, not maintained by hand.

:func:`capability_matrix` fits every configuration in :data:`CONFIGURATIONS` on
small generated data and calls every public influence method on it. A cell is
``"ok"``, ``"n/a"`` (the estimator has no such response method) or the text of
the ``NotImplementedError`` the method raises, whose reason is stated where it
is raised. The user guide's capability table and the capability test
(``tests/test_capabilities.py``) are both built from this one function.
"""

import re
import warnings

import numpy as np

#: (label, ready class name, parameters, kind of data)
CONFIGURATIONS = (
    ("LogisticRegression", "InfluenceLogisticRegression", {}, "binary"),
    ("LogisticRegression multinomial", "InfluenceLogisticRegression", {}, "multiclass"),
    (
        "LogisticRegression L1 (saga)",
        "InfluenceLogisticRegression",
        {"l1_ratio": 1.0, "solver": "saga", "C": 0.1, "max_iter": 5000},
        "binary",
    ),
    ("LogisticRegressionCV", "InfluenceLogisticRegressionCV", {"Cs": 3}, "binary"),
    ("LinearRegression", "InfluenceLinearRegression", {}, "regression"),
    ("Ridge", "InfluenceRidge", {"alpha": 1.0}, "regression"),
    ("RidgeCV", "InfluenceRidgeCV", {}, "regression"),
    ("RidgeClassifier", "InfluenceRidgeClassifier", {}, "multiclass"),
    ("RidgeClassifierCV", "InfluenceRidgeClassifierCV", {}, "binary"),
    ("PoissonRegressor", "InfluencePoissonRegressor", {"alpha": 0.1}, "counts"),
    ("GammaRegressor", "InfluenceGammaRegressor", {"alpha": 0.1}, "positive"),
    (
        "TweedieRegressor power=1.5",
        "InfluenceTweedieRegressor",
        {"power": 1.5, "alpha": 0.1},
        "positive",
    ),
    ("LinearSVC", "InfluenceLinearSVC", {}, "binary"),
    (
        "LinearSVC hinge",
        "InfluenceLinearSVC",
        {"loss": "hinge", "smooth_hinge_temperature": 1e-3},
        "binary",
    ),
    (
        "LinearSVR",
        "InfluenceLinearSVR",
        {"loss": "squared_epsilon_insensitive", "epsilon": 0.2},
        "regression",
    ),
    (
        "SGDClassifier log_loss",
        "InfluenceSGDClassifier",
        {"loss": "log_loss"},
        "binary",
    ),
    (
        "SGDClassifier modified_huber",
        "InfluenceSGDClassifier",
        {"loss": "modified_huber"},
        "multiclass",
    ),
    ("SGDRegressor", "InfluenceSGDRegressor", {}, "regression"),
    ("HuberRegressor", "InfluenceHuberRegressor", {"alpha": 1e-3}, "regression"),
    ("Lasso", "InfluenceLasso", {"alpha": 0.05}, "regression"),
    ("ElasticNet", "InfluenceElasticNet", {"alpha": 0.05}, "regression"),
    (
        "KernelRidge",
        "InfluenceKernelRidge",
        {"alpha": 1.0, "kernel": "rbf", "gamma": 0.2},
        "regression",
    ),
)

#: every public influence method, called on a fitted model with test data
METHODS = {
    "influence_params_": lambda m, X, y: m.influence_params_,
    "influence_loss": lambda m, X, y: m.influence_loss(X, y),
    "top_influences": lambda m, X, y: m.top_influences(X, y, k=3),
    "self_influence": lambda m, X, y: m.self_influence(),
    "influence_prediction(predict)": lambda m, X, y: m.influence_prediction(
        X, "predict"
    ),
    "influence_prediction(predict_proba)": lambda m, X, y: m.influence_prediction(
        X, "predict_proba"
    ),
    "influence_prediction(decision_function)": lambda m, X, y: m.influence_prediction(
        X, "decision_function"
    ),
    "influence_perturbation": lambda m, X, y: m.influence_perturbation(X, y),
    "remove_effect(newton)": lambda m, X, y: m.remove_effect([0, 1], method="newton"),
    "loo_params_change": lambda m, X, y: m.loo_params_change(),
    "loo_loss_change": lambda m, X, y: m.loo_loss_change(X, y),
    "leverage": lambda m, X, y: m.leverage(),
    "cooks_distance": lambda m, X, y: m.cooks_distance(),
    "dfbeta": lambda m, X, y: m.dfbeta(),
    "dfbetas": lambda m, X, y: m.dfbetas(),
    "cooks_distance(groups)": lambda m, X, y: m.cooks_distance(groups=_groups(m)),
    "dfbeta(groups)": lambda m, X, y: m.dfbeta(groups=_groups(m)),
    "studentized_residuals": lambda m, X, y: m.studentized_residuals(),
    "sigma_loo": lambda m, X, y: m.sigma_loo(),
    "dffits": lambda m, X, y: m.dffits(),
    "covratio": lambda m, X, y: m.covratio(),
    "press_residuals": lambda m, X, y: m.press_residuals(),
    "outlier_test": lambda m, X, y: m.outlier_test(),
    "summary_frame": lambda m, X, y: m.summary_frame(),
}


def _groups(model):
    """Five groups of training rows (row ``i`` in group ``i mod 5``)."""
    return np.arange(model.influence_state().n_samples) % 5


def make_data(kind, n=60, d=4, seed=0):
    """Small training and test data of one kind (see :data:`CONFIGURATIONS`)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n + 5, d))
    eta = X @ rng.normal(scale=0.5, size=d)
    if kind == "binary":
        y = (eta + rng.logistic(size=n + 5) > 0).astype(int)
    elif kind == "multiclass":
        y = np.argmax(eta[:, None] * [1, 0, -1] + rng.gumbel(size=(n + 5, 3)), axis=1)
    elif kind == "counts":
        y = rng.poisson(np.exp(0.3 * eta)).astype(float)
    elif kind == "positive":
        y = rng.gamma(2.0, np.exp(0.3 * eta) / 2.0)
    else:
        y = eta + rng.normal(size=n + 5)
    return X[:n], y[:n], X[n:], y[n:]


def fit_configuration(label, seed=0):
    """The fitted ready estimator of one configuration, with its test data."""
    import skinfluence

    _, name, params, kind = next(c for c in CONFIGURATIONS if c[0] == label)
    X, y, X_test, y_test = make_data(kind, seed=seed)
    model = getattr(skinfluence, name)(**params)
    if "tol" in model.get_params():
        model.set_params(tol=1e-10)
    if "random_state" in model.get_params():  # SGD and saga: reproducible cells
        model.set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, (X, y, X_test, y_test)


def capability_matrix(configurations=None):
    """``{(label, method): cell}`` for every configuration and public method.

    A cell is ``"ok"``, ``"n/a"`` (the estimator has no such response method,
    a ``ValueError`` naming it) or ``"refused: <reason>"`` (the
    ``NotImplementedError`` raised). Other exceptions propagate.
    """
    labels = [c[0] for c in configurations or CONFIGURATIONS]
    cells = {}
    for label in labels:
        model, (_, _, X_test, y_test) = fit_configuration(label)
        for method, call in METHODS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    call(model, X_test, y_test)
                    cells[label, method] = "ok"
                except NotImplementedError as error:
                    cells[label, method] = f"refused: {error}"
                except ValueError as error:
                    response = method.partition("(")[2].rstrip(")")
                    if response and response in str(error):
                        cells[label, method] = "n/a"
                    else:
                        raise
    return cells


def capability_table_rst(cells=None):
    """The matrix as a reStructuredText table: per configuration, the methods
    refused (with numbered reasons) and the response methods it does not have;
    every other method works."""
    cells = capability_matrix() if cells is None else cells
    labels = list(dict.fromkeys(label for label, _ in cells))
    methods = list(dict.fromkeys(method for _, method in cells))
    reasons = {}
    lines = [
        f"All {len(methods)} public methods work except where listed.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - configuration",
        "     - refused",
        "     - response methods without influence (absent, or class labels)",
    ]
    for label in labels:
        refused, absent = [], []
        for method in methods:
            cell = cells[label, method]
            if cell == "n/a":
                absent.append(f"``{method.partition('(')[2].rstrip(')')}``")
            elif cell != "ok":
                text = re.sub(r"Influence\w+", "<estimator>", cell[len("refused: ") :])
                number = reasons.setdefault(text, len(reasons) + 1)
                refused.append(f"``{method}`` [{number}]")
        lines += [
            f"   * - {label}",
            f"     - {', '.join(refused) or '—'}",
            f"     - {', '.join(absent) or '—'}",
        ]
    lines.append("")
    for text, number in reasons.items():
        # a word ending in "_" (coef_) is a reference in reStructuredText
        escaped = re.sub(r"(?<=\w)_(?!\w)", r"\\_", text)
        lines += [f"[{number}] {escaped}", ""]
    return "\n".join(lines)
