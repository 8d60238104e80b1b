"""Per-sample losses on the linear predictor.

A loss knows nothing about ``X``: it maps targets ``y`` and raw predictions
``raw`` of shape ``(n_samples, n_outputs)`` to per-sample values, the gradient
``d loss / d raw`` and the action of the per-sample Hessian ``d² loss / d raw²``
on a vector. The objective (:mod:`skinfluence._objective`) composes these with
``X`` once for every model.
"""

import numpy as np
from scipy.special import expit, log_expit, logsumexp, softmax, xlogy


class BinaryLogLoss:
    """Log-loss of a binary classifier, ``log(1 + exp(raw)) - y * raw``.

    ``y`` holds 0/1 labels of shape ``(n_samples, 1)``; ``raw`` is the decision
    function. Derivatives: ``p - y`` and ``p (1 - p)`` with ``p = expit(raw)``.
    """

    n_outputs = 1

    def dispersion(self, y, raw, sample_weight, dof):
        return 1.0

    def loss(self, y, raw):
        # log(1 + e^raw) - y raw  ==  -log_expit(raw) + (1 - y) raw, stable both ways
        return (-log_expit(raw) + (1.0 - y) * raw).sum(axis=1)

    def gradient(self, y, raw):
        return expit(raw) - y

    def hessian_apply(self, y, raw, v):
        p = expit(raw)
        return p * (1.0 - p) * v


class MultinomialLogLoss:
    """Log-loss of the symmetric multinomial model with ``n_classes`` outputs.

    ``y`` is one-hot of shape ``(n_samples, n_classes)``. The per-sample Hessian
    ``diag(p) - p pᵀ`` is never materialized: ``hessian_apply`` uses its
    structure, ``p * v - p (pᵀ v)``.
    """

    shift_invariant = True  # adding a constant to every output changes nothing

    def __init__(self, n_classes):
        self.n_outputs = n_classes

    def dispersion(self, y, raw, sample_weight, dof):
        return 1.0

    def loss(self, y, raw):
        return logsumexp(raw, axis=1) - (y * raw).sum(axis=1)

    def gradient(self, y, raw):
        return softmax(raw, axis=1) - y

    def hessian_apply(self, y, raw, v):
        p = softmax(raw, axis=1)
        pv = p * v
        return pv - p * pv.sum(axis=1, keepdims=True)


class SquaredError:
    """Squared error without a factor one half, ``Σ_k (y_k - raw_k)²``.

    This is the data term of :class:`~sklearn.linear_model.LinearRegression`
    and :class:`~sklearn.linear_model.Ridge`; several targets are independent
    outputs.
    """

    def __init__(self, n_outputs=1):
        self.n_outputs = n_outputs

    def dispersion(self, y, raw, sample_weight, dof):
        """``2 σ̂²`` with ``σ̂² = Σ s_i r_i² / dof``: the loss has no factor ½, so its
        Hessian is twice the Gaussian information."""
        if self.n_outputs != 1:
            raise NotImplementedError("dispersion is defined for a single target.")
        return 2.0 * (sample_weight @ ((y - raw) ** 2).sum(axis=1)) / dof

    def loss(self, y, raw):
        return ((y - raw) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        return 2.0 * (raw - y)

    def hessian_apply(self, y, raw, v):
        return 2.0 * v


class TweedieHalfDeviance:
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
    total Hessian.
    """

    n_outputs = 1

    def __init__(self, power, link):
        self.power = float(power)
        self.link = link
        p = self.power
        if link == "log":
            self.convex = 1.0 <= p <= 2.0
        else:
            self.convex = p in (0.0, 1.0)

    def _mu(self, raw):
        return np.exp(raw) if self.link == "log" else raw

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


class _MarginLoss:
    """``Σ_k φ(y_k raw_k)`` for targets ``y_k ∈ {-1, +1}``, one output per class.

    Subclasses define ``phi``, its first derivative ``dphi`` and its second
    derivative ``d2phi`` on the margin ``m = y raw``; since ``y² = 1`` the
    gradient on ``raw`` is ``y φ'(m)`` and the second derivative ``φ''(m)``.
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

    def phi(self, m):
        return -log_expit(m)

    def dphi(self, m):
        return -expit(-m)

    def d2phi(self, m):
        p = expit(m)
        return p * (1.0 - p)


class SquaredHinge(_MarginLoss):
    """``max(0, 1 - m)²``, once continuously differentiable.

    Its second derivative jumps from 2 to 0 at ``m = 1``; we use the one-sided
    value: 2 where ``m < 1`` (margin violated), 0 where ``m ≥ 1``.
    """

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

    def phi(self, m):
        return np.where(m >= -1.0, np.maximum(0.0, 1.0 - m) ** 2, -4.0 * m)

    def dphi(self, m):
        return np.where(m >= -1.0, -2.0 * np.maximum(0.0, 1.0 - m), -4.0)

    def d2phi(self, m):
        return np.where((m >= -1.0) & (m < 1.0), 2.0, 0.0)


class HalfSquaredError:
    """``½ (y - raw)²`` per output (SGD's squared_error)."""

    def __init__(self, n_outputs=1):
        self.n_outputs = n_outputs

    def loss(self, y, raw):
        return 0.5 * ((y - raw) ** 2).sum(axis=1)

    def gradient(self, y, raw):
        return raw - y

    def hessian_apply(self, y, raw, v):
        return v


class Huber:
    """``½ r²`` for ``|r| ≤ ε``, ``ε|r| - ½ε²`` beyond, ``r = raw - y`` (SGDRegressor's huber).

    The second derivative jumps from 1 to 0 at ``|r| = ε``; we use 1 for
    ``|r| ≤ ε`` and 0 beyond.
    """

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
