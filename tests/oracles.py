"""Independent oracles for the influence tests: nothing here imports skinfluence.

Everything is written from design.md §2 (and the textbook definitions of the
regression diagnostics) with numpy, and checked against scikit-learn itself in
the tests that use it (``test_newton_oracle.py``, ``test_capabilities.py``):

- :class:`Smooth` and :class:`Huber`: each estimator's training objective in
  sum form, ``F(θ) = c Σ s_i L(y_i, η_i) + ½ Σ_j λ_j θ_j² + τ sign(ŵ)ᵀw``, with
  value, analytic gradient and Hessian, and each row's Jacobian ``J_i`` and
  curvature ``D_i = c s_i ∂²L/∂u²`` (``u_i = J_i θ``);
- :func:`objective_of`: that objective for a fitted scikit-learn (or ``Influence*``)
  estimator on given rows and weights;
- :func:`newton_step`, :func:`oracle_removal`: one Newton step on the objective
  without some rows; :func:`minimize`: damped Newton to the exact minimizer;
- :func:`leverage`, :func:`dispersion`, :func:`cooks_distance`, :func:`dfbetas`:
  the textbook diagnostics from that Hessian;
- :func:`sample_loss`: the per-sample test loss of each estimator from its public
  outputs (``predict``, ``predict_proba``, ``decision_function``).

θ = ``[coef_.ravel(), intercept_ (if fit_intercept), scale_ (Huber)]``, ``coef_``
class-major (K, d). For K outputs (one-vs-rest, multinomial, multi-target) row
``i`` has K raw predictions ``η_ik = w_k·x_i + b_k``.
"""

import copy

import numpy as np
from scipy.special import expit, log_expit, logsumexp, softmax, xlogy

# --------------------------------------------------------------------------
# per-sample losses on the raw prediction η (n, K), targets T (n, K)


def _loss_parts(
    loss, T, eta, power=None, temperature=None, epsilon=None, quantile=None
):
    """``(L (n,), ∂L/∂η (n, K), ∂²L/∂η² (n, K, K))`` of the per-sample data term.

    Targets: ``squared``/``half_squared``: real; ``logistic``: 0/1 (one output);
    ``multinomial``: one-hot; margin losses (``margin_log``, ``squared_hinge``,
    ``smooth_hinge``, ``modified_huber``): ±1, summed over the outputs; GLM half
    deviances (log link): y ≥ 0 (> 0 for Gamma); ``squared_eps_insensitive``
    (LinearSVR): real; ``smooth_eps_insensitive`` (LinearSVR's epsilon_insensitive,
    each side's hinge smoothed as Koh & Liang's) and ``smooth_pinball``
    (QuantileRegressor, ``q r + t log(1 + e^(-r/t))``, r = t - η): real. Kinks take the one-sided second derivative of design.md
    (the penalized side for the hinges, the flat side for ε-insensitivity).
    """
    n, K = eta.shape
    eye = np.eye(K)
    if loss == "multinomial":  # log Σ e^η - tᵀη
        p = softmax(eta, axis=1)
        d2 = p[:, :, None] * eye[None] - p[:, :, None] * p[:, None, :]
        return logsumexp(eta, axis=1) - (T * eta).sum(axis=1), p - T, d2
    if loss == "squared":  # Σ_k (t - η)², no ½ (LinearRegression, Ridge)
        v, d1, h = (T - eta) ** 2, 2.0 * (eta - T), np.full_like(eta, 2.0)
    elif loss == "half_squared":  # ½ Σ_k (t - η)² (Lasso, ElasticNet, SGD)
        v, d1, h = 0.5 * (T - eta) ** 2, eta - T, np.ones_like(eta)
    elif loss == "logistic":  # log(1 + e^η) - t η, t ∈ {0, 1}
        p = expit(eta)
        v, d1, h = -log_expit(eta) + (1.0 - T) * eta, p - T, p * (1.0 - p)
    elif loss in ("margin_log", "squared_hinge", "smooth_hinge", "modified_huber"):
        m = T * eta  # T ∈ {-1, +1}: ∂/∂η = T φ'(m), ∂²/∂η² = φ''(m)
        if loss == "margin_log":  # log(1 + e^-m)
            v, dphi = -log_expit(m), -expit(-m)
            h = expit(m) * expit(-m)
        elif loss == "squared_hinge":  # max(0, 1 - m)²
            v, dphi = np.maximum(0.0, 1.0 - m) ** 2, -2.0 * np.maximum(0.0, 1.0 - m)
            h = np.where(m < 1.0, 2.0, 0.0)
        elif loss == "smooth_hinge":  # t log(1 + exp((1 - m)/t)), Koh & Liang 4.3
            t = temperature
            u = (1.0 - m) / t
            v, dphi = t * np.logaddexp(0.0, u), -expit(u)
            h = expit(u) * expit(-u) / t
        else:  # modified Huber: (1 - m)₊² for m ≥ -1, -4m below
            v = np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)
            dphi = np.where(m >= -1.0, -2.0 * np.maximum(0.0, 1.0 - m), -4.0)
            h = np.where((m >= -1.0) & (m < 1.0), 2.0, 0.0)
        d1 = T * dphi
    elif loss == "squared_eps_insensitive":  # max(0, |t - η| - ε)²
        r = eta - T
        a = np.maximum(0.0, np.abs(r) - epsilon)
        v, d1, h = a**2, 2.0 * np.sign(r) * a, np.where(np.abs(r) > epsilon, 2.0, 0.0)
    elif loss == "smooth_eps_insensitive":  # Σ± t log(1 + exp((±r - ε)/t))
        r, e, t = eta - T, epsilon, temperature
        up, down = (r - e) / t, (-r - e) / t
        v = t * (np.logaddexp(0.0, up) + np.logaddexp(0.0, down))
        d1 = expit(up) - expit(down)
        h = (expit(up) * expit(-up) + expit(down) * expit(-down)) / t
    elif loss == "smooth_pinball":  # q r + t log(1 + exp(-r/t)), r = t - η
        r, t = T - eta, temperature
        v = quantile * r + t * np.logaddexp(0.0, -r / t)
        d1 = expit(-r / t) - quantile
        h = expit(-r / t) * expit(r / t) / t
    elif loss in ("poisson", "gamma", "tweedie"):  # half unit deviance, log link
        mu = np.exp(eta)
        if loss == "poisson":
            v = xlogy(T, T) - xlogy(T, mu) - T + mu
            d1, h = mu - T, mu
        elif loss == "gamma":
            v = np.log(mu / T) + T / mu - 1.0
            d1, h = 1.0 - T / mu, T / mu
        else:
            p = power
            a, b = mu ** (2 - p), T * mu ** (1 - p)
            v = (
                np.maximum(T, 0) ** (2 - p) / ((1 - p) * (2 - p))
                - b / (1 - p)
                + a / (2 - p)
            )
            d1, h = a - b, (2 - p) * a - (1 - p) * b
    else:
        raise ValueError(loss)
    return v.sum(axis=1), d1, h[:, :, None] * eye[None]


