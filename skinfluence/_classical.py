"""Residual-based regression diagnostics, as R's ``influence.measures`` defines them.

For a single-output likelihood (least squares, logistic, Poisson, Gamma, Tweedie)
with weights ``s_i``, fitted mean ``μ_i``, variance function ``V`` and the
generalized hat values ``h_i`` of :meth:`leverage` (penalty included):

- Pearson residual ``r_i = √s_i (y_i − μ_i)/√V(μ_i)`` (least squares: ``√s_i e_i``);
  deviance residual ``d_i = sign(y_i − μ_i) √(2 s_i L_i / c)`` (``c`` the loss's
  Gaussian factor: 2 for squared error without ½), ``φ = Σ r_i²/(n − p)`` or 1;
- leave-one-out scale (Belsley, Kuh & Welsch 1980, eq. 2.8; R's ``lm.influence``
  ``sigma``): ``σ₍ᵢ₎² = (Σ_j r_j² − r_i²/(1 − h_i)) / (n − p − 1)``;
- studentized residuals: internal ``r_i / √(φ (1 − h_i))`` (R ``rstandard``);
  external ``r_i / (σ₍ᵢ₎ √(1 − h_i))`` (R ``rstudent``), with ``σ₍ᵢ₎ = 1`` for a
  fixed dispersion; the likelihood residual (Williams 1987)
  ``sign(d_i) √(d_i² + h_i r_i²/(1 − h_i))``;
- ``DFFITS = r_i √h_i / (σ₍ᵢ₎ (1 − h_i))`` (``σ₍ᵢ₎ = 1`` for a fixed dispersion),
  ``COVRATIO = 1 / ((1 − h_i) ((n − p − 1 + t_i²)/(n − p))^p)`` with ``t_i`` the
  external studentized residual, PRESS residual ``e_i / (1 − h_i)``.

``n`` counts the rows with nonzero weight and ``p`` the identified parameters.
Rows with zero weight are not observations (R drops them from every measure):
their values here are NaN, and :meth:`summary_frame` and :meth:`outlier_test`
leave them out. The public methods are in :mod:`._residual_diagnostics`.
"""

import warnings

import numpy as np
from scipy import stats

TYPES = ("pearson", "deviance", "likelihood")
MULTIPLE_TESTS = ("bonferroni", "sidak", "holm", "fdr_bh")


def objective_of(estimator, what, rows=True):
    """The training objective in ``θ``, or a refusal naming the estimator when
    its influence is computed without one (a dual form) or, with ``rows``, when
    the training rows' residuals are not in memory (dask chunks)."""
    name = type(estimator).__name__
    try:
        fitted = estimator.influence_state()
        objective = fitted.objective
    except NotImplementedError as error:
        raise NotImplementedError(
            f"{name}: {what} need the training objective as a function of the "
            "linear parameters θ, and this estimator computes its influence "
            "without one (a dual form)."
        ) from error
    if rows and fitted.distributed:
        raise NotImplementedError(
            f"{name}: {what} on dask training data are not available: they need "
            "every training row's residual in memory. The per-row leverage(), "
            "cooks_distance() and dfbeta(), and their groups=, work on the chunks; "
            "attach the model to an in-memory copy of the rows for the others."
        )
    return objective


