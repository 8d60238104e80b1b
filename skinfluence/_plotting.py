"""Displays in the style of scikit-learn's Display API (matplotlib imported lazily).

Each display stores the numbers it shows; ``plot(ax=None, **kwargs)`` draws
them (style keywords go to the main matplotlib artist) and returns ``self``
with ``ax_`` and ``figure_`` set; ``from_estimator`` computes the numbers from
a fitted influence estimator or pipeline (with the training data it holds)
and ``from_predictions`` plots numbers computed elsewhere. Training rows are
named by the user's labels: the index of a training DataFrame, positions
otherwise, the same labels as ``influence_frame``.
"""

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.pipeline import Pipeline
from sklearn.utils._optional_dependencies import check_matplotlib_support

from ._validation import loo_refit


def _axes(ax, caller):
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    if ax is None:  # a new figure makes room for long row labels
        _, ax = plt.subplots(layout="constrained")
    return ax


def _split(estimator):
    """The influence estimator at the end of ``estimator`` and the transform
    the test data go through to reach it (identity for a plain estimator)."""
    if isinstance(estimator, Pipeline):
        head = estimator[:-1] if len(estimator.steps) > 1 else None
        return estimator[-1], (lambda X: X) if head is None else head.transform
    return estimator, lambda X: X


def _training_rows(model):
    """Labels of the training rows, as ``influence_frame`` names them."""
    return np.asarray(model.influence_state().data.labels())


def _test_point(X_test, y_test):
    """One test row (a DataFrame row keeps its feature names), its target,
    and its name (the row's label when it has one, else ``None``)."""
    if hasattr(X_test, "to_frame") and not hasattr(X_test, "columns"):
        name = X_test.name  # a DataFrame row, e.g. ``X.loc[label]``
        X = X_test.to_frame().T.infer_objects()
    elif hasattr(X_test, "columns"):
        X, name = X_test, (X_test.index[0] if len(X_test.index) else None)
    elif hasattr(X_test, "toarray"):
        X, name = X_test, None
    else:
        X, name = np.asarray(X_test), None
        X = X.reshape(1, -1) if X.ndim == 1 else X
    y = np.asarray(y_test)
    y = y.reshape(1) if y.ndim == 0 else y
    if X.ndim != 2 or X.shape[0] != 1 or y.shape[0] != 1:
        raise ValueError(
            f"expected one test row, got X_test of shape {X.shape} and y_test of "
            f"shape {y.shape}."
        )
    return X, y, name


def _point(name):
    return "the test point" if name is None else f"test point {name}"


def _repr(obj, **fields):
    shown = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v is not None)
    return f"{type(obj).__name__}({shown})"