def _design(X, fit_intercept):
    return np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X


# --------------------------------------------------------------------------
# objectives in sum form


class Smooth:
    """``F(θ) = c Σ s_i L(t_i, η_i) + ½ Σ λ_j θ_j² + τ sign(ŵ)ᵀw`` for a linear
    model with K outputs (``y`` of shape (n,) or (n, K)).

    ``lam`` is λ on the coefficients (scalar or one per coefficient),
    ``lam_intercept`` on the intercepts (liblinear penalizes them); ``tau`` and
    ``sign`` give the L1 term on the nonzero coefficients; ``active`` the
    coordinates Newton acts on (None: all).
    """

    def __init__(
        self,
        loss,
        X,
        y,
        s,
        fit_intercept,
        c=1.0,
        lam=0.0,
        tau=0.0,
        sign=None,
        power=None,
        active=None,
        lam_intercept=0.0,
        temperature=None,
        epsilon=None,
        quantile=None,
    ):
        self.loss, self.power, self.temperature = loss, power, temperature
        self.epsilon, self.quantile = epsilon, quantile
        self.X = np.asarray(X, dtype=float)
        n, d = self.X.shape
        self.y = np.asarray(y, dtype=float).reshape(n, -1)
        self.s = np.asarray(s, dtype=float)
        self.fit_intercept = fit_intercept
        self.c, self.lam, self.tau, self.sign = c, lam, tau, sign
        self.lam_intercept = lam_intercept
        self.active = active
        K = self.n_outputs = self.y.shape[1]
        self.n_coef = K * d
        p = self.n_coef + K * fit_intercept
        J = np.zeros((n, K, p))
        for k in range(K):
            J[:, k, k * d : (k + 1) * d] = self.X
            if fit_intercept:
                J[:, k, self.n_coef + k] = 1.0
        self.J = J

    @property
    def n_params(self):
        return self.J.shape[2]

    def raw(self, theta):
        return np.einsum("ikp,p->ik", self.J, theta)

    def _parts(self, theta):
        return _loss_parts(
            self.loss, self.y, self.raw(theta), self.power, self.temperature,
            self.epsilon, self.quantile,
        )  # fmt: skip

    def _lam(self):
        lam = np.zeros(self.n_params)
        lam[: self.n_coef] = self.lam
        lam[self.n_coef :] = self.lam_intercept
        return lam

    def _l1(self):
        l1 = np.zeros(self.n_params)
        if self.tau:
            l1[: self.n_coef] = self.tau * np.asarray(self.sign)
        return l1

    def value(self, theta):
        v, _, _ = self._parts(theta)
        return self.c * self.s @ v + 0.5 * self._lam() @ theta**2 + self._l1() @ theta

    def grad_hess(self, theta):
        _, d1, d2 = self._parts(theta)
        g = self.c * np.einsum("ikp,ik->p", self.J, self.s[:, None] * d1)
        H = self.c * np.einsum(
            "ikp,ikl,ilq->pq", self.J, self.s[:, None, None] * d2, self.J
        )
        lam = self._lam()
        return g + lam * theta + self._l1(), H + np.diag(lam)

    def row_pieces(self, theta):
        """``J_i`` (n, K, p) and ``D_i = c s_i ∂²L/∂η²`` (n, K, K)."""
        _, _, d2 = self._parts(theta)
        return self.J, self.c * self.s[:, None, None] * d2

    def scale(self, theta):
        """A magnitude for the gradient: ‖Σ |terms|‖ (for relative stationarity)."""
        _, d1, _ = self._parts(theta)
        data = self.c * np.einsum(
            "ikp,ik->p", np.abs(self.J), np.abs(self.s[:, None] * d1)
        )
        return np.linalg.norm(data + np.abs(self._lam() * theta) + np.abs(self._l1()))


