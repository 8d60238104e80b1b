"""Classical regression diagnostics on the same factored Hessian.

With ``A = S H`` the sum-form Hessian, ``Δ_i`` the change of the parameters when
row ``i`` is left out (one exact Newton step, see :mod:`skinfluence._removal`),
``p`` the number of identified parameters and ``φ`` the dispersion (1 for
log-losses; for squared error ``2σ̂²``, twice the residual variance because the
loss has no factor ½), the textbook definitions read

- leverage ``h_ii = trace(D_i J_i A⁻¹ J_iᵀ)``, the generalized hat value (Pregibon
  1981 for logistic regression; the usual hat value for least squares);
- Cook's distance ``Δ_iᵀ A Δ_i / (p φ)`` (Cook 1977), which for least squares is
  ``r_i² h_ii / (p σ̂² (1 − h_ii)²)``;
- DFBETA ``θ̂ − θ̂₍ᵢ₎ = −Δ_i`` and DFBETAS, DFBETA over the standard error
  ``sqrt(φ₍ᵢ₎ diag(A⁻¹))`` (Belsley, Kuh & Welsch 1980), with the deleted
  dispersion ``φ₍ᵢ₎`` for least squares and ``φ`` otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from ._classical import objective_of, undefined_where_negative
from ._constraints import Result, validated
from ._frames import labelled
from ._removal import group_newton_step
from ._residual_diagnostics import ClassicalDiagnosticsMixin


class DiagnosticsMixin(ClassicalDiagnosticsMixin):
    """Leverage, Cook's distance, DFBETA(S) and self-influence for every row."""

    def _dispersion(self, fitted):
        """``φ`` and the residual degrees of freedom; refused where the loss is
        not a negative log-likelihood (no scale to divide by)."""
        objective = fitted.objective
        # observations: every output of every row with weight (independent
        # outputs each have their own residual); parameters: the identified ones
        n_obs = np.count_nonzero(objective.sample_weight) * objective.n_outputs
        dof = n_obs - self._n_identified(fitted)
        if dof <= 0 and objective.loss.dispersion_kind != "fixed":
            raise ValueError(
                f"{type(self).__name__}: the dispersion is estimated from the "
                f"residuals, which needs more rows with positive weight ({n_obs} "
                f"observations) than identified parameters ({n_obs - dof}): no "
                "residual degree of freedom is left. Use dfbeta() or "
                "loo_params_change(), which need no dispersion."
            )
        phi = objective.dispersion(fitted.theta, max(dof, 1))
        if phi is None:
            raise NotImplementedError(
                f"{type(self).__name__}: Cook's distance and DFBETAS measure a change "
                "in units of the dispersion of a likelihood, and "
                f"{type(objective.loss).__name__} is not a negative log-likelihood "
                "(no dispersion). Use dfbeta() or loo_params_change() instead."
            )
        return phi, dof

    def _n_identified(self, fitted):
        """Parameters the data identify: the Hessian's rank less the coordinates
        an L1 active set freezes at zero (the lasso's degrees of freedom)."""
        return fitted.solver.rank - fitted.objective.n_frozen

    @labelled("leverage")
    def leverage(self) -> Result:
        """Generalized hat values ``h_ii`` of the training rows.

        For least squares the diagonal of ``X (XᵀWX + Λ)⁻¹ XᵀW``; for logistic
        regression Pregibon's ``s_i p_i (1 − p_i) x̃_iᵀ A⁻¹ x̃_i``; for the
        multinomial model the trace of the row's block of the hat matrix. The
        penalty is included in ``A``.

        Returns
        -------
        leverage : ndarray of shape (n_train,)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceLinearRegression
        >>> X, y = load_diabetes(return_X_y=True)
        >>> h = InfluenceLinearRegression().fit(X, y).leverage()
        >>> round(float(h.sum()), 6)  # trace of the hat matrix = number of parameters
        11.0
        """
        return self.influence_state().leverage().copy()

    @validated({"groups": ["array-like", None]})
    @labelled("dfbeta")
    def dfbeta(self, groups: ArrayLike | None = None) -> Result:
        """DFBETA: ``θ̂ − θ̂₍ᵢ₎`` for every training row (classical sign).

        ``θ̂₍ᵢ₎`` is one exact Newton step without row ``i`` from the converged
        fit, exact for least squares (statsmodels' ``dfbeta``/``d_params``). This
        is ``-loo_params_change("newton")``.

        Parameters
        ----------
        groups : array-like of shape (n_train,), default=None
            Group label of every training row (patients, clusters): then
            ``θ̂ − θ̂₍G₎`` for removing each whole group ``G`` at once, by one
            Newton step with the group's rows downdated from the factored
            Hessian (a block Woodbury update): exact for least squares. Groups
            in the order of ``numpy.unique(groups)``.

        Returns
        -------
        dfbeta : ndarray of shape (n_train, n_params) or (n_groups, n_params)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.dfbeta().shape
        (442, 11)
        >>> model.dfbeta(groups=X[:, 1] > 0).shape  # removing each sex in turn
        (2, 11)
        """
        if groups is not None:
            return -self._group_changes(groups)
        return -self.influence_state().loo().changes

    def _group_changes(self, groups):
        """``θ̂₍G₎ − θ*`` of every group (``θ* = θ̂ + newton_step_``), (G, p);
        NaN for a group whose removal leaves no Newton step."""
        fitted = self.influence_state()
        objective_of(self, "group diagnostics", rows=False)
        groups = np.asarray(groups)
        if groups.ndim != 1 or groups.shape[0] != fitted.n_samples:
            raise ValueError(
                f"groups must have one label per training row ({fitted.n_samples}), "
                f"got shape {groups.shape}."
            )
        _, inverse = np.unique(groups, return_inverse=True)
        changes = np.empty((inverse.max() + 1, fitted.n_params))
        for g in range(changes.shape[0]):
            try:
                step = group_newton_step(fitted, np.flatnonzero(inverse == g))
            except ValueError:
                step = np.full(fitted.n_params, np.nan)
            changes[g] = step - fitted.stationarity.newton_step
        if np.isnan(changes).any():
            warnings.warn(
                "Removing some groups leaves the objective without curvature along "
                "a direction its gradient points in: their DFBETA and Cook's "
                "distance are NaN.",
                UserWarning,
                stacklevel=3,
            )
        return changes

    @labelled("dfbetas")
    def dfbetas(self) -> Result:
        """DFBETAS: DFBETA divided by the parameters' standard errors.

        The standard error is ``sqrt(φ₍ᵢ₎ diag(A⁻¹))``, with the dispersion of
        the fit without row ``i`` for least squares and ``φ = 1`` for log-losses.

        Returns
        -------
        dfbetas : ndarray of shape (n_train, n_params)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> model.dfbetas().shape
        (442, 11)
        """
        fitted = self.influence_state()
        objective = fitted.objective
        loo = fitted.loo()
        _, dof = self._dispersion(fitted)
        if objective.loss.dispersion_kind == "gaussian" and dof <= objective.n_outputs:
            raise ValueError(
                "DFBETAS divide by the residual scale without each row, which "
                f"needs more than {dof + objective.n_outputs} observations with "
                f"weight for {dof} residual degree(s) of freedom."
            )
        # standard errors need diag(A⁻¹): p solves with unit vectors (p is small)
        inv_diag = np.diag(fitted.solve(np.eye(objective.n_params)))
        inv_diag = inv_diag / objective.weight_sum
        flat = ~(inv_diag > 0)  # the minimum-norm inverse is 0 along a flat direction
        if flat.any():
            warnings.warn(
                f"{type(self).__name__}: DFBETAS of parameter(s) "
                f"{np.flatnonzero(flat).tolist()} are NaN: the Hessian is singular "
                "along them (the data do not identify them), so they have no "
                "standard error to divide by. Their dfbeta() is defined.",
                UserWarning,
                stacklevel=3,
            )
            inv_diag = np.where(flat, np.nan, inv_diag)
        phi = objective.deleted_dispersion(fitted.theta, dof, loo.output_leverage)
        phi = undefined_where_negative(type(self).__name__, phi, "φ₍ᵢ₎ of DFBETAS")
        return -loo.changes / np.sqrt(phi[:, None] * inv_diag)

    @validated({"groups": ["array-like", None]})
    @labelled("cooks_distance")
    def cooks_distance(self, groups: ArrayLike | None = None) -> Result:
        """Cook's distance ``Δ_iᵀ A Δ_i / (p φ)`` of every training row.

        Parameters
        ----------
        groups : array-like of shape (n_train,), default=None
            Group label of every training row: then the distance of removing
            each whole group at once (``Δ_G`` from :meth:`dfbeta` with
            ``groups``; exact for least squares, where it equals the refit
            without the group). Groups in the order of ``numpy.unique(groups)``.

        Returns
        -------
        distance : ndarray of shape (n_train,) or (n_groups,)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> bool((model.cooks_distance() >= 0).all())
        True
        """
        fitted = self.influence_state()
        phi, _ = self._dispersion(fitted)
        if groups is None:
            quadratic = fitted.loo().quadratic
        else:
            C = self._group_changes(groups)
            S = fitted.objective.weight_sum
            quadratic = S * np.einsum("gp,pg->g", C, fitted.solver.multiply(C.T))
        return quadratic / (self._n_identified(fitted) * phi)

    @labelled("self_influence")
    def self_influence(self) -> Result:
        """``I_up,loss(z_i, z_i)`` for every training row.

        How much up-weighting a row raises its own loss: always ``≤ 0`` when the
        penalty does not scale with the weights (``-g_iᵀ H⁻¹ g_i``); rows with the
        most negative values are the ones the model bends furthest to fit. For a
        binary linear model ``g_i`` is a residual times the features, so this is the
        squared residual times a leverage-like factor ``x̃_iᵀ H⁻¹ x̃_i``, and it
        also ranks high correctly labelled rows far out in feature space.

        It is not a better ranking of label errors than the plain training loss
        (Koh & Liang, section 5.4, suggest it is): with flipped labels on four
        scikit-learn datasets (breast_cancer, wine, digits, digits 3 vs 5) at
        5/10/20 % and logistic regression, ranking by training loss had the
        higher mean average precision in 11 of 12 cells (the twelfth, digits at
        5 %, is a tie: self-influence +0.005, ahead on 2 of 5 seeds; on
        breast_cancer it is 0.07-0.11 behind); see ``benchmarks/MISLABELS.md``.

        Returns
        -------
        self_influence : ndarray of shape (n_train,)

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skinfluence import InfluenceRidge
        >>> X, y = load_diabetes(return_X_y=True)
        >>> model = InfluenceRidge(alpha=0.1).fit(X, y)
        >>> bool((model.self_influence() <= 0).all())
        True
        """
        return self.influence_state().self_influence()
