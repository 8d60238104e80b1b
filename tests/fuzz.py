"""Random small problems for the fuzz suite (``tests/test_fuzz.py``).

A :class:`Draw` describes one problem: a configuration of
:data:`skinfluence._capabilities.CONFIGURATIONS`, its size, sample weights
(possibly with zeros), the labels (natural, a single class, separable), a
penalty scaled by up to ``1e±8`` and NaN injected into the test data.
:func:`call_all` fits it and calls every public method, classifying each
outcome:

- ``"ok"``: a finite answer, or a non-finite one announced by a warning (a
  ``UserWarning`` or other category of ours, not numpy's ``RuntimeWarning``
  "invalid value encountered", which only reports that a NaN was made); a
  DataFrame's numeric columns are checked. The per-row residual diagnostics
  (:data:`ROW_DIAGNOSTICS`) are documented NaN at rows of zero weight and rows
  of leverage 1: there NaN is required (zero weight) or allowed (leverage 1)
  without a warning, and any other non-finite value needs one;
- ``"clear:<Type>"``: one of our errors (raised by a ``raise`` statement in
  skinfluence, or by scikit-learn's input validation); for ``fit``, our error
  counts as clear only if the plain scikit-learn estimator refuses the same data;
- ``"silent-nan"``: a non-finite answer without a warning of ours (a failure);
- ``"nan-rule"``: a per-row diagnostic finite at a row of zero weight, where it
  is documented NaN (a failure);
- ``"refuses-fit"``: our error from ``fit`` on data the plain scikit-learn
  estimator fits (a failure);
- ``"internal:<Type>@<file>:<line>"``: any other exception (a failure).

``python tests/fuzz.py 2000`` prints the census of outcomes for that many
numpy-seeded draws (the issue's before/after counts).
"""

import sys
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

import skinfluence
from skinfluence._capabilities import CONFIGURATIONS, METHODS, make_data

LABELS = [c[0] for c in CONFIGURATIONS]
LABEL_KINDS = ("natural", "single", "separable")
NAN_KINDS = (None, "y_test", "X_test")
#: outcomes that are failures
FAILURES = ("internal", "silent", "nan-rule", "refuses-fit")
#: per-row results documented NaN at rows of zero weight and of leverage 1
ROW_DIAGNOSTICS = ("studentized_residuals", "sigma_loo", "dffits", "covratio")