class LeaveOneOutDisplay:
    """Predicted against actual change of one test loss when each row is removed.

    Koh & Liang (2017), figure 2. Create it with :meth:`from_estimator` (which
    runs the exact refits on the training data the estimator holds) or
    :meth:`from_predictions`.

    Parameters
    ----------
    predicted : array-like of shape (n_removed,)
        First-order predictions ``-(s_i/S) influence_loss[0, i]``.
    actual : array-like of shape (n_removed,)
        The change measured by refitting without row ``i``.
    rows : array-like of shape (n_removed,), default=None
        Labels of the removed rows (the training DataFrame's index); positions
        ``0..n_removed-1`` when ``None``.
    test_name : str, default=None
        Name of the test point, shown in the title.

    Attributes
    ----------
    pearson_, spearman_ : float
        Correlations between ``predicted`` and ``actual``.
    scatter_ : matplotlib PathCollection
    line_ : matplotlib Line2D
        The diagonal ``actual = predicted``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    loo_refit : The refits behind ``actual``.

    Examples
    --------
    >>> from skinfluence import LeaveOneOutDisplay
    >>> disp = LeaveOneOutDisplay.from_predictions([0.1, 0.2, 0.4], [0.2, 0.4, 0.8])
    >>> round(disp.pearson_, 6)  # exactly proportional
    1.0
    """

    def __init__(self, predicted, actual, *, rows=None, test_name=None):
        self.predicted = predicted
        self.actual = actual
        self.rows = rows
        self.test_name = test_name

    def __repr__(self):
        return _repr(self, n_removed=len(self.actual), test_name=self.test_name)

    def plot(self, ax=None, **kwargs):
        """Draw the scatter, the diagonal and the correlations in the legend.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter`, e.g. ``color``.

        Returns
        -------
        self : LeaveOneOutDisplay
        """
        ax = _axes(ax, f"{type(self).__name__}.plot")
        p, a = np.asarray(self.predicted, float), np.asarray(self.actual, float)
        if p.shape != a.shape or p.ndim != 1:
            raise ValueError(f"predicted {p.shape} and actual {a.shape} must match.")
        self.pearson_ = float(pearsonr(p, a)[0])
        self.spearman_ = float(spearmanr(p, a)[0])
        label = f"Pearson {self.pearson_:.3f}, Spearman {self.spearman_:.3f}"
        style = {"s": 12, "alpha": 0.7, "label": label, **kwargs}
        self.scatter_ = ax.scatter(p, a, **style)
        lo, hi = min(p.min(), a.min()), max(p.max(), a.max())
        (self.line_,) = ax.plot(
            [lo, hi], [lo, hi], "k--", lw=1, label="actual = predicted"
        )
        ax.set_xlabel("predicted change of test loss (influence)")
        ax.set_ylabel("actual change of test loss (refit)")
        ax.set_title(f"Removing one training row: {_point(self.test_name)}")
        ax.legend(loc="upper left")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, predicted, actual, *, rows=None, test_name=None, ax=None, **kwargs
    ):
        """Plot given predicted and actual changes.

        Parameters
        ----------
        predicted, actual : array-like of shape (n_removed,)
        rows : array-like of shape (n_removed,), default=None
            Labels of the removed rows.
        test_name : str, default=None
            Name of the test point, shown in the title.
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LeaveOneOutDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        disp = cls(predicted, actual, rows=rows, test_name=test_name)
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X_test, y_test, *, indices=None, n_jobs=None, ax=None, **kwargs
    ):
        """Predict with influence, refit without each row, plot both.

        The refits use the training data ``estimator`` holds (as fitted, with
        its sample weights): ``clone(estimator).fit`` without one row at a time,
        so give it a tight ``tol`` for exact ground truth. For a pipeline the
        last step is refit on the transformed rows, the earlier steps held
        fixed, which is what the pipeline's influence describes.

        Parameters
        ----------
        estimator : fitted influence estimator or InfluencePipeline
        X_test : array-like of shape (1, n_features), or a DataFrame row
            One test row (``X.loc[[label]]``, ``X.loc[label]`` or an array).
        y_test : array-like of shape (1,) or (1, n_targets), or a scalar
        indices : array-like of int, default=None
            Positions of the rows to remove (one at a time); all by default.
        n_jobs : int, default=None
            Parallel refits (joblib).
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LeaveOneOutDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        X, y, name = _test_point(X_test, y_test)
        model, transform = _split(estimator)
        X = transform(X)
        fitted = model.influence_state()
        # before any refit: NotImplementedError for a model with no linear
        # objective (KernelRidge: use loo_loss_change and from_predictions)
        objective = fitted.objective
        data = fitted.data
        idx = np.arange(data.n_samples) if indices is None else np.ravel(indices)
        influence = model.influence_loss(X, y)[0, idx]
        predicted = -fitted.removal_shares()[idx] * influence
        params = loo_refit(
            model,
            data.X,
            data.y,
            sample_weight=data.sample_weight,
            indices=idx,
            n_jobs=n_jobs,
        )
        Xt, Y = fitted.test_data(X, y)
        base = objective.loss_values(fitted.theta, Xt, Y).sum()
        actual = np.array(
            [objective.loss_values(t, Xt, Y).sum() - base for t in params]
        )
        rows = _training_rows(model)[idx]
        disp = cls(predicted, actual, rows=rows, test_name=name)
        return disp.plot(ax=ax, **kwargs)


