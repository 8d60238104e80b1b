"""Displays in the style of scikit-learn's Display API (matplotlib imported lazily).

Each display stores the numbers it shows, ``plot(ax=None)`` draws them and
returns ``self`` with ``ax_`` and ``figure_`` set, and ``from_estimator``
computes the numbers from a fitted influence estimator first.
"""

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.utils.validation import check_array

from ._validation import loo_refit


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


def _test_point(X_test, y_test):
    X = check_array(X_test, accept_sparse="csr", dtype=np.float64, ensure_2d=False)
    X = X.reshape(1, -1) if X.ndim == 1 else X
    y = np.asarray(y_test)
    y = y.reshape(1) if y.ndim == 0 else y
    if X.shape[0] != 1 or y.shape[0] != 1:
        raise ValueError(
            f"expected one test row, got X_test of shape {X.shape} and y_test of "
            f"shape {y.shape}."
        )
    return X, y


def _removal_scale(estimator):
    """``s_i / S`` for each training row: removing row ``i`` is ``ε = -s_i/S``."""
    return estimator.influence_state().removal_shares()


class LeaveOneOutDisplay:
    """Predicted against actual change of one test loss when each row is removed.

    Koh & Liang (2017), figure 2. Create it with :meth:`from_estimator` (which
    runs the exact refits) or :meth:`from_predictions`.

    Parameters
    ----------
    predicted : array-like of shape (n_removed,)
        First-order predictions ``-(s_i/S) influence_loss[0, i]``.
    actual : array-like of shape (n_removed,)
        The change measured by refitting without row ``i``.

    Attributes
    ----------
    pearson_, spearman_ : float
        Correlations between ``predicted`` and ``actual``.
    scatter_ : matplotlib PathCollection
    line_ : matplotlib Line2D
        The diagonal ``actual = predicted``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skinfluence import LeaveOneOutDisplay
    >>> disp = LeaveOneOutDisplay.from_predictions([0.1, 0.2, 0.4], [0.2, 0.4, 0.8])
    >>> round(disp.pearson_, 6)  # exactly proportional
    1.0
    """

    def __init__(self, predicted, actual):
        self.predicted = predicted
        self.actual = actual

    def plot(self, ax=None):
        """Draw the scatter, the diagonal and the correlations in the legend.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        self : LeaveOneOutDisplay
        """
        ax = _axes(ax)
        p, a = np.asarray(self.predicted, float), np.asarray(self.actual, float)
        if p.shape != a.shape or p.ndim != 1:
            raise ValueError(f"predicted {p.shape} and actual {a.shape} must match.")
        self.pearson_ = float(pearsonr(p, a)[0])
        self.spearman_ = float(spearmanr(p, a)[0])
        label = f"Pearson {self.pearson_:.3f}, Spearman {self.spearman_:.3f}"
        self.scatter_ = ax.scatter(p, a, s=12, alpha=0.7, label=label)
        lo, hi = min(p.min(), a.min()), max(p.max(), a.max())
        (self.line_,) = ax.plot(
            [lo, hi], [lo, hi], "k--", lw=1, label="actual = predicted"
        )
        ax.set_xlabel("predicted change of test loss (influence)")
        ax.set_ylabel("actual change of test loss (refit)")
        ax.set_title("Removing one training row")
        ax.legend(loc="upper left")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(cls, predicted, actual, *, ax=None):
        """Plot given predicted and actual changes.

        Parameters
        ----------
        predicted, actual : array-like of shape (n_removed,)
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LeaveOneOutDisplay
        """
        return cls(predicted, actual).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X_test,
        y_test,
        X_train,
        y_train,
        *,
        sample_weight=None,
        indices=None,
        n_jobs=None,
        ax=None,
    ):
        """Predict with influence, refit without each row, plot both.

        Parameters
        ----------
        estimator : fitted influence estimator
            Fitted on ``X_train, y_train`` (and ``sample_weight``). Refits use
            ``clone(estimator)``: give it a tight ``tol`` for exact ground truth.
        X_test : array-like of shape (1, n_features)
            One test row.
        y_test : array-like of shape (1,) or (1, n_targets)
        X_train, y_train, sample_weight
            The training data, as fitted.
        indices : array-like of int, default=None
            Rows to remove (one at a time); all by default.
        n_jobs : int, default=None
            Parallel refits (joblib).
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : LeaveOneOutDisplay
        """
        X, y = _test_point(X_test, y_test)
        n = estimator.influence_state().n_samples
        n_rows = X_train.shape[0] if hasattr(X_train, "shape") else len(X_train)
        if n_rows != n:
            raise ValueError(
                f"X_train has {n_rows} rows but {type(estimator).__name__} "
                f"was fitted on {n}: pass the data it was fitted on."
            )
        idx = np.arange(n) if indices is None else np.asarray(indices).ravel()
        influence = estimator.influence_loss(X, y)[0, idx]
        predicted = -_removal_scale(estimator)[idx] * influence
        params = loo_refit(
            estimator,
            X_train,
            y_train,
            sample_weight=sample_weight,
            indices=idx,
            n_jobs=n_jobs,
        )
        fitted = estimator.influence_state()
        X, Y = fitted.test_data(X, y)
        objective = fitted.objective
        base = objective.loss_values(fitted.theta, X, Y).sum()
        actual = np.array([objective.loss_values(t, X, Y).sum() - base for t in params])
        return cls(predicted, actual).plot(ax=ax)


