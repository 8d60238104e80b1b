"""Public methods for R's residual-based diagnostics (formulas in :mod:`._classical`)."""

from numbers import Real

import numpy as np
from scipy import stats
from sklearn.utils._param_validation import Interval, StrOptions

from ._classical import (
    MULTIPLE_TESTS,
    Residuals,
    adjust_pvalues,
    flag_thresholds,
    objective_of,
)
from ._constraints import validated
from ._frames import computed_with_arrays, labelled, param_names
from ._frames import require_pandas as _pandas


class ClassicalDiagnosticsMixin:
    """Studentized residuals, σ₍ᵢ₎, DFFITS, COVRATIO, PRESS, an outlier test and
    R's ``influence.measures`` table (see :mod:`skinfluence._classical`)."""

    @validated(
        {
            "kind": [StrOptions({"internal", "external"})],
            "type": [StrOptions({"pearson", "deviance", "likelihood"})],
        }
    )
    @labelled("studentized_residuals")
    def studentized_residuals(self, kind="external", type="pearson"):
        """Studentized residuals of the training rows (R ``rstandard``/``rstudent``).

        Parameters
        ----------
        kind : {"internal", "external"}, default="external"
            ``"internal"``: ``r_i / √(φ (1 − h_i))`` with the full fit's
            dispersion ``φ`` (R ``rstandard``). ``"external"``: ``r_i / (σ₍ᵢ₎
            √(1 − h_i))`` with the leave-one-out scale :meth:`sigma_loo` (R
            ``rstudent``); for a fixed dispersion (logistic, Poisson) ``σ₍ᵢ₎ = 1``.
        type : {"pearson", "deviance", "likelihood"}, default="pearson"
            The residual ``r_i``: Pearson ``√s_i (y_i − μ_i)/√V(μ_i)`` or deviance
            ``sign(y_i − μ_i) √(s_i dev_i)``; ``"likelihood"`` (external only) is
            Williams' (1987) ``sign(d_i) √(d_i² + h_i r_i²/(1 − h_i))``, R's
            ``rstudent.glm`` before 2026. All three coincide for least squares.

        Returns
        -------
        residuals : ndarray of shape (n_train,)
            NaN for rows of zero weight (R drops them) and rows with ``h_i = 1``;
            external: also, with a warning, where σ₍ᵢ₎ is undefined (see
            :meth:`sigma_loo`).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceLinearRegression().fit(X, y)
        >>> t = model.studentized_residuals("external")
        >>> int((abs(t) > 2.5).sum())  # rows beyond 2.5 leave-one-out standard errors
        4
        """
        return Residuals(self).studentized(kind, type)

    @validated({"type": [StrOptions({"pearson", "deviance"})]})
    @labelled("sigma_loo")
    def sigma_loo(self, type="pearson"):
        """Residual scale of the fit without each row, ``σ₍ᵢ₎`` (R ``influence()$sigma``).

        ``σ₍ᵢ₎² = (Σ_j r_j² − r_i²/(1 − h_i)) / (n − p − 1)``; exact for least
        squares (the residual standard error of the refit without row ``i``), the
        same update of Pearson (or deviance) residuals otherwise. For a penalized
        fit ``h_i`` includes the penalty and ``p`` is the number of identified
        parameters, so it is the Belsley formula, not the refit's residual scale.

        Parameters
        ----------
        type : {"pearson", "deviance"}, default="pearson"

        Returns
        -------
        sigma : ndarray of shape (n_train,)
            NaN for rows of zero weight and, with a warning naming them, rows
            where the update is negative (possible for a penalized or
            non-Gaussian fit: a row with a large residual and leverage).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceLinearRegression().fit(X, y)
        >>> model.sigma_loo().shape
        (442,)
        """
        return Residuals(self).sigma_loo(type)

    @labelled("dffits")
    def dffits(self):
        """DFFITS: the change of the row's own fitted value when it is left out, in
        standard errors (Belsley, Kuh & Welsch 1980; R ``dffits``).

        ``r_i √h_i / (σ₍ᵢ₎ (1 − h_i))`` with ``r_i`` the Pearson residual
        (``σ₍ᵢ₎ = 1`` for a fixed dispersion). For least squares this is
        ``√s_i x_iᵀ (θ̂ − θ̂₍ᵢ₎) / (σ₍ᵢ₎ √h_i)`` exactly.

        Returns
        -------
        dffits : ndarray of shape (n_train,)
            NaN for rows of zero weight and, with a warning, where σ₍ᵢ₎ is
            undefined (see :meth:`sigma_loo`).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceLinearRegression().fit(X, y)
        >>> model.dffits().shape
        (442,)
        """
        return Residuals(self).dffits()

    @labelled("covratio")
    def covratio(self):
        """COVRATIO: how removing the row changes the determinant of the
        parameters' covariance (Belsley, Kuh & Welsch 1980; R ``covratio``).

        ``1 / ((1 − h_i) ((n − p − 1 + t_i²)/(n − p))^p)`` with ``t_i`` the external
        studentized residual; for least squares ``(σ₍ᵢ₎/σ)^{2p} / (1 − h_i)``.
        Above 1: the row sharpens the estimates; below 1: it blurs them.

        Returns
        -------
        covratio : ndarray of shape (n_train,)
            NaN for rows of zero weight and, with a warning, where σ₍ᵢ₎ is
            undefined (see :meth:`sigma_loo`).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceLinearRegression().fit(X, y)
        >>> bool((model.covratio() > 0).all())
        True
        """
        return Residuals(self).covratio()

    @labelled("press_residuals")
    def press_residuals(self):
        """PRESS residuals: ``y_i`` minus the prediction of the least-squares fit
        without row ``i``, exactly (with weights, a ridge penalty, a penalty
        that scales with the rows as SGD's, and from a fit that stopped short of
        its minimum); ``e_i / (1 − h_i)`` for a converged fit whose penalty does
        not change when a row is removed.

        Least squares only (a Gaussian loss): for other losses the
        leave-one-out prediction error is not a residual over ``1 − h_i``; use
        :meth:`loo_loss_change`. Rows of zero weight get their residual (the
        fit without them is the same fit).

        Returns
        -------
        residuals : ndarray of shape (n_train,)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from sklearn.linear_model import LinearRegression
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceLinearRegression().fit(X, y)
        >>> refit = LinearRegression().fit(X[1:], y[1:])
        >>> bool(abs(model.press_residuals()[0] - (y[0] - refit.predict(X[:1])[0])) < 1e-8)
        True
        """
        fitted = self.influence_state()
        loss = objective_of(self, "PRESS residuals").loss
        if loss.dispersion_kind != "gaussian" or fitted.objective.n_outputs != 1:
            raise NotImplementedError(
                f"{type(self).__name__}: PRESS residuals are least-squares "
                f"leave-one-out residuals and {type(loss).__name__} with "
                f"{fitted.objective.n_outputs} output(s) is not a single-output "
                "squared error. Use loo_loss_change() instead."
            )
        # the prediction at row i of the Newton leave-one-out fit θ* + Δ_i, exact
        # for squared error (also when the penalty scales with the rows, SGD)
        objective, loo = fitted.objective, fitted.loo()
        center = fitted.theta + fitted.stationarity.newton_step
        J = objective.row_jacobian(np.arange(fitted.n_samples))[:, 0, :]
        raw = J @ center + np.einsum("ip,ip->i", J, loo.changes)
        return objective.Y[:, 0] - raw

    def press_statistic(self):
        """PRESS, ``Σ_i s_i (e_i / (1 − h_i))²``: the weighted sum of squared
        :meth:`press_residuals` (Allen 1974), the leave-one-out squared error.

        Returns
        -------
        press : float

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> press = InfluenceRidge(alpha=0.1).fit(X, y).press_statistic()
        >>> round(press / len(y))  # leave-one-out mean squared error
        3005
        """
        s = self.influence_state().objective.sample_weight
        return float(s @ self.press_residuals() ** 2)

    @validated(
        {
            "alpha": [Interval(Real, 0, 1, closed="neither")],
            "method": [StrOptions({"bonferroni", "sidak", "holm", "fdr_bh"})],
        }
    )
    @computed_with_arrays
    def outlier_test(self, alpha=0.05, method="bonferroni"):
        """Test each row for being an outlier with its external studentized residual.

        Two-sided p-values from Student's t with ``n − p − 1`` degrees of
        freedom where the dispersion is estimated (least squares, Gamma,
        Tweedie), the standard normal where it is fixed (logistic, Poisson),
        adjusted for testing every row (statsmodels' ``outlier_test``; R's
        ``car::outlierTest``).

        Parameters
        ----------
        alpha : float, default=0.05
            Family-wise error rate (false discovery rate for ``"fdr_bh"``) of
            the ``outlier`` column.
        method : {"bonferroni", "sidak", "holm", "fdr_bh"}, default="bonferroni"

        Returns
        -------
        table : pandas.DataFrame
            One row per training row with weight, indexed by the training
            labels, columns ``student_resid``, ``unadj_p``, ``"<method>(p)"`` and
            ``outlier`` (adjusted p-value below ``alpha``).

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> table = InfluenceLinearRegression().fit(X, y).outlier_test()
        >>> list(table.columns)
        ['student_resid', 'unadj_p', 'bonferroni(p)', 'outlier']
        >>> int(table["outlier"].sum())
        0
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
        if method not in MULTIPLE_TESTS:
            raise ValueError(f"method must be one of {MULTIPLE_TESTS}, got {method!r}.")
        pd = _pandas()
        res = Residuals(self)
        t = res.studentized("external", "pearson")[res.weighted]
        dist = stats.t(res.dof - 1) if res.estimated else stats.norm
        unadjusted = 2.0 * dist.sf(np.abs(t))
        adjusted = adjust_pvalues(unadjusted, method)
        return pd.DataFrame(
            {
                "student_resid": t,
                "unadj_p": unadjusted,
                f"{method}(p)": adjusted,
                "outlier": adjusted < alpha,
            },
            index=self._row_index(res.weighted),
        )

    def _row_index(self, mask):
        labels = self.influence_state().data.labels()
        index = labels if hasattr(labels, "name") else _pandas().Index(labels)
        return index[mask]

    @computed_with_arrays
    def summary_frame(self):
        """Every classical diagnostic in one table, with R's "influential" flags.

        One row per training row with weight (R drops zero-weight rows),
        indexed by the training data's labels (a DataFrame's index, else
        positions). Columns, in R's ``influence.measures`` order:

        - ``dfb_<name>``: :meth:`dfbetas` per parameter, named by the feature
          (``intercept`` last);
        - ``dffits``, ``covratio``, ``cooks_d`` (:meth:`cooks_distance`),
          ``hat`` (:meth:`leverage`);
        - ``student_resid_internal``, ``student_resid_external`` (Pearson,
          :meth:`studentized_residuals`);
        - R's ``is.inf`` flags with R's thresholds for ``n`` rows with ``h > 0``
          and ``p`` identified parameters: ``inf_dfb_<name>`` (``|DFBETAS| >
          1``), ``inf_dffits`` (``|DFFITS| > 3√(p/(n − p))``), ``inf_covratio``
          (``|1 − COVRATIO| > 3p/(n − p)``), ``inf_cooks_d`` (the F(p, n − p)
          CDF of Cook's distance above 0.5), ``inf_hat`` (``h > 3p/n``), and
          ``influential``, any of them (R's ``*``).

        Returns
        -------
        frame : pandas.DataFrame

        Examples
        --------
        >>> import pandas as pd
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
        >>> frame = InfluenceLinearRegression().fit(X, y).summary_frame()
        >>> list(frame.columns[:3])
        ['dfb_age', 'dfb_sex', 'dfb_bmi']
        >>> int(frame["influential"].sum())  # flagged by at least one of R's rules
        31
        """
        pd = _pandas()
        res = Residuals(self)
        dfbetas = self.dfbetas()
        names = param_names(self.influence_state().adapter.estimator, dfbetas.shape[1])
        columns = {f"dfb_{name}": dfbetas[:, j] for j, name in enumerate(names)}
        columns.update(
            dffits=res.dffits(),
            covratio=res.covratio(),
            cooks_d=self.cooks_distance(),
            hat=res.hat,
            student_resid_internal=res.studentized("internal", "pearson"),
            student_resid_external=res.studentized("external", "pearson"),
        )
        frame = pd.DataFrame(columns)[res.weighted]
        frame.index = self._row_index(res.weighted)
        n, p = int(np.count_nonzero(frame["hat"] > 0)), res.p
        if n <= p:
            raise ValueError(
                f"Too few rows with leverage > 0 ({n}) for {p} parameters."
            )
        cut = flag_thresholds(n, p)
        flags = {f"inf_dfb_{name}": frame[f"dfb_{name}"].abs() > 1 for name in names}
        flags["inf_dffits"] = frame["dffits"].abs() > cut["dffits"]
        flags["inf_covratio"] = (1 - frame["covratio"]).abs() > cut["covratio"]
        flags["inf_cooks_d"] = frame["cooks_d"] > cut["cooks_d"]
        flags["inf_hat"] = frame["hat"] > cut["hat"]
        flags = pd.DataFrame(flags)
        frame = pd.concat([frame, flags], axis=1)
        frame["influential"] = flags.any(axis=1)
        return frame