#: every public method, on a fitted model and its test data
CALLS = {
    **METHODS,
    "remove_effect(influence)": lambda m, X, y: m.remove_effect([0], "influence"),
    "remove_effect(exact)": lambda m, X, y: m.remove_effect([0], "exact"),
    "remove_effect(newton, half)": lambda m, X, y: m.remove_effect(
        np.arange(m.influence_state().n_samples // 2), "newton"
    ),
    "loo_params_change(influence)": lambda m, X, y: m.loo_params_change("influence"),
    "loo_loss_change(influence)": lambda m, X, y: m.loo_loss_change(
        X, y, method="influence"
    ),
    "influence_statistic(mean_loss)": lambda m, X, y: m.influence_statistic(
        skinfluence.mean_loss(m, X, y)
    ),
    "newton_update": lambda m, X, y: m.newton_update(),
    "gradient_norm_": lambda m, X, y: m.gradient_norm_,
}


@dataclass(frozen=True)
class Draw:
    label: str
    n: int
    d: int
    labels: str = "natural"
    weights: str = "none"  # "none", "positive", "zeros"
    scale: float = 1.0  # penalty × 1/scale (C × scale)
    nan: str | None = None
    seed: int = 0

    def problem(self):
        """``(model, X, y, sample_weight, X_test, y_test)``; model unfitted."""
        _, name, params, kind = next(c for c in CONFIGURATIONS if c[0] == self.label)
        rng = np.random.default_rng(self.seed)
        X, y, X_test, y_test = make_data(kind, n=self.n, d=self.d, seed=self.seed)
        if kind in ("binary", "multiclass") and self.labels != "natural":
            if self.labels == "single":
                y = np.full_like(y, y[0])
            else:  # separated by a hyperplane (or by argmax of three)
                W = rng.normal(size=(self.d, 3 if kind == "multiclass" else 1))
                scores = X @ W
                y = (
                    np.argmax(scores, axis=1)
                    if kind == "multiclass"
                    else (scores[:, 0] > 0).astype(int)
                )
                y_test = (
                    np.argmax(X_test @ W, axis=1)
                    if kind == "multiclass"
                    else (X_test @ W[:, 0] > 0).astype(int)
                )
        params = dict(params)
        if name.endswith("CV"):
            pass  # cross-validation chooses C or alpha: the estimator has neither
        elif "C" in params or self.label.startswith(("LogisticRegression", "LinearSV")):
            params["C"] = params.get("C", 1.0) * self.scale
        elif "alpha" in params or self.label.startswith(("SGD", "Ridge")):
            params["alpha"] = params.get("alpha", 1e-4 if "SGD" in name else 1.0) / (
                self.scale
            )
        model = getattr(skinfluence, name)(**params)
        if "random_state" in model.get_params():
            model.set_params(random_state=0)
        sw = None
        if self.weights != "none":
            sw = rng.uniform(0.2, 3.0, size=self.n)
            if self.weights == "zeros":
                sw[rng.random(self.n) < 0.3] = 0.0
                sw[0 if sw.max() == 0 else int(np.argmax(sw))] = 1.0
        X_test, y_test = X_test.copy(), np.array(y_test, dtype=float)
        if self.nan == "y_test":
            y_test[0] = np.nan
        elif self.nan == "X_test":
            X_test[0, 0] = np.nan
        if kind in ("binary", "multiclass") and self.nan != "y_test":
            y_test = y_test.astype(int)
        return model, X, y, sw, X_test, y_test


def classify(error):
    """``"clear:<Type>"`` for our errors, ``"internal:..."`` for anything else."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    ours = "/skinfluence/" in frame.filename
    validation = frame.filename.endswith(
        ("sklearn/utils/validation.py", "sklearn/utils/_param_validation.py")
    )
    raised = (frame.line or "").lstrip().startswith("raise")
    if (
        isinstance(error, ValueError | TypeError | NotImplementedError)
        and (ours or validation)
        and raised
    ):
        return f"clear:{type(error).__name__}"
    where = frame.filename.rsplit("/", 2)[-2:]
    return f"internal:{type(error).__name__}@{'/'.join(where)}:{frame.lineno}"


def _finite(result):
    if hasattr(result, "coef_"):
        return np.all(np.isfinite(result.coef_))
    if hasattr(result, "harmful_values"):
        return np.all(np.isfinite(result.harmful_values))
    if hasattr(result, "select_dtypes"):  # a DataFrame: its numeric columns
        result = result.select_dtypes("number")
    if hasattr(result, "to_numpy"):
        result = result.to_numpy()
    result = np.asarray(result)
    return result.dtype == object or np.all(np.isfinite(result))


def _announced(caught):
    """A warning of ours (numpy's RuntimeWarning only reports a NaN it made)."""
    return any(not issubclass(w.category, RuntimeWarning) for w in caught)


def _row_outcome(result, model, sw, caught):
    """The documented NaN rule of :data:`ROW_DIAGNOSTICS`: NaN at every row of
    zero weight; finite at every other row but those of leverage 1, unless a
    warning of ours announces it."""
    values = np.asarray(result, dtype=float)
    zero = np.zeros(values.shape, bool) if sw is None else np.asarray(sw) == 0
    if np.isfinite(values[zero]).any():
        return "nan-rule"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = np.asarray(model.leverage(), dtype=float)
    documented = zero | (1.0 - h <= 1e-12)
    if np.isfinite(values[~documented]).all() or _announced(caught):
        return "ok"
    return "silent-nan"


def _plain(model):
    """The scikit-learn estimator the skinfluence class extends, same parameters."""
    base = next(c for c in type(model).__mro__ if c.__module__.startswith("sklearn"))
    known = base().get_params()
    return base(**{k: v for k, v in model.get_params().items() if k in known})


def fit(draw):
    """The fitted model and its data, or ``None`` if scikit-learn refuses the fit
    (or the data are not the kind the configuration needs).

    Our own clear error from ``fit`` (scikit-learn's refusal reworded, e.g. a
    cross-validation fold of zero weight) is re-raised, after checking that the
    plain scikit-learn estimator refuses the same data too; if it fits them,
    :class:`RefusesFit` is raised instead."""
    model, X, y, sw, X_test, y_test = draw.problem()
    kw = {} if sw is None else {"sample_weight": sw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, y, **kw)
        except (ValueError, TypeError, IndexError) as error:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            if "/skinfluence/" not in frame.filename:
                return None
            try:  # fit is scikit-learn's: ours may only reword its refusal
                _plain(model).fit(X, y, **kw)
            except Exception:
                raise error from None
            raise RefusesFit(f"{type(model).__name__}: {error}") from error
    return model, X, y, sw, X_test, y_test


class RefusesFit(Exception):
    """Our error from ``fit`` on data the plain scikit-learn estimator fits."""


def call_all(draw, calls=CALLS):
    """``{method: outcome}`` for one draw (empty if scikit-learn refuses the fit,
    ``{"fit": outcome}`` if we do)."""
    try:
        fitted = fit(draw)
    except RefusesFit:
        return {"fit": "refuses-fit"}
    except Exception as error:
        return {"fit": classify(error)}
    if fitted is None:
        return {}
    model, _, _, sw, X_test, y_test = fitted
    outcomes = {}
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = call(model, X_test, y_test)
            except Exception as error:  # classified, not swallowed
                outcomes[name] = classify(error)
                continue
        if name in ROW_DIAGNOSTICS:
            outcomes[name] = _row_outcome(result, model, sw, caught)
        elif _finite(result) or _announced(caught):
            outcomes[name] = "ok"
        else:
            outcomes[name] = "silent-nan"
    return outcomes


def random_draw(rng):
    return Draw(
        label=LABELS[rng.integers(len(LABELS))],
        n=int(rng.integers(2, 40)),
        d=int(rng.integers(1, 6)),
        labels=LABEL_KINDS[rng.integers(3)],
        weights=("none", "positive", "zeros")[rng.integers(3)],
        scale=float(10.0 ** rng.choice([-8, -2, 0, 0, 2, 8])),
        nan=NAN_KINDS[rng.integers(3)],
        seed=int(rng.integers(2**31)),
    )


def census(n_draws, seed=0):
    """Counts of outcomes over ``n_draws`` random draws."""
    rng = np.random.default_rng(seed)
    counts, failures = Counter(), Counter()
    fitted = 0
    for _ in range(n_draws):
        outcomes = call_all(random_draw(rng))
        fitted += bool(outcomes) and "fit" not in outcomes
        for method, outcome in outcomes.items():
            counts[outcome.split("@")[0]] += 1
            if outcome.startswith(FAILURES):
                failures[(method, outcome)] += 1
    return fitted, counts, failures


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    fitted, counts, failures = census(n)
    print(f"{n} draws, {fitted} fitted by scikit-learn, {sum(counts.values())} calls")
    for outcome, count in counts.most_common():
        print(f"  {outcome:<40} {count}")
    print("failures (method, outcome):")
    for (method, outcome), count in failures.most_common(40):
        print(f"  {count:>5}  {method:<32} {outcome}")