class InfluenceIndexDisplay:
    """Index plot of one score per training row, with the top ``k`` marked.

    Typical scores: ``estimator.self_influence()`` (the default of
    :meth:`from_estimator`), or one row of ``influence_loss``.

    Parameters
    ----------
    scores : array-like of shape (n_train,)
    top_k : int, default=10
        How many rows with the largest ``|score|`` to mark.
    score_name : str, default="self-influence"
        Axis label.

    Attributes
    ----------
    top_indices_ : ndarray of shape (top_k,)
        The marked rows, largest ``|score|`` first.
    scatter_ : matplotlib PathCollection
        All rows.
    top_scatter_ : matplotlib PathCollection
        The marked rows.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skinfluence import InfluenceIndexDisplay
    >>> disp = InfluenceIndexDisplay([0.1, -3.0, 0.2, 1.5], top_k=2).plot()
    >>> disp.top_indices_.tolist()
    [1, 3]
    """

    def __init__(self, scores, *, top_k=10, score_name="self-influence"):
        self.scores = scores
        self.top_k = top_k
        self.score_name = score_name

    def plot(self, ax=None):
        """Draw the scores against the row index.

        Parameters
        ----------
        ax : matplotlib Axes, default=None

        Returns
        -------
        self : InfluenceIndexDisplay
        """
        ax = _axes(ax)
        scores = np.asarray(self.scores, dtype=float).ravel()
        k = min(int(self.top_k), scores.size)
        self.top_indices_ = np.argsort(-np.abs(scores), kind="stable")[:k]
        rows = np.arange(scores.size)
        self.scatter_ = ax.scatter(
            rows, scores, s=8, color="0.5", label="training rows"
        )
        self.top_scatter_ = ax.scatter(
            self.top_indices_,
            scores[self.top_indices_],
            s=40,
            facecolors="none",
            edgecolors="C3",
            label=f"top {k} by |{self.score_name}|",
        )
        ax.set_xlabel("training row")
        ax.set_ylabel(self.score_name)
        ax.set_title(f"{self.score_name} of each training row")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, top_k=10, ax=None):
        """Plot the ``self_influence()`` of each training row of ``estimator``.

        Parameters
        ----------
        estimator : fitted influence estimator
        top_k : int, default=10
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : InfluenceIndexDisplay
        """
        return cls(estimator.self_influence(), top_k=top_k).plot(ax=ax)