class InfluenceIndexDisplay:
    """Index plot of one score per training row, with the top ``k`` marked.

    Typical scores: ``estimator.self_influence()`` (the default of
    :meth:`from_estimator`), ``leverage()``, ``cooks_distance()``, or one row of
    ``influence_loss``. The x axis is the user's row label when the labels
    are numbers (a DataFrame's integer index, kept through
    ``train_test_split``), the position otherwise; the marked rows are
    annotated with their labels.

    Parameters
    ----------
    scores : array-like of shape (n_train,)
    rows : array-like of shape (n_train,), default=None
        Labels of the training rows; positions when ``None``.
    top_k : int, default=10
        How many rows with the largest ``|score|`` to mark.
    n_labeled : int, default=None
        How many of the marked rows (largest first) to annotate with their
        labels; all of them when ``None``.
    score_name : str, default="self-influence"
        Axis label.

    Attributes
    ----------
    top_indices_ : ndarray of shape (top_k,)
        Positions of the marked rows, largest ``|score|`` first.
    top_rows_ : ndarray of shape (top_k,)
        Their labels.
    scatter_ : matplotlib PathCollection
        All rows.
    top_scatter_ : matplotlib PathCollection
        The marked rows.
    annotations_ : list of matplotlib Annotation
        The labels of the marked rows.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from skinfluence import InfluenceIndexDisplay
    >>> disp = InfluenceIndexDisplay([0.1, -3.0, 0.2, 1.5], top_k=2).plot()
    >>> disp.top_indices_.tolist()
    [1, 3]
    """

    def __init__(
        self,
        scores,
        *,
        rows=None,
        top_k=10,
        n_labeled=None,
        score_name="self-influence",
    ):
        self.scores = scores
        self.rows = rows
        self.top_k = top_k
        self.n_labeled = n_labeled
        self.score_name = score_name

    def __repr__(self):
        return _repr(
            self, n_rows=len(self.scores), top_k=self.top_k, score_name=self.score_name
        )

    def plot(self, ax=None, **kwargs):
        """Draw the scores against the row labels.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter` for all rows.

        Returns
        -------
        self : InfluenceIndexDisplay
        """
        ax = _axes(ax, f"{type(self).__name__}.plot")
        scores = np.asarray(self.scores, dtype=float).ravel()
        rows = np.arange(scores.size) if self.rows is None else np.asarray(self.rows)
        if rows.shape != scores.shape:
            raise ValueError(f"rows {rows.shape} and scores {scores.shape} must match.")
        k = min(int(self.top_k), scores.size)
        self.top_indices_ = np.argsort(-np.abs(scores), kind="stable")[:k]
        self.top_rows_ = rows[self.top_indices_]
        numeric = rows.dtype.kind in "iufM"
        x = rows if numeric else np.arange(scores.size)
        style = {"s": 8, "color": "0.5", "label": "training rows", **kwargs}
        self.scatter_ = ax.scatter(x, scores, **style)
        top = self.top_indices_
        self.top_scatter_ = ax.scatter(
            x[top],
            scores[top],
            s=40,
            facecolors="none",
            edgecolors="C3",
            label=f"top {k} by |{self.score_name}|",
        )
        self.annotations_ = [
            ax.annotate(
                str(rows[i]),
                (x[i], scores[i]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
            )
            for i in top[: self.n_labeled]
        ]
        ax.set_xlabel("training row" if numeric else "training row (position)")
        ax.set_ylabel(self.score_name)
        # the circles are explained in the title: a legend would hide rows
        ax.set_title(
            f"{self.score_name} of each training row\n"
            f"(circled: the {k} largest |{self.score_name}|)"
        )
        ax.margins(y=0.08)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, scores, *, rows=None, top_k=10, score_name="score", ax=None, **kwargs
    ):
        """Plot scores computed elsewhere, e.g. one row of ``influence_loss``.

        Parameters
        ----------
        scores : array-like of shape (n_train,)
        rows : array-like of shape (n_train,), default=None
            Labels of the training rows.
        top_k : int, default=10
        score_name : str, default="score"
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter` for all rows.

        Returns
        -------
        display : InfluenceIndexDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        disp = cls(scores, rows=rows, top_k=top_k, score_name=score_name)
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, *, score="self_influence", top_k=10, ax=None, **kwargs
    ):
        """Plot a per-row score of the training rows ``estimator`` holds.

        Parameters
        ----------
        estimator : fitted influence estimator or InfluencePipeline
        score : {"self_influence", "leverage", "cooks_distance"}, \
                default="self_influence"
            The method of ``estimator`` giving one number per training row.
        top_k : int, default=10
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.scatter` for all rows.

        Returns
        -------
        display : InfluenceIndexDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        names = ("self_influence", "leverage", "cooks_distance")
        if score not in names:
            raise ValueError(f"score must be one of {names}, got {score!r}.")
        model, _ = _split(estimator)
        disp = cls(
            getattr(estimator, score)(),
            rows=_training_rows(model),
            top_k=top_k,
            score_name=score.replace("_", "-").replace("cooks-", "Cook's "),
        )
        return disp.plot(ax=ax, **kwargs)


class TopInfluenceDisplay:
    """The most helpful and most harmful training rows for one test point.

    Parameters
    ----------
    influence : array-like of shape (n_train,)
        ``influence_loss(x_test, y_test)[0]``: positive = harmful row.
    rows : array-like of shape (n_train,), default=None
        Labels of the training rows; positions when ``None``.
    targets : array-like of shape (n_train,), default=None
        Training targets, shown next to the row labels.
    n_top : int, default=5
        Rows shown on each side.
    images : array-like of shape (n_train, n_features), default=None
        Training rows to draw as images (with ``image_shape``).
    image_shape : tuple of int, default=None
        Shape of one image, e.g. ``(8, 8)`` for scikit-learn's digits.
    test_name : str, default=None
        Name of the test point, shown in the title.

    Attributes
    ----------
    helpful_indices_, harmful_indices_ : ndarray of shape (n_top,)
        Positions of the rows with the most negative / most positive
        influence, strongest first.
    helpful_rows_, harmful_rows_ : ndarray of shape (n_top,)
        Their labels.
    bars_ : matplotlib BarContainer
        Bar chart (when drawn without images).
    ax_ : matplotlib Axes, or ndarray of Axes of shape (2, n_top) with images
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from skinfluence import TopInfluenceDisplay
    >>> disp = TopInfluenceDisplay([0.5, -2.0, 0.1, 3.0], n_top=1).plot()
    >>> disp.helpful_rows_.tolist(), disp.harmful_rows_.tolist()
    ([1], [3])
    """

    def __init__(
        self,
        influence,
        *,
        rows=None,
        targets=None,
        n_top=5,
        images=None,
        image_shape=None,
        test_name=None,
    ):
        self.influence = influence
        self.rows = rows
        self.targets = targets
        self.n_top = n_top
        self.images = images
        self.image_shape = image_shape
        self.test_name = test_name

    def __repr__(self):
        return _repr(
            self,
            n_rows=len(self.influence),
            n_top=self.n_top,
            test_name=self.test_name,
        )

    def _name(self, i, rows):
        if self.targets is None:
            return f"row {rows[i]}"
        return f"row {rows[i]} (y={np.asarray(self.targets)[i]})"

    def plot(self, ax=None, **kwargs):
        """Draw a bar chart, or the rows as images when ``image_shape`` is set.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            For the bar chart. With images, ``None`` or an array of
            ``2 * n_top`` Axes (first row helpful, second harmful).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh` (e.g. ``color``), or
            to :meth:`matplotlib.axes.Axes.imshow` (e.g. ``cmap``) with images.

        Returns
        -------
        self : TopInfluenceDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        infl = np.asarray(self.influence, dtype=float).ravel()
        rows = np.arange(infl.size) if self.rows is None else np.asarray(self.rows)
        if rows.shape != infl.shape:
            raise ValueError(
                f"rows {rows.shape} and influence {infl.shape} must match."
            )
        k = min(int(self.n_top), infl.size)
        order = np.argsort(infl, kind="stable")
        self.helpful_indices_, self.harmful_indices_ = order[:k], order[::-1][:k]
        self.helpful_rows_ = rows[self.helpful_indices_]
        self.harmful_rows_ = rows[self.harmful_indices_]
        if self.image_shape is None:
            return self._plot_bars(infl, rows, ax, kwargs)
        return self._plot_images(infl, rows, ax, kwargs)

    def _plot_bars(self, infl, rows, ax, kwargs):
        ax = _axes(ax, f"{type(self).__name__}.plot")
        # bottom to top: strongest helpful ... strongest harmful
        shown = np.concatenate([self.helpful_indices_, self.harmful_indices_[::-1]])
        colors = ["C0"] * len(self.helpful_indices_) + ["C3"] * len(
            self.harmful_indices_
        )
        style = {"color": colors, **kwargs}
        self.bars_ = ax.barh(np.arange(shown.size), infl[shown], **style)
        ax.set_yticks(np.arange(shown.size), [self._name(i, rows) for i in shown])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("influence on the test loss (> 0: harmful, < 0: helpful)")
        ax.set_title(
            f"Training rows most harmful (top) and helpful (bottom)\n"
            f"for {_point(self.test_name)}"
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_images(self, infl, rows, ax, kwargs):
        import matplotlib.pyplot as plt

        if self.images is None:
            raise ValueError("image_shape is set but images is None.")
        k = len(self.helpful_indices_)
        if ax is None:
            _, ax = plt.subplots(
                2, k, figsize=(1.6 * k, 3.8), squeeze=False, layout="constrained"
            )
        ax = np.asarray(ax).reshape(2, k)
        images = np.asarray(self.images)
        style = {"cmap": "gray_r", **kwargs}
        for r, (title, shown) in enumerate(
            [("helpful", self.helpful_indices_), ("harmful", self.harmful_indices_)]
        ):
            for c, i in enumerate(shown):
                a = ax[r, c]
                a.imshow(images[i].reshape(self.image_shape), **style)
                a.set_xticks([])
                a.set_yticks([])
                a.set_title(f"{self._name(i, rows)}\n{infl[i]:+.3g}", fontsize=8)
            ax[r, 0].set_ylabel(title)
        figure = ax[0, 0].figure
        figure.suptitle(f"Training rows for {_point(self.test_name)}", fontsize=10)
        self.ax_, self.figure_ = ax, figure
        return self

    @classmethod
    def from_predictions(
        cls, influence, *, rows=None, targets=None, n_top=5, ax=None, **kwargs
    ):
        """Plot influences computed elsewhere (one row of ``influence_loss``).

        Parameters
        ----------
        influence : array-like of shape (n_train,)
        rows : array-like of shape (n_train,), default=None
            Labels of the training rows.
        targets : array-like of shape (n_train,), default=None
        n_top : int, default=5
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh`.

        Returns
        -------
        display : TopInfluenceDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        disp = cls(influence, rows=rows, targets=targets, n_top=n_top)
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X_test, y_test, *, n_top=5, image_shape=None, ax=None, **kwargs
    ):
        """Compute the influence of every training row on one test loss and plot.

        Row labels, targets and images come from the training data the
        estimator holds.

        Parameters
        ----------
        estimator : fitted influence estimator or InfluencePipeline
        X_test : array-like of shape (1, n_features), or a DataFrame row
        y_test : array-like of shape (1,) or (1, n_targets), or a scalar
        n_top : int, default=5
        image_shape : tuple of int, default=None
            Draw the training rows as images of this shape (the rows the last
            step saw, for a pipeline).
        ax : matplotlib Axes, default=None
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh`, or ``imshow``.

        Returns
        -------
        display : TopInfluenceDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        X, y, name = _test_point(X_test, y_test)
        model, transform = _split(estimator)
        influence = model.influence_loss(transform(X), y)[0]
        data = model.influence_state().data
        images = None
        if image_shape is not None:
            images = data.X.toarray() if hasattr(data.X, "toarray") else data.X
        targets = data.y if np.ndim(data.y) == 1 else None
        disp = cls(
            influence,
            rows=_training_rows(model),
            targets=targets,
            n_top=n_top,
            images=images,
            image_shape=image_shape,
            test_name=name,
        )
        return disp.plot(ax=ax, **kwargs)