class Huber:
    """``F = Σ s_i [σ + σ H_ε(r_i/σ)] + α‖w‖²``, θ = [w, b, σ]; regimes fixed
    at the point the derivatives are taken (``|r| > εσ`` is an outlier, as in
    scikit-learn)."""

    def __init__(self, X, y, s, fit_intercept, epsilon, alpha, active=None):
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.s = np.asarray(s, dtype=float)
        self.fit_intercept = fit_intercept
        self.epsilon, self.alpha, self.active = epsilon, alpha, active
        self.n_outputs = 2  # u = (η, σ)

    @property
    def n_params(self):
        return self.X.shape[1] + self.fit_intercept + 1

    def value(self, theta):
        d = self.X.shape[1]
        beta, sigma = theta[:-1], theta[-1]
        if not sigma > 0:
            return np.inf
        r = self.y - _design(self.X, self.fit_intercept) @ beta
        e = self.epsilon
        out = np.abs(r) > e * sigma
        L = np.where(
            out, sigma + 2 * e * np.abs(r) - sigma * e**2, sigma + r**2 / sigma
        )
        return self.s @ L + self.alpha * theta[:d] @ theta[:d]

    def grad_hess(self, theta):
        d = self.X.shape[1]
        J = _design(self.X, self.fit_intercept)
        beta, sigma = theta[:-1], theta[-1]
        r = self.y - J @ beta
        out = np.abs(r) > self.epsilon * sigma
        s_in, s_out = self.s * ~out, self.s * out
        p = J.shape[1]
        g = np.empty(p + 1)
        H = np.zeros((p + 1, p + 1))
        # inliers: σ + r²/σ ; outliers: σ + 2ε|r| - σε²
        g[:p] = -2.0 / sigma * J.T @ (s_in * r) - 2.0 * self.epsilon * J.T @ (
            s_out * np.sign(r)
        )
        g[p] = self.s.sum() - self.epsilon**2 * s_out.sum() - (s_in @ r**2) / sigma**2
        H[:p, :p] = 2.0 / sigma * (J.T * s_in) @ J
        H[:p, p] = H[p, :p] = 2.0 / sigma**2 * J.T @ (s_in * r)
        H[p, p] = 2.0 / sigma**3 * (s_in @ r**2)
        g[:d] += 2.0 * self.alpha * theta[:d]
        H[np.arange(d), np.arange(d)] += 2.0 * self.alpha
        return g, H

    def row_pieces(self, theta):
        """``u_i = (η_i, σ)``: ``J_i = [[x̃_i, 0], [0, 1]]``; inliers
        ``D_i = s_i [[2/σ, 2r/σ²], [2r/σ², 2r²/σ³]]``, outliers 0."""
        Xd = _design(self.X, self.fit_intercept)
        n, q = Xd.shape
        sigma = theta[-1]
        r = self.y - Xd @ theta[:-1]
        inlier = np.abs(r) <= self.epsilon * sigma
        J = np.zeros((n, 2, q + 1))
        J[:, 0, :q] = Xd
        J[:, 1, q] = 1.0
        D = np.zeros((n, 2, 2))
        w = self.s * inlier
        D[:, 0, 0] = w * 2.0 / sigma
        D[:, 0, 1] = D[:, 1, 0] = w * 2.0 * r / sigma**2
        D[:, 1, 1] = w * 2.0 * r**2 / sigma**3
        return J, D

    def scale(self, theta):
        return np.linalg.norm(self.grad_hess(theta)[0]) + self.s.sum()


def _coordinates(objective, theta):
    return np.arange(theta.size) if objective.active is None else objective.active


def newton_step(objective, theta):
    """``-H⁻¹ ∇F(θ)`` on the active coordinates (all unless declared);
    minimum-norm where H is singular (the multinomial intercept shift)."""
    g, H = objective.grad_hess(theta)
    idx = _coordinates(objective, theta)
    step = np.zeros_like(theta)
    Ha, ga = H[np.ix_(idx, idx)], g[idx]
    if np.linalg.cond(Ha) < 1e12:
        step[idx] = -np.linalg.solve(Ha, ga)
    else:
        step[idx] = -np.linalg.lstsq(Ha, ga, rcond=None)[0]
    return step


