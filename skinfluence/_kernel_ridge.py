"""InfluenceKernelRidge: the ready class of KernelRidge, on the dual-form state.

The mathematics is in :mod:`skinfluence._dual`; this module maps it to the
public methods, and refuses those that need a linear objective.
"""

import copy
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions

from . import _frames
from ._constraints import RESPONSE_METHOD, TEST_DATA, validated
from ._frames import labelled
from ._mixin import InfluenceMixin
from ._removal import check_indices
from ._state import InfluenceState, row_batches

_NO_PERTURBATION = (
    "{name}: influence_perturbation needs the derivative of the kernel in its "
    "inputs, which a precomputed or callable kernel does not provide; it is not "
    "implemented for KernelRidge. Use influence_loss or influence_prediction."
)
_NO_DISPERSION = (
    "{name}: Cook's distance and DFBETAS divide by standard errors of a fixed "
    "parameter vector; kernel ridge's dual coefficients are one per training row "
    "(removing a row removes one) and have no such covariance. Use dfbeta(), "
    "loo_params_change() or loo_loss_change()."
)


class InfluenceKernelRidge(InfluenceMixin, KernelRidge):
    """:class:`~sklearn.kernel_ridge.KernelRidge` with influence functions, in dual form.

    Same parameters and fit as ``KernelRidge`` (every kernel, ``"precomputed"``
    and callables too; ``sample_weight``; several targets with one ``alpha``
    or one per target). The objective is, per target,
    ``Σ s_i (y_i − K_i c)² + alpha cᵀKc`` (no intercept). Influences are taken
    through the kernel matrix (no explicit features) from one factorization of
    ``S^½ K S^½ + alpha I``; removals and leave-one-out are exact (squared loss).

    The parameters are ``θ = dual_coef_.ravel()``: one coefficient per
    training row (and target). Removing a row is exactly setting its weight to
    zero, which sets its coefficient to zero and leaves the others those of a
    refit without it, so ``influence_params_`` and ``loo_params_change`` are
    defined on the fixed coordinates of the full training set.
    :meth:`remove_effect` returns a ``KernelRidge`` on the remaining rows
    only. ``alpha=0`` (interpolation: every leverage is 1) is refused;
    ``influence_perturbation``, ``cooks_distance`` and ``dfbetas`` raise
    ``NotImplementedError``. See the user guide page *Kernel ridge*.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skinfluence import InfluenceKernelRidge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf", gamma=0.1).fit(X[:300], y[:300])
    >>> model.influence_loss(X[300:302], y[300:302]).shape
    (2, 300)
    >>> smaller = model.remove_effect([0, 1])  # exact: predicts like a refit
    >>> smaller.dual_coef_.shape
    (298,)
    """

    @property
    def influence_params_(self) -> np.ndarray:
        """``S ∂θ/∂s_i`` with ``θ = dual_coef_.ravel()``, shape (n_train, n_train · n_targets).

        Row ``i`` is the derivative of every dual coefficient with respect to
        row ``i``'s weight, times ``S = Σ s_j``. The coordinates are those of
        the full training set: removing row ``j`` sets its coefficient to zero
        (exactly, at weight zero) and ``θ`` changes by about
        ``-(s_j/S) influence_params_[j]`` (exactly: :meth:`loo_params_change`).
        For outputs use :meth:`influence_prediction` and :meth:`influence_loss`,
        which never form this ``n × n`` matrix.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y).influence_params_.shape
        (20, 20)
        """
        values = self.influence_state().influence_params()
        if _frames.pandas_output():
            return _frames.label(self, values, "influence_params_")
        return values

    @validated({"X_test": TEST_DATA["X_test"], "response_method": RESPONSE_METHOD})
    @labelled("influence_prediction")
    def influence_prediction(
        self, X_test: ArrayLike, response_method: str = "auto"
    ) -> np.ndarray:
        """Influence of up-weighting each training row on each prediction.

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
            With ``kernel="precomputed"``, the kernel between test and
            training rows, (n_test, n_train).
        response_method : {"auto", "predict"}, default="auto"

        Returns
        -------
        influence : ndarray of shape (n_test, n_train) or (n_test, n_targets, n_train)
            ``S ∂f(x_test)/∂s_i``; removing row ``i`` changes a prediction by
            about ``-(s_i/S) influence[..., i]``. One target: 2-D.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.influence_prediction(X[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        fitted.response(response_method)
        out = fitted.prediction_influence(fitted.test_kernel(X_test))
        return out[:, 0, :] if out.shape[1] == 1 else out

    @validated(TEST_DATA)
    @labelled("influence_loss")
    def influence_loss(
        self, X_test: ArrayLike, y_test: ArrayLike | None = None
    ) -> np.ndarray:
        """Influence of up-weighting each training row on each test loss.

        The test loss is the squared error summed over targets,
        ``Σ_t (y_t − f_t(x))²`` (the training data term, unweighted).

        Parameters
        ----------
        X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        y_test : array-like of shape (n_test,) or (n_test, n_targets)

        Returns
        -------
        influence : ndarray of shape (n_test, n_train)
            ``S ∂L(z_test_j)/∂s_i``: positive means up-weighting row ``i``
            raises test loss ``j``; removing it changes the loss by about
            ``-(s_i/S) influence[j, i]``.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.influence_loss(X[:3], y[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        Kx, residual = fitted.test_residuals(X_test, y_test)
        dP = fitted.prediction_influence(Kx)
        return -2.0 * np.einsum("mt,mtn->mn", residual, dP)

    @validated(
        {
            **TEST_DATA,
            "k": [Interval(Integral, 1, None, closed="left")],
            "as_frame": ["boolean", None],
        }
    )
    def top_influences(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        k: int = 5,
        as_frame: bool | None = None,
    ):
        """Most helpful and most harmful training rows for each test point.

        As :meth:`InfluenceMixin.top_influences`, from :meth:`influence_loss`
        computed in blocks of test rows sized by scikit-learn's
        ``working_memory``.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.top_influences(X[:2], y[:2], k=3).harmful_indices.shape
        (2, 3)
        """
        fitted = self.influence_state()
        n = fitted.n_samples
        m = _num_rows(X_test)
        k = int(min(k, n))
        y_arr = None if y_test is None else np.asarray(y_test)
        parts = {name: [] for name in ("li", "lv", "hi", "hv")}
        for rows in row_batches(m, 4 * n * fitted.n_targets):
            X_block = _rows(X_test, rows)
            y_block = None if y_arr is None else y_arr[rows]
            values = self.influence_loss(X_block, y_block)
            for sign, (idx_key, val_key) in ((1, ("li", "lv")), (-1, ("hi", "hv"))):
                part = np.argpartition(sign * values, k - 1, axis=1)[:, :k]
                chosen = np.take_along_axis(sign * values, part, axis=1)
                order = np.argsort(chosen, axis=1, kind="stable")
                parts[idx_key].append(np.take_along_axis(part, order, axis=1))
                parts[val_key].append(sign * np.take_along_axis(chosen, order, axis=1))
        top = Bunch(
            helpful_indices=np.vstack(parts["li"]),
            helpful_values=np.vstack(parts["lv"]),
            harmful_indices=np.vstack(parts["hi"]),
            harmful_values=np.vstack(parts["hv"]),
        )
        if as_frame is None:
            as_frame = _frames.pandas_output()
        return _frames.top_influences_frame(self, X_test, top) if as_frame else top

    @labelled("self_influence")
    def self_influence(self) -> np.ndarray:
        """``S ∂L(z_i)/∂s_i`` of each training row's own loss.

        For a row with positive weight it is ``−2 S Σ_t r_it² h_ii / s_i``
        (``h_ii`` the hat value): never positive.

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> bool((model.self_influence() <= 0).all())
        True
        """
        return self.influence_state().self_influence()

    @labelled("loo_residuals")
    def loo_residuals(self) -> np.ndarray:
        """Leave-one-out residuals ``y_i − f₍ᵢ₎(x_i) = r_i / (1 − h_ii)`` of every row.

        Exact, from the diagonal of the dual hat matrix (no refit); their mean
        square is the PRESS / leave-one-out error.

        Returns
        -------
        residuals : ndarray of shape (n_train,) or (n_train, n_targets)

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.kernel_ridge import KernelRidge
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> refit = KernelRidge(alpha=0.1, kernel="rbf").fit(X[1:], y[1:])
        >>> bool(np.isclose(model.loo_residuals()[0], y[0] - refit.predict(X[:1])[0]))
        True
        """
        residuals = self.influence_state().loo().residuals
        return residuals[:, 0].copy() if residuals.shape[1] == 1 else residuals.copy()

    @labelled("press_residuals")
    def press_residuals(self) -> np.ndarray:
        """PRESS residuals ``y_i − f₍ᵢ₎(x_i)``: :meth:`loo_residuals` (exact).

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> bool(np.array_equal(model.press_residuals(), model.loo_residuals()))
        True
        """
        return self.loo_residuals()

    @validated({"groups": ["array-like", None]})
    @labelled("dfbeta")
    def dfbeta(self, groups: ArrayLike | None = None) -> np.ndarray:
        """DFBETA: ``θ − θ₍ᵢ₎`` with ``θ = dual_coef_.ravel()`` (exact).

        Parameters
        ----------
        groups : array-like of shape (n_train,), default=None
            Group label of every training row: then ``θ − θ₍G₎`` for removing
            each whole group at once (exact downdate), groups in the order of
            ``numpy.unique(groups)``. A removed row's coefficient is 0 in
            ``θ₍ᵢ₎`` (see :attr:`influence_params_`).

        Returns
        -------
        dfbeta : ndarray of shape (n_train, n_train · n_targets) or (n_groups, ...)

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.dfbeta(groups=np.arange(20) % 4).shape
        (4, 20)
        """
        fitted = self.influence_state()
        if groups is None:
            return -fitted.loo().changes
        groups = np.asarray(groups)
        if groups.ndim != 1 or groups.shape[0] != fitted.n_samples:
            raise ValueError(
                f"groups must have one label per training row ({fitted.n_samples}), "
                f"got shape {groups.shape}."
            )
        out = []
        for label in np.unique(groups):
            dual, keep = fitted.removal(np.flatnonzero(groups == label))
            new = np.zeros_like(fitted.dual_coef)
            new[keep] = dual
            out.append((fitted.dual_coef - new).ravel())
        return np.array(out)

    @validated({**TEST_DATA, "method": [StrOptions({"newton", "influence"})]})
    @labelled("loo_loss_change")
    def loo_loss_change(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        method: str = "newton",
    ) -> np.ndarray:
        """Change of each test loss when each training row is left out.

        Parameters
        ----------
        X_test, y_test : as in :meth:`influence_loss`
        method : {"newton", "influence"}, default="newton"
            ``"newton"``: exact (the squared loss makes one Newton step the
            refit), from the diagonal of the dual hat matrix.
            ``"influence"``: first order, ``-(s_i/S) influence_loss[j, i]``.

        Returns
        -------
        change : ndarray of shape (n_test, n_train)

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> model.loo_loss_change(X[:3], y[:3]).shape
        (3, 20)
        """
        fitted = self.influence_state()
        if method == "influence":
            return -self.influence_loss(X_test, y_test) * fitted.removal_shares()
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'influence', got {method!r}.")
        Kx, residual = fitted.test_residuals(X_test, y_test)
        residual = residual[:, :, None]
        new = residual - fitted.loo_prediction_change(Kx)
        return np.sum(new**2 - residual**2, axis=1)

    @validated(
        {
            "indices": "no_validation",  # positions, mask or labels: check_indices
            "method": [StrOptions({"influence", "newton", "exact"})],
        }
    )
    def remove_effect(
        self, indices: ArrayLike, method: str = "newton"
    ) -> "InfluenceKernelRidge":
        """The model refit without some training rows: a fitted KernelRidge.

        Parameters
        ----------
        indices : int or array-like of int
            Rows to remove, all together.
        method : {"newton", "exact"}, default="newton"
            ``"newton"``: exact, a rank-``|indices|`` downdate of the factored
            dual system (no refit); for the squared loss one Newton step is
            the refit. ``"exact"``: an actual ``KernelRidge`` refit.
            ``"influence"`` is refused: to first order the removed rows'
            coefficients do not vanish, so it is no model on the remaining rows
            (use :meth:`influence_prediction` for first-order changes).

        Returns
        -------
        estimator : InfluenceKernelRidge
            ``dual_coef_`` and ``X_fit_`` of the remaining rows (with
            ``kernel="precomputed"``, ``X_fit_`` and the test kernels it takes
            have the remaining columns only); it keeps those rows as training
            data. The original is not modified.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.kernel_ridge import KernelRidge
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> smaller = model.remove_effect([0, 5])
        >>> refit = KernelRidge(alpha=0.1, kernel="rbf").fit(np.delete(X, [0, 5], 0), np.delete(y, [0, 5]))
        >>> bool(np.allclose(smaller.predict(X), refit.predict(X)))
        True
        """
        fitted = self.influence_state()
        idx = check_indices(indices, fitted.data)
        if method == "influence":
            raise NotImplementedError(
                f"{type(self).__name__}.remove_effect(method='influence'): to first "
                "order the removed rows' dual coefficients do not vanish, so the "
                "result is no KernelRidge on the remaining rows. Use "
                "method='newton' (exact, same cost) or influence_prediction()."
            )
        if method == "exact":
            keep = np.setdiff1d(np.arange(fitted.n_samples), idx)
            data = self._subset(fitted.data, keep)
            kw = (
                {}
                if data.sample_weight is None
                else {"sample_weight": data.sample_weight}
            )
            new = clone(self).fit(data.X, data.y, **kw)
            new.influence_state().data.index = data.index
            return new
        if method != "newton":
            raise ValueError(f"method must be 'newton' or 'exact', got {method!r}.")
        dual, keep = fitted.removal(idx)
        return self._with_dual(fitted, dual, keep)

    def newton_update(self) -> "InfluenceKernelRidge":
        """A copy whose ``dual_coef_`` is the exact float64 solution on the
        training data (a fit in float32, or attached, may differ).

        Examples
        --------
        >>> import numpy as np
        >>> from skinfluence import InfluenceKernelRidge
        >>> X = np.linspace(0, 1, 20)[:, None]; y = np.sin(6 * X[:, 0])
        >>> model = InfluenceKernelRidge(alpha=0.1, kernel="rbf").fit(X, y)
        >>> bool(np.allclose(model.newton_update().dual_coef_, model.dual_coef_))
        True
        """
        fitted = self.influence_state()
        return self._with_dual(fitted, fitted.dual_coef, np.arange(fitted.n_samples))

    def influence_perturbation(
        self,
        X_test: ArrayLike,
        y_test: ArrayLike | None = None,
        max_bytes: float = 1e9,
    ) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): it needs
        the kernel's derivative in its inputs."""
        raise NotImplementedError(_NO_PERTURBATION.format(name=type(self).__name__))

    @labelled("cooks_distance")
    def cooks_distance(self, groups=None) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): no fixed
        parameter vector with a covariance."""
        raise NotImplementedError(_NO_DISPERSION.format(name=type(self).__name__))

    @labelled("dfbetas")
    def dfbetas(self) -> np.ndarray:
        """Not available for KernelRidge (``NotImplementedError``): no fixed
        parameter vector with a covariance."""
        raise NotImplementedError(_NO_DISPERSION.format(name=type(self).__name__))

    # -- helpers -----------------------------------------------------------------------
    def _subset(self, data, keep):
        """Training rows ``keep``; a precomputed kernel keeps those columns too."""
        sub = data.subset(keep)
        if self.kernel == "precomputed":
            sub.X = sub.X[:, keep]
        return sub

    def _with_dual(self, fitted, dual, keep):
        state = {k: v for k, v in vars(self).items() if not k.startswith("_influence")}
        new = type(self).__new__(type(self))
        new.__dict__.update(copy.deepcopy(state))
        dtype = np.asarray(self.dual_coef_).dtype
        new.dual_coef_ = (dual[:, 0] if np.ndim(self.dual_coef_) == 1 else dual).astype(
            dtype
        )
        X_fit = self.X_fit_[keep]
        if self.kernel == "precomputed":
            X_fit = X_fit[:, keep]
            new.n_features_in_ = len(keep)
        new.X_fit_ = X_fit
        new._influence_state = InfluenceState(self._subset(fitted.data, keep))
        return new


def _num_rows(a):
    return a.shape[0] if hasattr(a, "shape") else len(a)


def _rows(X, rows):
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    return X[rows] if hasattr(X, "shape") else np.asarray(X)[rows]
