"""Per-sample losses on the raw prediction, and the maps from it to outputs.

A loss knows nothing about ``X``: it maps targets ``y`` and raw predictions
``raw`` of shape ``(n_samples, n_outputs)`` to per-sample values, the gradient
``∂L/∂raw`` and the per-sample Hessian ``∂²L/∂raw²`` (applied to a vector, or as
``(n, K, K)`` blocks). Each loss declares what generic code may rely on:

``convex``
    ``∂²L/∂raw² ⪰ 0`` everywhere (else the total Hessian is checked at the fit).
``smooth``
    twice continuously differentiable; ``False`` means the second derivative
    jumps at a kink and the one-sided value documented on the class is used.
``shift_invariant``
    adding one constant to every output changes nothing (a gauge direction);
    differentiating that, every row's ``∂L/∂raw`` sums to zero over the outputs
    and ``∂²L/∂raw² 1 = 0`` (the dense products and Hessian rely on both).
``constant_hessian``
    ``∂²L/∂raw²`` does not depend on ``raw`` (squared errors: Newton steps exact).
``dispersion_kind``
    ``"fixed"`` (φ = 1, a log-likelihood with known scale), ``"gaussian"`` (φ =
    ``gaussian_factor · σ̂²``, deleted-row dispersion available), ``"pearson"``
    (φ = Pearson χ²/dof) or ``None`` (not a negative log-likelihood: Cook's
    distance and DFBETAS, which divide by φ, are undefined).

``inverse_link`` is the response a regressor's ``predict`` (or a classifier's
``predict_proba``) applies to the raw prediction. The model algebra that
composes all of this with ``X`` lives in :mod:`skinfluence._objective`.
"""

import numpy as np
from scipy.special import expit, log_expit, logsumexp, softmax, xlogy


# -- responses: raw prediction -> estimator output, with the Jacobian -------------
class Identity:
    """``out = raw`` (``decision_function``; ``predict`` of least squares)."""

    def __call__(self, raw):
        n, K = raw.shape
        return raw, np.broadcast_to(np.eye(K), (n, K, K))


class Exp:
    """``out = exp(raw)``: the inverse of the log link."""

    def __call__(self, raw):
        mu = np.exp(raw)
        return mu, mu[:, :, None]


class BinaryProbability:
    """``[1 - p, p]`` with ``p = expit(raw)``: a binary ``predict_proba``."""

    def __call__(self, raw):
        p = expit(raw[:, 0])
        dp = p * (1.0 - p)
        return np.column_stack([1.0 - p, p]), np.stack([-dp, dp], axis=1)[:, :, None]


class SoftmaxProbability:
    """``softmax(raw)``: the multinomial ``predict_proba``;
    ``∂P_k/∂raw_c = P_k (δ_kc − P_c)``."""

    def __call__(self, raw):
        K = raw.shape[1]
        P = softmax(raw, axis=1)
        return P, P[:, :, None] * (np.eye(K)[None] - P[:, None, :])


class _NormalizedScores:
    """``q_k / Σ_c q_c`` of per-class scores ``q = score(raw)``; binary problems
    (one output) give ``[1 - q, q]``. Rows whose scores are all zero are uniform
    (as scikit-learn does), with zero derivative."""

    def __call__(self, raw):
        q, dq = self.score(raw)
        if raw.shape[1] == 1:
            d = dq[:, 0]
            return np.column_stack([1.0 - q[:, 0], q[:, 0]]), np.stack([-d, d], axis=1)[
                :, :, None
            ]
        n, K = q.shape
        total = q.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0
        safe = np.where(zero[:, None], 1.0, total)
        P = np.where(zero[:, None], 1.0 / K, q / safe)
        # ∂(q_k/T)/∂raw_c = (δ_kc − P_k) q'_c / T
        J = (np.eye(K)[None] - P[:, :, None]) * (dq / safe)[:, None, :]
        J[zero] = 0.0
        return P, J


class OneVsRestLogisticProbability(_NormalizedScores):
    """scikit-learn's one-vs-rest ``predict_proba`` of log-loss linear models:
    ``expit`` of each decision value, normalized over classes."""

    def score(self, raw):
        q = expit(raw)
        return q, q * (1.0 - q)