def minimize(objective, theta, max_iter=200):
    """Damped Newton (Armijo backtracking on ``objective.value``) to the exact
    minimizer on the active coordinates; the losses here are convex and at
    least once continuously differentiable, so this converges (finitely for
    the piecewise quadratic ones). Stops when a step no longer changes θ."""
    theta = np.array(theta, dtype=float)
    f = objective.value(theta)
    for _ in range(max_iter):
        step = newton_step(objective, theta)
        g, _ = objective.grad_hess(theta)
        slope = g @ step
        t = 1.0
        while True:
            new = theta + t * step
            f_new = objective.value(new)
            # Armijo, with slack for rounding once f no longer changes visibly
            if f_new <= f + 1e-4 * t * slope + 1e-14 * abs(f) or t < 1e-12:
                break
            t *= 0.5
        if np.max(np.abs(new - theta)) <= 1e-15 * max(1.0, np.max(np.abs(theta))):
            return new
        theta, f = new, min(f, f_new)
    return theta


def weight_derivative(f, s, i, h):
    """``S ∂f/∂s_i`` by central differences with Richardson extrapolation,
    ``(4 D(h/2) - D(h)) / 3`` with ``D(h) = S (f(s + h eᵢ) - f(s - h eᵢ)) / 2h``:
    the ``h²`` truncation term cancels (it matters where ``f`` bends on a short
    scale, e.g. a smoothing temperature), ``O(h⁴)`` is left."""

    def central(step):
        up, down = np.array(s, dtype=float), np.array(s, dtype=float)
        up[i] += step
        down[i] -= step
        return np.sum(s) * (np.asarray(f(up)) - np.asarray(f(down))) / (2 * step)

    return (4 * central(h / 2) - central(h)) / 3


def piecewise_weight_derivative(solve, s, i, piece, steps=(1e-5, 1e-7)):
    """``S ∂θ/∂s_i`` of an exact solution that is piecewise smooth in the
    weights (an LP vertex, an active set): central differences with the first
    step ``h = step·S`` whose two refits stay on the solution's piece.

    ``solve(w)`` returns ``(θ, piece)``, ``piece`` an array naming the piece
    (LP basis, active sets); ``piece`` is that of ``solve(s)``. Returns
    ``(derivative, h)``, or ``None`` when every step crosses a break (no
    derivative there).
    """
    S = np.sum(s)
    for h in np.multiply(steps, S):
        up, down = np.array(s, dtype=float), np.array(s, dtype=float)
        up[i] += h
        down[i] -= h
        (theta_up, piece_up), (theta_down, piece_down) = solve(up), solve(down)
        if np.array_equal(piece_up, piece) and np.array_equal(piece_down, piece):
            return S * (np.asarray(theta_up) - np.asarray(theta_down)) / (2 * h), h
    return None


