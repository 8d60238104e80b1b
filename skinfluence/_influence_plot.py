"""The regression-diagnostics displays: the influence plot and index plots.

Both follow scikit-learn's Display API: ``from_estimator`` computes the numbers
from a fitted influence estimator, ``plot(ax=None, **kwargs)`` draws them and
returns ``self`` with ``ax_`` and ``figure_`` set (matplotlib imported lazily).
Thresholds are R's ``influence.measures`` cut-offs (:mod:`._classical`).
"""

import numpy as np
from scipy import stats

from ._classical import Residuals, flag_thresholds
from ._frames import param_names


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _largest(values, k):
    """Positions of the ``k`` largest finite values, largest first."""
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(values[finite])[::-1]]
    return order[: max(int(k), 0)]


class InfluencePlotDisplay:
    """Studentized residuals against leverage, marker area ∝ Cook's distance.

    The plot of R's ``car::influencePlot``: rows far right have high leverage,
    rows far up or down are poorly fitted, and large markers move the fit. Lines
    at studentized residuals ±2 and 0 and at leverage ``2p/n`` and ``3p/n`` (R's
    flag); the rows with the largest Cook's distances are annotated with their
    training labels. Create it with :meth:`from_estimator`.

    Parameters
    ----------
    leverage, studentized_residuals, cooks_distance : array-like of shape (n,)
    labels : array-like of shape (n,)
        Row labels (the training DataFrame's index, else positions).
    n_params : int
        Identified parameters ``p``.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
    annotations_ : list of matplotlib Annotation
    lines_ : list of matplotlib Line2D
        The threshold lines.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceLinearRegression, InfluencePlotDisplay
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> model = InfluenceLinearRegression().fit(X, y)
    >>> disp = InfluencePlotDisplay.from_estimator(model, n_labels=2)
    >>> [a.get_text() for a in disp.annotations_]
    ['382', '123']
    """

    def __init__(
        self, leverage, studentized_residuals, cooks_distance, labels, n_params
    ):
        self.leverage = leverage
        self.studentized_residuals = studentized_residuals
        self.cooks_distance = cooks_distance
        self.labels = labels
        self.n_params = n_params

    def plot(self, ax=None, *, n_labels=3, max_area=600.0, **kwargs):
        """Draw the bubbles, the threshold lines and the labels.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        n_labels : int, default=3
            Annotate this many rows with the largest Cook's distance.
        max_area : float, default=600.0
            Marker area (points²) of the largest Cook's distance.
        **kwargs : dict
            Passed to ``ax.scatter``.

        Returns
        -------
        self : InfluencePlotDisplay
        """
        h = np.asarray(self.leverage, dtype=float)
        t = np.asarray(self.studentized_residuals, dtype=float)
        cook = np.asarray(self.cooks_distance, dtype=float)
        labels = np.asarray(self.labels)
        if not (h.shape == t.shape == cook.shape == labels.shape) or h.ndim != 1:
            raise ValueError(
                f"leverage {h.shape}, studentized_residuals {t.shape}, "
                f"cooks_distance {cook.shape} and labels {labels.shape} must be "
                "1-d of the same length."
            )
        ax = _axes(ax)
        top = np.nanmax(cook) if np.any(np.isfinite(cook)) else 0.0
        area = max_area * cook / top if top > 0 else np.full_like(cook, 20.0)
        style = {"alpha": 0.5, "edgecolors": "k", "linewidths": 0.5, **kwargs}
        self.scatter_ = ax.scatter(h, t, s=area, **style)
        n = int(np.count_nonzero(np.isfinite(t)))
        p = self.n_params
        self.lines_ = [
            ax.axhline(v, color="grey", ls=ls, lw=1)
            for v, ls in [(-2, "--"), (0, ":"), (2, "--")]
        ]
        self.lines_ += [
            ax.axvline(c * p / n, color="grey", ls=ls, lw=1)
            for c, ls in [(2, ":"), (3, "--")]
        ]
        self.annotations_ = [
            ax.annotate(
                str(labels[i]), (h[i], t[i]), xytext=(4, 4), textcoords="offset points"
            )
            for i in _largest(cook, n_labels)
        ]
        ax.set_xlabel("leverage (hat value)")
        ax.set_ylabel("studentized residual")
        ax.set_title("Influence plot (area ∝ Cook's distance)")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        kind="external",
        type="pearson",
        ax=None,
        n_labels=3,
        **kwargs,
    ):
        """Compute the diagnostics of a fitted influence estimator and plot them.

        Parameters
        ----------
        estimator : fitted ``Influence*`` estimator (single-output likelihood)
        kind, type : str
            Passed to :meth:`~skinfluence.InfluenceMixin.studentized_residuals`.
        ax : matplotlib Axes, default=None
        n_labels : int, default=3
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : InfluencePlotDisplay
        """
        residuals = Residuals(estimator)
        disp = cls(
            residuals.hat,
            residuals.studentized(kind, type),
            estimator.cooks_distance(),
            np.asarray(estimator.influence_state().data.labels()),
            residuals.p,
        )
        return disp.plot(ax=ax, n_labels=n_labels, **kwargs)


#: measure → (method, two-sided, threshold from R's cut-offs for n rows, p params)
MEASURES = {
    "cooks_distance": ("cooks_distance", False, lambda cut: cut["cooks_d"]),
    "leverage": ("leverage", False, lambda cut: cut["hat"]),
    "dffits": ("dffits", True, lambda cut: cut["dffits"]),
    "covratio": ("covratio", True, lambda cut: cut["covratio"]),
    "dfbetas": ("dfbetas", True, lambda cut: cut["dfbetas"]),
    "studentized_residuals": ("studentized_residuals", True, None),
}