class Residuals:
    """Residuals, hat values and scales of a fitted single-output likelihood.

    ``pearson``, ``deviance`` and ``hat`` are (n,) with NaN at rows of zero
    weight; ``phi`` is the Pearson-scale dispersion, ``estimated`` whether it is
    estimated (least squares, Gamma, Tweedie) or fixed at 1; ``n`` the rows with
    weight, ``p`` the identified parameters.
    """

    def __init__(self, estimator):
        fitted = estimator.influence_state()
        objective = objective_of(estimator, "residual-based diagnostics")
        loss, name = objective.loss, type(estimator).__name__
        self.name = name
        raw = objective.raw_prediction(fitted.theta)
        pearson = loss.pearson_residuals(objective.Y, raw)
        if objective.n_outputs != 1 or pearson is None:
            raise NotImplementedError(
                f"{name}: studentized residuals, σ₍ᵢ₎, DFFITS, COVRATIO, the outlier "
                "test and the summary table need one Pearson residual per row, "
                f"i.e. a likelihood with one output; {type(loss).__name__} with "
                f"{objective.n_outputs} output(s) is not one. Use leverage(), "
                "dfbeta() or loo_params_change() instead."
            )
        phi, dof = estimator._dispersion(fitted)
        s = objective.sample_weight
        self.weighted = s > 0
        nan = np.where(self.weighted, 1.0, np.nan)
        self.pearson = np.sqrt(s) * pearson * nan
        infinite = self.weighted & ~np.isfinite(self.pearson)
        if infinite.any():
            warnings.warn(
                f"{name}: the Pearson residuals of rows "
                f"{np.flatnonzero(infinite).tolist()[:10]} are beyond the float "
                "range (a label predicted with a probability that rounds to 0, or "
                "a mean that rounds to 0: a fit far from its minimum or separating "
                "its data). Their studentized residuals and DFFITS are ±inf or NaN, "
                "and σ₍ᵢ₎ and COVRATIO, which sum every row's residual, are not "
                "finite.",
                UserWarning,
                stacklevel=4,
            )
        sign = -np.sign(loss.gradient(objective.Y, raw)[:, 0])
        dev = 2.0 * s * loss.loss(objective.Y, raw) / loss.gaussian_factor
        self.deviance = sign * np.sqrt(np.maximum(dev, 0.0)) * nan
        self.hat = fitted.loo().leverage * nan
        self.phi = phi / loss.gaussian_factor
        self.estimated = loss.dispersion_kind != "fixed"
        self.dof, self.p = dof, estimator._n_identified(fitted)
        self.n = dof + self.p
        self.raw_residual = (objective.Y - raw)[:, 0]
        self.least_squares = loss.dispersion_kind == "gaussian"

    def one_minus_hat(self):
        """``1 − h_i``, NaN where ``h_i = 1`` (no leave-one-out residual)."""
        out = 1.0 - self.hat
        return np.where(out > 10 * np.finfo(float).eps, out, np.nan)

    def sigma_loo(self, kind="pearson"):
        if kind not in ("pearson", "deviance"):  # also with validation skipped
            raise ValueError(f"type must be 'pearson' or 'deviance', got {kind!r}.")
        if self.dof <= 1:
            raise ValueError(
                f"The leave-one-out scale needs n − p − 1 > 0: {self.n} rows with "
                f"weight and {self.p} parameters."
            )
        r = self.pearson if kind == "pearson" else self.deviance
        remaining = np.nansum(r**2) - r**2 / self.one_minus_hat()
        remaining = undefined_where_negative(self.name, remaining, "σ₍ᵢ₎")
        return np.sqrt(remaining / (self.dof - 1))

    def scale_loo(self):
        """``σ₍ᵢ₎`` where the dispersion is estimated, else 1."""
        return self.sigma_loo() if self.estimated else np.ones_like(self.hat)

    def studentized(self, kind, type):
        if type not in TYPES:
            raise ValueError(f"type must be one of {TYPES}, got {type!r}.")
        if kind not in ("internal", "external"):
            raise ValueError(f"kind must be 'internal' or 'external', got {kind!r}.")
        omh = self.one_minus_hat()
        if type == "likelihood":
            if kind == "internal":
                raise ValueError(
                    "The likelihood residual is a deletion residual: use "
                    "kind='external' with type='likelihood'."
                )
            r = np.sign(self.deviance) * np.sqrt(
                self.deviance**2 + self.hat * self.pearson**2 / omh
            )
            scale = self.sigma_loo("deviance") if self.estimated else 1.0
            return r / scale
        r = self.pearson if type == "pearson" else self.deviance
        if kind == "internal":
            return r / np.sqrt(self.phi * omh)
        scale = self.sigma_loo(type) if self.estimated else 1.0
        return r / (scale * np.sqrt(omh))

    def dffits(self):
        return (
            self.pearson * np.sqrt(self.hat) / (self.scale_loo() * self.one_minus_hat())
        )

    def covratio(self):
        t = self.studentized("external", "pearson")
        n, p = self.n, self.p
        return 1.0 / (self.one_minus_hat() * ((n - p - 1 + t**2) / (n - p)) ** p)


def undefined_where_negative(name, remaining, what):
    """``remaining`` (Belsley's deleted residual sum of squares, or the deleted
    dispersion) with NaN where it is negative, and a warning naming the rows.

    For unpenalized least squares it is the refit's residual sum of squares,
    never negative (but for rounding); for a penalized or non-Gaussian fit the
    update is an approximation, and a row with a large residual and a large
    ``h_i`` can remove more than the total: its deleted scale has no value."""
    # NaN (zero weight, h_i = 1) compares False; rounding below 0 is 0
    rounding = 1e-12 * np.nanmax(np.abs(remaining), initial=0.0)
    remaining = np.where((remaining < 0) & (remaining >= -rounding), 0.0, remaining)
    negative = remaining < 0
    if not negative.any():
        return remaining
    rows = np.flatnonzero(negative)
    warnings.warn(
        f"{name}: {what} is NaN for rows {rows.tolist()[:10]}"
        f"{' …' if rows.size > 10 else ''}: Belsley's deleted residual sum of "
        "squares Σ_j r_j² − r_i²/(1 − h_i) is negative there. It is the refit's "
        "residual sum of squares only for unpenalized least squares; for this "
        "fit (penalized or not least squares) the update removes more than the "
        "total for a row with a large residual and leverage. Their externally "
        "studentized residuals, DFFITS, COVRATIO and DFBETAS are NaN too; "
        "dfbeta() or loo_params_change() give the change without them.",
        UserWarning,
        stacklevel=4,
    )
    return np.where(negative, np.nan, remaining)


def flag_thresholds(n, p):
    """R's ``is.influential`` cut-offs for ``n`` rows with ``h > 0``, ``p`` params."""
    return {
        "dfbetas": 1.0,
        "dffits": 3.0 * np.sqrt(p / (n - p)),
        "covratio": 3.0 * p / (n - p),
        "cooks_d": stats.f.ppf(0.5, p, n - p),
        "hat": 3.0 * p / n,
    }


def adjust_pvalues(p, method):
    """Multiple-testing adjusted p-values (statsmodels' ``multipletests`` names)."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "sidak":
        return -np.expm1(m * np.log1p(-p))
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((m / np.arange(m, 0, -1)) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"method must be one of {MULTIPLE_TESTS}, got {method!r}.")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