def exact_quantile_regression(X, y, quantile, alpha, s, fit_intercept=True):
    """``min Σ s_i ρ_q(y_i - x_iᵀw - b) + S α‖w‖₁`` as a linear program, solved
    by HiGHS' dual simplex (a vertex: exact to round-off).

    Variables ``[w⁺, w⁻, b, u, v] ≥ 0`` (``b`` free) with ``u - v = y - Xw - b``;
    cost ``S α`` on ``w±``, ``s q`` on ``u``, ``s (1 - q)`` on ``v``. Returns
    ``(θ, basis)`` with θ = ``[w, b]`` and ``basis`` the rows the solution
    interpolates (``r_i = 0``) and the coefficients it holds at zero, as one mask.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    X, y, s = (np.asarray(a, dtype=float) for a in (X, y, s))
    n, d = X.shape
    k = int(fit_intercept)
    eye = sp.identity(n, format="csc")
    A = sp.hstack([X, -X, np.ones((n, k)), eye, -eye], format="csc")
    cost = np.concatenate(
        [np.full(2 * d, s.sum() * alpha), np.zeros(k), s * quantile, s * (1 - quantile)]
    )
    bounds = [(0, None)] * (2 * d) + [(None, None)] * k + [(0, None)] * (2 * n)
    result = linprog(cost, A_eq=A, b_eq=y, bounds=bounds, method="highs-ds")
    assert result.status == 0, result.message
    z = result.x
    theta = np.concatenate([z[:d] - z[d : 2 * d], z[2 * d : 2 * d + k]])
    r = y - _design(X, fit_intercept) @ theta
    tol = 1e-9 * max(1.0, np.abs(y).max())
    return theta, np.concatenate([np.abs(r) <= tol, theta[:d] == 0])


# --------------------------------------------------------------------------
# estimators: parameters and objectives


def sklearn_name(est):
    """The scikit-learn class an estimator is (or derives from)."""
    return next(
        c.__name__ for c in type(est).__mro__ if c.__module__.startswith("sklearn.")
    )


def theta_of(est):
    parts = [np.ravel(est.coef_)]
    if est.fit_intercept:
        parts.append(np.atleast_1d(est.intercept_).ravel())
    if hasattr(est, "scale_"):
        parts.append([est.scale_])
    return np.concatenate(parts).astype(float)


def with_theta(est, theta):
    """A deep copy of fitted ``est`` with parameters ``theta`` (shapes kept)."""
    new = copy.deepcopy(est)
    coef = np.asarray(est.coef_)
    new.coef_ = np.array(theta[: coef.size].reshape(coef.shape), dtype=float)
    rest = theta[coef.size :]
    if est.fit_intercept:
        k = np.size(est.intercept_)
        b = rest[:k]
        new.intercept_ = float(b[0]) if np.ndim(est.intercept_) == 0 else b.copy()
        rest = rest[k:]
    if hasattr(est, "scale_"):
        new.scale_ = float(rest[0])
    return new


def _active(est):
    """L1 penalties: nonzero coefficients and the intercept(s)."""
    coef = np.ravel(est.coef_)
    idx = np.flatnonzero(coef)
    if est.fit_intercept:
        idx = np.append(idx, coef.size + np.arange(np.size(est.intercept_)))
    return idx


def plus_minus_one(classes, y):
    """±1 targets, one column per class (one column, ``classes[1]`` = +1, if binary)."""
    y = np.asarray(y)
    if len(classes) == 2:
        return np.where(y == classes[1], 1.0, -1.0)[:, None]
    return np.where(y[:, None] == np.asarray(classes)[None, :], 1.0, -1.0)


def objective_of(est, X, y, s):
    """scikit-learn's training objective of ``est`` on the rows ``X, y, s`` (pass
    the REMAINING rows for a removal). ``est`` is fitted: for the classes, the
    sign of the L1 term, the active set, the selected hyperparameters of the
    CV estimators; an ``Influence*`` class or its scikit-learn base."""
    fi = est.fit_intercept
    s = np.asarray(s, dtype=float)
    S, n = s.sum(), len(s)
    name = sklearn_name(est)
    if getattr(est, "class_weight", None) is not None:
        raise NotImplementedError("the oracle has no class weights")
    if name in ("LinearRegression", "Ridge", "RidgeCV"):
        if getattr(est, "positive", False):
            raise NotImplementedError("positive=True")
        alpha = 0.0 if name == "LinearRegression" else getattr(est, "alpha_", None)
        alpha = est.alpha if alpha is None else alpha
        return Smooth("squared", X, y, s, fi, lam=2.0 * alpha)
    if name == "BayesianRidge":  # Ridge at α = lambda_/alpha_, held fixed
        return Smooth("squared", X, y, s, fi, lam=2.0 * est.lambda_ / est.alpha_)
    if name == "ARDRegression":  # λ_j/α_ per kept feature; pruned ones frozen
        kept = np.flatnonzero(est.lambda_ < est.threshold_lambda)
        active = np.append(kept, X.shape[1]) if fi else kept
        lam = 2.0 * est.lambda_ / est.alpha_
        return Smooth("squared", X, y, s, fi, lam=lam, active=active)
    if name in ("RidgeClassifier", "RidgeClassifierCV"):
        alpha = est.alpha_ if name == "RidgeClassifierCV" else est.alpha
        T = plus_minus_one(est.classes_, y)
        return Smooth("squared", X, T, s, fi, lam=2.0 * alpha)
    if name in ("LogisticRegression", "LogisticRegressionCV"):
        if name == "LogisticRegressionCV":  # the selection, held fixed
            l1 = np.ravel(np.asarray(est.l1_ratio_, dtype=object))[0]
            C, rho = float(np.ravel(est.C_)[0]), float(l1 or 0.0)
        else:
            C, rho = est.C, float(est.l1_ratio or 0.0)
        lam_b = 0.0
        if est.solver == "liblinear":
            lam_b = 1.0 / est.intercept_scaling**2
        c, lam, tau, sign, active = C, 1.0 - rho, rho, None, None
        if np.isinf(C):
            c, lam, tau, lam_b = 1.0, 0.0, 0.0, 0.0
        elif rho > 0:
            sign, active = np.sign(np.ravel(est.coef_)), _active(est)
        if len(est.classes_) == 2:
            t = (np.asarray(y) == est.classes_[1]).astype(float)
            loss = "logistic"
        else:
            t = (np.asarray(y)[:, None] == est.classes_[None, :]).astype(float)
            loss = "multinomial"
        return Smooth(
            loss, X, t, s, fi, c=c, lam=lam, tau=tau, sign=sign, active=active,
            lam_intercept=lam_b,
        )  # fmt: skip
    if name in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
        power = {"PoissonRegressor": 1.0, "GammaRegressor": 2.0}.get(name)
        if power is None:
            power = float(est.power)
            if est.link == "identity" or (est.link == "auto" and power <= 0):
                raise NotImplementedError("identity link")
        loss = {1.0: "poisson", 2.0: "gamma"}.get(power, "tweedie")
        return Smooth(loss, X, y, s, fi, lam=S * est.alpha, power=power)
    if name in ("Lasso", "ElasticNet", "LassoCV", "ElasticNetCV"):
        if name.endswith("CV"):  # the selection, held fixed
            alpha, rho = est.alpha_, getattr(est, "l1_ratio_", 1.0)
        else:
            alpha, rho = est.alpha, est.l1_ratio
        coef = np.ravel(est.coef_)
        return Smooth(
            "half_squared", X, y, s, fi,
            lam=S * alpha * (1.0 - rho),
            tau=S * alpha * rho,
            sign=np.sign(coef),
            active=_active(est),
        )  # fmt: skip
    if name == "LinearSVC":
        if est.penalty != "l2" or est.multi_class != "ovr":
            raise NotImplementedError("LinearSVC option")
        T = plus_minus_one(est.classes_, y)
        loss, temperature = "squared_hinge", None
        if est.loss == "hinge":
            loss, temperature = "smooth_hinge", est.smooth_hinge_temperature
        return Smooth(
            loss, X, T, s, fi, c=est.C, lam=1.0,
            lam_intercept=1.0 / est.intercept_scaling**2, temperature=temperature,
        )  # fmt: skip
    if name == "LinearSVR":
        loss, temperature = "squared_eps_insensitive", None
        if est.loss == "epsilon_insensitive":
            loss, temperature = "smooth_eps_insensitive", est.smooth_epsilon_temperature
        return Smooth(
            loss, X, y, s, fi, c=est.C, lam=1.0,
            lam_intercept=1.0 / est.intercept_scaling**2, epsilon=est.epsilon,
            temperature=temperature,
        )  # fmt: skip
    if name == "QuantileRegressor":  # (1/S) Σ s_i ρ_q + α‖w‖₁, times S
        coef = np.ravel(est.coef_)
        return Smooth(
            "smooth_pinball", X, y, s, fi, tau=S * est.alpha, sign=np.sign(coef),
            active=_active(est), temperature=est.smooth_pinball_temperature,
            quantile=est.quantile,
        )  # fmt: skip
    if name in ("SGDClassifier", "SGDRegressor"):
        if est.penalty not in ("l2", None):
            raise NotImplementedError("SGD penalty")
        lam = 0.0 if est.penalty is None else n * est.alpha  # per ROW visited
        if name == "SGDRegressor":
            if est.loss != "squared_error":
                raise NotImplementedError(est.loss)
            return Smooth("half_squared", X, y, s, fi, lam=lam)
        loss = {"log_loss": "margin_log", "modified_huber": "modified_huber"}
        if est.loss not in loss:
            raise NotImplementedError(est.loss)
        T = plus_minus_one(est.classes_, y)
        return Smooth(loss[est.loss], X, T, s, fi, lam=lam)
    if name == "HuberRegressor":
        return Huber(X, y, s, fi, est.epsilon, est.alpha)
    raise ValueError(name)


def oracle_removal(est, X, y, sw, idx):
    """θ̂ + one Newton step on the objective of the rows left after removing ``idx``."""
    keep = np.setdiff1d(np.arange(len(y)), np.atleast_1d(idx))
    theta = theta_of(est)
    objective = objective_of(est, X[keep], np.asarray(y)[keep], sw[keep])
    return theta + newton_step(objective, theta)


def oracle_loo(est, X, y, sw):
    """``(center, changes)``: ``center = θ̂ + `` the Newton step on the full
    objective, ``changes[i] = oracle_removal(i) - center``."""
    theta = theta_of(est)
    center = theta + newton_step(objective_of(est, X, y, sw), theta)
    changes = np.array([oracle_removal(est, X, y, sw, [i]) for i in range(len(y))])
    return center, changes - center


def minimizer_weight_derivative(theta_at, s, i, eps):
    """``S ∂θ̂/∂s_i`` by central differences: ``theta_at(w)`` is the exact
    minimizer with weights ``w``; row ``i``'s weight moves by ``± eps·S``."""
    S = np.sum(s)
    up, down = np.array(s, dtype=float), np.array(s, dtype=float)
    up[i] += eps * S
    down[i] -= eps * S
    plus = np.array(theta_at(up), dtype=float)  # a copy: refits may reuse arrays
    return (plus - np.asarray(theta_at(down), dtype=float)) / (2 * eps)