class DiagnosticIndexDisplay:
    """One diagnostic against the row index, with its threshold.

    Thresholds are R's ``influence.measures`` flags: Cook's distance above the
    median of F(p, n − p), leverage above ``3p/n``, ``|DFFITS| > 3√(p/(n −
    p))``, ``|COVRATIO − 1| > 3p/(n − p)`` (lines at ``1 ± 3p/(n − p)``),
    ``|DFBETAS| > 1``; for studentized residuals the Bonferroni outlier cut-off
    at level 0.05 of :meth:`~skinfluence.InfluenceMixin.outlier_test`. Rows
    beyond the threshold are annotated with their labels (at most ``n_labels``,
    the most extreme first).

    Parameters
    ----------
    values : array-like of shape (n,)
    labels : array-like of shape (n,)
    measure : str
    thresholds : list of float
        Values at which horizontal lines are drawn.
    center : float
        Value from which "extreme" is measured (1 for COVRATIO, else 0).

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        ``lines_[0]`` the stems, then the thresholds.
    annotations_ : list of matplotlib Annotation
    flagged_ : ndarray of bool
        Rows beyond a threshold.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import DiagnosticIndexDisplay, InfluenceLinearRegression
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> model = InfluenceLinearRegression().fit(X, y)
    >>> disp = DiagnosticIndexDisplay.from_estimator(model, "leverage")
    >>> int(disp.flagged_.sum())  # R's hat flag: h > 3p/n
    7
    """

    def __init__(self, values, labels, measure, thresholds, center=0.0):
        self.values = values
        self.labels = labels
        self.measure = measure
        self.thresholds = thresholds
        self.center = center

    def plot(self, ax=None, *, n_labels=5, **kwargs):
        """Draw the stems, the threshold lines and the labels of flagged rows.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        n_labels : int, default=5
        **kwargs : dict
            Passed to ``ax.vlines`` (the stems).

        Returns
        -------
        self : DiagnosticIndexDisplay
        """
        v = np.asarray(self.values, dtype=float)
        labels = np.asarray(self.labels)
        if v.ndim != 1 or labels.shape != v.shape:
            raise ValueError(
                f"values {v.shape} and labels {labels.shape} must be 1-d of the "
                "same length."
            )
        ax = _axes(ax)
        x = np.arange(v.size)
        self.lines_ = [ax.vlines(x, self.center, v, **{"lw": 1, **kwargs})]
        self.lines_ += [
            ax.axhline(c, color="C3", ls="--", lw=1) for c in self.thresholds
        ]
        upper = [c for c in self.thresholds if c >= self.center]
        lower = [c for c in self.thresholds if c < self.center]
        with np.errstate(invalid="ignore"):
            self.flagged_ = np.zeros(v.size, dtype=bool)
            if upper:
                self.flagged_ |= v > min(upper)
            if lower:
                self.flagged_ |= v < max(lower)
        distance = np.where(self.flagged_, np.abs(v - self.center), np.nan)
        self.annotations_ = [
            ax.annotate(
                str(labels[i]), (x[i], v[i]), xytext=(2, 2), textcoords="offset points"
            )
            for i in _largest(distance, min(n_labels, self.flagged_.sum()))
        ]
        ax.set_xlabel("training row")
        ax.set_ylabel(self.measure)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        measure="cooks_distance",
        *,
        parameter=None,
        ax=None,
        n_labels=5,
        **kwargs,
    ):
        """Compute one diagnostic of a fitted influence estimator and plot it.

        Parameters
        ----------
        estimator : fitted ``Influence*`` estimator (single-output likelihood)
        measure : {"cooks_distance", "leverage", "dffits", "covratio", \
"dfbetas", "studentized_residuals"}, default="cooks_distance"
        parameter : int or str, default=None
            For ``"dfbetas"``: the parameter's position in ``θ`` or its name
            (a feature name or ``"intercept"``, as in ``summary_frame``).
        ax : matplotlib Axes, default=None
        n_labels : int, default=5
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : DiagnosticIndexDisplay
        """
        if measure not in MEASURES:
            raise ValueError(
                f"measure must be one of {list(MEASURES)}, got {measure!r}."
            )
        residuals = Residuals(estimator)
        n = int(np.count_nonzero(residuals.hat > 0))
        p = residuals.p
        method, two_sided, cut = MEASURES[measure]
        values = getattr(estimator, method)()
        name = measure
        if measure == "dfbetas":
            values, name = cls._one_parameter(estimator, values, parameter)
        if cut is None:  # Bonferroni outlier cut-off at 0.05
            dist = stats.t(residuals.dof - 1) if residuals.estimated else stats.norm
            limit = dist.isf(0.05 / (2 * n))
        else:
            limit = cut(flag_thresholds(n, p))
        center = 1.0 if measure == "covratio" else 0.0
        thresholds = [center - limit, center + limit] if two_sided else [limit]
        values = np.where(residuals.weighted, values, np.nan)
        labels = np.asarray(estimator.influence_state().data.labels())
        disp = cls(values, labels, name, thresholds, center)
        return disp.plot(ax=ax, n_labels=n_labels, **kwargs)

    @staticmethod
    def _one_parameter(estimator, dfbetas, parameter):
        last = estimator.influence_state().adapter.estimator
        names = param_names(last, dfbetas.shape[1])
        if parameter is None:
            raise ValueError(f"dfbetas needs parameter=, one of {names} or a position.")
        if isinstance(parameter, str):
            if parameter not in names:
                raise ValueError(f"parameter {parameter!r} is not one of {names}.")
            j = names.index(parameter)
        else:
            j = int(parameter)
            if not 0 <= j < len(names):
                raise ValueError(f"parameter must be in [0, {len(names)}), got {j}.")
        return dfbetas[:, j], f"DFBETAS {names[j]}"
