"""Per-sample losses on the linear predictor.

A loss knows nothing about ``X``: it maps targets ``y`` and raw predictions
``raw`` of shape ``(n_samples, n_outputs)`` to per-sample values, the gradient
``d loss / d raw`` and the action of the per-sample Hessian ``d² loss / d raw²``
on a vector. The objective (:mod:`skinfluence._objective`) composes these with
``X`` once for every model.
"""

from scipy.special import expit, log_expit, logsumexp, softmax


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