def rel_err(actual, expected):
    """Max-norm error relative to the largest expected entry."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


# --------------------------------------------------------------------------
# textbook diagnostics from the oracle's Hessian


def _data_scale(objective):
    """``c`` of ``c Σ s_i L_i + Ω``: the diagnostics use the objective divided by
    it, ``Σ s_i L_i + Ω/c`` with ``L`` the per-sample negative log-likelihood
    (LogisticRegression's ``C``), so that ``A⁻¹`` is a covariance."""
    return getattr(objective, "c", 1.0)


def sum_form_hessian(objective, theta):
    """``A``: the Hessian of ``Σ s_i L_i + Ω/c`` (all coordinates)."""
    return objective.grad_hess(theta)[1] / _data_scale(objective)


def _active_hessian(objective, theta):
    idx = _coordinates(objective, theta)
    H = sum_form_hessian(objective, theta)
    return H[np.ix_(idx, idx)], idx


def leverage(objective, theta, per_output=False):
    """``h_ii = trace(D_i J_i A⁺ J_iᵀ)`` with ``A`` the sum-form Hessian of the full
    objective (penalty included) on the active coordinates (Pregibon 1981;
    the hat values for least squares). ``per_output``: the diagonal terms
    ``(D_i J_i A⁺ J_iᵀ)_kk`` (n, K) instead of their sum."""
    A, idx = _active_hessian(objective, theta)
    J, D = objective.row_pieces(theta)
    D = D / _data_scale(objective)
    Ja = J[:, :, idx]
    P = np.einsum("ikp,pq,ilq->ikl", Ja, np.linalg.pinv(A, hermitian=True), Ja)
    DP = np.einsum("ikl,ilm->ikm", D, P)
    diag = np.einsum("ikk->ik", DP)
    return diag if per_output else diag.sum(axis=1)


def n_identified(objective, theta):
    """Rank of the Hessian on the active coordinates (p of Cook's distance)."""
    A, _ = _active_hessian(objective, theta)
    return int(np.linalg.matrix_rank(A))


#: the dispersion φ of each data term: "fixed" (φ = 1), "pearson" (χ²/dof),
#: ("gaussian", factor) (factor · σ̂²), None: not a negative log-likelihood
DISPERSION = {
    "logistic": "fixed",
    "multinomial": "fixed",
    "margin_log": "fixed",
    "poisson": "fixed",
    "gamma": "pearson",
    "tweedie": "pearson",
    "squared": ("gaussian", 2.0),  # Σ (y - η)²: 2σ² times the Gaussian NLL
    "half_squared": ("gaussian", 1.0),
}


def dispersion(objective, theta):
    """``(φ, dof, kind)``. Gaussian: ``factor · Σ_i s_i Σ_k r_ik² / dof`` with
    ``dof = K n₊ − p`` (the pooled residual variance of K outputs, n₊ rows with
    nonzero weight, p identified parameters); Pearson: ``Σ s_i (y_i − μ_i)² /
    μ_i^power / (n₊ − p)`` (statsmodels' default scale for ``var_weights``)."""
    kind = DISPERSION.get(getattr(objective, "loss", None))
    if kind is None:
        return None, None, None
    K = objective.n_outputs
    n_pos = np.count_nonzero(objective.s)
    p = n_identified(objective, theta)
    if kind == "fixed":
        return 1.0, n_pos - p, kind
    eta = objective.raw(theta)
    if kind == "pearson":
        mu = np.exp(eta[:, 0])
        y = objective.y[:, 0]
        chi2 = objective.s @ ((y - mu) ** 2 / mu**objective.power)
        return chi2 / (n_pos - p), n_pos - p, kind
    dof = K * n_pos - p
    rss = objective.s @ ((objective.y - eta) ** 2).sum(axis=1)
    return kind[1] * rss / dof, dof, kind


def deleted_dispersion(objective, theta):
    """``φ₍ᵢ₎`` (n,): Gaussian losses the dispersion without row ``i`` by Belsley,
    Kuh & Welsch (1980, eq. 2.8), ``RSS − s_i Σ_k r_ik² / (1 − h_ik)`` over
    ``dof − K`` (per-output hat values ``h_ik``); ``φ`` otherwise."""
    phi, dof, kind = dispersion(objective, theta)
    n = objective.X.shape[0]
    if not isinstance(kind, tuple):
        return np.full(n, phi)
    K = objective.n_outputs
    h = leverage(objective, theta, per_output=True)
    r2 = (objective.y - objective.raw(theta)) ** 2
    rss = phi * dof / kind[1]
    rss_i = rss - objective.s * (r2 / (1.0 - h)).sum(axis=1)
    return kind[1] * rss_i / (dof - K)


def cooks_distance(objective, theta, changes):
    """``Δ_iᵀ A Δ_i / (p φ)`` with ``Δ_i`` the Newton leave-one-out changes."""
    phi, _, _ = dispersion(objective, theta)
    H = sum_form_hessian(objective, theta)
    return np.einsum("ip,pq,iq->i", changes, H, changes) / (
        n_identified(objective, theta) * phi
    )


def dfbetas(objective, theta, changes):
    """``DFBETA / sqrt(φ₍ᵢ₎ diag(A⁺))`` on the active coordinates (NaN elsewhere)."""
    A, idx = _active_hessian(objective, theta)
    se2 = np.full(theta.size, np.nan)
    se2[idx] = np.diag(np.linalg.pinv(A, hermitian=True))
    return -changes / np.sqrt(deleted_dispersion(objective, theta)[:, None] * se2)


# --------------------------------------------------------------------------
# the test loss, from the estimators' public outputs


def _half_tweedie_deviance(y, mu, power):
    if power == 1:
        return xlogy(y, y) - xlogy(y, mu) - y + mu
    if power == 2:
        return np.log(mu / y) + y / mu - 1.0
    p = power
    return (
        np.maximum(y, 0) ** (2 - p) / ((1 - p) * (2 - p))
        - y * mu ** (1 - p) / (1 - p)
        + mu ** (2 - p) / (2 - p)
    )


#: evidence-maximized linear regressors: squared error, precisions held fixed
BAYES = ("BayesianRidge", "ARDRegression")


def sample_loss(est, X, y):
    """Per-sample, unweighted test loss of a fitted estimator (n,), computed from
    ``predict``/``predict_proba``/``decision_function``: the data term of its
    training objective (design.md §2)."""
    name = sklearn_name(est)
    y = np.asarray(y)
    if name in ("LogisticRegression", "LogisticRegressionCV"):
        P = est.predict_proba(X)
        return -np.log(P[np.arange(len(y)), np.searchsorted(est.classes_, y)])
    if name in ("LinearRegression", "Ridge", "RidgeCV", *BAYES):
        return (y - est.predict(X)) ** 2
    if name in ("Lasso", "ElasticNet", "SGDRegressor", "LassoCV", "ElasticNetCV"):
        return 0.5 * (y - est.predict(X)) ** 2
    if name in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
        power = {"PoissonRegressor": 1, "GammaRegressor": 2}.get(name)
        power = est.power if power is None else power
        return _half_tweedie_deviance(y, est.predict(X), power)
    if name == "LinearSVR" and est.loss == "epsilon_insensitive":
        t, r = est.smooth_epsilon_temperature, est.predict(X) - y
        return t * (
            np.logaddexp(0.0, (r - est.epsilon) / t)
            + np.logaddexp(0.0, (-r - est.epsilon) / t)
        )
    if name == "LinearSVR":
        return np.maximum(0.0, np.abs(y - est.predict(X)) - est.epsilon) ** 2
    if name == "QuantileRegressor":
        t, r = est.smooth_pinball_temperature, y - est.predict(X)
        return est.quantile * r + t * np.logaddexp(0.0, -r / t)
    if name == "HuberRegressor":
        sigma, e = est.scale_, est.epsilon
        r = y - est.predict(X)
        outlier = np.abs(r) > e * sigma
        return np.where(
            outlier, sigma + 2 * e * np.abs(r) - sigma * e**2, sigma + r**2 / sigma
        )
    # classifiers scored on ±1 targets, one column per class (one if binary)
    T = plus_minus_one(est.classes_, y)
    F = est.decision_function(X).reshape(len(y), -1)
    m = T * F
    if name in ("RidgeClassifier", "RidgeClassifierCV"):
        return ((T - F) ** 2).sum(axis=1)
    if name == "LinearSVC" and est.loss == "squared_hinge":
        return (np.maximum(0.0, 1.0 - m) ** 2).sum(axis=1)
    if name == "LinearSVC" and est.loss == "hinge":
        t = est.smooth_hinge_temperature
        return (t * np.logaddexp(0.0, (1.0 - m) / t)).sum(axis=1)
    if name == "SGDClassifier" and est.loss == "log_loss":
        return np.logaddexp(0.0, -m).sum(axis=1)
    if name == "SGDClassifier" and est.loss == "modified_huber":
        phi = np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)
        return phi.sum(axis=1)
    raise ValueError(f"no test loss for {name}")