class ModifiedHuberProbability(_NormalizedScores):
    """SGDClassifier(loss="modified_huber")'s ``predict_proba``:
    ``(clip(raw, -1, 1) + 1) / 2``, normalized over classes; its derivative is
    ½ inside ``(-1, 1)`` and 0 outside (one-sided at ±1)."""

    def score(self, raw):
        return (np.clip(raw, -1.0, 1.0) + 1.0) / 2.0, np.where(
            np.abs(raw) < 1.0, 0.5, 0.0
        )


# -- losses ---------------------------------------------------------------------
class Loss:
    """Declared defaults; subclasses define ``loss``, ``gradient``, ``hessian_apply``."""

    n_outputs = 1
    convex = True
    smooth = True
    shift_invariant = False
    constant_hessian = False
    dispersion_kind = None
    gaussian_factor = 1.0
    inverse_link = Identity()

    def invalid_targets(self, y):
        """Mask of rows whose target is outside the loss's domain (none by default)."""
        return np.zeros(y.shape[0], dtype=bool)

    def hessian_blocks(self, y, raw):
        """Per-sample Hessians ``∂²L/∂raw²``, shape (n, K, K)."""
        n, K = raw.shape
        out = np.empty((n, K, K))
        for k in range(K):
            unit = np.zeros_like(raw)
            unit[:, k] = 1.0
            out[:, :, k] = self.hessian_apply(y, raw, unit)
        return out

    def dispersion(self, y, raw, sample_weight, dof):
        """The dispersion ``φ`` (see the module docstring), or ``None``."""
        kind = self.dispersion_kind
        if kind == "fixed":
            return 1.0
        if kind == "gaussian":
            rss = sample_weight @ ((y - raw) ** 2).sum(axis=1)
            return self.gaussian_factor * rss / dof
        if kind == "pearson":
            return float(sample_weight @ self.pearson_residuals(y, raw) ** 2) / dof
        return None

    def pearson_residuals(self, y, raw):
        """``(y − μ)/√V(μ)`` of a likelihood with one output (unit weight), or
        ``None`` where the loss declares none."""
        return None

    def deleted_dispersion(self, y, raw, sample_weight, dof, leverage):
        """``φ₍ᵢ₎``, the dispersion of the fit without row ``i`` (Gaussian only,
        exact for least squares; Belsley, Kuh & Welsch 1980, eq. 2.8, per
        independent output: ``leverage`` is (n, K)); else ``φ``."""
        phi = self.dispersion(y, raw, sample_weight, dof)
        if self.dispersion_kind != "gaussian":
            return np.full(y.shape[0], phi)
        safe = np.where(leverage < 1, 1 - leverage, np.inf)
        deleted = sample_weight * ((y - raw) ** 2 / safe).sum(axis=1)
        rss = phi * dof / self.gaussian_factor - deleted
        return self.gaussian_factor * rss / (dof - y.shape[1])


def _binomial_pearson(y, raw):
    """``(y − p)/√(p (1 − p))`` with ``p = expit(raw)``, written as
    ``y e^(−raw/2) − (1 − y) e^(raw/2)`` (the same for any ``y``): finite where
    ``p`` rounds to exactly 0 or 1 (a separated or saturated row, whose residual
    tends to 0 when its label is the predicted one), where ``0/0`` would be NaN."""
    # a certain wrong prediction is ±inf, truly; the branch not taken may be 0·inf
    with np.errstate(over="ignore", invalid="ignore"):
        up = np.where(y != 0, y * np.exp(-0.5 * raw), 0.0)
        down = np.where(y != 1, (1.0 - y) * np.exp(0.5 * raw), 0.0)
    return up - down