class TopInfluenceDisplay:
    """The most helpful and most harmful training rows for one test point.

    Parameters
    ----------
    influence : array-like of shape (n_train,)
        ``influence_loss(x_test, y_test)[0]``: positive = harmful row.
    n_top : int, default=5
        Rows shown on each side.
    labels : array-like of shape (n_train,), default=None
        Training targets, shown next to the row numbers.
    images : array-like of shape (n_train, n_features), default=None
        Training rows to draw as images (with ``image_shape``).
    image_shape : tuple of int, default=None
        Shape of one image, e.g. ``(8, 8)`` for scikit-learn's digits.

    Attributes
    ----------
    helpful_, harmful_ : ndarray of shape (n_top,)
        Rows with the most negative / most positive influence, strongest first.
    bars_ : matplotlib BarContainer
        Bar chart (when drawn without images).
    ax_ : matplotlib Axes, or ndarray of Axes of shape (2, n_top) with images
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skinfluence import TopInfluenceDisplay
    >>> disp = TopInfluenceDisplay([0.5, -2.0, 0.1, 3.0], n_top=1).plot()
    >>> disp.helpful_.tolist(), disp.harmful_.tolist()
    ([1], [3])
    """

    def __init__(
        self, influence, *, n_top=5, labels=None, images=None, image_shape=None
    ):
        self.influence = influence
        self.n_top = n_top
        self.labels = labels
        self.images = images
        self.image_shape = image_shape

    def _name(self, i):
        if self.labels is None:
            return f"row {i}"
        return f"row {i} (y={np.asarray(self.labels)[i]})"

    def plot(self, ax=None):
        """Draw a bar chart, or the rows as images when ``image_shape`` is set.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            For the bar chart. With images, ``None`` or an array of
            ``2 * n_top`` Axes (first row helpful, second harmful).

        Returns
        -------
        self : TopInfluenceDisplay
        """
        infl = np.asarray(self.influence, dtype=float).ravel()
        k = min(int(self.n_top), infl.size)
        order = np.argsort(infl, kind="stable")
        self.helpful_, self.harmful_ = order[:k], order[::-1][:k]
        if self.image_shape is None:
            return self._plot_bars(infl, ax)
        return self._plot_images(infl, ax)

    def _plot_bars(self, infl, ax):
        ax = _axes(ax)
        rows = np.concatenate([self.harmful_[::-1], self.helpful_])
        colors = ["C3"] * len(self.harmful_) + ["C0"] * len(self.helpful_)
        self.bars_ = ax.barh(np.arange(rows.size), infl[rows], color=colors)
        ax.set_yticks(np.arange(rows.size), [self._name(i) for i in rows])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("influence on the test loss (> 0: harmful, < 0: helpful)")
        ax.set_title("Most harmful (red) and most helpful (blue) training rows")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_images(self, infl, ax):
        import matplotlib.pyplot as plt

        if self.images is None:
            raise ValueError("image_shape is set but images is None.")
        k = len(self.helpful_)
        if ax is None:
            fig, ax = plt.subplots(2, k, figsize=(1.6 * k, 3.6), squeeze=False)
        ax = np.asarray(ax).reshape(2, k)
        images = np.asarray(self.images)
        for r, (title, rows) in enumerate(
            [("helpful", self.helpful_), ("harmful", self.harmful_)]
        ):
            for c, i in enumerate(rows):
                a = ax[r, c]
                a.imshow(images[i].reshape(self.image_shape), cmap="gray_r")
                a.set_xticks([])
                a.set_yticks([])
                a.set_title(f"{self._name(i)}\n{infl[i]:+.3g}", fontsize=8)
            ax[r, 0].set_ylabel(title)
        self.ax_, self.figure_ = ax, ax[0, 0].figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X_test, y_test, *, n_top=5, image_shape=None, ax=None
    ):
        """Compute the influence of every training row on one test loss and plot.

        Labels and images come from the estimator's training data.

        Parameters
        ----------
        estimator : fitted influence estimator
        X_test : array-like of shape (1, n_features)
        y_test : array-like of shape (1,) or (1, n_targets)
        n_top : int, default=5
        image_shape : tuple of int, default=None
            Draw the training rows as images of this shape.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : TopInfluenceDisplay
        """
        X, y = _test_point(X_test, y_test)
        influence = estimator.influence_loss(X, y)[0]
        images = None
        if image_shape is not None:
            images = estimator.influence_state().data.X
            images = images.toarray() if hasattr(images, "toarray") else images
        labels = estimator.influence_state().data.y
        labels = labels if np.ndim(labels) == 1 else None
        return cls(
            influence,
            n_top=n_top,
            labels=labels,
            images=images,
            image_shape=image_shape,
        ).plot(ax=ax)