# --------------------------------------------------------------------------
# residual-based diagnostics (R's rstandard, rstudent, dffits, covratio)


def pearson_residuals(objective, theta):
    """``√s_i (y_i − μ_i)/√V(μ_i)`` of a single-output likelihood (``None``
    otherwise): V = 1 (least squares), μ(1 − μ) (logistic on 0/1 or ±1
    targets), μ^power (Poisson 1, Gamma 2, Tweedie)."""
    kind = DISPERSION.get(getattr(objective, "loss", None))
    if kind is None or objective.n_outputs != 1:
        return None
    eta, y = objective.raw(theta)[:, 0], objective.y[:, 0]
    loss = objective.loss
    if loss in ("squared", "half_squared"):
        r = y - eta
    elif loss in ("logistic", "margin_log"):
        # 1 − μ as expit(−η): 1 − expit(η) cancels (relative error 5e-7 at η = 23
        # against 50-digit arithmetic) and is 0 beyond η ≈ 37
        mu, one_minus_mu = expit(eta), expit(-eta)
        t = y if loss == "logistic" else (y + 1) / 2
        r = (t * one_minus_mu - (1 - t) * mu) / np.sqrt(mu * one_minus_mu)
    elif loss == "multinomial":
        return None
    else:
        mu = np.exp(eta)
        power = {"poisson": 1.0, "gamma": 2.0}.get(loss, objective.power)
        r = (y - mu) / mu ** (power / 2)
    return np.sqrt(objective.s) * r