class BinaryLogLoss(Loss):
    """Log-loss of a binary classifier, ``log(1 + exp(raw)) - y * raw``.

    ``y`` holds 0/1 labels of shape ``(n_samples, 1)``; ``raw`` is the decision
    function. Derivatives: ``p - y`` and ``p (1 - p)`` with ``p = expit(raw)``.
    """

    dispersion_kind = "fixed"
    inverse_link = BinaryProbability()

    def loss(self, y, raw):
        # log(1 + e^raw) - y raw  ==  -log_expit(raw) + (1 - y) raw, stable both ways
        return (-log_expit(raw) + (1.0 - y) * raw).sum(axis=1)

    def gradient(self, y, raw):
        return expit(raw) - y

    def hessian_apply(self, y, raw, v):
        p = expit(raw)
        return p * (1.0 - p) * v

    def pearson_residuals(self, y, raw):
        return _binomial_pearson(y, raw).sum(axis=1)


class MultinomialLogLoss(Loss):
    """Log-loss of the symmetric multinomial model with ``n_classes`` outputs.

    ``y`` is one-hot of shape ``(n_samples, n_classes)``. The per-sample Hessian
    ``diag(p) - p pᵀ`` is never materialized by ``hessian_apply``, which uses its
    structure, ``p * v - p (pᵀ v)``.
    """

    shift_invariant = True
    dispersion_kind = "fixed"
    inverse_link = SoftmaxProbability()

    def __init__(self, n_classes):
        self.n_outputs = n_classes

    def loss(self, y, raw):
        return logsumexp(raw, axis=1) - (y * raw).sum(axis=1)

    def gradient(self, y, raw):
        return softmax(raw, axis=1) - y

    def hessian_apply(self, y, raw, v):
        p = softmax(raw, axis=1)
        pv = p * v
        return pv - p * pv.sum(axis=1, keepdims=True)

    def offdiagonal_factor(self, y, raw):
        """``U`` (n, K) with ``∂²L/∂raw_k∂raw_j = -U_k U_j`` for ``k ≠ j``: ``p``."""
        return softmax(raw, axis=1)

    def hessian_blocks(self, y, raw):
        p = softmax(raw, axis=1)
        out = -p[:, :, None] * p[:, None, :]
        K = p.shape[1]
        out.reshape(-1, K * K)[:, :: K + 1] += p
        return out