def residual_diagnostics(objective, theta):
    """Textbook (Belsley, Kuh & Welsch 1980; R's ``lm.influence``) measures from
    the Pearson residuals ``r``, the hat values and the dispersion ``φ``
    (Pearson scale): ``σ₍ᵢ₎² = (Σ r² − r_i²/(1 − h_i))/(n − p − 1)``; internal
    ``r/√(φ(1 − h))``; external ``r/(σ₍ᵢ₎√(1 − h))`` (``σ₍ᵢ₎ = 1`` for a fixed
    dispersion); DFFITS ``r√h/(σ₍ᵢ₎(1 − h))``; COVRATIO
    ``1/((1 − h)((n − p − 1 + t²)/(n − p))^p)``."""
    r = pearson_residuals(objective, theta)
    phi, dof, kind = dispersion(objective, theta)
    h = leverage(objective, theta)
    p = n_identified(objective, theta)
    n = dof + p
    phi = phi / kind[1] if isinstance(kind, tuple) else phi
    sigma = np.sqrt((np.sum(r**2) - r**2 / (1 - h)) / (dof - 1))
    scale = np.ones_like(h) if kind == "fixed" else sigma
    external = r / (scale * np.sqrt(1 - h))
    return {
        "internal": r / np.sqrt(phi * (1 - h)),
        "external": external,
        "sigma_loo": sigma,
        "dffits": r * np.sqrt(h) / (scale * (1 - h)),
        "covratio": 1 / ((1 - h) * ((n - p - 1 + external**2) / (n - p)) ** p),
        "hat": h,
        "dof": dof,
        "p": p,
        "fixed": kind == "fixed",
    }