class SquaredError(Loss):
    """Squared error without a factor one half, ``Σ_k (y_k - raw_k)²``.

    The data term of :class:`~sklearn.linear_model.LinearRegression` and
    :class:`~sklearn.linear_model.Ridge`; several targets are independent
    outputs. Its Hessian is twice the Gaussian information, so ``φ = 2σ̂²``.
    """

    constant_hessian = True
    dispersion_kind = "gaussian"
    gaussian_factor = 2.0

    def __init__(self, n_outputs=1):
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        return ((y - raw) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        return 2.0 * (raw - y)

    def hessian_apply(self, y, raw, v):
        return 2.0 * v

    def pearson_residuals(self, y, raw):
        return (y - raw).sum(axis=1)


class HalfSquaredError(Loss):
    """``½ Σ_k (y_k - raw_k)²`` (SGD's squared_error, Lasso and ElasticNet)."""

    constant_hessian = True
    dispersion_kind = "gaussian"

    def __init__(self, n_outputs=1):
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        return 0.5 * ((y - raw) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        return raw - y

    def hessian_apply(self, y, raw, v):
        return v

    def pearson_residuals(self, y, raw):
        return (y - raw).sum(axis=1)


class TweedieHalfDeviance(Loss):
    """Half the unit deviance of a Tweedie distribution, as scikit-learn's GLMs use.

    ``power`` 0 is the normal, 1 Poisson, 2 Gamma distribution; ``link`` is
    ``"log"`` (``μ = exp(raw)``) or ``"identity"`` (``μ = raw``). With
    ``h(μ) = ½ deviance``, ``h'(μ) = μ^-p (μ - y)`` and
    ``h''(μ) = μ^(-p-1) (p y + (1 - p) μ)``; through the log link
    ``d h / d raw = μ^(1-p) (μ - y)`` and
    ``d² h / d raw² = μ^(1-p) ((p - 1) y + (2 - p) μ)``.

    The per-sample second derivative is ``≥ 0`` for every sample only for the log
    link with ``1 ≤ p ≤ 2`` and the identity link with ``p`` in ``{0, 1}``
    (``convex``); otherwise it can be negative and the caller must check the
    total Hessian. The dispersion is 1 for Poisson, else Pearson's
    ``Σ s_i (y_i − μ_i)²/μ_i^p / dof`` (statsmodels' default scale).
    """

    def __init__(self, power, link):
        self.power = p = float(power)
        self.link = link
        if link == "log":
            self.convex = 1.0 <= p <= 2.0
            self.inverse_link = Exp()
        else:
            self.convex = p in (0.0, 1.0)
        self.constant_hessian = p == 0 and link == "identity"
        self.dispersion_kind = "fixed" if p == 1 else "pearson"

    def _mu(self, raw):
        return np.exp(raw) if self.link == "log" else raw

    @property
    def target_domain(self):
        """The targets the deviance is defined for, in words."""
        p = self.power
        return "any real" if p <= 0 else "non-negative" if p < 2 else "positive"

    def invalid_targets(self, y):
        """Rows with a target the deviance is undefined for (scikit-learn's domain:
        ``y ≥ 0`` for ``1 ≤ p < 2``, ``y > 0`` for ``p ≥ 2``)."""
        p = self.power
        if p <= 0:
            return np.zeros(y.shape[0], dtype=bool)
        bad = y < 0 if p < 2 else y <= 0
        return bad.any(axis=1)

    def pearson_residuals(self, y, raw):
        mu = self._mu(raw)
        return ((y - mu) / mu ** (self.power / 2)).sum(axis=1)

    def loss(self, y, raw):
        p, mu = self.power, self._mu(raw)
        if p == 0:
            h = 0.5 * (y - mu) ** 2
        elif p == 1:
            h = xlogy(y, y) - xlogy(y, mu) - y + mu
        elif p == 2:
            h = np.log(mu / y) + y / mu - 1.0
        else:
            h = (
                np.maximum(y, 0) ** (2 - p) / ((1 - p) * (2 - p))
                - y * mu ** (1 - p) / (1 - p)
                + mu ** (2 - p) / (2 - p)
            )
        return h.sum(axis=1)

    def gradient(self, y, raw):
        p, mu = self.power, self._mu(raw)
        if self.link == "log":
            return mu ** (1 - p) * (mu - y)
        return mu ** (-p) * (mu - y)

    def hessian_apply(self, y, raw, v):
        p, mu = self.power, self._mu(raw)
        if self.link == "log":
            return mu ** (1 - p) * ((p - 1) * y + (2 - p) * mu) * v
        return mu ** (-p - 1) * (p * y + (1 - p) * mu) * v


class _MarginLoss(Loss):
    """``Σ_k φ(y_k raw_k)`` for targets ``y_k ∈ {-1, +1}``, one output per class.

    Subclasses define ``phi`` and its derivatives ``dphi``, ``d2phi`` on the
    margin ``m = y raw``; since ``y² = 1`` the gradient on ``raw`` is
    ``y φ'(m)`` and the second derivative ``φ''(m)``.
    """

    def __init__(self, n_outputs=1):
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        return self.phi(y * raw).sum(axis=1)

    def gradient(self, y, raw):
        return y * self.dphi(y * raw)

    def hessian_apply(self, y, raw, v):
        return self.d2phi(y * raw) * v


class MarginLogLoss(_MarginLoss):
    """``log(1 + exp(-m))``: the log-loss on ±1 targets (SGDClassifier's log_loss)."""

    dispersion_kind = "fixed"

    def phi(self, m):
        return -log_expit(m)

    def dphi(self, m):
        return -expit(-m)

    def d2phi(self, m):
        p = expit(m)
        return p * (1.0 - p)

    def pearson_residuals(self, y, raw):
        # y in {-1, +1}: the 0/1 label is (y + 1) / 2
        return _binomial_pearson((y + 1.0) / 2.0, raw).sum(axis=1)


class SquaredHinge(_MarginLoss):
    """``max(0, 1 - m)²``, once continuously differentiable.

    Its second derivative jumps from 2 to 0 at ``m = 1``; we use the one-sided
    value: 2 where ``m < 1`` (margin violated), 0 where ``m ≥ 1``.
    """

    smooth = False

    def phi(self, m):
        return np.maximum(0.0, 1.0 - m) ** 2

    def dphi(self, m):
        return -2.0 * np.maximum(0.0, 1.0 - m)

    def d2phi(self, m):
        return np.where(m < 1.0, 2.0, 0.0)


class SmoothHinge(_MarginLoss):
    """Koh & Liang's smooth hinge ``t log(1 + exp((1 - m) / t))``, temperature ``t > 0``.

    Tends to ``max(0, 1 - m)`` as ``t → 0``. ``φ' = -σ(u)``,
    ``φ'' = σ(u)(1 - σ(u)) / t`` with ``u = (1 - m) / t``.
    """

    def __init__(self, temperature, n_outputs=1):
        super().__init__(n_outputs)
        self.temperature = float(temperature)

    def phi(self, m):
        t = self.temperature
        return -t * log_expit(-(1.0 - m) / t)

    def dphi(self, m):
        return -expit((1.0 - m) / self.temperature)

    def d2phi(self, m):
        t = self.temperature
        p = expit((1.0 - m) / t)
        return p * (1.0 - p) / t


class ModifiedHuber(_MarginLoss):
    """scikit-learn's modified Huber: ``max(0, 1 - m)²`` for ``m ≥ -1``, ``-4m`` below.

    Once continuously differentiable; the one-sided second derivative is 2 for
    ``-1 ≤ m < 1`` and 0 elsewhere.
    """

    smooth = False

    def phi(self, m):
        return np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)

    def dphi(self, m):
        return np.where(m >= -1.0, -2.0 * np.maximum(0.0, 1.0 - m), -4.0)

    def d2phi(self, m):
        return np.where((m >= -1.0) & (m < 1.0), 2.0, 0.0)


class Huber(Loss):
    """``½ r²`` for ``|r| ≤ ε``, ``ε|r| - ½ε²`` beyond, ``r = raw - y`` (SGDRegressor's huber).

    The second derivative jumps from 1 to 0 at ``|r| = ε``; we use 1 for
    ``|r| ≤ ε`` and 0 beyond.
    """

    smooth = False

    def __init__(self, epsilon, n_outputs=1):
        self.epsilon = float(epsilon)
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        r, e = np.abs(raw - y), self.epsilon
        return np.where(r <= e, 0.5 * r**2, e * r - 0.5 * e**2).sum(axis=1)

    def gradient(self, y, raw):
        return np.clip(raw - y, -self.epsilon, self.epsilon)

    def hessian_apply(self, y, raw, v):
        return np.where(np.abs(raw - y) <= self.epsilon, 1.0, 0.0) * v


class SquaredEpsilonInsensitive(Loss):
    """``max(0, |y - raw| - ε)²`` (LinearSVR's ``squared_epsilon_insensitive``).

    Once continuously differentiable; the second derivative jumps from 0 to 2
    at ``|y - raw| = ε``: we use 2 where ``|y - raw| > ε`` and 0 elsewhere.
    """

    smooth = False

    def __init__(self, epsilon, n_outputs=1):
        self.epsilon = float(epsilon)
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        return (np.maximum(0.0, np.abs(y - raw) - self.epsilon) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        r = raw - y
        return 2.0 * np.sign(r) * np.maximum(0.0, np.abs(r) - self.epsilon)

    def hessian_apply(self, y, raw, v):
        return np.where(np.abs(raw - y) > self.epsilon, 2.0, 0.0) * v


def _softplus(u):
    """``log(1 + exp(u))``, stable both ways."""
    return -log_expit(-u)


class SmoothEpsilonInsensitive(Loss):
    """``max(0, |y - raw| - ε)`` smoothed with temperature ``t > 0``.

    LinearSVR's ``epsilon_insensitive`` loss is the sum of two hinges,
    ``max(0, r - ε) + max(0, -r - ε)`` with ``r = raw - y`` (at most one is
    positive); each is replaced by Koh & Liang's smooth hinge ``t log(1 +
    exp(·/t))``, as :class:`SmoothHinge` does for LinearSVC:
    ``t log(1 + e^((r - ε)/t)) + t log(1 + e^((-r - ε)/t))``. It lies above the
    exact loss by at most ``2 t log 2`` and tends to it as ``t → 0``.
    With ``a = σ((r - ε)/t)``, ``b = σ((-r - ε)/t)``: ``∂L/∂raw = a - b`` and
    ``∂²L/∂raw² = (a(1 - a) + b(1 - b)) / t``.
    """

    def __init__(self, epsilon, temperature, n_outputs=1):
        self.epsilon = float(epsilon)
        self.temperature = float(temperature)
        self.n_outputs = n_outputs

    def _arguments(self, y, raw):
        r, e, t = raw - y, self.epsilon, self.temperature
        return (r - e) / t, (-r - e) / t

    def loss(self, y, raw):
        u, v = self._arguments(y, raw)
        return (self.temperature * (_softplus(u) + _softplus(v))).sum(axis=1)

    def gradient(self, y, raw):
        u, v = self._arguments(y, raw)
        return expit(u) - expit(v)

    def hessian_apply(self, y, raw, v):
        a, b = (expit(w) for w in self._arguments(y, raw))
        return (a * (1.0 - a) + b * (1.0 - b)) / self.temperature * v


class SmoothPinball(Loss):
    """The pinball loss of quantile ``q`` smoothed with temperature ``t > 0``.

    QuantileRegressor's loss ``ρ_q(r) = q r + max(0, -r)`` with ``r = y - raw``;
    the hinge ``max(0, -r)`` is replaced by the smooth hinge
    ``t log(1 + exp(-r/t))``, as :class:`SmoothHinge` does for LinearSVC:
    ``ρ_q,t(r) = q r + t log(1 + e^(-r/t))``. It lies above ``ρ_q`` by at most
    ``t log 2`` and tends to it as ``t → 0``. With ``p = σ(-r/t)``:
    ``∂L/∂raw = p - q`` and ``∂²L/∂raw² = p (1 - p) / t``.
    """

    def __init__(self, quantile, temperature, n_outputs=1):
        self.quantile = float(quantile)
        self.temperature = float(temperature)
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        r, t = y - raw, self.temperature
        return (self.quantile * r + t * _softplus(-r / t)).sum(axis=1)

    def gradient(self, y, raw):
        return expit((raw - y) / self.temperature) - self.quantile

    def hessian_apply(self, y, raw, v):
        p = expit((raw - y) / self.temperature)
        return p * (1.0 - p) / self.temperature * v


#: every loss, by name, with a factory taking the number of outputs: one
#: finite-difference test runs over all of them (tests/test_losses.py)
LOSSES = {
    "binary_log_loss": lambda K: BinaryLogLoss(),
    "multinomial_log_loss": MultinomialLogLoss,
    "squared_error": SquaredError,
    "half_squared_error": HalfSquaredError,
    "poisson_half_deviance": lambda K: TweedieHalfDeviance(1, "log"),
    "gamma_half_deviance": lambda K: TweedieHalfDeviance(2, "log"),
    "tweedie_1.5_half_deviance": lambda K: TweedieHalfDeviance(1.5, "log"),
    "tweedie_3_half_deviance": lambda K: TweedieHalfDeviance(3, "log"),
    "normal_identity_half_deviance": lambda K: TweedieHalfDeviance(0, "identity"),
    "tweedie_1.5_identity_half_deviance": lambda K: TweedieHalfDeviance(
        1.5, "identity"
    ),
    "margin_log_loss": MarginLogLoss,
    "squared_hinge": SquaredHinge,
    "smooth_hinge": lambda K: SmoothHinge(0.3, K),
    "modified_huber": ModifiedHuber,
    "huber": lambda K: Huber(0.7, K),
    "squared_epsilon_insensitive": lambda K: SquaredEpsilonInsensitive(0.3, K),
    "smooth_epsilon_insensitive": lambda K: SmoothEpsilonInsensitive(0.3, 0.2, K),
    "smooth_pinball": lambda K: SmoothPinball(0.3, 0.2, K),
}
